/* Sessions, the ordered request queue and the session family's handlers; see session.h.
 *
 * Each request holds a reference on its connection from decode to the moment its reply leaves (or is
 * dropped because the client has gone), and counts as one in flight on the connection, so the
 * connection stops reading at max_inflight. Replies are packed as soon as a handler gives them and wait
 * in the queue until every earlier request has been answered. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dispatch.h"
#include "frame.h"
#include "log.h"
#include "server.h"
#include "authz.h"
#include "handlers_device.h"
#include "version.h"

#define PROTOCOL_VERSION 1

struct srv_request {
    srv_session *session;
    srv_request *next;
    Zerodrop__V1__Envelope *env;       /* NULL for an undecodable frame */
    Zerodrop__V1__Envelope__BodyCase body;
    uint64_t id;
    uint64_t started_ns;
    int done;
    int code;                          /* the reply's Error code, or 0 */
    const char *close_reason;
    net_buf reply;                     /* the packed frame, header included */
};

const Zerodrop__V1__Envelope *srv_request_envelope(const srv_request *req)
{
    return req->env;
}

srv_session *srv_request_session(const srv_request *req)
{
    return req->session;
}

srv_server *srv_request_server(const srv_request *req)
{
    return req->session->server;
}

int srv_request_gone(const srv_request *req)
{
    return req->session->conn.state == NET_CONN_CLOSING;
}

void srv_session_ref(void *session)
{
    net_conn_ref(&((srv_session *)session)->conn);
}

void srv_session_unref(void *session)
{
    net_conn_unref(&((srv_session *)session)->conn);
}

const char *srv_session_institution(const srv_session *s, char *out, size_t n)
{
    if (!s->established || s->peer.code[0] == '\0')
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%s:%s", s->peer.level, s->peer.code);
    return out;
}

static void request_free(srv_request *req)
{
    if (req->env != NULL)
        zerodrop__v1__envelope__free_unpacked(req->env, NULL);
    net_buf_finish(&req->reply);
    free(req);
}

static void request_log(const srv_request *req, int delivered)
{
    const srv_session *s = req->session;
    char inst[64];
    double ms = (double)(uv_hrtime() - req->started_ns) / 1e6;
    srv__stats_request(s->server, req->env ? (int)req->body : 0, req->code, ms);
    srv_log(SRV_LOG_INFO, "request", "conn=%llu id=%llu institution=%s user=%s type=%s result=%s ms=%.3f%s",
            (unsigned long long)s->id, (unsigned long long)req->id, srv_session_institution(s, inst, sizeof(inst)),
            s->user[0] ? s->user : "-", req->env ? srv_dispatch_name(req->body) : "undecodable",
            zd_err_name(req->code), ms, delivered ? "" : " delivered=no");
}

/* Sends every answered request at the head of the queue, in order. */
static void session_flush(srv_session *s)
{
    if (s->flushing)
        return;
    s->flushing = 1;
    net_conn_ref(&s->conn); /* the last request's unref must not free s under us */
    while (s->head != NULL && s->head->done) {
        srv_request *req = s->head;
        s->head = req->next;
        if (s->head == NULL)
            s->tail = NULL;
        int delivered = 0;
        if (s->conn.state == NET_CONN_OPEN || s->conn.state == NET_CONN_DRAINING)
            delivered = net_conn_write_bytes(&s->conn, net_buf_bytes(&req->reply), net_buf_len(&req->reply)) == 0;
        request_log(req, delivered);
        s->requests++;
        const char *close_reason = req->close_reason;
        request_free(req);
        if (close_reason != NULL)
            net_conn_drain(&s->conn, close_reason);
        net_conn_inflight_add(&s->conn, -1); /* may decode and dispatch more: the loop picks them up */
        net_conn_unref(&s->conn);            /* the request's reference */
    }
    s->flushing = 0;
    net_conn_unref(&s->conn);
}

/* Packs env as the request's reply frame. */
static int request_pack(srv_request *req, Zerodrop__V1__Envelope *env)
{
    size_t max = req->session->conn.lim.max_frame;
    net_buf_init(&req->reply, max + NET_FRAME_HEADER);
    env->request_id = req->id;
    return net_envelope_append(&req->reply, env, max);
}

static void request_complete(srv_request *req, Zerodrop__V1__Envelope *env)
{
    if (req->done) {
        srv_log(SRV_LOG_ERROR, "double_reply", "conn=%llu id=%llu", (unsigned long long)req->session->id,
                (unsigned long long)req->id);
        return;
    }
    req->code = env->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR && env->error ? (int)env->error->code : 0;
    if (request_pack(req, env) != 0) {
        Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
        Zerodrop__V1__Error err = ZERODROP__V1__ERROR__INIT;
        err.code = ZERODROP__V1__ERROR_CODE__INTERNAL;
        err.message = (char *)"the answer was too large to send";
        e.body_case = ZERODROP__V1__ENVELOPE__BODY_ERROR;
        e.error = &err;
        net_buf_finish(&req->reply);
        req->code = ZD_EINTERNAL;
        (void)request_pack(req, &e);
    }
    req->done = 1;
    session_flush(req->session);
}

