/* A connection: one TCP stream, its TLS session, its frame decoder, its timer and its caps.
 *
 * Shared by the server (one per accepted client) and the client (one per request helper). The struct
 * embeds its uv_tcp_t and uv_timer_t; the memory belongs to whoever allocated it and is released in
 * ops->on_free, which runs only after both handles' close callbacks and after the last reference is
 * dropped. So closing from inside any callback is safe, and a pending job (a database query, later) that
 * holds a reference finds a live, closed connection when it completes, never freed memory.
 *
 * One timer enforces, whichever comes first:
 *   - connect + handshake within handshake_ms  (reasons "connect_timeout", "handshake_timeout");
 *   - a started frame completes within frame_ms ("frame_timeout"), judged by net_frame_decoder_partial;
 *   - no traffic for idle_ms while nothing is in flight ("idle_timeout");
 *   - a draining connection flushes within frame_ms ("drain_timeout").
 * Reading stops while requests in flight reach max_inflight or queued output reaches max_output, and
 * resumes below both: a client that pipelines without reading costs its own connection only. */
#ifndef ZD_NET_CONN_H
#define ZD_NET_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "envelope.pb-c.h"
#include "frame.h"
#include "tls.h"

typedef struct net_conn net_conn;

typedef struct net_conn_limits {
    size_t max_frame;      /* largest frame either way */
    size_t max_output;     /* queued ciphertext at which reading stops */
    unsigned max_inflight; /* requests in flight at which reading stops */
    uint64_t handshake_ms;
    uint64_t frame_ms;
    uint64_t idle_ms;
} net_conn_limits;

/* What the owner is told. Every callback may call net_conn_close or net_conn_drain. */
typedef struct net_conn_ops {
    void (*on_established)(net_conn *c);                               /* TLS is up; c->tls names the peer */
    void (*on_frame)(net_conn *c, const uint8_t *payload, size_t len); /* valid during the call only */
    void (*on_bad_frame)(net_conn *c); /* a length of 0 or above max_frame: nothing more will be read */
    void (*on_close)(net_conn *c);     /* once, as closing starts; net_conn_close_reason says why */
    void (*on_free)(net_conn *c);      /* once, at the very end: release the memory holding c */
} net_conn_ops;

typedef enum net_conn_state {
    NET_CONN_CONNECTING = 0, /* initialised, no TLS yet (client connecting, or not started) */
    NET_CONN_HANDSHAKE,
    NET_CONN_OPEN,
    NET_CONN_DRAINING, /* reads nothing more; closes once nothing is in flight and output is flushed */
    NET_CONN_CLOSING,
} net_conn_state;

struct net_conn {
    uv_tcp_t tcp; /* first, so a uv_stream_t * from libuv is the connection */
    uv_timer_t timer;
    uv_loop_t *loop;
    const net_conn_ops *ops;
    void *data; /* the owner's */
    net_conn_limits lim;
    net_tls tls;
    int tls_ready;
    net_frame_decoder dec;
    net_buf in;      /* decrypted bytes not yet decoded (only while reading is paused) */
    net_buf scratch; /* one outgoing frame being packed */
    size_t out_queued;
    unsigned inflight;
    unsigned refs;
    int open_handles;
    net_conn_state state;
    int reading;
    int busy, again; /* reentrancy guard of the read pump */
    int notify_sent;
    uint64_t started_ms, frame_started_ms, last_activity_ms, drain_started_ms;
    const char *close_reason;
    char close_detail[NET_TLS_ERRLEN];
};

/* Initialises c's handles on loop (uv_tcp_init, uv_timer_init) and starts the connect/handshake clock.
 * ops and lim are copied by pointer / value; ops must outlive c. Returns 0 or a libuv error; after 0 the
 * connection must end with net_conn_close (or drain), which leads to ops->on_free. On an error from
 * uv_tcp_init nothing is left to release; on one from uv_timer_init (libuv 1.x never fails it) the tcp
 * handle is being closed and ops->on_free will still run, so do not free c yourself. */
int net_conn_init(net_conn *c, uv_loop_t *loop, const net_conn_ops *ops, const net_conn_limits *lim);

/* Starts TLS once c->tcp is connected (accepted by a server, or connected by a client): ctx decides the
 * side; server_name is what a client checks the server certificate for. A client sends its first flight
 * at once. Returns 0, or -1 after closing c ("tls_setup_failed"). */
int net_conn_start(net_conn *c, net_tls_ctx *ctx, const char *server_name);

/* Packs env as one frame and queues it. Returns 0; ZD_EBAD_FRAME when it is larger than max_frame
 * (nothing queued); ZD_EINTERNAL after closing c when TLS or the socket failed; ZD_EUNAVAILABLE when c
 * is closing (nothing queued). env stays the caller's. */
int net_conn_send(net_conn *c, const Zerodrop__V1__Envelope *env);

/* Queues len raw plaintext bytes (not necessarily a whole frame): for tests and tools that play hostile
 * peers. Same returns as net_conn_send, without ZD_EBAD_FRAME. */
int net_conn_write_bytes(net_conn *c, const void *p, size_t len);

/* Counts requests the owner has taken from c and not yet answered (delta +1 / -1). Reading pauses at
 * max_inflight and resumes below; a draining connection closes when this reaches 0. */
void net_conn_inflight_add(net_conn *c, int delta);

/* Closes now: stops reading, cancels pending writes, calls ops->on_close once. reason is a static
 * string for the log ("idle_timeout"); detail (may be NULL) is copied. A second call does nothing. */
void net_conn_close(net_conn *c, const char *reason, const char *detail);

/* Stops reading for good and closes (with reason) once nothing is in flight and all output, a TLS
 * close_notify last, has been written — or at the drain deadline. For "answer this, then hang up". */
void net_conn_drain(net_conn *c, const char *reason);

/* References held by pending jobs, so on_free waits for them. */
void net_conn_ref(net_conn *c);
void net_conn_unref(net_conn *c);

/* Why the connection closed ("" while open) and the detail ("" when none). */
const char *net_conn_close_reason(const net_conn *c);
const char *net_conn_close_detail(const net_conn *c);

#endif
