/* Devices: the Hello check and the admin requests on zd.device; see handlers_device.h.
 *
 * zd.device has no row-level security (it holds no personal data); the admin requests are restricted to
 * the county admin by the authorization matrix, and the Hello check reads only the row of the fingerprint
 * the TLS layer computed from the certificate itself, never one a client named. */
#include "handlers_device.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "server.h"

#define NOT_REGISTERED "this device is not registered with the county"

/* Marks the contact and yields the previous one, but only for the fingerprint registered to the
 * certificate's own institution (level and code) and not revoked. */
static const char hello_sql[] =
    "WITH d AS (SELECT dv.id, dv.last_contact_at FROM zd.device dv "
    "           LEFT JOIN zd.school s ON s.id = dv.school_id "
    "           LEFT JOIN zd.township t ON t.id = dv.township_id "
    "           LEFT JOIN zd.county c ON c.id = dv.county_id "
    "           WHERE dv.fingerprint = $1 AND dv.revoked_at IS NULL AND dv.level = $2::zd.level "
    "             AND COALESCE(s.code, t.code, c.code) = $3) "
    "UPDATE zd.device dv SET last_contact_at = to_timestamp($4::bigint / 1000.0) FROM d WHERE dv.id = d.id "
    "RETURNING dv.id, COALESCE((extract(epoch FROM d.last_contact_at) * 1000)::bigint, 0)";

static void hello_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    srv_session *s = srv_request_session(req);
    zd_err rc = srv_db_job_status(job);
    if (rc != ZD_OK) {
        /* The session cannot go on without the check; the client may retry (UNAVAILABLE, OVERLOADED). */
        srv_request_close_after(req, "device_check_failed");
        srv_handler_job_fail(req, job);
        return;
    }
    if (srv_db_job_rows(job, 1) != 1) {
        srv_log(SRV_LOG_WARN, "device_refused", "conn=%llu institution=%s:%s fingerprint=%s",
                (unsigned long long)s->id, s->peer.level, s->peer.code, s->peer.fingerprint);
        srv_request_close_after(req, "device_not_registered");
        srv_request_fail(req, ZD_EUNAUTHENTICATED, "certificate", NOT_REGISTERED);
        return;
    }
    const char *last = srv_db_job_value(job, 1, 0, 1);
    srv_session_welcome(req, last ? strtoll(last, NULL, 10) : 0);
}

void srv_device_hello(srv_request *req)
{
    srv_session *s = srv_request_session(req);
    srv_db_job *job = srv_handler_job_create(req, hello_done);
    if (job == NULL)
        return;
    char now[24];
    const char *params[] = {s->peer.fingerprint, s->peer.level, s->peer.code, srv_handler_now_text(now, sizeof(now))};
    (void)srv_db_job_add_sql(job, hello_sql, 4, params);
    srv_db_job_submit(job);
}

int srv_device_fingerprint_parse(const char *in, char out[65])
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ':')
            continue;
        if (!isxdigit((unsigned char)*p) || n == 64)
            return -1;
        out[n++] = (char)tolower((unsigned char)*p);
    }
    if (n != 64)
        return -1;
    out[64] = '\0';
    return 0;
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

/* ---- DeviceAdd ---- */

static void add_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    const Zerodrop__V1__DeviceAdd *m = srv_request_envelope(req)->device_add;
    char what[200];
    if (srv_db_job_status(job) == ZD_ECONFLICT) {
        srv_request_fail(req, ZD_ECONFLICT, "fingerprint", "this device is already registered");
        return;
    }
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    if (srv_db_job_rows(job, 1) != 1) {
        snprintf(what, sizeof(what), "no school, township or county has the code %s", m->institution_code);
        srv_request_fail(req, ZD_ENOT_FOUND, "institution_code", what);
        return;
    }
    snprintf(what, sizeof(what), "device registered to %s", m->institution_code);
    admin_done_reply(req, what);
}

