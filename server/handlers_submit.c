/* Submit: signed records in, per-record answers out; see handlers_submit.h.
 *
 * The handler does in C what needs the session or the raw bytes (the signature against the peer
 * certificate, decoding the body, checking its shape) and leaves to SQL what needs the county's data: one
 * `zd.submit_<kind>` call per record, all in one job, each returning a row with its status instead of
 * raising, so one bad record costs only itself. A record refused here never reaches the database; its
 * answer is kept in the call and merged with the database's answers in the records' order. */
#include "handlers_submit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attendance.pb-c.h"
#include "authz.h"
#include "handlers.h"
#include "record.pb-c.h"
#include "report.pb-c.h"
#include "scope.h"
#include "server.h"
#include "sign.h"

#define ROLL_CALL_SQL                                                                                         \
    "SELECT r.status, r.code, r.field, r.message, r.chain_seq, encode(r.chain_hash, 'hex'), r.received_ms "    \
    "FROM zd.submit_roll_call($1::uuid, $2, $3, $4::date, $5::uuid, $6, $7::jsonb, $8::bigint, $9::bigint, "  \
    "$10::bytea, $11::bytea) r"

#define DAILY_REPORT_SQL                                                                                      \
    "SELECT r.status, r.code, r.field, r.message, r.chain_seq, encode(r.chain_hash, 'hex'), r.received_ms "    \
    "FROM zd.submit_daily_report($1::uuid, $2, $3, $4::date, $5, $6::uuid, $7, $8::jsonb, $9::bigint, "       \
    "$10::bigint, $11::bytea, $12::bytea) r"

/* One record's answer while the Submit is worked on. */
typedef struct submit_item {
    int stmt; /* the job's statement answering it, or -1 when answered here */
    uint8_t uuid[16];
    size_t uuid_len;
    zd_err code; /* rejection decided here */
    char field[64];
    char message[256];
} submit_item;

typedef struct submit_call {
    srv_request *req;
    size_t n;
    submit_item items[];
} submit_call;

/* ---- small text builders ---- */

typedef struct text_buf {
    char *p;
    size_t len, cap;
    int failed;
} text_buf;

static void tb_put(text_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void tb_str(text_buf *b, const char *s) { tb_put(b, s, strlen(s)); }

/* s as a JSON string; control characters escaped, the rest (valid UTF-8, checked before) as it is. */
static void tb_json(text_buf *b, const char *s)
{
    tb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            tb_put(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *c);
            tb_put(b, esc, 6);
        } else {
            tb_put(b, (const char *)c, 1);
        }
    }
    tb_put(b, "\"", 1);
}

/* Bytes as PostgreSQL's bytea hex input ("\x0a1b…") into a new string (free it), NULL when out of memory. */
static char *bytea_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * n + 3);
    if (out == NULL)
        return NULL;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = digits[p[i] >> 4];
        out[3 + 2 * i] = digits[p[i] & 15];
    }
    out[2 + 2 * n] = '\0';
    return out;
}

static void uuid_text(const uint8_t u[16], char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* PostgreSQL refuses text that is not UTF-8, and such an error would abort the whole Submit: check first. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n;
        if (*p < 0x80)
            n = 1;
        else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
            n = 2;
        else if ((*p & 0xf0) == 0xe0)
            n = 3;
        else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
            n = 4;
        else
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

/* A real calendar day YYYYMMDD (2000-2099) as "YYYY-MM-DD"; 0 when it is not one. */
static int date_text(uint32_t d, char out[11])
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = d / 10000, m = d / 100 % 100, day = d % 100;
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || day < 1)
        return 0;
    unsigned max = mdays[m - 1] + (m == 2 && y % 4 == 0 ? 1u : 0u);
    if (day > max)
        return 0;
    snprintf(out, 11, "%04u-%02u-%02u", y, m, day);
    return 1;
}

static void item_reject(submit_item *it, zd_err code, const char *field, const char *message)
{
    it->stmt = -1;
    it->code = code;
    snprintf(it->field, sizeof(it->field), "%s", field);
    snprintf(it->message, sizeof(it->message), "%s", message);
}

/* Names a record refused before its body was read (forged, not allowed, a kind not handled), so the client
 * can match the answer to its outbox row: every record message has `bytes uuid = 1`, and protobuf-c writes
 * fields in number order, so a 16-byte uuid is the first 18 bytes (tag 0x0a, length 16). */
static void uuid_peek(submit_item *it, const Zerodrop__V1__SignedRecord *rec)
{
    if (rec->body.len >= 18 && rec->body.data[0] == 0x0a && rec->body.data[1] == 16) {
        memcpy(it->uuid, rec->body.data + 2, 16);
        it->uuid_len = 16;
    }
}

