/* net/conn: each deadline closes with its own reason (handshake, idle, frame progress), a bad length is
 * reported and closes this connection only, and reading stops at the cap of requests in flight and
 * resumes below it, in order. Deadlines are short here; nothing asserts how long anything took. */
#include <string.h>

#include "check.h"
#include "err.h"
#include "tpair.h"
#include "tpki.h"

static tpki pki;

static net_tls_ctx *server_ctx(void)
{
    char err[256], cert[300], key[300], ca[300], crl[300];
    snprintf(cert, sizeof(cert), "%s/pki/server.pem", pki.dir);
    snprintf(key, sizeof(key), "%s/pki/server.key", pki.dir);
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    snprintf(crl, sizeof(crl), "%s/pki/crl.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_server(cert, key, ca, crl, err, sizeof(err));
    CHECK(ctx != NULL);
    return ctx;
}

static net_tls_ctx *client_ctx(void)
{
    char err[256], cert[300], key[300], ca[300];
    snprintf(cert, sizeof(cert), "%s/good/cert.pem", pki.dir);
    snprintf(key, sizeof(key), "%s/good/key.pem", pki.dir);
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_client(cert, key, ca, err, sizeof(err));
    CHECK(ctx != NULL);
    return ctx;
}

static void pair_setup(tpair *p)
{
    tpair_init(p);
    p->server_ctx = server_ctx();
    p->client_ctx = client_ctx();
}

static void pair_teardown(tpair *p)
{
    net_tls_ctx_destroy(p->server_ctx);
    net_tls_ctx_destroy(p->client_ctx);
}

/* ---- handshake deadline: a TCP peer that never speaks TLS ---- */

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
    static char space[4096];
    b->base = space;
    b->len = sizeof(space);
}

static int raw_eof;

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0) {
        raw_eof++;
        uv_close((uv_handle_t *)s, NULL);
    }
}

static void raw_connected(tpair *p)
{
    CHECK_INT_EQ(uv_read_start((uv_stream_t *)&tpair_raw_socket, raw_alloc, raw_read), 0);
}

static void test_handshake_timeout(void)
{
    tpair p;
    pair_setup(&p);
    p.raw_client = 1;
    p.on_raw_connected = raw_connected;
    p.server_lim.handshake_ms = 150;
    raw_eof = 0;
    tpair_run(&p);
    CHECK_INT_EQ(p.server.established, 0);
    CHECK_STR_EQ(p.server.reason, "handshake_timeout");
    CHECK_INT_EQ(raw_eof, 1);
    pair_teardown(&p);
}

/* ---- idle deadline: a TLS peer that says nothing ---- */

static void test_idle_timeout(void)
{
    tpair p;
    pair_setup(&p);
    p.server_lim.idle_ms = 150;
    tpair_run(&p);
    CHECK_INT_EQ(p.server.established, 1);
    CHECK_INT_EQ(p.client.established, 1);
    CHECK_STR_EQ(p.server.reason, "idle_timeout");
    CHECK_STR_EQ(p.client.reason, "peer_closed");
    pair_teardown(&p);
}

/* ---- frame progress: a frame that starts and never ends ---- */

static void send_half_frame(tside *s)
{
    static const uint8_t part[] = {0, 0, 0, 40, 8, 1}; /* announces 40 bytes, sends 2 */
    CHECK_INT_EQ(net_conn_write_bytes(&s->conn, part, sizeof(part)), 0);
}

static void test_frame_timeout(void)
{
    tpair p;
    pair_setup(&p);
    p.server_lim.frame_ms = 150;
    p.client.on_established = send_half_frame;
    tpair_run(&p);
    CHECK_INT_EQ(p.server.frames, 0);
    CHECK_STR_EQ(p.server.reason, "frame_timeout");
    pair_teardown(&p);
}

/* A frame that arrives in pieces but completes is fine; the next idle period then ends the session. */
static void send_ping_in_two(tside *s)
{
    uint8_t frame[64];
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Ping ping = ZERODROP__V1__PING__INIT;
    env.request_id = 3;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    net_buf b;
    net_buf_init(&b, sizeof(frame));
    CHECK_INT_EQ(net_envelope_append(&b, &env, 1024), 0);
    size_t n = net_buf_len(&b);
    memcpy(frame, net_buf_bytes(&b), n);
    net_buf_finish(&b);
    CHECK_INT_EQ(net_conn_write_bytes(&s->conn, frame, 3), 0);
    CHECK_INT_EQ(net_conn_write_bytes(&s->conn, frame + 3, n - 3), 0);
}

