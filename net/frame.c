/* Incremental frame decoder and the frame/envelope encoders; see frame.h. */
#include "frame.h"

#include <string.h>

#include "err.h"

void net_frame_decoder_init(net_frame_decoder *d, size_t max)
{
    memset(d, 0, sizeof(*d));
    d->max = max ? max : NET_FRAME_DEFAULT_MAX;
    net_buf_init(&d->body, d->max);
}

void net_frame_decoder_finish(net_frame_decoder *d)
{
    net_buf_finish(&d->body);
}

int net_frame_decoder_partial(const net_frame_decoder *d)
{
    return d->hdr_have > 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int net_frame_decoder_feed(net_frame_decoder *d, const uint8_t *data, size_t len, net_frame_cb cb, void *ud)
{
    size_t used;
    return net_frame_decoder_feed_some(d, data, len, cb, ud, &used);
}

/* RETURN publishes how far we got before every exit, so callers that stop early can keep the rest. */
#define RETURN(v)                                                                                          \
    do {                                                                                                   \
        *used = (size_t)(data - start);                                                                    \
        return (v);                                                                                        \
    } while (0)

int net_frame_decoder_feed_some(net_frame_decoder *d, const uint8_t *data, size_t len, net_frame_cb cb,
                                void *ud, size_t *used)
{
    const uint8_t *start = data;
    if (d->failed)
        RETURN(ZD_EBAD_FRAME);
    while (len > 0) {
        if (d->hdr_have < NET_FRAME_HEADER) {
            /* Fast path: a whole frame at the start of the input, nothing pending. */
            if (d->hdr_have == 0 && len >= NET_FRAME_HEADER) {
                uint32_t n = be32(data);
                if (n == 0 || n > d->max) {
                    d->failed = 1;
                    RETURN(ZD_EBAD_FRAME);
                }
                if (len - NET_FRAME_HEADER >= n) {
                    int rc = cb(ud, data + NET_FRAME_HEADER, n);
                    data += NET_FRAME_HEADER + (size_t)n;
                    len -= NET_FRAME_HEADER + (size_t)n;
                    if (rc != 0)
                        RETURN(rc);
                    continue;
                }
            }
            size_t take = NET_FRAME_HEADER - d->hdr_have;
            if (take > len)
                take = len;
            memcpy(d->hdr + d->hdr_have, data, take);
            d->hdr_have += take;
            data += take;
            len -= take;
            if (d->hdr_have < NET_FRAME_HEADER)
                RETURN(0);
            uint32_t n = be32(d->hdr);
            if (n == 0 || n > d->max) {
                d->failed = 1;
                RETURN(ZD_EBAD_FRAME);
            }
            d->need = n;
            net_buf_reset(&d->body);
            continue;
        }
        /* Gathering a split body. */
        size_t missing = d->need - net_buf_len(&d->body);
        size_t take = missing < len ? missing : len;
        if (net_buf_append(&d->body, data, take) != 0) {
            d->failed = 1;
            RETURN(ZD_EOVERLOADED);
        }
        data += take;
        len -= take;
        if (net_buf_len(&d->body) == d->need) {
            d->hdr_have = 0;
            d->need = 0;
            int rc = cb(ud, net_buf_bytes(&d->body), net_buf_len(&d->body));
            net_buf_reset(&d->body);
            if (rc != 0)
                RETURN(rc);
        }
    }
    RETURN(0);
}

#undef RETURN

static void put_be32(uint8_t *p, uint32_t n)
{
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
}

int net_frame_append(net_buf *out, const uint8_t *payload, size_t len, size_t max)
{
    if (len == 0 || len > max || len > UINT32_MAX)
        return ZD_EBAD_FRAME;
    uint8_t *p = net_buf_reserve(out, NET_FRAME_HEADER + len);
    if (p == NULL)
        return ZD_EOVERLOADED;
    put_be32(p, (uint32_t)len);
    memcpy(p + NET_FRAME_HEADER, payload, len);
    net_buf_commit(out, NET_FRAME_HEADER + len);
    return 0;
}

int net_envelope_append(net_buf *out, const Zerodrop__V1__Envelope *env, size_t max)
{
    size_t len = zerodrop__v1__envelope__get_packed_size(env);
    if (len == 0 || len > max || len > UINT32_MAX)
        return ZD_EBAD_FRAME;
    uint8_t *p = net_buf_reserve(out, NET_FRAME_HEADER + len);
    if (p == NULL)
        return ZD_EOVERLOADED;
    put_be32(p, (uint32_t)len);
    size_t packed = zerodrop__v1__envelope__pack(env, p + NET_FRAME_HEADER);
    net_buf_commit(out, NET_FRAME_HEADER + packed);
    return 0;
}

Zerodrop__V1__Envelope *net_envelope_unpack(const uint8_t *payload, size_t len)
{
    return zerodrop__v1__envelope__unpack(NULL, len, payload);
}
