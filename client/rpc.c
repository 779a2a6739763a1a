/* The synchronous request helper; see rpc.h.
 *
 * Each wait runs the helper's own loop one turn at a time until its condition holds, the connection
 * has closed, or the deadline timer fired. Everything that went wrong is turned into words in one place
 * (explain), from the connect status, the connection's close reason and the TLS alert the server sent. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "conn.h"
#include "err.h"
#include "session.h"
#include "tls.h"
#include "version.h"

typedef struct reply {
    struct reply *next;
    Zerodrop__V1__Envelope *env;
} reply;

struct cli_rpc {
    uv_loop_t loop;
    uv_timer_t deadline;
    uv_connect_t connect_req;
    net_conn *conn; /* NULL once freed */
    net_tls_ctx *ctx;
    const cli_home *home;
    char where[272];    /* "127.0.0.1:7443" */
    int connect_status; /* 0, or the libuv error of the connect */
    int connected;
    int established;
    int closed;
    int timed_out;
    int alert; /* TLS alert the server sent, or -1 */
    char close_reason[64];
    char close_detail[NET_TLS_ERRLEN];
    reply *head, *tail;
    uint64_t next_id;
    Zerodrop__V1__Envelope *welcome;
};

const char *cli_level_name(int level)
{
    switch (level) {
    case ZERODROP__V1__LEVEL__LEVEL_SCHOOL:
        return "school";
    case ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP:
        return "township";
    case ZERODROP__V1__LEVEL__LEVEL_COUNTY:
        return "county";
    default:
        return "unknown";
    }
}

static void on_established(net_conn *c)
{
    cli_rpc *r = c->data;
    r->established = 1;
}

static void on_frame(net_conn *c, const uint8_t *p, size_t len)
{
    cli_rpc *r = c->data;
    Zerodrop__V1__Envelope *env = net_envelope_unpack(p, len);
    if (env == NULL) {
        net_conn_close(c, "bad_reply", "the server sent something we cannot read");
        return;
    }
    reply *q = calloc(1, sizeof(*q));
    if (q == NULL) {
        zerodrop__v1__envelope__free_unpacked(env, NULL);
        net_conn_close(c, "out_of_memory", NULL);
        return;
    }
    q->env = env;
    if (r->tail)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
}

static void on_close(net_conn *c)
{
    cli_rpc *r = c->data;
    r->closed = 1;
    snprintf(r->close_reason, sizeof(r->close_reason), "%s", net_conn_close_reason(c));
    snprintf(r->close_detail, sizeof(r->close_detail), "%s", net_conn_close_detail(c));
    if (c->tls_ready)
        r->alert = c->tls.alert_received;
}

static void on_free(net_conn *c)
{
    cli_rpc *r = c->data;
    r->conn = NULL;
    free(c);
}

static const net_conn_ops ops = {
    .on_established = on_established,
    .on_frame = on_frame,
    .on_close = on_close,
    .on_free = on_free,
};

static void on_connect(uv_connect_t *req, int status)
{
    cli_rpc *r = req->data;
    if (r->conn == NULL)
        return;
    if (status < 0) {
        r->connect_status = status;
        net_conn_close(r->conn, "connect_failed", uv_strerror(status));
        return;
    }
    r->connected = 1;
    net_conn_start(r->conn, r->ctx, r->home->server_name);
}

static void on_deadline(uv_timer_t *t)
{
    cli_rpc *r = t->data;
    r->timed_out = 1;
}

/* Is the TLS alert one a server sends when it refuses a client certificate? */
static int certificate_alert(int alert)
{
    switch (alert) {
    case 42:  /* bad_certificate */
    case 43:  /* unsupported_certificate */
    case 44:  /* certificate_revoked */
    case 45:  /* certificate_expired */
    case 46:  /* certificate_unknown */
    case 48:  /* unknown_ca */
    case 116: /* certificate_required */
        return 1;
    default:
        return 0;
    }
}