/* ---- per kind: the SQL call's parameters ---- */

static void add_roll_call(srv_db_job *job, submit_item *it, const Zerodrop__V1__SignedRecord *rec,
                          const char *fingerprint, const char *now)
{
    Zerodrop__V1__RollCall *rc = zerodrop__v1__roll_call__unpack(NULL, rec->body.len, rec->body.data);
    if (rc == NULL) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "body", "the record could not be read as a roll call");
        return;
    }
    char date[11], uuid[37], corrects[37], captured[24];
    text_buf js = {0};
    char *body = NULL, *sig = NULL;
    if (rc->uuid.len != 16) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "uuid", "the roll call has no valid record id");
        goto out;
    }
    memcpy(it->uuid, rc->uuid.data, 16);
    it->uuid_len = 16;
    if (!date_text(rc->date, date)) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "date", "the roll call's date is not a calendar day");
        goto out;
    }
    if (rc->corrects.len != 0 && rc->corrects.len != 16) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "corrects", "the roll call names an invalid record to correct");
        goto out;
    }
    if (!utf8_valid(rc->class_code) || !utf8_valid(rc->taken_by)) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "class_code", "the roll call holds text that is not UTF-8");
        goto out;
    }
    tb_str(&js, "[");
    for (size_t i = 0; i < rc->n_absences; i++) {
        const Zerodrop__V1__Absence *a = rc->absences[i];
        if (!utf8_valid(a->student_id) || !utf8_valid(a->reason)) {
            item_reject(it, ZD_EINVALID_ARGUMENT, "absences", "an absence holds text that is not UTF-8");
            goto out;
        }
        tb_str(&js, i ? ",{\"student_id\":" : "{\"student_id\":");
        tb_json(&js, a->student_id);
        tb_str(&js, ",\"reason\":");
        tb_json(&js, a->reason);
        tb_str(&js, a->excused ? ",\"excused\":true}" : ",\"excused\":false}");
    }
    tb_str(&js, "]");
    uuid_text(it->uuid, uuid);
    if (rc->corrects.len == 16)
        uuid_text(rc->corrects.data, corrects);
    snprintf(captured, sizeof(captured), "%" PRId64, rc->capture_ms);
    body = bytea_hex(rec->body.data, rec->body.len);
    sig = bytea_hex(rec->signature.data, rec->signature.len);
    if (js.failed || body == NULL || sig == NULL) {
        item_reject(it, ZD_EINTERNAL, "", "the server is out of memory");
        goto out;
    }
    const char *params[] = {uuid, fingerprint, rc->class_code, date, rc->corrects.len ? corrects : NULL,
                            rc->taken_by, js.p, captured, now, body, sig};
    it->stmt = (int)srv_db_job_count(job);
    (void)srv_db_job_add_sql(job, ROLL_CALL_SQL, 11, params);
out:
    free(js.p);
    free(body);
    free(sig);
    zerodrop__v1__roll_call__free_unpacked(rc, NULL);
}

static const char *event_word(Zerodrop__V1__EventType t)
{
    switch (t) {
    case ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN:
        return "transfer_in";
    case ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT:
        return "transfer_out";
    case ZERODROP__V1__EVENT_TYPE__EVENT_SUSPECTED_DROPOUT:
        return "suspected_dropout";
    case ZERODROP__V1__EVENT_TYPE__EVENT_RETURN:
        return "return";
    case ZERODROP__V1__EVENT_TYPE__EVENT_NO_SHOW:
        return "no_show";
    default:
        return NULL;
    }
}

