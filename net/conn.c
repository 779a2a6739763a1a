/* Connections: TLS over a libuv stream, frames, one timer, caps and reference counting; see conn.h.
 *
 * Reading is a pump (conn__pump): ciphertext from libuv goes into OpenSSL, decrypted bytes into the
 * frame decoder, frames to the owner, until the owner's caps say stop. The pump may be re-entered from
 * an owner callback (a handler that answers at once lowers the count in flight); the guard turns that
 * into one more round of the outer loop instead of a nested decode. */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define READ_CHUNK 65536
#define PLAIN_CHUNK 16384
#define STOP (-1000) /* what on_decoded returns to stop the decoder: no zd_err value */

/* libuv reads synchronously into the buffer alloc_cb handed out and calls read_cb at once, so one
 * buffer per thread serves every connection of the loop. */
static _Thread_local char read_space[READ_CHUNK];

typedef struct wreq {
    uv_write_t req;
    net_conn *c;
    size_t len;
    uint8_t data[];
} wreq;

static void conn__pump(net_conn *c);
static void conn__arm(net_conn *c);
static void conn__drain_check(net_conn *c);
static void conn__read_start(net_conn *c);

static int conn__paused(const net_conn *c)
{
    return c->inflight >= c->lim.max_inflight || c->out_queued >= c->lim.max_output;
}

static void conn__release(net_conn *c)
{
    if (c->tls_ready)
        net_tls_finish(&c->tls);
    c->tls_ready = 0;
    net_frame_decoder_finish(&c->dec);
    net_buf_finish(&c->in);
    net_buf_finish(&c->scratch);
    c->ops->on_free(c);
}

void net_conn_ref(net_conn *c)
{
    c->refs++;
}

