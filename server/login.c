/* Login: one attempt is a small state machine over the throttle, two database jobs and a password job.
 *
 *   password:  admit (throttle) → read the user (scoped job) → verify (thread pool) → store a session
 *   token:     read the session by the token's digest (scoped job)
 *
 * Every attempt ends in finish(), which sets the outcome and arms a zero timer, so the caller's callback
 * always runs from the loop, never from inside srv_login_start; the timer's close callback frees the
 * attempt. The caller's reference (ref/unref) is held from start until its callback returned. */
#include "login.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/crypto.h>

#include "scope.h"

struct srv_login {
    uv_loop_t *loop;
    srv_db *db;
    srv_password password;
    srv_throttle *throttle;
    uint64_t session_ttl_ms;
    uint64_t (*now_ms)(void *clock);
    void *clock;
    unsigned char scope_key[SRV_SCOPE_KEY_MAX];
    size_t scope_key_len;
    srv_login_stats stats;
    unsigned inflight;
};

enum attempt_kind { BY_PASSWORD, BY_TOKEN, LOGOUT };

typedef struct login_attempt {
    uv_timer_t finish_timer; /* the callback is delivered from here */
    srv_login *login;
    enum attempt_kind kind;
    srv_login_cb cb;
    void *data;
    void (*unref)(void *data);

    Zerodrop__V1__Level level;
    char institution[40];
    char fingerprint[72];
    char user[SRV_LOGIN_USER_MAX + 1];
    char *password; /* our copy, wiped on free */
    size_t password_len;
    uint8_t token[SRV_TOKEN_BYTES];
    char digest_param[SRV_TOKEN_PARAM_SIZE];
    int throttled_open; /* admitted by the throttle and not yet given a verdict */

    /* the user's row */
    int found;
    int64_t user_id;
    char *hash;
    Zerodrop__V1__Role role;
    Zerodrop__V1__Level user_level;
    char user_institution[40];
    int disabled;
    int64_t expires_ms;

    zd_err code;
    char message[256];
} login_attempt;

/* Statement indexes in our jobs (index 0 is the scope statement). */
#define STMT_MAIN 1

static const char sql_user[] =
    "SELECT u.id, u.password_hash, u.role::text, u.level::text, coalesce(s.code, t.code, c.code), u.disabled "
    "FROM zd.app_user u "
    "LEFT JOIN zd.school s ON s.id = u.school_id "
    "LEFT JOIN zd.township t ON t.id = u.township_id "
    "LEFT JOIN zd.county c ON c.id = u.county_id "
    "WHERE u.username = $1";

static const char sql_session_insert[] =
    "INSERT INTO zd.app_session (token_sha256, user_id, device_fingerprint, expires_at) "
    "VALUES ($1::bytea, $2::integer, nullif($3, ''), to_timestamp($4::bigint / 1000.0))";

static const char sql_session_resume[] =
    "SELECT u.id, u.username, u.role::text, u.level::text, coalesce(s.code, t.code, c.code), u.disabled, "
    "       (extract(epoch FROM a.expires_at) * 1000)::bigint, coalesce(a.device_fingerprint, '') "
    "FROM zd.app_session a "
    "JOIN zd.app_user u ON u.id = a.user_id "
    "LEFT JOIN zd.school s ON s.id = u.school_id "
    "LEFT JOIN zd.township t ON t.id = u.township_id "
    "LEFT JOIN zd.county c ON c.id = u.county_id "
    "WHERE a.token_sha256 = $1::bytea AND a.ended_at IS NULL "
    "  AND a.expires_at > to_timestamp($2::bigint / 1000.0)";

static const char sql_session_end[] =
    "UPDATE zd.app_session SET ended_at = now() "
    "WHERE user_id = (SELECT u.id FROM zd.app_user u WHERE u.username = $1) AND device_fingerprint = $2 "
    "  AND ended_at IS NULL";

static const char msg_wrong[] = "wrong user name or password";
static const char msg_session_over[] = "your session has ended; log in again with your password";

