/* Login: the person who acts, checked against the users table, on the device's own institution.
 *
 * A login names a user and gives either a password or the session token of an earlier login. With a
 * password: the throttle may refuse at once (the user failed too often, "try again in N s"); otherwise
 * the user's row is read in the device's scope (row-level security: a school device sees only its
 * school's users), the password is verified off the loop (srv_password; an unknown user is verified
 * against the dummy hash, so the time taken is the same), and on success a fresh session token is stored
 * (as its SHA-256) for this user and device. With a token: the stored session is looked up by digest and
 * must be unexpired, not ended, of the same device and of a user still enabled.
 *
 * Outcomes (the code becomes Error.code, the message Error.message):
 *   ZD_OK                 logged in: user, role, institution, token, expiry in the outcome
 *   ZD_EUNAUTHENTICATED   wrong user or password, unknown or expired token, or throttled
 *   ZD_EFORBIDDEN         right password but the user is disabled, or belongs to another institution
 *   ZD_EINVALID_ARGUMENT  a user name that cannot exist, no password and no token
 *   ZD_EOVERLOADED / ZD_EUNAVAILABLE / ZD_EINTERNAL  the server's own trouble (retry later)
 * A user acts only from a device of their own institution: the user's institution must equal the
 * certificate's, level and code. */
#ifndef ZD_SERVER_LOGIN_H
#define ZD_SERVER_LOGIN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "db.h"
#include "err.h"
#include "password.h"
#include "session.pb-c.h"
#include "throttle.h"
#include "token.h"

/* A login session lasts a school day and a bit; then the user types the password again. */
#define SRV_LOGIN_SESSION_TTL_MS (14ull * 3600 * 1000)

/* User names as the users table allows them. */
#define SRV_LOGIN_USER_MAX 64

typedef struct srv_login srv_login;

/* What the login service is built from. loop, db, now_ms and the scope key are required. */
typedef struct srv_login_config {
    uv_loop_t *loop;
    srv_db *db;
    const srv_password_cost *cost;     /* NULL: SRV_PASSWORD_COST_DEFAULT */
    unsigned max_jobs;                 /* password jobs queued or running (0: 64) */
    const srv_throttle_policy *policy; /* NULL: the default */
    uint64_t session_ttl_ms;           /* 0: SRV_LOGIN_SESSION_TTL_MS */
    uint64_t (*now_ms)(void *clock);   /* the server's clock (the test clock in test builds) */
    void *clock;
    const unsigned char *scope_key; /* the scope key (srv_scope_key_load); copied */
    size_t scope_key_len;
} srv_login_config;

/* Creates the login service (its verifier makes the dummy hash now, which takes one hash's time).
 * Returns NULL when out of memory or the config is unusable. */
srv_login *srv_login_create(const srv_login_config *config);

/* Frees the service. No login may be in flight. NULL is a no-op. */
void srv_login_destroy(srv_login *login);

/* The verifier, for the admin family's hashing of new passwords (srv_password_hash_start). */
srv_password *srv_login_password(srv_login *login);

/* One login attempt. Strings are copied at start. */
typedef struct srv_login_request {
    Zerodrop__V1__Level level; /* the certificate's institution */
    const char *institution;   /* its code */
    const char *fingerprint;   /* the device certificate's SHA-256, hex; "" or NULL when unknown */
    const char *user;
    const char *password; /* NULL or "" with a token */
    size_t password_len;
    const uint8_t *token; /* resume: the token of an earlier login, or NULL */
    size_t token_len;
} srv_login_request;

/* A successful login. Valid during the callback only; copy what you keep. */
typedef struct srv_login_outcome {
    const char *user;
    Zerodrop__V1__Role role;
    int64_t user_id;
    const uint8_t *token; /* SRV_TOKEN_BYTES: hand it to the client (LoginResult.session_token) */
    int64_t expires_ms;
} srv_login_outcome;

/* Runs on the loop once per started login: code and message (plain words, never NULL) as above, and on
 * ZD_OK the outcome. */
typedef void (*srv_login_cb)(void *data, zd_err code, const char *message, const srv_login_outcome *outcome);

/* Starts a login. ref(data) is called now and unref(data) after cb returned (either may be NULL), so the
 * caller's session stays allocated while the attempt runs even if its connection closes meanwhile.
 * Always returns with cb to come (a refusal at once is delivered on the next loop turn, never from
 * inside this call), except ZD_EINTERNAL when out of memory, where cb is not called. */
zd_err srv_login_start(srv_login *login, const srv_login_request *req, srv_login_cb cb, void *data,
                       void (*ref)(void *data), void (*unref)(void *data));

/* Logout: ends every session of user on the device with this fingerprint (the device's own scope), so
 * none of them can be resumed. cb as srv_login_cb, without an outcome; ZD_OK also when there was none. */
zd_err srv_login_end(srv_login *login, Zerodrop__V1__Level level, const char *institution, const char *user,
                     const char *fingerprint, srv_login_cb cb, void *data, void (*ref)(void *data),
                     void (*unref)(void *data));

/* True when name could be a user name ([A-Za-z0-9_.-]{1,64}, as the users table checks). */
int srv_login_user_valid(const char *name);

/* Figures for stats: logins admitted, succeeded, refused by the throttle. */
typedef struct srv_login_stats {
    uint64_t attempts;
    uint64_t succeeded;
    uint64_t throttled;
} srv_login_stats;

void srv_login_stats_get(const srv_login *login, srv_login_stats *out);

#endif