static void test_split_frame_completes(void)
{
    tpair p;
    pair_setup(&p);
    p.server_lim.frame_ms = 2000;
    p.server_lim.idle_ms = 150;
    p.client.on_established = send_ping_in_two;
    tpair_run(&p);
    CHECK_INT_EQ(p.server.frames, 1);
    CHECK_STR_EQ(p.server.reason, "idle_timeout");
    pair_teardown(&p);
}

/* ---- a bad length closes this connection, after the owner was told ---- */

static void send_zero_length(tside *s)
{
    static const uint8_t zero[] = {0, 0, 0, 0};
    CHECK_INT_EQ(net_conn_write_bytes(&s->conn, zero, sizeof(zero)), 0);
}

static void test_bad_frame(void)
{
    tpair p;
    pair_setup(&p);
    p.client.on_established = send_zero_length;
    tpair_run(&p);
    CHECK_INT_EQ(p.server.bad_frames, 1);
    CHECK_INT_EQ(p.server.frames, 0);
    CHECK_STR_EQ(p.server.reason, "bad_frame");
    CHECK_STR_EQ(p.client.reason, "peer_closed");
    pair_teardown(&p);
}

/* ---- the cap of requests in flight ---- */

typedef struct held {
    uv_timer_t timer;
    int seen_at_check;
    int released;
    uint64_t next_id; /* the id the server expects next: order is kept */
    int pongs;
} held;

static held H;

static void server_holds(tside *s, Zerodrop__V1__Envelope *env)
{
    CHECK_INT_EQ(env->request_id, H.next_id);
    H.next_id++;
    if (H.released) {
        tpair_send_ping(&s->conn, env->request_id, 1);
        return;
    }
    net_conn_inflight_add(&s->conn, +1); /* held: not answered */
}

static void release(uv_timer_t *t)
{
    tpair *p = t->data;
    H.seen_at_check = p->server.frames;
    H.released = 1;
    /* Answer the two held requests; then each freed slot lets one more frame in, answered at once. */
    tpair_send_ping(&p->server.conn, 1, 1);
    tpair_send_ping(&p->server.conn, 2, 1);
    net_conn_inflight_add(&p->server.conn, -1);
    net_conn_inflight_add(&p->server.conn, -1);
    uv_close((uv_handle_t *)t, NULL);
}

static void client_pipelines(tside *s)
{
    for (uint64_t id = 1; id <= 10; id++)
        tpair_send_ping(&s->conn, id, 0);
    CHECK_INT_EQ(uv_timer_start(&H.timer, release, 200, 0), 0);
}

static void client_counts(tside *s, Zerodrop__V1__Envelope *env)
{
    H.pongs++;
    CHECK_INT_EQ(env->request_id, (uint64_t)H.pongs);
    if (H.pongs == 10)
        net_conn_drain(&s->conn, "done");
}

static void test_inflight_cap(void)
{
    tpair p;
    pair_setup(&p);
    memset(&H, 0, sizeof(H));
    H.next_id = 1;
    CHECK_INT_EQ(uv_timer_init(&p.loop, &H.timer), 0);
    H.timer.data = &p;
    p.server_lim.max_inflight = 2;
    p.client.on_established = client_pipelines;
    p.server.on_frame = server_holds;
    p.client.on_frame = client_counts;
    tpair_run(&p);
    CHECK_INT_EQ(H.seen_at_check, 2);
    CHECK_INT_EQ(p.server.frames, 10);
    CHECK_INT_EQ(H.pongs, 10);
    CHECK_STR_EQ(p.client.reason, "done");
    CHECK_STR_EQ(p.server.reason, "peer_closed");
    pair_teardown(&p);
}

int main(void)
{
    tpki_make(&pki);
    test_handshake_timeout();
    test_idle_timeout();
    test_frame_timeout();
    test_split_frame_completes();
    test_bad_frame();
    test_inflight_cap();
    tpki_remove(&pki);
    return 0;
}
