/* A TLS connection pair in one process for net/ tests: a listener on 127.0.0.1 (free port), one accepted
 * server-side net_conn and one client-side net_conn, each recording what happened to it.
 *
 * The test fills in the contexts, limits and ops hooks, calls tpair_run, and asserts the records. The loop
 * ends when both connections are freed; a guard timer aborts a test that hangs (meson's timeout is the
 * outer bound). Header-only. */
#ifndef ZD_TESTS_TPAIR_H
#define ZD_TESTS_TPAIR_H

#include <uv.h>

#include "check.h"
#include "conn.h"
#include "tls.h"

typedef struct tpair tpair;

typedef struct tside {
    net_conn conn;
    tpair *pair;
    int is_server;
    int inited;
    int established, frames, bad_frames, closed, freed;
    char reason[64];
    char detail[NET_TLS_ERRLEN];
    int peer_ok;
    net_tls_peer peer;
    int alert_received;
    /* hooks the test may set */
    void (*on_established)(struct tside *s);
    void (*on_frame)(struct tside *s, Zerodrop__V1__Envelope *env);
} tside;

struct tpair {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t guard;
    uv_connect_t connect_req;
    int port;
    net_tls_ctx *server_ctx;
    net_tls_ctx *client_ctx;
    const char *server_name;
    net_conn_limits server_lim, client_lim;
    tside server, client;
    int raw_client; /* 1: the client is a plain TCP socket driven by the test (no TLS) */
    void (*on_raw_connected)(tpair *p);
    void *user;
};

static inline tside *tside_of(net_conn *c)
{
    return c->data;
}

static inline void tpair__maybe_done(tpair *p)
{
    if ((!p->server.inited || p->server.freed) && (p->raw_client || !p->client.inited || p->client.freed)) {
        if (!uv_is_closing((uv_handle_t *)&p->listener))
            uv_close((uv_handle_t *)&p->listener, NULL);
        if (!uv_is_closing((uv_handle_t *)&p->guard))
            uv_close((uv_handle_t *)&p->guard, NULL);
    }
}

static inline void tpair__established(net_conn *c)
{
    tside *s = tside_of(c);
    s->established++;
    s->peer_ok = net_tls_peer_get(&c->tls, &s->peer) == 0;
    if (s->on_established)
        s->on_established(s);
}

static inline void tpair__frame(net_conn *c, const uint8_t *p, size_t len)
{
    tside *s = tside_of(c);
    s->frames++;
    Zerodrop__V1__Envelope *env = net_envelope_unpack(p, len);
    CHECK(env != NULL);
    if (s->on_frame)
        s->on_frame(s, env);
    zerodrop__v1__envelope__free_unpacked(env, NULL);
}

static inline void tpair__bad_frame(net_conn *c)
{
    tside_of(c)->bad_frames++;
}

static inline void tpair__close(net_conn *c)
{
    tside *s = tside_of(c);
    s->closed++;
    snprintf(s->reason, sizeof(s->reason), "%s", net_conn_close_reason(c));
    snprintf(s->detail, sizeof(s->detail), "%s", net_conn_close_detail(c));
    s->alert_received = c->tls_ready ? c->tls.alert_received : -1;
}

static inline void tpair__free(net_conn *c)
{
    tside *s = tside_of(c);
    s->freed++;
    tpair__maybe_done(s->pair);
}

static const net_conn_ops tpair_ops = {
    .on_established = tpair__established,
    .on_frame = tpair__frame,
    .on_bad_frame = tpair__bad_frame,
    .on_close = tpair__close,
    .on_free = tpair__free,
};

static inline void tpair__on_connection(uv_stream_t *l, int status)
{
    tpair *p = l->data;
    CHECK_INT_EQ(status, 0);
    CHECK(!p->server.inited); /* one connection per pair */
    CHECK_INT_EQ(net_conn_init(&p->server.conn, &p->loop, &tpair_ops, &p->server_lim), 0);
    p->server.conn.data = &p->server;
    p->server.inited = 1;
    CHECK_INT_EQ(uv_accept(l, (uv_stream_t *)&p->server.conn.tcp), 0);
    net_conn_start(&p->server.conn, p->server_ctx, NULL);
}