/* ---- names ------------------------------------------------------------------------------------- */

int srv_login_user_valid(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '.' || c == '-';
        if (!ok || n >= SRV_LOGIN_USER_MAX)
            return 0;
    }
    return n > 0;
}

static int institution_valid(const char *code)
{
    if (code == NULL)
        return 0;
    size_t n = 0;
    for (; code[n]; n++) {
        char c = code[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-';
        if (!ok || n >= 32)
            return 0;
    }
    return n > 0;
}

static const char *level_text(Zerodrop__V1__Level level)
{
    switch (level) {
    case ZERODROP__V1__LEVEL__LEVEL_SCHOOL:
        return "school";
    case ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP:
        return "township";
    case ZERODROP__V1__LEVEL__LEVEL_COUNTY:
        return "county";
    default:
        return NULL;
    }
}

static Zerodrop__V1__Level level_from_text(const char *s)
{
    if (s && strcmp(s, "school") == 0)
        return ZERODROP__V1__LEVEL__LEVEL_SCHOOL;
    if (s && strcmp(s, "township") == 0)
        return ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP;
    if (s && strcmp(s, "county") == 0)
        return ZERODROP__V1__LEVEL__LEVEL_COUNTY;
    return ZERODROP__V1__LEVEL__LEVEL_UNSPECIFIED;
}

static Zerodrop__V1__Role role_from_text(const char *s)
{
    static const struct {
        const char *name;
        Zerodrop__V1__Role role;
    } roles[] = {
        {"clerk", ZERODROP__V1__ROLE__ROLE_CLERK},
        {"head_teacher", ZERODROP__V1__ROLE__ROLE_HEAD_TEACHER},
        {"principal", ZERODROP__V1__ROLE__ROLE_PRINCIPAL},
        {"township_officer", ZERODROP__V1__ROLE__ROLE_TOWNSHIP_OFFICER},
        {"county_auditor", ZERODROP__V1__ROLE__ROLE_COUNTY_AUDITOR},
        {"county_admin", ZERODROP__V1__ROLE__ROLE_COUNTY_ADMIN},
    };
    for (size_t i = 0; s && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(s, roles[i].name) == 0)
            return roles[i].role;
    return ZERODROP__V1__ROLE__ROLE_UNSPECIFIED;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

static void copy_text(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* ---- the service --------------------------------------------------------------------------------- */

srv_login *srv_login_create(const srv_login_config *config)
{
    if (config == NULL || config->loop == NULL || config->db == NULL || config->now_ms == NULL ||
        config->scope_key == NULL || config->scope_key_len == 0 || config->scope_key_len > SRV_SCOPE_KEY_MAX)
        return NULL;
    srv_login *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->loop = config->loop;
    l->db = config->db;
    l->now_ms = config->now_ms;
    l->clock = config->clock;
    memcpy(l->scope_key, config->scope_key, config->scope_key_len);
    l->scope_key_len = config->scope_key_len;
    l->session_ttl_ms = config->session_ttl_ms ? config->session_ttl_ms : SRV_LOGIN_SESSION_TTL_MS;
    l->throttle = srv_throttle_create(config->policy);
    if (l->throttle == NULL)
        goto free_login;
    if (srv_password_init(&l->password, config->loop, config->cost, config->max_jobs) != ZD_OK)
        goto destroy_throttle;
    return l;

destroy_throttle:
    srv_throttle_destroy(l->throttle);
free_login:
    free(l);
    return NULL;
}

void srv_login_destroy(srv_login *login)
{
    if (login == NULL)
        return;
    srv_password_finish(&login->password);
    srv_throttle_destroy(login->throttle);
    OPENSSL_cleanse(login->scope_key, sizeof login->scope_key);
    free(login);
}

srv_password *srv_login_password(srv_login *login)
{
    return &login->password;
}

void srv_login_stats_get(const srv_login *login, srv_login_stats *out)
{
    *out = login->stats;
}

/* ---- ending an attempt ----------------------------------------------------------------------------- */

static void attempt_free(uv_handle_t *h)
{
    login_attempt *a = h->data;
    if (a->password) {
        OPENSSL_cleanse(a->password, a->password_len);
        free(a->password);
    }
    if (a->hash)
        free(a->hash);
    OPENSSL_cleanse(a->token, sizeof a->token);
    free(a);
}

static void deliver(uv_timer_t *t)
{
    login_attempt *a = t->data;
    srv_login *l = a->login;
    if (a->code == ZD_OK) {
        srv_login_outcome o = {
            .user = a->user,
            .role = a->role,
            .user_id = a->user_id,
            .token = a->token,
            .expires_ms = a->expires_ms,
        };
        if (a->kind != LOGOUT)
            l->stats.succeeded++;
        a->cb(a->data, ZD_OK, "", a->kind == LOGOUT ? NULL : &o);
        OPENSSL_cleanse(&o, sizeof o);
    } else {
        a->cb(a->data, a->code, a->message, NULL);
    }
    if (a->unref)
        a->unref(a->data);
    l->inflight--;
    uv_close((uv_handle_t *)&a->finish_timer, attempt_free);
}

static void finish(login_attempt *a, zd_err code, const char *message)
{
    srv_login *l = a->login;
    if (a->throttled_open) {
        /* A verdict on the password was never reached: the attempt does not count against the user. */
        srv_throttle_abandon(l->throttle, a->user);
        a->throttled_open = 0;
    }
    a->code = code;
    copy_text(a->message, sizeof a->message, message);
    if (uv_timer_start(&a->finish_timer, deliver, 0, 0) != 0)
        deliver(&a->finish_timer); /* cannot happen for an initialised timer; never lose the callback */
}

static const char *trouble_message(zd_err code)
{
    switch (code) {
    case ZD_EOVERLOADED:
        return "the server is busy; try again in a moment";
    case ZD_EUNAVAILABLE:
        return "the county database is not available right now; try again in a moment";
    default:
        return "the server could not check the login; try again, and tell the county if it persists";
    }
}

/* ---- database jobs --------------------------------------------------------------------------------- */

/* The scope token for the connection the job runs on: the device's institution, never the user's. The
 * expiry is real time (the database checks it against its own clock), not the server's test clock. */
static int make_scope(void *arg, int backend_pid, char *out, size_t outlen)
{
    login_attempt *a = arg;
    srv_login *l = a->login;
    int64_t expires = (int64_t)time(NULL) + SRV_SCOPE_TTL_S;
    return srv_scope_token_build(out, outlen, l->scope_key, l->scope_key_len, level_text(a->level),
                                 a->institution, backend_pid, expires);
}

/* A job whose first statement sets the scope. The attempt outlives the job (it is freed only after
 * finish, which comes from the job's own callback or later), so the job needs no hold on it. */
static srv_db_job *scoped_job(login_attempt *a, srv_db_done_fn done)
{
    srv_db_job *job = srv_db_job_create(a->login->db, done, a);
    if (job == NULL)
        return NULL;
    srv_db_job_add_scope(job, SRV_SCOPE_SQL, make_scope, a);
    return job;
}

static void on_session_stored(srv_db_job *job, void *data)
{
    login_attempt *a = data;
    zd_err rc = srv_db_job_status(job);
    if (rc != ZD_OK) {
        finish(a, rc == ZD_EOVERLOADED || rc == ZD_EUNAVAILABLE ? rc : ZD_EINTERNAL, trouble_message(rc));
        return;
    }
    finish(a, ZD_OK, "");
}

/* The user is who they say; now check they may act from this device, then store the session. */
static void admit_user(login_attempt *a)
{
    srv_login *l = a->login;
    char buf[sizeof a->message];
    if (a->disabled) {
        finish(a, ZD_EFORBIDDEN, "this user is disabled; ask the county admin");
        return;
    }
    if (a->user_level != a->level || strcmp(a->user_institution, a->institution) != 0) {
        snprintf(buf, sizeof buf, "user %s belongs to %s %s; log in from a device of that institution",
                 a->user, level_text(a->user_level) ? level_text(a->user_level) : "an institution",
                 a->user_institution);
        finish(a, ZD_EFORBIDDEN, buf);
        return;
    }
    if (a->role == ZERODROP__V1__ROLE__ROLE_UNSPECIFIED) {
        finish(a, ZD_EINTERNAL, "this user's role is not one the server knows; tell the county admin");
        return;
    }
    if (a->kind == BY_TOKEN) {
        finish(a, ZD_OK, "");
        return;
    }

    if (srv_token_new(a->token) != ZD_OK ||
        srv_token_digest_param(a->token, sizeof a->token, a->digest_param) != ZD_OK) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return;
    }
    a->expires_ms = (int64_t)(l->now_ms(l->clock) + l->session_ttl_ms);
    char user_id[24], expires[24];
    snprintf(user_id, sizeof user_id, "%" PRId64, a->user_id);
    snprintf(expires, sizeof expires, "%" PRId64, a->expires_ms);
    const char *params[] = {a->digest_param, user_id, a->fingerprint, expires};
    srv_db_job *job = scoped_job(a, on_session_stored);
    if (job == NULL) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return;
    }
    srv_db_job_add_sql(job, sql_session_insert, 4, params);
    srv_db_job_submit(job);
}

static void on_verified(void *data, zd_err result)
{
    login_attempt *a = data;
    srv_login *l = a->login;
    if (a->password) {
        OPENSSL_cleanse(a->password, a->password_len);
    }
    switch (result) {
    case ZD_OK:
        a->throttled_open = 0;
        srv_throttle_succeed(l->throttle, a->user);
        admit_user(a);
        return;
    case ZD_EUNAUTHENTICATED:
        a->throttled_open = 0;
        srv_throttle_fail(l->throttle, a->user, l->now_ms(l->clock));
        finish(a, ZD_EUNAUTHENTICATED, msg_wrong);
        return;
    case ZD_EINVALID_ARGUMENT:
        finish(a, ZD_EINTERNAL,
               "this user's stored password cannot be checked; ask the county admin to set it again");
        return;
    default:
        finish(a, result == ZD_EUNAVAILABLE ? ZD_EUNAVAILABLE : ZD_EINTERNAL, trouble_message(result));
        return;
    }
}

/* Copies the columns both queries share: id, [hash | name], role, level, institution, disabled. */
static int read_user_row(login_attempt *a, srv_db_job *job)
{
    const char *id = srv_db_job_value(job, STMT_MAIN, 0, 0);
    if (parse_i64(id, &a->user_id) != 0)
        return -1;
    a->role = role_from_text(srv_db_job_value(job, STMT_MAIN, 0, 2));
    a->user_level = level_from_text(srv_db_job_value(job, STMT_MAIN, 0, 3));
    copy_text(a->user_institution, sizeof a->user_institution, srv_db_job_value(job, STMT_MAIN, 0, 4));
    const char *disabled = srv_db_job_value(job, STMT_MAIN, 0, 5);
    a->disabled = disabled == NULL || strcmp(disabled, "f") != 0;
    return 0;
}

static void on_user_read(srv_db_job *job, void *data)
{
    login_attempt *a = data;
    srv_login *l = a->login;
    zd_err rc = srv_db_job_status(job);
    if (rc != ZD_OK) {
        finish(a, rc == ZD_EOVERLOADED || rc == ZD_EUNAVAILABLE ? rc : ZD_EINTERNAL, trouble_message(rc));
        return;
    }
    if (srv_db_job_rows(job, STMT_MAIN) == 1) {
        const char *hash = srv_db_job_value(job, STMT_MAIN, 0, 1);
        if (read_user_row(a, job) != 0 || hash == NULL) {
            finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
            return;
        }
        a->hash = strdup(hash);
        if (a->hash == NULL) {
            finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
            return;
        }
        a->found = 1;
    }
    /* Unknown users go through the same verification, against the dummy. */
    rc = srv_password_verify_start(&l->password, a->found ? a->hash : NULL, a->password, a->password_len,
                                   on_verified, a);
    if (rc != ZD_OK)
        finish(a, rc == ZD_EOVERLOADED ? rc : ZD_EINTERNAL, trouble_message(rc));
}

static void on_session_read(srv_db_job *job, void *data)
{
    login_attempt *a = data;
    zd_err rc = srv_db_job_status(job);
    if (rc != ZD_OK) {
        finish(a, rc == ZD_EOVERLOADED || rc == ZD_EUNAVAILABLE ? rc : ZD_EINTERNAL, trouble_message(rc));
        return;
    }
    if (srv_db_job_rows(job, STMT_MAIN) != 1) {
        finish(a, ZD_EUNAUTHENTICATED, msg_session_over);
        return;
    }
    const char *name = srv_db_job_value(job, STMT_MAIN, 0, 1);
    const char *expires = srv_db_job_value(job, STMT_MAIN, 0, 6);
    const char *fingerprint = srv_db_job_value(job, STMT_MAIN, 0, 7);
    if (read_user_row(a, job) != 0 || name == NULL || parse_i64(expires, &a->expires_ms) != 0) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return;
    }
    /* A token works only for the user it was given to, from the device it was given to. */
    if ((a->user[0] && strcmp(a->user, name) != 0) ||
        (fingerprint && fingerprint[0] && strcmp(fingerprint, a->fingerprint) != 0)) {
        finish(a, ZD_EUNAUTHENTICATED, msg_session_over);
        return;
    }
    copy_text(a->user, sizeof a->user, name);
    admit_user(a);
}