void srv_device_add(srv_request *req)
{
    const Zerodrop__V1__DeviceAdd *m = srv_request_envelope(req)->device_add;
    char fp[65], now[24];
    if (m == NULL || srv_device_fingerprint_parse(m->fingerprint, fp) != 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "fingerprint",
                         "the fingerprint must be the certificate's SHA-256: 64 hex digits");
        return;
    }
    if (m->institution_code[0] == '\0' || strlen(m->institution_code) > 32) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "institution_code", "name the institution by its code");
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, add_done);
    if (job == NULL)
        return;
    const char *params[] = {fp, m->institution_code, m->label, srv_handler_now_text(now, sizeof(now))};
    (void)srv_db_job_add_sql(job, SRV_DEVICE_ADD_SQL, 4, params);
    srv_db_job_submit(job);
}

/* ---- DeviceRevoke ---- */

static void revoke_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    if (srv_db_job_rows(job, 1) != 1) {
        srv_request_fail(req, ZD_ENOT_FOUND, "fingerprint", "no registered device has this fingerprint");
        return;
    }
    const char *fp = srv_db_job_value(job, 1, 0, 1);
    const char *already = srv_db_job_value(job, 1, 0, 2);
    /* Committed: from now on the Hello check refuses it; its open sessions go now. */
    unsigned dropped = srv_server_device_drop(srv_request_server(req), fp);
    srv_log(SRV_LOG_INFO, "device_revoked", "fingerprint=%s dropped=%u", fp, dropped);
    char what[160];
    snprintf(what, sizeof(what), "device %.16s… %s; %u open session%s dropped", fp,
             already && already[0] == 't' ? "was already revoked" : "revoked", dropped, dropped == 1 ? "" : "s");
    admin_done_reply(req, what);
}

void srv_device_revoke(srv_request *req)
{
    const Zerodrop__V1__DeviceRevoke *m = srv_request_envelope(req)->device_revoke;
    char fp[65], now[24];
    if (m == NULL || srv_device_fingerprint_parse(m->fingerprint, fp) != 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "fingerprint",
                         "the fingerprint must be the certificate's SHA-256: 64 hex digits");
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, revoke_done);
    if (job == NULL)
        return;
    /* Revoking twice keeps the first instant and still drops any session (none should be left). */
    const char *params[] = {fp, srv_handler_now_text(now, sizeof(now))};
    (void)srv_db_job_add_sql(job,
                             "WITH old AS (SELECT id, revoked_at IS NOT NULL AS was FROM zd.device WHERE fingerprint = $1) "
                             "UPDATE zd.device d SET revoked_at = COALESCE(d.revoked_at, to_timestamp($2::bigint / 1000.0)) "
                             "FROM old WHERE d.id = old.id RETURNING d.id, d.fingerprint, old.was",
                             2, params);
    srv_db_job_submit(job);
}

/* ---- DeviceListRequest ---- */

