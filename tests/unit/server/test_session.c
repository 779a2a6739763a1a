/* server/session + server/server, in one process over loopback with real TLS: Hello must come first and
 * speak protocol 1; Welcome names the certificate's institution; pipelined requests are answered in
 * request order although their handlers finish in reverse; an empty or unknown body is INVALID_ARGUMENT;
 * an undecodable envelope is BAD_FRAME and closes that connection; SIGHUP's reload drops a session whose
 * certificate was revoked; shutdown lets a request in flight finish before closing; past the caps on
 * connections and unfinished handshakes the newcomer is refused and established sessions stay. */
#include <string.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "server.h"
#include "tpki.h"

static tpki pki;

/* ---- a scripted client ---- */

#define MAXGOT 32

typedef struct got {
    Zerodrop__V1__Envelope__BodyCase body;
    uint64_t id;
    int code;
    char field[64];
    char inst_code[40];
    int inst_level;
    uint32_t today;
    uint32_t protocol_version;
} got;

typedef struct tclient {
    net_conn conn;
    uv_connect_t req;
    net_buf script; /* frames to send once established */
    got got[MAXGOT];
    int ngot;
    int established;
    char reason[64];
    int freed;
    void (*on_got)(struct tclient *c, const got *g);
    net_tls_ctx *ctx;
} tclient;

static srv_server srv;
static int clients_live;
static uv_timer_t release_timer;
static uv_timer_t shutdown_timer;

/* When the last client is gone the server shuts down and the test's timers close: the loop then ends. */
static void all_clients_gone(void)
{
    srv_server_shutdown(&srv);
    uv_close((uv_handle_t *)&release_timer, NULL);
    uv_close((uv_handle_t *)&shutdown_timer, NULL);
}

static void client_established(net_conn *c)
{
    tclient *t = c->data;
    t->established = 1;
    CHECK_INT_EQ(net_conn_write_bytes(c, net_buf_bytes(&t->script), net_buf_len(&t->script)), 0);
}

static void client_frame(net_conn *c, const uint8_t *p, size_t len)
{
    tclient *t = c->data;
    Zerodrop__V1__Envelope *env = net_envelope_unpack(p, len);
    CHECK(env != NULL);
    CHECK(t->ngot < MAXGOT);
    got *g = &t->got[t->ngot++];
    memset(g, 0, sizeof(*g));
    g->body = env->body_case;
    g->id = env->request_id;
    if (env->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        g->code = (int)env->error->code;
        snprintf(g->field, sizeof(g->field), "%s", env->error->field);
    }
    if (env->body_case == ZERODROP__V1__ENVELOPE__BODY_WELCOME) {
        snprintf(g->inst_code, sizeof(g->inst_code), "%s", env->welcome->institution->code);
        g->inst_level = (int)env->welcome->institution->level;
        g->today = env->welcome->today;
        g->protocol_version = env->welcome->protocol_version;
    }
    zerodrop__v1__envelope__free_unpacked(env, NULL);
    if (t->on_got)
        t->on_got(t, g);
}

static void client_close(net_conn *c)
{
    tclient *t = c->data;
    snprintf(t->reason, sizeof(t->reason), "%s", net_conn_close_reason(c));
}

static void client_free(net_conn *c)
{
    tclient *t = c->data;
    t->freed = 1;
    net_buf_finish(&t->script);
    if (--clients_live == 0)
        all_clients_gone();
}

static const net_conn_ops client_ops = {
    .on_established = client_established,
    .on_frame = client_frame,
    .on_close = client_close,
    .on_free = client_free,
};

static net_tls_ctx *client_ctx(const char *home)
{
    char err[256], cert[300], key[300], ca[300];
    snprintf(cert, sizeof(cert), "%s/%s/cert.pem", pki.dir, home);
    snprintf(key, sizeof(key), "%s/%s/key.pem", pki.dir, home);
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_client(cert, key, ca, err, sizeof(err));
    CHECK(ctx != NULL);
    return ctx;
}