static void on_session_ended(srv_db_job *job, void *data)
{
    login_attempt *a = data;
    zd_err rc = srv_db_job_status(job);
    if (rc != ZD_OK) {
        finish(a, rc == ZD_EOVERLOADED || rc == ZD_EUNAVAILABLE ? rc : ZD_EINTERNAL, trouble_message(rc));
        return;
    }
    finish(a, ZD_OK, "");
}

/* ---- starting ---------------------------------------------------------------------------------------- */

static login_attempt *attempt_create(srv_login *l, enum attempt_kind kind, Zerodrop__V1__Level level,
                                     const char *institution, srv_login_cb cb, void *data,
                                     void (*ref)(void *data), void (*unref)(void *data))
{
    login_attempt *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    if (uv_timer_init(l->loop, &a->finish_timer) != 0) {
        free(a);
        return NULL;
    }
    a->finish_timer.data = a;
    a->login = l;
    a->kind = kind;
    a->cb = cb;
    a->data = data;
    a->unref = unref;
    a->level = level;
    copy_text(a->institution, sizeof a->institution, institution);
    if (ref)
        ref(data);
    l->inflight++;
    return a;
}

zd_err srv_login_start(srv_login *login, const srv_login_request *req, srv_login_cb cb, void *data,
                       void (*ref)(void *data), void (*unref)(void *data))
{
    srv_login *l = login;
    int by_token = req->token != NULL && req->token_len > 0;
    login_attempt *a = attempt_create(l, by_token ? BY_TOKEN : BY_PASSWORD, req->level, req->institution, cb,
                                      data, ref, unref);
    if (a == NULL)
        return ZD_EINTERNAL;
    copy_text(a->fingerprint, sizeof a->fingerprint, req->fingerprint);
    l->stats.attempts++;

    if (level_text(req->level) == NULL || !institution_valid(req->institution)) {
        finish(a, ZD_EFORBIDDEN, "this device names no institution the server knows");
        return ZD_OK;
    }

    if (by_token) {
        if (req->user && req->user[0] && !srv_login_user_valid(req->user)) {
            finish(a, ZD_EINVALID_ARGUMENT, "a user name is letters, digits, '.', '_' or '-', at most 64");
            return ZD_OK;
        }
        copy_text(a->user, sizeof a->user, req->user);
        if (req->token_len != SRV_TOKEN_BYTES) {
            finish(a, ZD_EUNAUTHENTICATED, msg_session_over);
            return ZD_OK;
        }
        memcpy(a->token, req->token, SRV_TOKEN_BYTES);
        char now[24];
        snprintf(now, sizeof now, "%" PRIu64, l->now_ms(l->clock));
        if (srv_token_digest_param(a->token, sizeof a->token, a->digest_param) != ZD_OK) {
            finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
            return ZD_OK;
        }
        const char *params[] = {a->digest_param, now};
        srv_db_job *job = scoped_job(a, on_session_read);
        if (job == NULL) {
            finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
            return ZD_OK;
        }
        srv_db_job_add_sql(job, sql_session_resume, 2, params);
        srv_db_job_submit(job);
        return ZD_OK;
    }

    if (!srv_login_user_valid(req->user)) {
        finish(a, ZD_EINVALID_ARGUMENT, "a user name is letters, digits, '.', '_' or '-', at most 64");
        return ZD_OK;
    }
    copy_text(a->user, sizeof a->user, req->user);
    if (req->password == NULL || req->password_len == 0) {
        finish(a, ZD_EINVALID_ARGUMENT, "give a password, or the session token of an earlier login");
        return ZD_OK;
    }
    if (req->password_len > SRV_PASSWORD_MAX_BYTES) {
        finish(a, ZD_EUNAUTHENTICATED, msg_wrong);
        return ZD_OK;
    }
    a->password = malloc(req->password_len + 1);
    if (a->password == NULL) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return ZD_OK;
    }
    memcpy(a->password, req->password, req->password_len);
    a->password[req->password_len] = '\0';
    a->password_len = req->password_len;

    uint64_t retry = 0;
    zd_err rc = srv_throttle_admit(l->throttle, a->user, l->now_ms(l->clock), &retry);
    if (rc == ZD_EUNAUTHENTICATED) {
        char msg[96];
        l->stats.throttled++;
        finish(a, ZD_EUNAUTHENTICATED, srv_throttle_message(retry, msg, sizeof msg));
        return ZD_OK;
    }
    if (rc != ZD_OK) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return ZD_OK;
    }
    a->throttled_open = 1;

    const char *params[] = {a->user};
    srv_db_job *job = scoped_job(a, on_user_read);
    if (job == NULL) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return ZD_OK;
    }
    srv_db_job_add_sql(job, sql_user, 1, params);
    srv_db_job_submit(job);
    return ZD_OK;
}

