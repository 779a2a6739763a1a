/* The admin family's users and statistics; see handlers_admin.h.
 *
 * A new password is hashed on libuv's thread pool (argon2id takes a good fraction of a second), at most
 * HASH_JOBS at once: past that the request is refused OVERLOADED rather than queued, so an admin script
 * cannot fill the pool that logins need. Only then is the database job built; the request keeps its session
 * alive meanwhile, and answers whatever happens. */
#include "handlers_admin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "handlers.h"
#include "log.h"
#include "password.h"
#include "server.h"

#define HASH_JOBS 2

static const char *const role_words[] = {NULL, "clerk", "head_teacher", "principal", "township_officer",
                                         "county_auditor", "county_admin"};

const char *srv_admin_role_word(int role)
{
    if (role <= 0 || role >= (int)(sizeof(role_words) / sizeof(role_words[0])))
        return NULL;
    return role_words[role];
}

static int user_name_valid(const char *u)
{
    size_t n = strlen(u);
    if (n == 0 || n > 64)
        return 0;
    for (const char *p = u; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static void admin_done_reply(srv_request *req, const char *what)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__AdminDone done = ZERODROP__V1__ADMIN_DONE__INIT;
    done.what = (char *)what;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE;
    e.admin_done = &done;
    srv_request_reply(req, &e);
}

/* ---- hashing off the loop ---- */

typedef struct hash_work {
    uv_work_t work;
    srv_request *req;
    char *password;        /* wiped and freed after hashing */
    size_t len;
    char *hash;            /* the result, free() */
    srv_password_cost cost;
    zd_err rc;
    void (*then)(srv_request *req, const char *hash);
} hash_work;

static unsigned hashing; /* jobs on the thread pool; the loop is single-threaded */

static void hash_run(uv_work_t *w)
{
    hash_work *h = w->data;
    h->rc = srv_password_hash(h->password, h->len, &h->cost, &h->hash);
}

static void hash_after(uv_work_t *w, int status)
{
    hash_work *h = w->data;
    hashing--;
    memset(h->password, 0, h->len);
    free(h->password);
    if (status != 0 || h->rc != ZD_OK)
        srv_request_fail(h->req, ZD_EINTERNAL, "password", "the password could not be hashed");
    else
        h->then(h->req, h->hash);
    free(h->hash);
    free(h);
}

static int password_check(srv_request *req, const char *pw)
{
    size_t n = strlen(pw);
    if (n < 8 || n > SRV_PASSWORD_MAX_BYTES) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "password", "a password needs 8 to 1024 characters");
        return -1;
    }
    return 0;
}

/* Hashes pw and calls then(req, hash) on the loop; on any failure answers req itself. */
static void hash_start(srv_request *req, const char *pw, void (*then)(srv_request *, const char *))
{
    if (srv_request_server(req)->db == NULL) {
        srv_request_fail(req, ZD_EUNAVAILABLE, "", "this server runs without its database");
        return;
    }
    if (hashing >= HASH_JOBS) {
        srv_request_fail(req, ZD_EOVERLOADED, "", "the county server is busy; try again in a moment");
        return;
    }
    hash_work *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    char *copy = strdup(pw);
    if (copy == NULL) {
        free(h);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    h->work.data = h;
    h->req = req;
    h->password = copy;
    h->len = strlen(copy);
    h->then = then;
    h->cost = srv_request_server(req)->password_cost;
    if (uv_queue_work(srv_request_server(req)->loop, &h->work, hash_run, hash_after) != 0) {
        free(copy);
        free(h);
        srv_request_fail(req, ZD_EINTERNAL, "", "the password could not be hashed");
        return;
    }
    hashing++;
}

/* ---- UserAdd ---- */

static void user_add_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    const Zerodrop__V1__UserAdd *m = srv_request_envelope(req)->user_add;
    char what[200];
    zd_err rc = srv_db_job_status(job);
    if (rc == ZD_ECONFLICT) {
        snprintf(what, sizeof(what), "a user called %s already exists", m->user);
        srv_request_fail(req, ZD_ECONFLICT, "user", what);
    } else if (rc == ZD_EINVALID_ARGUMENT) {
        snprintf(what, sizeof(what), "a %s cannot belong to %s", srv_admin_role_word((int)m->role),
                 m->institution_code);
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "role", what);
    } else if (rc != ZD_OK) {
        srv_handler_job_fail(req, job);
    } else if (srv_db_job_rows(job, 1) != 1) {
        snprintf(what, sizeof(what), "no school, township or county has the code %s", m->institution_code);
        srv_request_fail(req, ZD_ENOT_FOUND, "institution_code", what);
    } else {
        snprintf(what, sizeof(what), "user %s added (%s at %s)", m->user, srv_admin_role_word((int)m->role),
                 m->institution_code);
        admin_done_reply(req, what);
    }
}