/* ---- frames ---- */

static void add_env(net_buf *b, Zerodrop__V1__Envelope *env)
{
    CHECK_INT_EQ(net_envelope_append(b, env, 1 << 20), 0);
}

static void add_hello(net_buf *b, uint64_t id, uint32_t version)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Hello h = ZERODROP__V1__HELLO__INIT;
    h.protocol_version = version;
    h.client_version = (char *)"test";
    e.request_id = id;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_HELLO;
    e.hello = &h;
    add_env(b, &e);
}

static void add_ping(net_buf *b, uint64_t id)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Ping p = ZERODROP__V1__PING__INIT;
    p.client_time_ms = (int64_t)id * 1000;
    e.request_id = id;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_PING;
    e.ping = &p;
    add_env(b, &e);
}

static void add_empty(net_buf *b, uint64_t id)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    e.request_id = id;
    add_env(b, &e);
}

static void add_roster_pull(net_buf *b, uint64_t id)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__RosterPull r = ZERODROP__V1__ROSTER_PULL__INIT;
    e.request_id = id;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL;
    e.roster_pull = &r;
    add_env(b, &e);
}

static void add_garbage(net_buf *b)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_INT_EQ(net_frame_append(b, junk, sizeof(junk), 1 << 20), 0);
}

/* ---- a ping handler that holds its requests and answers them later, last first ---- */

static srv_request *held[8];
static int nheld, hold_until;
static void on_shutdown_timer(uv_timer_t *tm);

static void release_reverse(uv_timer_t *t)
{
    while (nheld > 0)
        srv_session_ping(held[--nheld]);
}

static void held_ping(srv_request *req)
{
    held[nheld++] = req;
    if (hold_until == 0)
        CHECK_INT_EQ(uv_timer_start(&shutdown_timer, on_shutdown_timer, 0, 0),
                     0); /* shut down with it in flight */
    if (nheld == hold_until && hold_until > 0)
        CHECK_INT_EQ(uv_timer_start(&release_timer, release_reverse, 20, 0), 0);
}

static const srv_route overrides[] = {
    {ZERODROP__V1__ENVELOPE__BODY_PING, held_ping},
    {0, NULL},
};

/* ---- fixtures ---- */

static srv_config cfg;
static uv_loop_t loop;

static const char *extra_ini = "";

static void server_up(int hold)
{
    char path[300], err[SRV_CONFIG_ERRBUF];
    snprintf(path, sizeof(path), "%s/zerodropd.ini", pki.dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f,
            "[server]\nlisten = 127.0.0.1\nport = 0\ncert = %s/pki/server.pem\nkey = %s/pki/server.key\n"
            "ca = %s/pki/ca.pem\ncrl = %s/pki/crl.pem\n%s",
            pki.dir, pki.dir, pki.dir, pki.dir, extra_ini);
    fclose(f);
    if (srv_config_load(path, &cfg, err) != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_INT_EQ(cfg.port, 0);
    CHECK_INT_EQ(uv_loop_init(&loop), 0);
    CHECK_INT_EQ(uv_timer_init(&loop, &release_timer), 0);
    CHECK_INT_EQ(uv_timer_init(&loop, &shutdown_timer), 0);
    nheld = 0;
    hold_until = hold;
    srv.overrides = hold >= 0 ? overrides : NULL;
    CHECK_INT_EQ(srv_server_start(&srv, &cfg, &loop), 0);
    CHECK(srv.port > 0);
}

static void server_down(void)
{
    CHECK_INT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    CHECK_INT_EQ(srv.n_conns, 0);
    srv_server_finish(&srv);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);
    srv_config_finish(&cfg);
}

static void connect_cb_ctx(uv_connect_t *req, int status);

static void go(tclient *t, net_tls_ctx *ctx)
{
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    net_buf_init(&t->script, 1 << 20);
}