static inline void tpair__on_connect(uv_connect_t *req, int status)
{
    tpair *p = req->data;
    if (p->raw_client) {
        CHECK_INT_EQ(status, 0);
        p->on_raw_connected(p);
        return;
    }
    if (status < 0) {
        net_conn_close(&p->client.conn, "connect_failed", uv_strerror(status));
        return;
    }
    net_conn_start(&p->client.conn, p->client_ctx, p->server_name);
}

static inline void tpair__guard(uv_timer_t *t)
{
    fprintf(stderr, "tpair: the test did not finish in time\n");
    abort();
}

static inline net_conn_limits tpair_limits(void)
{
    net_conn_limits l = {
        .max_frame = 1 << 20,
        .max_output = 1 << 22,
        .max_inflight = 32,
        .handshake_ms = 5000,
        .frame_ms = 5000,
        .idle_ms = 5000,
    };
    return l;
}

static inline void tpair_init(tpair *p)
{
    memset(p, 0, sizeof(*p));
    CHECK_INT_EQ(uv_loop_init(&p->loop), 0);
    p->server.pair = p->client.pair = p;
    p->server.is_server = 1;
    p->server.alert_received = p->client.alert_received = -1;
    p->server_lim = p->client_lim = tpair_limits();
    p->server_name = "localhost";
}

/* A raw client socket (when p->raw_client) for the test to drive; valid after on_raw_connected. */
static uv_tcp_t tpair_raw_socket;

/* Runs until both sides are freed (the raw socket is the test's to close). */
static inline void tpair_run(tpair *p)
{
    CHECK_INT_EQ(uv_tcp_init(&p->loop, &p->listener), 0);
    p->listener.data = p;
    struct sockaddr_in a;
    CHECK_INT_EQ(uv_ip4_addr("127.0.0.1", 0, &a), 0);
    CHECK_INT_EQ(uv_tcp_bind(&p->listener, (const struct sockaddr *)&a, 0), 0);
    CHECK_INT_EQ(uv_listen((uv_stream_t *)&p->listener, 8, tpair__on_connection), 0);
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    CHECK_INT_EQ(uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len), 0);
    p->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    CHECK_INT_EQ(uv_timer_init(&p->loop, &p->guard), 0);
    CHECK_INT_EQ(uv_timer_start(&p->guard, tpair__guard, 20000, 0), 0);

    struct sockaddr_in to;
    CHECK_INT_EQ(uv_ip4_addr("127.0.0.1", p->port, &to), 0);
    p->connect_req.data = p;
    if (p->raw_client) {
        CHECK_INT_EQ(uv_tcp_init(&p->loop, &tpair_raw_socket), 0);
        tpair_raw_socket.data = p;
        CHECK_INT_EQ(uv_tcp_connect(&p->connect_req, &tpair_raw_socket, (const struct sockaddr *)&to,
                                    tpair__on_connect),
                     0);
    } else {
        CHECK_INT_EQ(net_conn_init(&p->client.conn, &p->loop, &tpair_ops, &p->client_lim), 0);
        p->client.conn.data = &p->client;
        p->client.inited = 1;
        CHECK_INT_EQ(uv_tcp_connect(&p->connect_req, &p->client.conn.tcp, (const struct sockaddr *)&to,
                                    tpair__on_connect),
                     0);
    }
    CHECK_INT_EQ(uv_run(&p->loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(uv_loop_close(&p->loop), 0);
}

/* Sends a Ping or a Pong with the given id on c. */
static inline void tpair_send_ping(net_conn *c, uint64_t id, int pong)
{
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Ping ping = ZERODROP__V1__PING__INIT;
    Zerodrop__V1__Pong pg = ZERODROP__V1__PONG__INIT;
    env.request_id = id;
    if (pong) {
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_PONG;
        env.pong = &pg;
    } else {
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_PING;
        env.ping = &ping;
    }
    CHECK_INT_EQ(net_conn_send(c, &env), 0);
}

#endif