void net_conn_unref(net_conn *c)
{
    if (--c->refs == 0)
        conn__release(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    net_conn *c = h->data;
    if (--c->open_handles == 0)
        net_conn_unref(c); /* the reference the handles held */
}

const char *net_conn_close_reason(const net_conn *c)
{
    return c->close_reason ? c->close_reason : "";
}

const char *net_conn_close_detail(const net_conn *c)
{
    return c->close_detail;
}

void net_conn_close(net_conn *c, const char *reason, const char *detail)
{
    if (c->state == NET_CONN_CLOSING)
        return;
    c->state = NET_CONN_CLOSING;
    c->close_reason = reason;
    if (detail != NULL && c->close_detail[0] == '\0') {
        size_t n = strlen(detail);
        if (n >= sizeof(c->close_detail))
            n = sizeof(c->close_detail) - 1;
        memcpy(c->close_detail, detail, n);
        c->close_detail[n] = '\0';
    }
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    uv_timer_stop(&c->timer);
    if (c->ops->on_close)
        c->ops->on_close(c);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void conn__update_reading(net_conn *c)
{
    int want = (c->state == NET_CONN_HANDSHAKE) || (c->state == NET_CONN_OPEN && !conn__paused(c));
    if (want && !c->reading) {
        c->reading = 1;
        conn__read_start(c);
    } else if (!want && c->reading) {
        c->reading = 0;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static void on_write(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    net_conn *c = w->c;
    c->out_queued -= w->len;
    free(w);
    if (c->state == NET_CONN_CLOSING)
        return;
    if (status < 0) {
        net_conn_close(c, "write_error", uv_strerror(status));
        return;
    }
    c->last_activity_ms = uv_now(c->loop);
    if (c->state == NET_CONN_DRAINING) {
        conn__drain_check(c);
        return;
    }
    if (c->state == NET_CONN_OPEN && !conn__paused(c) && !c->reading)
        conn__pump(c); /* below the output cap again: decode what waited, then read */
    else
        conn__arm(c);
}

/* Sends whatever ciphertext OpenSSL produced. Returns 0, or -1 after closing c. */
static int conn__flush(net_conn *c)
{
    while (c->state != NET_CONN_CLOSING && c->tls_ready) {
        size_t pending = net_tls_out_pending(&c->tls);
        if (pending == 0)
            return 0;
        wreq *w = malloc(sizeof(*w) + pending);
        if (w == NULL) {
            net_conn_close(c, "out_of_memory", NULL);
            return -1;
        }
        w->c = c;
        w->len = net_tls_out_take(&c->tls, w->data, pending);
        /* Most replies fit the socket buffer: try that first and queue only the rest. */
        uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == (int)w->len) {
            free(w);
            c->last_activity_ms = uv_now(c->loop);
            continue;
        }
        size_t done = n > 0 ? (size_t)n : 0;
        if (n < 0 && n != UV_EAGAIN) {
            free(w);
            net_conn_close(c, "write_error", uv_strerror(n));
            return -1;
        }
        if (done > 0) {
            memmove(w->data, w->data + done, w->len - done);
            w->len -= done;
        }
        b = uv_buf_init((char *)w->data, (unsigned)w->len);
        int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (rc != 0) {
            free(w);
            net_conn_close(c, "write_error", uv_strerror(rc));
            return -1;
        }
        c->out_queued += w->len;
    }
    return c->state == NET_CONN_CLOSING ? -1 : 0;
}

static void conn__drain_check(net_conn *c)
{
    if (c->state != NET_CONN_DRAINING || c->inflight > 0) {
        conn__arm(c);
        return;
    }
    if (!c->notify_sent) {
        c->notify_sent = 1;
        if (c->tls_ready && c->tls.established)
            net_tls_shutdown(&c->tls);
        if (conn__flush(c) != 0)
            return;
    }
    if (c->out_queued == 0)
        net_conn_close(c, c->close_reason, NULL);
    else
        conn__arm(c);
}

void net_conn_drain(net_conn *c, const char *reason)
{
    if (c->state == NET_CONN_CLOSING || c->state == NET_CONN_DRAINING)
        return;
    if (c->state == NET_CONN_CONNECTING) {
        net_conn_close(c, reason, NULL);
        return;
    }
    c->state = NET_CONN_DRAINING;
    c->close_reason = reason;
    c->drain_started_ms = uv_now(c->loop);
    conn__update_reading(c);
    conn__drain_check(c);
}

void net_conn_inflight_add(net_conn *c, int delta)
{
    if (delta < 0 && (unsigned)-delta > c->inflight)
        c->inflight = 0;
    else
        c->inflight = (unsigned)((int)c->inflight + delta);
    if (c->state == NET_CONN_DRAINING) {
        conn__drain_check(c);
    } else if (c->state == NET_CONN_OPEN) {
        if (delta < 0 && !conn__paused(c))
            conn__pump(c);
        else
            conn__update_reading(c), conn__arm(c);
    }
}

static int on_decoded(void *ud, const uint8_t *payload, size_t len)
{
    net_conn *c = ud;
    c->frame_started_ms = 0;
    c->last_activity_ms = uv_now(c->loop);
    c->ops->on_frame(c, payload, len);
    /* Stop where the owner's caps (or a close) say so; the rest waits in c->in. */
    return (c->state != NET_CONN_OPEN || conn__paused(c)) ? STOP : 0;
}

/* Decodes c->in until empty or stopped, then decrypts more. Ends with reading and the timer updated. */
static void conn__pump(net_conn *c)
{
    if (c->busy) {
        c->again = 1;
        return;
    }
    c->busy = 1;
    do {
        c->again = 0;
        if (c->state == NET_CONN_HANDSHAKE) {
            int rc = net_tls_handshake(&c->tls);
            if (conn__flush(c) != 0)
                break;
            if (rc == NET_TLS_FAILED) {
                /* The alert OpenSSL just queued is on its way; hang up once it is written. */
                memcpy(c->close_detail, c->tls.error, sizeof(c->close_detail));
                net_conn_drain(c, "tls_handshake_failed");
                break;
            }
            if (rc != NET_TLS_OK)
                break;
            c->state = NET_CONN_OPEN;
            c->last_activity_ms = uv_now(c->loop);
            if (c->ops->on_established)
                c->ops->on_established(c);
        }
        while (c->state == NET_CONN_OPEN && !conn__paused(c)) {
            if (net_buf_len(&c->in) > 0) {
                size_t used = 0;
                int rc = net_frame_decoder_feed_some(&c->dec, net_buf_bytes(&c->in), net_buf_len(&c->in),
                                                     on_decoded, c, &used);
                net_buf_consume(&c->in, used);
                if (rc != 0 && rc != STOP) { /* a bad length: the decoder is failed for good */
                    net_buf_reset(&c->in);
                    if (c->state == NET_CONN_OPEN && c->ops->on_bad_frame)
                        c->ops->on_bad_frame(c);
                    if (c->state == NET_CONN_OPEN)
                        net_conn_drain(c, "bad_frame");
                    break;
                }
                if (net_buf_len(&c->in) > 0)
                    continue; /* stopped by a cap or a close: the loop condition decides */
            }
            uint8_t *dst = net_buf_reserve(&c->in, PLAIN_CHUNK);
            if (dst == NULL) {
                net_conn_close(c, "out_of_memory", NULL);
                break;
            }
            size_t got = 0;
            int rc = net_tls_read(&c->tls, dst, PLAIN_CHUNK, &got);
            if (rc == NET_TLS_OK) {
                net_buf_commit(&c->in, got);
                continue;
            }
            if (rc == NET_TLS_WANT)
                break;
            if (rc == NET_TLS_CLOSED) {
                net_conn_drain(c, "peer_closed");
                break;
            }
            memcpy(c->close_detail, c->tls.error, sizeof(c->close_detail));
            conn__flush(c);
            net_conn_close(c, "tls_error", NULL);
            break;
        }
    } while (c->again && c->state != NET_CONN_CLOSING);
    c->busy = 0;
    if (c->state == NET_CONN_CLOSING)
        return;
    if (net_frame_decoder_partial(&c->dec)) {
        if (c->frame_started_ms == 0)
            c->frame_started_ms = uv_now(c->loop);
    } else {
        c->frame_started_ms = 0;
    }
    if (conn__flush(c) != 0)
        return;
    /* A quiet connection keeps no buffers: the plaintext buffer and the TLS memory BIOs grow to the
     * largest record seen and would hold that for the connection's life (16 KiB and more per idle
     * session). Reading allocates again on demand. */
    if (net_buf_len(&c->in) == 0)
        net_buf_finish(&c->in);
    net_tls_compact(&c->tls);
    conn__update_reading(c);
    conn__arm(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = read_space;
    buf->len = sizeof(read_space);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    net_conn *c = (net_conn *)s;
    if (c->state == NET_CONN_CLOSING)
        return;
    if (nread == UV_EOF) {
        c->reading = 0;
        uv_read_stop(s);
        if (c->state == NET_CONN_HANDSHAKE)
            net_conn_close(c, "peer_closed", "during the TLS handshake");
        else
            net_conn_drain(c, "peer_closed");
        return;
    }
    if (nread < 0) {
        net_conn_close(c, "read_error", uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    c->last_activity_ms = uv_now(c->loop);
    if (c->state == NET_CONN_DRAINING)
        return; /* we said we would read nothing more */
    if (net_tls_feed(&c->tls, buf->base, (size_t)nread) != 0) {
        net_conn_close(c, "out_of_memory", NULL);
        return;
    }
    conn__pump(c);
}

static void conn__read_start(net_conn *c)
{
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0)
        net_conn_close(c, "read_error", uv_strerror(rc));
}

/* The one deadline that applies now, or 0 for none; *reason says which. */
static uint64_t conn__deadline(const net_conn *c, const char **reason)
{
    switch (c->state) {
    case NET_CONN_CONNECTING:
        *reason = "connect_timeout";
        return c->started_ms + c->lim.handshake_ms;
    case NET_CONN_HANDSHAKE:
        *reason = "handshake_timeout";
        return c->started_ms + c->lim.handshake_ms;
    case NET_CONN_DRAINING:
        *reason = "drain_timeout";
        return c->drain_started_ms + c->lim.frame_ms;
    case NET_CONN_OPEN: {
        uint64_t best = 0;
        /* While paused the stall is ours, not the peer's: no frame clock then. */
        if (c->frame_started_ms != 0 && !conn__paused(c)) {
            best = c->frame_started_ms + c->lim.frame_ms;
            *reason = "frame_timeout";
        }
        if (c->inflight == 0) {
            uint64_t idle = c->last_activity_ms + c->lim.idle_ms;
            if (best == 0 || idle < best) {
                best = idle;
                *reason = "idle_timeout";
            }
        }
        return best;
    }
    case NET_CONN_CLOSING:
        break;
    }
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    net_conn *c = t->data;
    const char *reason = NULL;
    uint64_t deadline = conn__deadline(c, &reason);
    if (deadline == 0)
        return;
    if (uv_now(c->loop) >= deadline) {
        net_conn_close(c, reason, NULL);
        return;
    }
    conn__arm(c);
}

static void conn__arm(net_conn *c)
{
    if (c->state == NET_CONN_CLOSING)
        return;
    const char *reason = NULL;
    uint64_t deadline = conn__deadline(c, &reason);
    if (deadline == 0) {
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(c->loop);
    uv_timer_start(&c->timer, on_timer, deadline > now ? deadline - now : 0, 0);
}

int net_conn_init(net_conn *c, uv_loop_t *loop, const net_conn_ops *ops, const net_conn_limits *lim)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->ops = ops;
    c->lim = *lim;
    if (c->lim.max_frame == 0)
        c->lim.max_frame = NET_FRAME_DEFAULT_MAX;
    if (c->lim.max_inflight == 0)
        c->lim.max_inflight = 1;
    int rc = uv_tcp_init(loop, &c->tcp);
    if (rc != 0)
        return rc;
    c->tcp.data = c;
    c->refs = 1;
    rc = uv_timer_init(loop, &c->timer);
    if (rc != 0) {
        /* The tcp handle is registered with the loop: it must be closed, and c lives until then. */
        c->open_handles = 1;
        c->state = NET_CONN_CLOSING;
        c->close_reason = "init_failed";
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return rc;
    }
    c->timer.data = c;
    c->open_handles = 2;
    c->refs = 1;
    net_frame_decoder_init(&c->dec, c->lim.max_frame);
    net_buf_init(&c->in, PLAIN_CHUNK);
    net_buf_init(&c->scratch, c->lim.max_frame + NET_FRAME_HEADER);
    c->started_ms = uv_now(loop);
    c->last_activity_ms = c->started_ms;
    conn__arm(c);
    return 0;
}

int net_conn_start(net_conn *c, net_tls_ctx *ctx, const char *server_name)
{
    if (c->state != NET_CONN_CONNECTING)
        return -1;
    if (net_tls_init(&c->tls, ctx, server_name) != 0) {
        net_conn_close(c, "tls_setup_failed", NULL);
        return -1;
    }
    c->tls_ready = 1;
    c->state = NET_CONN_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    conn__update_reading(c);
    if (c->state == NET_CONN_CLOSING)
        return -1;
    conn__pump(c); /* a client writes its ClientHello now; a server finds nothing yet */
    return c->state == NET_CONN_CLOSING ? -1 : 0;
}

int net_conn_write_bytes(net_conn *c, const void *p, size_t len)
{
    if ((c->state != NET_CONN_OPEN && c->state != NET_CONN_DRAINING) || c->notify_sent)
        return ZD_EUNAVAILABLE;
    if (net_tls_write(&c->tls, p, len) != NET_TLS_OK) {
        memcpy(c->close_detail, c->tls.error, sizeof(c->close_detail));
        net_conn_close(c, "tls_error", NULL);
        return ZD_EINTERNAL;
    }
    if (conn__flush(c) != 0)
        return ZD_EINTERNAL;
    net_tls_compact(&c->tls); /* a large reply must not leave its size behind in the BIO */
    if (c->state == NET_CONN_OPEN) {
        conn__update_reading(c);
        conn__arm(c);
    }
    return 0;
}

int net_conn_send(net_conn *c, const Zerodrop__V1__Envelope *env)
{
    if ((c->state != NET_CONN_OPEN && c->state != NET_CONN_DRAINING) || c->notify_sent)
        return ZD_EUNAVAILABLE;
    net_buf_reset(&c->scratch);
    int rc = net_envelope_append(&c->scratch, env, c->lim.max_frame);
    if (rc != 0)
        return rc == ZD_EOVERLOADED ? ZD_EBAD_FRAME : rc;
    rc = net_conn_write_bytes(c, net_buf_bytes(&c->scratch), net_buf_len(&c->scratch));
    /* Keep a big reply's storage no longer than it takes to encrypt it. */
    if (c->scratch.alloc > 65536)
        net_buf_finish(&c->scratch);
    else
        net_buf_reset(&c->scratch);
    return rc;
}