static void launch(tclient *t)
{
    net_conn_limits lim = {.max_frame = 1 << 20,
                           .max_output = 1 << 22,
                           .max_inflight = 64,
                           .handshake_ms = 5000,
                           .frame_ms = 5000,
                           .idle_ms = 10000};
    CHECK_INT_EQ(net_conn_init(&t->conn, &loop, &client_ops, &lim), 0);
    t->conn.data = t;
    struct sockaddr_in a;
    CHECK_INT_EQ(uv_ip4_addr("127.0.0.1", srv.port, &a), 0);
    t->req.data = t;
    clients_live++;
    CHECK_INT_EQ(uv_tcp_connect(&t->req, &t->conn.tcp, (const struct sockaddr *)&a, connect_cb_ctx), 0);
}

static void connect_cb_ctx(uv_connect_t *req, int status)
{
    tclient *t = req->data;
    CHECK_INT_EQ(status, 0);
    net_conn_start(&t->conn, t->ctx, "localhost");
}

static void expect(const tclient *t, int i, Zerodrop__V1__Envelope__BodyCase body, uint64_t id, int code,
                   const char *field)
{
    CHECK(i < t->ngot);
    CHECK_INT_EQ(t->got[i].body, body);
    CHECK_INT_EQ(t->got[i].id, id);
    CHECK_INT_EQ(t->got[i].code, code);
    if (field)
        CHECK_STR_EQ(t->got[i].field, field);
}

/* ---- the tests ---- */

static void test_order_and_errors(void)
{
    server_up(3);
    net_tls_ctx *ctx = client_ctx("good");
    static tclient t;
    go(&t, ctx);
    add_hello(&t.script, 1, 1);
    add_ping(&t.script, 2);
    add_ping(&t.script, 3);
    add_ping(&t.script, 4);
    add_empty(&t.script, 5);
    add_roster_pull(&t.script, 6);
    add_garbage(&t.script);
    add_ping(&t.script, 8); /* after the bad frame: never answered */
    launch(&t);
    server_down();

    CHECK_INT_EQ(t.ngot, 7);
    expect(&t, 0, ZERODROP__V1__ENVELOPE__BODY_WELCOME, 1, 0, NULL);
    CHECK_STR_EQ(t.got[0].inst_code, "S43010101");
    CHECK_INT_EQ(t.got[0].inst_level, ZERODROP__V1__LEVEL__LEVEL_SCHOOL);
    CHECK_INT_EQ(t.got[0].protocol_version, 1);
    CHECK_INT_EQ(t.got[0].today, srv_clock_date(srv_clock_now_ms()));
    /* handlers finished 4, 3, 2; replies left 2, 3, 4 */
    expect(&t, 1, ZERODROP__V1__ENVELOPE__BODY_PONG, 2, 0, NULL);
    expect(&t, 2, ZERODROP__V1__ENVELOPE__BODY_PONG, 3, 0, NULL);
    expect(&t, 3, ZERODROP__V1__ENVELOPE__BODY_PONG, 4, 0, NULL);
    expect(&t, 4, ZERODROP__V1__ENVELOPE__BODY_ERROR, 5, ZERODROP__V1__ERROR_CODE__INVALID_ARGUMENT, "body");
    expect(&t, 5, ZERODROP__V1__ENVELOPE__BODY_ERROR, 6, ZERODROP__V1__ERROR_CODE__INVALID_ARGUMENT, "body");
    expect(&t, 6, ZERODROP__V1__ENVELOPE__BODY_ERROR, 0, ZERODROP__V1__ERROR_CODE__BAD_FRAME, "");
    CHECK_STR_EQ(t.reason, "peer_closed");
    net_tls_ctx_destroy(ctx);
}

