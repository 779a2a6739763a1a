/* Length-prefixed frames: a 4-byte big-endian length N, 1 <= N <= max, then N bytes of an Envelope.
 *
 * The decoder is incremental: it accepts the input split anywhere (byte by byte, a length prefix over
 * two reads, hundreds of frames in one read). A frame wholly inside one input chunk is handed to the
 * callback without a copy; a frame split over chunks is gathered into a buffer capped at max, and the
 * cap is checked against the announced length before a byte is allocated. N = 0 or N > max is a
 * protocol error for this connection only: the decoder stops and reports ZD_EBAD_FRAME. */
#ifndef ZD_NET_FRAME_H
#define ZD_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "envelope.pb-c.h"

#define NET_FRAME_DEFAULT_MAX (1u << 20) /* 1 MiB */
#define NET_FRAME_HEADER 4

/* Called once per complete frame. payload is valid only during the call. Return 0 to go on, anything
 * else to stop decoding; net_frame_decoder_feed then returns that value. */
typedef int (*net_frame_cb)(void *ud, const uint8_t *payload, size_t len);

typedef struct net_frame_decoder {
    size_t max;
    uint8_t hdr[NET_FRAME_HEADER];
    size_t hdr_have;
    size_t need;     /* body bytes of the current frame, once its header is complete */
    net_buf body;    /* a frame split over inputs */
    int failed;      /* sticky: after a bad frame the decoder accepts nothing */
} net_frame_decoder;

void net_frame_decoder_init(net_frame_decoder *d, size_t max);
void net_frame_decoder_finish(net_frame_decoder *d);

/* Feeds len bytes. Returns 0 when all were consumed, ZD_EBAD_FRAME on a bad length (and for every
 * later call), or the first non-zero value a callback returned. */
int net_frame_decoder_feed(net_frame_decoder *d, const uint8_t *data, size_t len, net_frame_cb cb, void *ud);

/* As net_frame_decoder_feed, and *used gets how many bytes were consumed: all of them on 0, up to the end
 * of the frame whose callback stopped decoding otherwise, so the caller can keep the rest for later (a
 * connection that stopped reading at its cap of requests in flight resumes from there). */
int net_frame_decoder_feed_some(net_frame_decoder *d, const uint8_t *data, size_t len, net_frame_cb cb,
                                void *ud, size_t *used);

/* True while a frame has begun but is not complete: what the per-frame progress timer watches. */
int net_frame_decoder_partial(const net_frame_decoder *d);

/* Appends one frame (header and payload) to out. Returns 0, or ZD_EBAD_FRAME when len is 0 or above
 * max, or ZD_EOVERLOADED when out's cap is reached. */
int net_frame_append(net_buf *out, const uint8_t *payload, size_t len, size_t max);

/* Packs env as one frame straight into out (no intermediate copy). Same returns as net_frame_append. */
int net_envelope_append(net_buf *out, const Zerodrop__V1__Envelope *env, size_t max);

/* Unpacks a frame's payload. Returns NULL when the bytes are not an Envelope. The caller owns the
 * result and frees it with zerodrop__v1__envelope__free_unpacked(env, NULL). */
Zerodrop__V1__Envelope *net_envelope_unpack(const uint8_t *payload, size_t len);

#endif
