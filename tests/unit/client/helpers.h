/* Helpers shared by the client unit tests: a private temporary folder, a device key and certificate made
 * by the `openssl` command (as deploy/pki makes them: ECDSA P-256), and removing the folder at the end. */
#ifndef ZD_TESTS_CLIENT_HELPERS_H
#define ZD_TESTS_CLIENT_HELPERS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Creates a fresh folder under TMPDIR (or /tmp) into dir (at least 256 bytes). */
static inline void helper_tmpdir(char *dir, size_t n)
{
    const char *base = getenv("TMPDIR");
    int w = snprintf(dir, n, "%s/zd-client-XXXXXX", base && *base ? base : "/tmp");
    CHECK(w > 0 && (size_t)w < n);
    CHECK(mkdtemp(dir) != NULL);
}

/* Runs a shell command and checks that it succeeded. */
__attribute__((format(printf, 1, 2))) static inline void helper_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    CHECK(w > 0 && (size_t)w < sizeof(cmd));
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    CHECK_INT_EQ(rc, 0);
}

/* Makes dir/NAME.key (PEM, ECDSA P-256) and a self-signed dir/NAME.pem with the device subject of a
 * school, /C=CN/O=zerodrop/OU=school/CN=S43010101. */
static inline void helper_device(const char *dir, const char *name)
{
    char base[512];
    int w = snprintf(base, sizeof(base), "%s/%s", dir, name);
    CHECK(w > 0 && (size_t)w < sizeof(base));
    helper_sh("openssl ecparam -name prime256v1 -genkey -noout -out '%s.key' 2>/dev/null", base);
    helper_sh("openssl req -new -x509 -key '%s.key' -out '%s.pem' -days 30 "
              "-subj /C=CN/O=zerodrop/OU=school/CN=S43010101 2>/dev/null",
              base, base);
}

static inline void helper_rmdir(const char *dir)
{
    helper_sh("rm -rf -- '%s'", dir);
}

#endif