static void test_version_and_hello_first(void)
{
    server_up(-1);
    net_tls_ctx *ctx = client_ctx("good");
    static tclient a, b;
    go(&a, ctx);
    add_hello(&a.script, 1, 2);
    add_ping(&a.script, 2);
    launch(&a);
    go(&b, ctx);
    add_ping(&b.script, 1);
    add_hello(&b.script, 2, 1);
    launch(&b);
    server_down();

    CHECK_INT_EQ(a.ngot, 1);
    expect(&a, 0, ZERODROP__V1__ENVELOPE__BODY_ERROR, 1, ZERODROP__V1__ERROR_CODE__UNSUPPORTED_VERSION,
           "hello.protocol_version");
    CHECK_STR_EQ(a.reason, "peer_closed");
    CHECK_INT_EQ(b.ngot, 1);
    expect(&b, 0, ZERODROP__V1__ENVELOPE__BODY_ERROR, 1, ZERODROP__V1__ERROR_CODE__INVALID_ARGUMENT, "hello");
    CHECK_STR_EQ(b.reason, "peer_closed");
    net_tls_ctx_destroy(ctx);
}

/* Revocation on reload: after Welcome, the test revokes the certificate and reloads. */
static void revoke_and_reload(tclient *t, const got *g)
{
    if (g->body != ZERODROP__V1__ENVELOPE__BODY_WELCOME)
        return;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "'%s/deploy/pki' --dir '%s/pki' revoke '%s/good2/cert.pem' 2>/dev/null",
             getenv("ZD_SRC"), pki.dir, pki.dir);
    CHECK_INT_EQ(system(cmd), 0);
    CHECK_INT_EQ(srv_server_reload(&srv), 0);
}

static void test_reload_drops_revoked(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd),
             "'%s/deploy/pki' --dir '%s/pki' issue-device S43010109 --out '%s/good2' >/dev/null 2>&1",
             getenv("ZD_SRC"), pki.dir, pki.dir);
    CHECK_INT_EQ(system(cmd), 0);
    server_up(-1);
    net_tls_ctx *revoked = client_ctx("good2");
    net_tls_ctx *fine = client_ctx("good");
    static tclient a, b;
    go(&a, fine);
    add_hello(&a.script, 1, 1);
    launch(&a); /* stays open (idle) until the end */
    go(&b, revoked);
    b.on_got = revoke_and_reload;
    add_hello(&b.script, 1, 1);
    /* b's ctx is set at connect time: launch after a has connected */
    launch(&b);
    /* run until b is gone, then close a and finish */
    while (!b.freed)
        CHECK(uv_run(&loop, UV_RUN_ONCE) != 0 || b.freed);
    CHECK_STR_EQ(b.reason, "peer_closed");
    CHECK_INT_EQ(b.ngot, 1);
    CHECK_INT_EQ(srv.n_conns, 1); /* a is still there */
    net_conn_close(&a.conn, "done", NULL);
    server_down();
    CHECK_INT_EQ(a.ngot, 1);
    net_tls_ctx_destroy(revoked);
    net_tls_ctx_destroy(fine);
}

/* Shutdown with a request in flight: the answer still arrives, then the session closes. */
static void on_shutdown_timer(uv_timer_t *tm)
{
    CHECK_INT_EQ(nheld, 1);
    srv_server_shutdown(&srv);
    srv_session_ping(held[--nheld]);
}

static void test_shutdown_finishes_in_flight(void)
{
    server_up(0);
    net_tls_ctx *ctx = client_ctx("good");
    static tclient t;
    go(&t, ctx);
    add_hello(&t.script, 1, 1);
    add_ping(&t.script, 2);
    launch(&t);
    server_down();
    CHECK_INT_EQ(t.ngot, 2);
    expect(&t, 0, ZERODROP__V1__ENVELOPE__BODY_WELCOME, 1, 0, NULL);
    expect(&t, 1, ZERODROP__V1__ENVELOPE__BODY_PONG, 2, 0, NULL);
    CHECK_STR_EQ(t.reason, "peer_closed");
    net_tls_ctx_destroy(ctx);
}

/* ---- the global caps: the newcomer is refused, never an established session ---- */