/* One line in plain words for whatever ended the wait. */
static void explain(const cli_rpc *r, char *err, size_t n)
{
    if (r->connect_status < 0) {
        snprintf(err, n, "cannot reach server %s: %s", r->where, uv_strerror(r->connect_status));
    } else if (r->alert >= 0 && certificate_alert(r->alert)) {
        snprintf(err, n, "server refused our certificate: %s", net_tls_alert_text(r->alert));
    } else if (strcmp(r->close_reason, "connect_timeout") == 0 || (r->timed_out && !r->connected)) {
        snprintf(err, n, "cannot reach server %s: timed out", r->where);
    } else if (r->timed_out || strcmp(r->close_reason, "handshake_timeout") == 0) {
        snprintf(err, n, "server %s did not answer within %u s", r->where,
                 (r->home->timeout_ms + 999) / 1000);
    } else if (strcmp(r->close_reason, "tls_handshake_failed") == 0) {
        if (strstr(r->close_detail, "hostname mismatch") != NULL)
            snprintf(err, n, "cannot trust server %s: its certificate is not for %s", r->where,
                     r->home->server_name);
        else if (strstr(r->close_detail, "certificate verify failed") != NULL)
            snprintf(err, n, "cannot trust server %s: %s", r->where, r->close_detail);
        else if (r->alert >= 0)
            snprintf(err, n, "server %s refused the secure connection: %s", r->where,
                     net_tls_alert_text(r->alert));
        else
            snprintf(err, n, "secure connection to server %s failed: %s", r->where, r->close_detail);
    } else if (strcmp(r->close_reason, "peer_closed") == 0) {
        snprintf(err, n, "server %s closed the connection%s%s", r->where, r->close_detail[0] ? " " : "",
                 r->close_detail);
    } else if (strcmp(r->close_reason, "tls_error") == 0) {
        snprintf(err, n, "secure connection to server %s failed: %s", r->where, r->close_detail);
    } else {
        snprintf(err, n, "connection to server %s failed: %s%s%s", r->where, r->close_reason,
                 r->close_detail[0] ? ": " : "", r->close_detail);
    }
}

/* Takes the queued reply with id, or NULL. */
static Zerodrop__V1__Envelope *take_reply(cli_rpc *r, uint64_t id)
{
    for (reply **pp = &r->head, *prev = NULL; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
        reply *q = *pp;
        if (q->env->request_id != id)
            continue;
        *pp = q->next;
        if (r->tail == q)
            r->tail = prev;
        Zerodrop__V1__Envelope *env = q->env;
        free(q);
        return env;
    }
    return NULL;
}

/* Waits for the reply to id. NULL with err when the connection ended or the deadline passed. */
static Zerodrop__V1__Envelope *await(cli_rpc *r, uint64_t id, char *err, size_t n)
{
    r->timed_out = 0;
    uv_timer_start(&r->deadline, on_deadline, r->home->timeout_ms, 0);
    Zerodrop__V1__Envelope *env = NULL;
    while ((env = take_reply(r, id)) == NULL && !r->closed && !r->timed_out)
        uv_run(&r->loop, UV_RUN_ONCE);
    uv_timer_stop(&r->deadline);
    if (env == NULL)
        explain(r, err, n);
    return env;
}

static int send_env(cli_rpc *r, Zerodrop__V1__Envelope *env, char *err, size_t n)
{
    env->request_id = ++r->next_id;
    if (r->conn == NULL || r->closed) {
        explain(r, err, n);
        return -1;
    }
    int rc = net_conn_send(r->conn, env);
    if (rc == ZD_EBAD_FRAME) {
        snprintf(err, n, "the request is too large to send");
        return -1;
    }
    if (rc != 0) {
        explain(r, err, n);
        return -1;
    }
    return 0;
}