static void user_add_hashed(srv_request *req, const char *hash)
{
    const Zerodrop__V1__UserAdd *m = srv_request_envelope(req)->user_add;
    srv_db_job *job = srv_handler_job_create(req, user_add_done);
    if (job == NULL)
        return;
    const char *params[] = {m->user, hash, srv_admin_role_word((int)m->role), m->institution_code,
                            m->display_name};
    (void)srv_db_job_add_sql(job, SRV_USER_ADD_SQL, 5, params);
    srv_db_job_submit(job);
}

void srv_admin_user_add(srv_request *req)
{
    const Zerodrop__V1__UserAdd *m = srv_request_envelope(req)->user_add;
    if (m == NULL || !user_name_valid(m->user)) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "user", "a user name is 1 to 64 of A-Z a-z 0-9 _ . -");
        return;
    }
    if (srv_admin_role_word((int)m->role) == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "role", "name the user's role");
        return;
    }
    if (m->institution_code[0] == '\0' || strlen(m->institution_code) > 32) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "institution_code", "name the user's institution by its code");
        return;
    }
    if (password_check(req, m->password) != 0)
        return;
    hash_start(req, m->password, user_add_hashed);
}

/* ---- UserDisable, UserPasswd ---- */

static void user_update_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    const Zerodrop__V1__Envelope *env = srv_request_envelope(req);
    /* the bodies share a union: ask which one it is */
    int disable = env->body_case == ZERODROP__V1__ENVELOPE__BODY_USER_DISABLE;
    const char *user = disable ? env->user_disable->user : env->user_passwd->user;
    char what[160];
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    if (srv_db_job_rows(job, 1) != 1) {
        snprintf(what, sizeof(what), "there is no user called %s", user);
        srv_request_fail(req, ZD_ENOT_FOUND, "user", what);
        return;
    }
    if (disable)
        snprintf(what, sizeof(what), "user %s disabled", user);
    else
        snprintf(what, sizeof(what), "password of %s changed", user);
    admin_done_reply(req, what);
}

void srv_admin_user_disable(srv_request *req)
{
    const Zerodrop__V1__UserDisable *m = srv_request_envelope(req)->user_disable;
    if (m == NULL || !user_name_valid(m->user)) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "user", "a user name is 1 to 64 of A-Z a-z 0-9 _ . -");
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, user_update_done);
    if (job == NULL)
        return;
    const char *params[] = {m->user};
    (void)srv_db_job_add_sql(job, "UPDATE zd.app_user SET disabled = true WHERE username = $1 RETURNING id", 1,
                             params);
    srv_db_job_submit(job);
}

static void user_passwd_hashed(srv_request *req, const char *hash)
{
    const Zerodrop__V1__UserPasswd *m = srv_request_envelope(req)->user_passwd;
    srv_db_job *job = srv_handler_job_create(req, user_update_done);
    if (job == NULL)
        return;
    const char *params[] = {m->user, hash};
    (void)srv_db_job_add_sql(job, "UPDATE zd.app_user SET password_hash = $2 WHERE username = $1 RETURNING id", 2,
                             params);
    srv_db_job_submit(job);
}

