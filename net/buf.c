/* Growable capped buffer; see buf.h for the contract. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void net_buf_init(net_buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

void net_buf_finish(net_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->alloc = 0;
}

void net_buf_reset(net_buf *b)
{
    b->off = b->len = 0;
}

static void fail(net_buf *b)
{
    net_buf_finish(b);
}

uint8_t *net_buf_reserve(net_buf *b, size_t n)
{
    if (n > b->cap || b->len > b->cap - n) {
        fail(b);
        return NULL;
    }
    /* Compact first: moving live bytes to the front is cheaper than growing. */
    if (b->off > 0 && b->off + b->len + n > b->alloc) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    if (b->off + b->len + n > b->alloc) {
        size_t want = b->alloc ? b->alloc : 256;
        while (want < b->len + n)
            want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
        if (want > b->cap)
            want = b->cap;
        uint8_t *p = realloc(b->data, want);
        if (p == NULL) {
            fail(b);
            return NULL;
        }
        b->data = p;
        b->alloc = want;
    }
    return b->data + b->off + b->len;
}

void net_buf_commit(net_buf *b, size_t n)
{
    b->len += n;
}

int net_buf_append(net_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *dst = net_buf_reserve(b, n);
    if (dst == NULL)
        return -1;
    memcpy(dst, p, n);
    b->len += n;
    return 0;
}

void net_buf_consume(net_buf *b, size_t n)
{
    if (n >= b->len) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

uint8_t *net_buf_take(net_buf *b, size_t *len)
{
    if (b->len == 0) {
        *len = 0;
        return NULL;
    }
    if (b->off > 0)
        memmove(b->data, b->data + b->off, b->len);
    uint8_t *p = b->data;
    *len = b->len;
    b->data = NULL;
    b->off = b->len = b->alloc = 0;
    return p;
}