cli_rpc *cli_rpc_open(const cli_home *home, char err[CLI_RPC_ERRLEN])
{
    cli_rpc *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, CLI_RPC_ERRLEN, "out of memory");
        return NULL;
    }
    r->home = home;
    r->alert = -1;
    snprintf(r->where, sizeof(r->where), strchr(home->host, ':') ? "[%s]:%u" : "%s:%u", home->host,
             home->port);

    char terr[256];
    r->ctx = net_tls_ctx_create_client(home->cert, home->key, home->ca, terr, sizeof(terr));
    if (r->ctx == NULL) {
        snprintf(err, CLI_RPC_ERRLEN, "cannot use this device's certificate: %s", terr);
        free(r);
        return NULL;
    }
    if (uv_loop_init(&r->loop) != 0) {
        snprintf(err, CLI_RPC_ERRLEN, "cannot start the event loop");
        net_tls_ctx_destroy(r->ctx);
        free(r);
        return NULL;
    }
    uv_timer_init(&r->loop, &r->deadline);
    r->deadline.data = r;

    /* The host may be a name: resolve it now (synchronously: a command has nothing else to do). */
    char port[8];
    snprintf(port, sizeof(port), "%u", home->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    uv_getaddrinfo_t gai;
    int rc = uv_getaddrinfo(&r->loop, &gai, NULL, home->host, port, &hints);
    if (rc != 0) {
        snprintf(err, CLI_RPC_ERRLEN, "cannot reach server %s: %s", r->where, uv_strerror(rc));
        cli_rpc_close(r);
        return NULL;
    }
    net_conn_limits lim = {
        .max_frame = NET_FRAME_DEFAULT_MAX * 16, /* replies (roster chunks) may be larger than requests */
        .max_output = 1u << 26,
        .max_inflight = 1u << 20,
        .handshake_ms = home->timeout_ms,
        .frame_ms = home->timeout_ms,
        .idle_ms = 3600000,
    };
    r->conn = calloc(1, sizeof(*r->conn));
    if (r->conn == NULL || net_conn_init(r->conn, &r->loop, &ops, &lim) != 0) {
        free(r->conn);
        r->conn = NULL;
        uv_freeaddrinfo(gai.addrinfo);
        snprintf(err, CLI_RPC_ERRLEN, "out of memory");
        cli_rpc_close(r);
        return NULL;
    }
    r->conn->data = r;
    r->connect_req.data = r;
    rc = uv_tcp_connect(&r->connect_req, &r->conn->tcp, gai.addrinfo->ai_addr, on_connect);
    uv_freeaddrinfo(gai.addrinfo);
    if (rc != 0) {
        r->connect_status = rc;
        net_conn_close(r->conn, "connect_failed", uv_strerror(rc));
        explain(r, err, CLI_RPC_ERRLEN);
        cli_rpc_close(r);
        return NULL;
    }

    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Hello hello = ZERODROP__V1__HELLO__INIT;
    hello.protocol_version = 1;
    hello.client_version = (char *)cli_version();
    hello.client_name = (char *)"zerodrop";
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;

    /* Wait for the handshake, then say Hello. */
    r->timed_out = 0;
    uv_timer_start(&r->deadline, on_deadline, home->timeout_ms, 0);
    while (!r->established && !r->closed && !r->timed_out)
        uv_run(&r->loop, UV_RUN_ONCE);
    uv_timer_stop(&r->deadline);
    if (!r->established || r->closed) {
        explain(r, err, CLI_RPC_ERRLEN);
        cli_rpc_close(r);
        return NULL;
    }
    if (send_env(r, &env, err, CLI_RPC_ERRLEN) != 0) {
        cli_rpc_close(r);
        return NULL;
    }
    Zerodrop__V1__Envelope *w = await(r, env.request_id, err, CLI_RPC_ERRLEN);
    if (w == NULL) {
        cli_rpc_close(r);
        return NULL;
    }
    if (w->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        snprintf(err, CLI_RPC_ERRLEN, "server refused the session: %s",
                 w->error->message && w->error->message[0] ? w->error->message
                                                           : zd_err_text((int)w->error->code));
        zerodrop__v1__envelope__free_unpacked(w, NULL);
        cli_rpc_close(r);
        return NULL;
    }
    if (w->body_case != ZERODROP__V1__ENVELOPE__BODY_WELCOME || w->welcome->institution == NULL) {
        snprintf(err, CLI_RPC_ERRLEN, "server %s answered Hello with something else than Welcome", r->where);
        zerodrop__v1__envelope__free_unpacked(w, NULL);
        cli_rpc_close(r);
        return NULL;
    }
    r->welcome = w;
    /* Every command acts as the user logged in on this device (zerodrop login), if any. */
    if (cli_session_attach(r, home, err) != 0) {
        cli_rpc_close(r);
        return NULL;
    }
    return r;
}

const Zerodrop__V1__Welcome *cli_rpc_welcome(const cli_rpc *rpc)
{
    return rpc->welcome ? rpc->welcome->welcome : NULL;
}

Zerodrop__V1__Envelope *cli_rpc_call(cli_rpc *rpc, Zerodrop__V1__Envelope *env, char err[CLI_RPC_ERRLEN])
{
    if (send_env(rpc, env, err, CLI_RPC_ERRLEN) != 0)
        return NULL;
    return await(rpc, env->request_id, err, CLI_RPC_ERRLEN);
}

void cli_rpc_close(cli_rpc *rpc)
{
    if (rpc == NULL)
        return;
    if (rpc->conn != NULL) {
        if (rpc->conn->state == NET_CONN_OPEN)
            net_conn_drain(rpc->conn, "done");
        else
            net_conn_close(rpc->conn, "done", NULL);
    }
    /* The drain is bounded by the connection's own frame timer (timeout_ms). */
    while (rpc->conn != NULL)
        uv_run(&rpc->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&rpc->deadline, NULL);
    uv_run(&rpc->loop, UV_RUN_DEFAULT);
    uv_loop_close(&rpc->loop);
    while (rpc->head) {
        reply *q = rpc->head;
        rpc->head = q->next;
        zerodrop__v1__envelope__free_unpacked(q->env, NULL);
        free(q);
    }
    if (rpc->welcome)
        zerodrop__v1__envelope__free_unpacked(rpc->welcome, NULL);
    net_tls_ctx_destroy(rpc->ctx);
    free(rpc);
}