zd_err srv_login_end(srv_login *login, Zerodrop__V1__Level level, const char *institution, const char *user,
                     const char *fingerprint, srv_login_cb cb, void *data, void (*ref)(void *data),
                     void (*unref)(void *data))
{
    login_attempt *a = attempt_create(login, LOGOUT, level, institution, cb, data, ref, unref);
    if (a == NULL)
        return ZD_EINTERNAL;
    if (level_text(level) == NULL || !institution_valid(institution)) {
        finish(a, ZD_EFORBIDDEN, "this device names no institution the server knows");
        return ZD_OK;
    }
    if (!srv_login_user_valid(user) || fingerprint == NULL || fingerprint[0] == '\0') {
        finish(a, ZD_OK, ""); /* nobody logged in here, or no device to end it on: nothing to end */
        return ZD_OK;
    }
    copy_text(a->user, sizeof a->user, user);
    copy_text(a->fingerprint, sizeof a->fingerprint, fingerprint);
    const char *params[] = {a->user, a->fingerprint};
    srv_db_job *job = scoped_job(a, on_session_ended);
    if (job == NULL) {
        finish(a, ZD_EINTERNAL, trouble_message(ZD_EINTERNAL));
        return ZD_OK;
    }
    srv_db_job_add_sql(job, sql_session_end, 2, params);
    srv_db_job_submit(job);
    return ZD_OK;
}