static void add_daily_report(srv_db_job *job, submit_item *it, const Zerodrop__V1__SignedRecord *rec,
                             const char *fingerprint, const char *now)
{
    Zerodrop__V1__DailyReport *dr = zerodrop__v1__daily_report__unpack(NULL, rec->body.len, rec->body.data);
    if (dr == NULL) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "body", "the record could not be read as a daily report");
        return;
    }
    char date[11], uuid[37], corrects[37], captured[24];
    text_buf js = {0};
    char *body = NULL, *sig = NULL;
    const char *kind = NULL;
    if (dr->uuid.len != 16) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "uuid", "the report has no valid record id");
        goto out;
    }
    memcpy(it->uuid, dr->uuid.data, 16);
    it->uuid_len = 16;
    if (!date_text(dr->date, date)) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "date", "the report's date is not a calendar day");
        goto out;
    }
    if (dr->kind == ZERODROP__V1__REPORT_KIND__REPORT_ZERO && dr->n_events == 0)
        kind = "zero";
    else if (dr->kind == ZERODROP__V1__REPORT_KIND__REPORT_EVENTS && dr->n_events > 0)
        kind = "events";
    if (kind == NULL) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "kind",
                    "a report is either a zero-report without events or an events report with at least one");
        goto out;
    }
    if (dr->corrects.len != 0 && dr->corrects.len != 16) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "corrects", "the report names an invalid record to correct");
        goto out;
    }
    if (!utf8_valid(dr->school_code) || !utf8_valid(dr->signed_by)) {
        item_reject(it, ZD_EINVALID_ARGUMENT, "school_code", "the report holds text that is not UTF-8");
        goto out;
    }
    tb_str(&js, "[");
    for (size_t i = 0; i < dr->n_events; i++) {
        const Zerodrop__V1__ReportEvent *e = dr->events[i];
        const char *word = event_word(e->type);
        if (word == NULL) {
            item_reject(it, ZD_EINVALID_ARGUMENT, "events", "an event has no type");
            goto out;
        }
        if (!utf8_valid(e->student_id) || !utf8_valid(e->other_school) || !utf8_valid(e->note)) {
            item_reject(it, ZD_EINVALID_ARGUMENT, "events", "an event holds text that is not UTF-8");
            goto out;
        }
        tb_str(&js, i ? ",{\"type\":\"" : "{\"type\":\"");
        tb_str(&js, word);
        tb_str(&js, "\",\"student_id\":");
        tb_json(&js, e->student_id);
        tb_str(&js, ",\"other_school\":");
        tb_json(&js, e->other_school);
        tb_str(&js, ",\"note\":");
        tb_json(&js, e->note);
        tb_str(&js, "}");
    }
    tb_str(&js, "]");
    uuid_text(it->uuid, uuid);
    if (dr->corrects.len == 16)
        uuid_text(dr->corrects.data, corrects);
    snprintf(captured, sizeof(captured), "%" PRId64, dr->capture_ms);
    body = bytea_hex(rec->body.data, rec->body.len);
    sig = bytea_hex(rec->signature.data, rec->signature.len);
    if (js.failed || body == NULL || sig == NULL) {
        item_reject(it, ZD_EINTERNAL, "", "the server is out of memory");
        goto out;
    }
    const char *params[] = {uuid, fingerprint, dr->school_code, date, kind, dr->corrects.len ? corrects : NULL,
                            dr->signed_by, js.p, captured, now, body, sig};
    it->stmt = (int)srv_db_job_count(job);
    (void)srv_db_job_add_sql(job, DAILY_REPORT_SQL, 12, params);
out:
    free(js.p);
    free(body);
    free(sig);
    zerodrop__v1__daily_report__free_unpacked(dr, NULL);
}

/* ---- the answer ---- */