static uv_tcp_t raw;
static uv_connect_t raw_req;
static int raw_connected, raw_closed;

static void raw_on_connect(uv_connect_t *req, int status)
{
    CHECK_INT_EQ(status, 0);
    raw_connected = 1;
}

static void raw_on_close(uv_handle_t *h)
{
    raw_closed = 1;
}

/* Runs the loop until *flag is set (bounded: the test's meson timeout is the outer limit). */
static void run_until(const int *flag, const uint64_t *count, uint64_t want)
{
    for (int i = 0; i < 100000; i++) {
        if (flag != NULL && *flag)
            return;
        if (count != NULL && *count == want)
            return;
        uv_run(&loop, UV_RUN_ONCE);
    }
    CHECK(!"run_until: condition never held");
}

static void test_caps(void)
{
    extra_ini = "[limits]\nmax_connections = 2\nmax_handshakes = 1\n";
    server_up(-1);
    extra_ini = "";
    net_tls_ctx *ctx = client_ctx("good");
    clients_live++; /* the test itself: the server stays up between clients */

    /* A: a TCP peer that never starts TLS holds the one handshake slot. */
    struct sockaddr_in a;
    CHECK_INT_EQ(uv_ip4_addr("127.0.0.1", srv.port, &a), 0);
    CHECK_INT_EQ(uv_tcp_init(&loop, &raw), 0);
    raw_connected = raw_closed = 0;
    CHECK_INT_EQ(uv_tcp_connect(&raw_req, &raw, (const struct sockaddr *)&a, raw_on_connect), 0);
    run_until(NULL, &srv.n_handshakes, 1);

    /* B: refused while A handshakes. */
    static tclient b, c, d, e;
    go(&b, ctx);
    add_hello(&b.script, 1, 1);
    launch(&b);
    run_until(&b.freed, NULL, 0);
    CHECK_INT_EQ(b.established, 0);
    CHECK_INT_EQ(b.ngot, 0);
    CHECK_STR_EQ(b.reason, "peer_closed");

    /* A leaves; C and D get sessions; E is one too many and is refused; C and D stay. */
    uv_close((uv_handle_t *)&raw, raw_on_close);
    run_until(NULL, &srv.n_conns, 0);
    go(&c, ctx);
    add_hello(&c.script, 1, 1);
    launch(&c);
    while (c.ngot < 1) /* one handshake at a time: D waits for C's */
        CHECK(uv_run(&loop, UV_RUN_ONCE) != 0);
    go(&d, ctx);
    add_hello(&d.script, 1, 1);
    launch(&d);
    while (d.ngot < 1)
        CHECK(uv_run(&loop, UV_RUN_ONCE) != 0);
    go(&e, ctx);
    add_hello(&e.script, 1, 1);
    launch(&e);
    run_until(&e.freed, NULL, 0);
    CHECK_INT_EQ(e.ngot, 0);
    CHECK_STR_EQ(e.reason, "peer_closed");
    CHECK_INT_EQ(srv.n_conns, 2);
    CHECK(!c.freed && !d.freed);
    expect(&c, 0, ZERODROP__V1__ENVELOPE__BODY_WELCOME, 1, 0, NULL);
    expect(&d, 0, ZERODROP__V1__ENVELOPE__BODY_WELCOME, 1, 0, NULL);
    net_conn_close(&c.conn, "done", NULL);
    net_conn_close(&d.conn, "done", NULL);
    run_until(&c.freed, NULL, 0);
    run_until(&d.freed, NULL, 0);
    if (--clients_live == 0)
        all_clients_gone();
    server_down();
    CHECK(raw_closed);
    net_tls_ctx_destroy(ctx);
}

int main(void)
{
    tpki_make(&pki);
    test_order_and_errors();
    test_version_and_hello_first();
    test_reload_drops_revoked();
    test_shutdown_finishes_in_flight();
    test_caps();
    tpki_remove(&pki);
    return 0;
}
