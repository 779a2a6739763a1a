/* Login throttle: repeated failures slow that user down, with delays that grow, never blocking the loop.
 *
 * After the f-th failure in a row the user must wait delay(f) before the next attempt: nothing for the
 * first `free_failures`, then base, 2 × base, 4 × base … capped at cap (defaults: 0, 0, 1 s, 2 s, 4 s …
 * 60 s). An attempt inside the wait is refused at once (ZD_EUNAUTHENTICATED with the seconds left); it
 * does not extend the wait, so a user who simply retries later gets in. A success forgets the user;
 * so does a quiet spell of `forget_ms` after the last failure.
 *
 * The count is per user name (ASCII case folded, so "Wang" and "wang" share one count), known or not:
 * an unknown name is throttled exactly like a known one, so the throttle reveals nothing either.
 *
 * An admitted attempt is counted as a failure at once and forgiven on success: several attempts sent
 * together for one user cannot all slip through while the first is still being verified.
 *
 * Time is a parameter (milliseconds on any monotonic clock the caller likes): tests step it by hand.
 * The table is bounded; when full, the user idle longest is forgotten to make room. */
#ifndef ZD_SERVER_THROTTLE_H
#define ZD_SERVER_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* User names longer than this are refused (no account has one). */
#define SRV_THROTTLE_USER_MAX 128

typedef struct srv_throttle_policy {
    unsigned free_failures; /* failures without delay (default 2) */
    uint64_t base_ms;       /* first delay (default 1000) */
    uint64_t cap_ms;        /* longest delay (default 60000) */
    uint64_t forget_ms;     /* a user quiet this long after a failure starts afresh (default 1 h) */
    size_t max_users;       /* users remembered at once (default 65536) */
} srv_throttle_policy;

#define SRV_THROTTLE_POLICY_DEFAULT                                                                          \
    ((srv_throttle_policy){                                                                                  \
        .free_failures = 2, .base_ms = 1000, .cap_ms = 60000, .forget_ms = 3600000, .max_users = 65536})

typedef struct srv_throttle srv_throttle;

/* Creates a throttle with policy (NULL: the default; zero fields take their defaults). Returns NULL when
 * out of memory. */
srv_throttle *srv_throttle_create(const srv_throttle_policy *policy);

/* Frees t and everything it remembers. NULL is a no-op. */
void srv_throttle_destroy(srv_throttle *t);

/* Asks to let user attempt a login at now_ms. Returns ZD_OK when the attempt may go on (it is counted as
 * a failure until srv_throttle_succeed forgives it); ZD_EUNAUTHENTICATED when user must wait, with
 * *retry_ms (if not NULL) the milliseconds left; ZD_EINVALID_ARGUMENT for an empty or oversized name;
 * ZD_EINTERNAL when out of memory. */
zd_err srv_throttle_admit(srv_throttle *t, const char *user, uint64_t now_ms, uint64_t *retry_ms);

/* Records that the admitted attempt of user failed at now_ms (the verification finished): the wait is
 * measured from here, not from admission, so a slow verification does not eat the delay. */
void srv_throttle_fail(srv_throttle *t, const char *user, uint64_t now_ms);

/* Takes back an admitted attempt that never reached a verdict (the database or the verifier was not
 * available): the server's trouble must not count against the user. */
void srv_throttle_abandon(srv_throttle *t, const char *user);

/* Records that user logged in: the count starts again from zero. */
void srv_throttle_succeed(srv_throttle *t, const char *user);

/* Failures in a row counted for user now (0 for a user not remembered). For tests and stats. */
unsigned srv_throttle_failures(const srv_throttle *t, const char *user);

/* Users remembered now. */
size_t srv_throttle_count(const srv_throttle *t);

/* The delay after f failures in a row under policy (defaults filled in as by create). */
uint64_t srv_throttle_delay_ms(const srv_throttle_policy *policy, unsigned f);

/* Writes the refusal a person reads, "too many failed logins for this user; try again in N s" with N the
 * whole seconds rounded up (at least 1), into buf (size n). Returns buf. */
char *srv_throttle_message(uint64_t retry_ms, char *buf, size_t n);

#endif