static zd_err code_from_word(const char *w)
{
    for (int c = 1; c < ZD_ERR_COUNT; c++)
        if (strcmp(zd_err_name(c), w) == 0)
            return (zd_err)c;
    return ZD_EINVALID_ARGUMENT;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A value of the answer row; "" for SQL NULL. */
static const char *value(const srv_db_job *job, size_t stmt, int col)
{
    const char *v = srv_db_job_value(job, stmt, 0, col);
    return v ? v : "";
}

/* What one RecordResult points at, kept together so the reply needs two allocations. */
typedef struct result_slot {
    Zerodrop__V1__RecordResult result;
    Zerodrop__V1__Error error;
    Zerodrop__V1__Receipt receipt;
    uint8_t hash[32];
} result_slot;

static void reply_results(submit_call *call, srv_db_job *job)
{
    size_t n = call->n;
    Zerodrop__V1__RecordResult **ptrs = NULL;
    result_slot *slots = calloc(n ? n : 1, sizeof(*slots));
    if (slots == NULL) {
        srv_request_fail(call->req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    if (ptrs == NULL) {
        srv_request_fail(call->req, ZD_EINTERNAL, "", "the server is out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        submit_item *it = &call->items[i];
        Zerodrop__V1__RecordResult *r = &slots[i].result;
        Zerodrop__V1__Error *errs = &slots[i].error;
        Zerodrop__V1__Receipt *recs = &slots[i].receipt;
        zerodrop__v1__record_result__init(r);
        zerodrop__v1__error__init(errs);
        zerodrop__v1__receipt__init(recs);
        ptrs[i] = r;
        r->uuid.data = it->uuid;
        r->uuid.len = it->uuid_len;
        const char *status = "rejected";
        if (it->stmt >= 0 && job != NULL && srv_db_job_rows(job, (size_t)it->stmt) == 1) {
            size_t s = (size_t)it->stmt;
            status = value(job, s, 0);
            it->code = code_from_word(value(job, s, 1));
            snprintf(it->field, sizeof(it->field), "%s", value(job, s, 2));
            snprintf(it->message, sizeof(it->message), "%s", value(job, s, 3));
            const char *hex = value(job, s, 5);
            if (strcmp(status, "accepted") == 0 || strcmp(status, "duplicate") == 0) {
                recs->chain_seq = strtoull(value(job, s, 4), NULL, 10);
                recs->received_ms = strtoll(value(job, s, 6), NULL, 10);
                if (strlen(hex) == 64) {
                    for (size_t k = 0; k < 32; k++)
                        slots[i].hash[k] = (uint8_t)(hex_nibble(hex[2 * k]) << 4 | hex_nibble(hex[2 * k + 1]));
                    recs->chain_hash.data = slots[i].hash;
                    recs->chain_hash.len = 32;
                }
                r->receipt = recs;
            }
        } else if (it->stmt >= 0) {
            it->code = ZD_EINTERNAL;
            snprintf(it->message, sizeof(it->message), "the server did not get an answer for this record");
        }
        if (strcmp(status, "accepted") == 0) {
            r->status = ZERODROP__V1__RECORD_STATUS__RECORD_ACCEPTED;
        } else if (strcmp(status, "duplicate") == 0) {
            r->status = ZERODROP__V1__RECORD_STATUS__RECORD_DUPLICATE;
        } else {
            r->status = ZERODROP__V1__RECORD_STATUS__RECORD_REJECTED;
            errs->code = (Zerodrop__V1__ErrorCode)(strcmp(status, "conflict") == 0 ? ZD_ECONFLICT : it->code);
            errs->field = it->field;
            errs->message = it->message;
            r->error = errs;
        }
    }
    Zerodrop__V1__SubmitResult sr = ZERODROP__V1__SUBMIT_RESULT__INIT;
    sr.n_results = n;
    sr.results = ptrs;
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_SUBMIT_RESULT;
    e.submit_result = &sr;
    srv_request_reply(call->req, &e);
out:
    free(ptrs);
    free(slots);
}

static void submit_done(srv_db_job *job, void *data)
{
    submit_call *call = data;
    if (srv_db_job_status(job) != ZD_OK)
        srv_handler_job_fail(call->req, job);
    else
        reply_results(call, job);
    free(call);
}

void srv_submit_handle(srv_request *req)
{
    const Zerodrop__V1__Submit *m = srv_request_envelope(req)->submit;
    srv_session *s = srv_request_session(req);
    srv_server *srv = srv_request_server(req);
    if (m == NULL || m->n_records == 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "records", "the submission holds no records");
        return;
    }
    if (m->n_records > SRV_SUBMIT_MAX_RECORDS) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "records", "send at most 500 records at once");
        return;
    }
    if (srv->db == NULL) {
        srv_request_fail(req, ZD_EUNAVAILABLE, "", "this server runs without its database");
        return;
    }
    X509 *cert = net_tls_peer_cert(&s->conn.tls);
    submit_call *call = calloc(1, sizeof(*call) + m->n_records * sizeof(submit_item));
    if (call == NULL) {
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    srv_db_job *job = srv_db_job_create(srv->db, submit_done, call);
    if (job == NULL) {
        free(call);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    call->req = req;
    call->n = m->n_records;
    (void)srv_db_job_add_scope(job, SRV_SCOPE_SQL, srv_handler_scope_token, s);
    char now[24];
    srv_handler_now_text(now, sizeof(now));
    size_t queued = 0;
    for (size_t i = 0; i < m->n_records; i++) {
        const Zerodrop__V1__SignedRecord *rec = m->records[i];
        submit_item *it = &call->items[i];
        it->stmt = -1;
        if (srv_authz_check_record(rec->kind, s->role, s->level) != ZD_OK) {
            item_reject(it, ZD_EFORBIDDEN, "kind", "this user may not submit records of this kind");
            uuid_peek(it, rec);
            continue;
        }
        if (cert == NULL || net_sign_verify(cert, rec->body.data, rec->body.len, rec->signature.data,
                                            rec->signature.len) != ZD_OK) {
            item_reject(it, ZD_EUNAUTHENTICATED, "signature",
                        "the record is not signed by this device's key (altered or forged); it was not kept");
            uuid_peek(it, rec);
            continue;
        }
        if (rec->kind == ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL)
            add_roll_call(job, it, rec, s->peer.fingerprint, now);
        else if (rec->kind == ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT)
            add_daily_report(job, it, rec, s->peer.fingerprint, now);
        else {
            item_reject(it, ZD_EINVALID_ARGUMENT, "kind", "this server does not take records of this kind yet");
            uuid_peek(it, rec);
        }
        if (it->stmt >= 0)
            queued++;
    }
    if (queued == 0) {
        /* nothing for the database: answer now, the job is not needed */
        srv_db_job_destroy(job);
        reply_results(call, NULL);
        free(call);
        return;
    }
    srv_db_job_submit(job);
}
