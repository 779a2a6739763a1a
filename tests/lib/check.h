/* Assertion macros for zerodrop's C tests: each failure prints both values and where, then aborts.
 * A test is a plain executable; meson runs it under a timeout. */
#ifndef ZD_TESTS_CHECK_H
#define ZD_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)                                                                          \
    do {                                                                                     \
        if (!(expr)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr);         \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                   \
    do {                                                                                     \
        long long ca_ = (long long)(a), cb_ = (long long)(b);                               \
        if (ca_ != cb_) {                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, ca_, cb_);                                                           \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                   \
    do {                                                                                     \
        const char *ca_ = (a), *cb_ = (b);                                                   \
        if (ca_ == NULL || cb_ == NULL || strcmp(ca_, cb_) != 0) {                           \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__,  \
                    #a, #b, ca_ ? ca_ : "(null)", cb_ ? cb_ : "(null)");                     \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#define CHECK_MEM_EQ(a, b, n)                                                                \
    do {                                                                                     \
        if (memcmp((a), (b), (n)) != 0) {                                                    \
            fprintf(stderr, "%s:%d: memcmp(%s, %s, %s) != 0\n", __FILE__, __LINE__, #a, #b, #n); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#endif