static int64_t value_i64(const srv_db_job *job, int row, int col)
{
    const char *v = srv_db_job_value(job, 1, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void list_done(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    int n = srv_db_job_rows(job, 1);
    Zerodrop__V1__Device *devs = calloc(n > 0 ? (size_t)n : 1, sizeof(*devs));
    Zerodrop__V1__Device **ptrs = calloc(n > 0 ? (size_t)n : 1, sizeof(*ptrs));
    if (devs == NULL || ptrs == NULL) {
        free(devs);
        free(ptrs);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        Zerodrop__V1__Device *d = &devs[i];
        zerodrop__v1__device__init(d);
        /* the strings stay the pool's: valid until this callback returns, and the reply is packed at once */
        d->fingerprint = (char *)srv_db_job_value(job, 1, i, 0);
        d->institution_code = (char *)srv_db_job_value(job, 1, i, 1);
        d->label = (char *)srv_db_job_value(job, 1, i, 2);
        d->issued_ms = value_i64(job, i, 3);
        d->revoked_ms = value_i64(job, i, 4);
        d->last_contact_ms = value_i64(job, i, 5);
        ptrs[i] = d;
    }
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__DeviceList list = ZERODROP__V1__DEVICE_LIST__INIT;
    list.n_devices = (size_t)n;
    list.devices = ptrs;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_DEVICE_LIST;
    e.device_list = &list;
    srv_request_reply(req, &e);
    free(ptrs);
    free(devs);
}

void srv_device_list(srv_request *req)
{
    const Zerodrop__V1__DeviceListRequest *m = srv_request_envelope(req)->device_list_request;
    srv_db_job *job = srv_handler_job_create(req, list_done);
    if (job == NULL)
        return;
    const char *params[] = {m ? m->institution_code : ""};
    (void)srv_db_job_add_sql(job,
                             "SELECT d.fingerprint, COALESCE(s.code, t.code, c.code) AS code, d.note, "
                             "  (extract(epoch FROM d.issued_at) * 1000)::bigint, "
                             "  COALESCE((extract(epoch FROM d.revoked_at) * 1000)::bigint, 0), "
                             "  COALESCE((extract(epoch FROM d.last_contact_at) * 1000)::bigint, 0) "
                             "FROM zd.device d LEFT JOIN zd.school s ON s.id = d.school_id "
                             "LEFT JOIN zd.township t ON t.id = d.township_id "
                             "LEFT JOIN zd.county c ON c.id = d.county_id "
                             "WHERE $1 = '' OR COALESCE(s.code, t.code, c.code) = $1 "
                             "ORDER BY code, d.issued_at, d.fingerprint LIMIT 5000",
                             1, params);
    srv_db_job_submit(job);
}

/* ---- the revocation sweep ---- */

static void sweep_done(srv_db_job *job, void *data)
{
    srv_session *owner = data;
    srv_server *srv = owner->server;
    srv->sweeping = 0;
    /* a failure (the database is away) needs nothing: the next tick tries again */
    int n = srv_db_job_status(job) == ZD_OK ? srv_db_job_rows(job, 1) : 0;
    for (int i = 0; i < n; i++) {
        const char *fp = srv_db_job_value(job, 1, i, 0);
        unsigned dropped = fp ? srv_server_device_drop(srv, fp) : 0;
        if (dropped)
            srv_log(SRV_LOG_INFO, "device_revoked", "fingerprint=%s dropped=%u via=sweep", fp, dropped);
    }
    net_conn_unref(&owner->conn); /* last: it may free the owner */
}

void srv_device_sweep(uv_timer_t *t)
{
    srv_server *srv = t->data;
    if (srv->db == NULL || srv->sweeping || srv->stopping)
        return;
    /* The fingerprints of sessions past Hello, as a PostgreSQL array literal (hex needs no quoting). */
    size_t n = 0;
    srv_session *scope_owner = NULL;
    for (srv_session *s = srv->sessions; s != NULL; s = s->next)
        if (s->hello_done && s->conn.state == NET_CONN_OPEN) {
            n++;
            scope_owner = s;
        }
    if (n == 0)
        return;
    char *arr = malloc(n * 65 + 3);
    if (arr == NULL)
        return;
    size_t len = 0;
    arr[len++] = '{';
    for (srv_session *s = srv->sessions; s != NULL; s = s->next)
        if (s->hello_done && s->conn.state == NET_CONN_OPEN) {
            if (len > 1)
                arr[len++] = ',';
            memcpy(arr + len, s->peer.fingerprint, 64);
            len += 64;
        }
    arr[len++] = '}';
    arr[len] = '\0';
    srv_db_job *job = srv_db_job_create(srv->db, sweep_done, scope_owner);
    if (job == NULL) {
        free(arr);
        return;
    }
    /* zd.device holds no personal data and has no row-level security, but every transaction still opens
     * with a scope: an open session's own, kept allocated by our reference until sweep_done. */
    net_conn_ref(&scope_owner->conn);
    (void)srv_db_job_add_scope(job, SRV_SCOPE_SQL, srv_handler_scope_token, scope_owner);
    const char *params[] = {arr};
    (void)srv_db_job_add_sql(job,
                             "SELECT fingerprint FROM zd.device WHERE fingerprint = ANY ($1::text[]) "
                             "AND revoked_at IS NOT NULL",
                             1, params);
    free(arr);
    srv->sweeping = 1;
    srv_db_job_submit(job);
}
