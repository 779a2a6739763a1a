/* A growable byte buffer with a hard cap.
 *
 * The cap is checked before any allocation, so a peer cannot make us allocate more than the cap by
 * announcing a large length. On failure the buffer frees itself and stays usable (empty). Bytes are
 * consumed from the front by moving a read offset; the storage is compacted lazily. Ownership of the
 * storage can be handed out with net_buf_take. */
#ifndef ZD_NET_BUF_H
#define ZD_NET_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct net_buf {
    uint8_t *data;   /* storage; the live bytes are data[off .. off+len) */
    size_t off;
    size_t len;
    size_t alloc;
    size_t cap;      /* most live bytes this buffer may ever hold */
} net_buf;

/* Caller-owned buffer: init with a cap (bytes), finish to free. */
void net_buf_init(net_buf *b, size_t cap);
void net_buf_finish(net_buf *b);

/* Appends n bytes. Returns 0, or -1 when len + n would exceed the cap or memory ran out; on -1 the
 * buffer has been reset (its contents freed), because a half-appended buffer is useless to callers. */
int net_buf_append(net_buf *b, const void *p, size_t n);

/* Makes room for n more bytes and returns where to write them, or NULL (as net_buf_append fails).
 * The caller then calls net_buf_commit with how many it wrote. */
uint8_t *net_buf_reserve(net_buf *b, size_t n);
void net_buf_commit(net_buf *b, size_t n);

/* Drops n bytes from the front (n <= len). */
void net_buf_consume(net_buf *b, size_t n);

/* Empties the buffer, keeping its storage. */
void net_buf_reset(net_buf *b);

static inline const uint8_t *net_buf_bytes(const net_buf *b) { return b->data ? b->data + b->off : NULL; }
static inline size_t net_buf_len(const net_buf *b) { return b->len; }

/* Hands the live bytes to the caller (free() them), leaving the buffer empty. *len gets their count.
 * Returns NULL when empty. */
uint8_t *net_buf_take(net_buf *b, size_t *len);

#endif