void srv_request_reply(srv_request *req, Zerodrop__V1__Envelope *env)
{
    request_complete(req, env);
}

void srv_request_fail(srv_request *req, zd_err code, const char *field, const char *message)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Error err = ZERODROP__V1__ERROR__INIT;
    err.code = (Zerodrop__V1__ErrorCode)code;
    err.field = (char *)(field ? field : "");
    err.message = (char *)(message ? message : zd_err_text(code));
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ERROR;
    e.error = &err;
    request_complete(req, &e);
}

void srv_request_close_after(srv_request *req, const char *reason)
{
    req->close_reason = reason;
    req->session->refusing = 1;
}

/* Takes one decoded frame (env NULL when it did not decode) into the queue and dispatches it. */
static void session_take(srv_session *s, Zerodrop__V1__Envelope *env)
{
    srv_request *req = calloc(1, sizeof(*req));
    if (req == NULL) {
        if (env)
            zerodrop__v1__envelope__free_unpacked(env, NULL);
        net_conn_close(&s->conn, "out_of_memory", NULL);
        return;
    }
    req->session = s;
    req->env = env;
    req->body = env ? env->body_case : ZERODROP__V1__ENVELOPE__BODY__NOT_SET;
    req->id = env ? env->request_id : 0;
    req->started_ns = uv_hrtime();
    if (s->tail)
        s->tail->next = req;
    else
        s->head = req;
    s->tail = req;
    net_conn_ref(&s->conn);
    net_conn_inflight_add(&s->conn, +1);

    if (env == NULL) {
        srv_request_close_after(req, "bad_frame");
        srv_request_fail(req, ZD_EBAD_FRAME, "", "the message could not be read; the connection is closed");
        return;
    }
    if (!s->hello_done && req->body != ZERODROP__V1__ENVELOPE__BODY_HELLO) {
        srv_request_close_after(req, "no_hello");
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "hello", "the session must open with Hello");
        return;
    }
    const srv_route *route = srv_dispatch_find(req->body, s->server->overrides);
    if (route == NULL) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "body",
                         req->body == ZERODROP__V1__ENVELOPE__BODY__NOT_SET ? "the request is empty"
                                                                             : "this server does not know that request");
        return;
    }
    zd_err allowed = srv_authz_check(req->body, s->role, s->level);
    if (allowed != ZD_OK) {
        srv_request_fail(req, allowed, "", srv_authz_message(allowed));
        return;
    }
    route->handle(req);
}

/* ---- connection callbacks (server.c installs them) ---- */

void srv__session_on_frame(net_conn *c, const uint8_t *payload, size_t len);
void srv__session_on_bad_frame(net_conn *c);

void srv__session_on_frame(net_conn *c, const uint8_t *payload, size_t len)
{
    srv_session *s = (srv_session *)c;
    if (s->refusing)
        return;
    session_take(s, net_envelope_unpack(payload, len));
}

void srv__session_on_bad_frame(net_conn *c)
{
    srv_session *s = (srv_session *)c;
    if (s->refusing)
        return;
    session_take(s, NULL);
}

/* ---- the session family ---- */

void srv_session_hello(srv_request *req)
{
    srv_session *s = req->session;
    const Zerodrop__V1__Hello *hello = req->env->hello;
    if (s->hello_done) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "hello", "Hello was already done in this session");
        return;
    }
    if (hello == NULL || hello->protocol_version != PROTOCOL_VERSION) {
        char msg[128];
        snprintf(msg, sizeof(msg), "this server speaks protocol %d, the program speaks %u; update zerodrop",
                 PROTOCOL_VERSION, hello ? hello->protocol_version : 0);
        srv_request_close_after(req, "unsupported_version");
        srv_request_fail(req, ZD_EUNSUPPORTED_VERSION, "hello.protocol_version", msg);
        return;
    }
    /* With a database, the device must be registered to its institution first (handlers_device.c);
     * that check answers with srv_session_welcome or a refusal. */
    if (s->server->db != NULL) {
        srv_device_hello(req);
        return;
    }
    srv_session_welcome(req, 0);
}

void srv_session_welcome(srv_request *req, int64_t last_contact_ms)
{
    srv_session *s = req->session;
    s->hello_done = 1;
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Welcome w = ZERODROP__V1__WELCOME__INIT;
    Zerodrop__V1__Institution inst = ZERODROP__V1__INSTITUTION__INIT;
    inst.level = s->level;
    inst.code = s->peer.code;
    w.server_version = (char *)srv_version();
    w.protocol_version = PROTOCOL_VERSION;
    w.institution = &inst;
    w.server_time_ms = srv_clock_now_ms();
    w.today = srv_clock_date(w.server_time_ms);
    w.last_contact_ms = last_contact_ms;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_WELCOME;
    e.welcome = &w;
    srv_request_reply(req, &e);
}

void srv_session_ping(srv_request *req)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Pong pong = ZERODROP__V1__PONG__INIT;
    pong.client_time_ms = req->env->ping ? req->env->ping->client_time_ms : 0;
    pong.server_time_ms = srv_clock_now_ms();
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_PONG;
    e.pong = &pong;
    srv_request_reply(req, &e);
}