void srv_admin_user_passwd(srv_request *req)
{
    const Zerodrop__V1__UserPasswd *m = srv_request_envelope(req)->user_passwd;
    if (m == NULL || !user_name_valid(m->user)) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "user", "a user name is 1 to 64 of A-Z a-z 0-9 _ . -");
        return;
    }
    if (password_check(req, m->password) != 0)
        return;
    hash_start(req, m->password, user_passwd_hashed);
}

/* ---- statistics ---- */

void srv__stats_request(srv_server *srv, int body, int code, double ms)
{
    if (body < 0 || body >= SRV_STATS_BODIES)
        body = 0;
    if (code < 0 || code >= ZD_ERR_COUNT)
        code = ZD_EINTERNAL;
    srv->stats.requests[body][code]++;
    double us = ms * 1000.0;
    int b = us < 1.0 ? 0 : (int)ceil(20.0 * log10(us));
    if (b < 0)
        b = 0;
    if (b >= SRV_STATS_BUCKETS)
        b = SRV_STATS_BUCKETS - 1;
    srv->stats.latency[b]++;
    srv->stats.latency_n++;
}

/* The upper bound (ms) of the bucket where the q-quantile falls; 0 with no requests yet. */
static double latency_quantile(const srv_stats *st, double q)
{
    if (st->latency_n == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)st->latency_n), seen = 0;
    for (int b = 0; b < SRV_STATS_BUCKETS; b++) {
        seen += st->latency[b];
        if (seen >= want)
            return pow(10.0, b / 20.0) / 1000.0;
    }
    return pow(10.0, (SRV_STATS_BUCKETS - 1) / 20.0) / 1000.0;
}

void srv_admin_stats(srv_request *req)
{
    srv_server *srv = srv_request_server(req);
    const srv_stats *st = &srv->stats;
    size_t n = 0;
    for (int b = 0; b < SRV_STATS_BODIES; b++)
        for (int c = 0; c < ZD_ERR_COUNT; c++)
            n += st->requests[b][c] != 0;
    Zerodrop__V1__Counter *cs = calloc(n ? n : 1, sizeof(*cs));
    Zerodrop__V1__Counter **ps = calloc(n ? n : 1, sizeof(*ps));
    char(*names)[64] = NULL;
    if (cs != NULL && ps != NULL)
        names = calloc(n ? n : 1, sizeof(*names));
    if (cs == NULL || ps == NULL || names == NULL) {
        free(cs);
        free(ps);
        free(names);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    size_t i = 0;
    for (int b = 0; b < SRV_STATS_BODIES; b++)
        for (int c = 0; c < ZD_ERR_COUNT; c++) {
            if (st->requests[b][c] == 0)
                continue;
            zerodrop__v1__counter__init(&cs[i]);
            snprintf(names[i], sizeof(names[i]), "%s/%s", b ? srv_dispatch_name((Zerodrop__V1__Envelope__BodyCase)b)
                                                            : "undecodable",
                     zd_err_name(c));
            cs[i].name = names[i];
            cs[i].value = st->requests[b][c];
            ps[i] = &cs[i];
            i++;
        }
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Stats s = ZERODROP__V1__STATS__INIT;
    s.connections = srv->n_conns;
    s.handshakes_in_progress = srv->n_handshakes;
    s.handshakes_done = srv->n_handshakes_done;
    s.n_requests = n;
    s.requests = ps;
    if (srv->db != NULL) {
        srv_db_stats dbs;
        srv_db_stats_get(srv->db, &dbs);
        s.db_queue_depth = dbs.queue_depth;
        s.db_connections_up = dbs.conns_up;
    }
    s.latency_p50_ms = latency_quantile(st, 0.50);
    s.latency_p99_ms = latency_quantile(st, 0.99);
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_STATS;
    e.stats = &s;
    srv_request_reply(req, &e);
    free(names);
    free(ps);
    free(cs);
}
