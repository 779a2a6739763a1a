/* net/frame: the decoder accepts any split of the input and refuses bad lengths, for this stream only. */
#include <stdlib.h>

#include "check.h"
#include "err.h"
#include "frame.h"

typedef struct seen {
    size_t frames;
    size_t bytes;
    uint32_t sum;        /* order-sensitive checksum of all payload bytes */
    size_t stop_after;   /* return 1 after this many frames (0: never) */
} seen;

static int on_frame(void *ud, const uint8_t *p, size_t len)
{
    seen *s = ud;
    s->frames++;
    s->bytes += len;
    for (size_t i = 0; i < len; i++)
        s->sum = s->sum * 31u + p[i];
    return s->stop_after && s->frames >= s->stop_after;
}

/* n frames, frame i holding (i % 300) + 1 bytes of value i. */
static void make_stream(net_buf *out, size_t n, size_t max, uint32_t *sum, size_t *bytes)
{
    uint8_t payload[300];
    *sum = 0;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = (i % 300) + 1;
        memset(payload, (int)(i & 0xff), len);
        CHECK_INT_EQ(net_frame_append(out, payload, len, max), 0);
        for (size_t k = 0; k < len; k++)
            *sum = *sum * 31u + payload[k];
        *bytes += len;
    }
}

static void test_many_in_one_and_byte_by_byte(void)
{
    net_buf stream;
    net_buf_init(&stream, 1 << 24);
    uint32_t sum;
    size_t bytes;
    make_stream(&stream, 1000, NET_FRAME_DEFAULT_MAX, &sum, &bytes);

    /* 1,000 frames in one buffer */
    net_frame_decoder d;
    net_frame_decoder_init(&d, 0);
    seen s = {0};
    CHECK_INT_EQ(net_frame_decoder_feed(&d, net_buf_bytes(&stream), net_buf_len(&stream), on_frame, &s), 0);
    CHECK_INT_EQ(s.frames, 1000);
    CHECK_INT_EQ(s.bytes, bytes);
    CHECK_INT_EQ(s.sum, sum);
    CHECK(!net_frame_decoder_partial(&d));
    net_frame_decoder_finish(&d);

    /* the same, one byte at a time */
    net_frame_decoder_init(&d, 0);
    seen t = {0};
    const uint8_t *p = net_buf_bytes(&stream);
    for (size_t i = 0; i < net_buf_len(&stream); i++)
        CHECK_INT_EQ(net_frame_decoder_feed(&d, p + i, 1, on_frame, &t), 0);
    CHECK_INT_EQ(t.frames, 1000);
    CHECK_INT_EQ(t.bytes, bytes);
    CHECK_INT_EQ(t.sum, sum);
    net_frame_decoder_finish(&d);

    /* odd-sized chunks (7 bytes) cross every kind of boundary */
    net_frame_decoder_init(&d, 0);
    seen u = {0};
    for (size_t i = 0; i < net_buf_len(&stream); i += 7) {
        size_t n = net_buf_len(&stream) - i < 7 ? net_buf_len(&stream) - i : 7;
        CHECK_INT_EQ(net_frame_decoder_feed(&d, p + i, n, on_frame, &u), 0);
    }
    CHECK_INT_EQ(u.frames, 1000);
    CHECK_INT_EQ(u.sum, sum);
    net_frame_decoder_finish(&d);
    net_buf_finish(&stream);
}

static void test_split_prefix(void)
{
    uint8_t frame[4 + 5] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    net_frame_decoder d;
    net_frame_decoder_init(&d, 0);
    seen s = {0};
    CHECK_INT_EQ(net_frame_decoder_feed(&d, frame, 2, on_frame, &s), 0);
    CHECK(net_frame_decoder_partial(&d));
    CHECK_INT_EQ(s.frames, 0);
    CHECK_INT_EQ(net_frame_decoder_feed(&d, frame + 2, sizeof(frame) - 2, on_frame, &s), 0);
    CHECK_INT_EQ(s.frames, 1);
    CHECK_INT_EQ(s.bytes, 5);
    CHECK(!net_frame_decoder_partial(&d));
    net_frame_decoder_finish(&d);
}

static int feed_header(uint32_t n, size_t max, const uint8_t *body, size_t body_len, seen *s)
{
    uint8_t hdr[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    net_frame_decoder d;
    net_frame_decoder_init(&d, max);
    int rc = net_frame_decoder_feed(&d, hdr, 4, on_frame, s);
    if (rc == 0 && body_len > 0)
        rc = net_frame_decoder_feed(&d, body, body_len, on_frame, s);
    /* a failed decoder stays failed */
    if (rc == ZD_EBAD_FRAME)
        CHECK_INT_EQ(net_frame_decoder_feed(&d, hdr, 4, on_frame, s), ZD_EBAD_FRAME);
    net_frame_decoder_finish(&d);
    return rc;
}

static void test_lengths(void)
{
    const size_t max = NET_FRAME_DEFAULT_MAX;
    uint8_t *big = calloc(1, max + 1);
    CHECK(big != NULL);
    seen s = {0};

    /* N = 1 */
    CHECK_INT_EQ(feed_header(1, max, (const uint8_t *)"x", 1, &s), 0);
    CHECK_INT_EQ(s.frames, 1);
    CHECK_INT_EQ(s.bytes, 1);

    /* N = max, split */
    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(feed_header((uint32_t)max, max, big, max, &s), 0);
    CHECK_INT_EQ(s.frames, 1);
    CHECK_INT_EQ(s.bytes, max);

    /* N = max in one chunk (fast path) */
    net_buf one;
    net_buf_init(&one, max + 4);
    CHECK_INT_EQ(net_frame_append(&one, big, max, max), 0);
    net_frame_decoder d;
    net_frame_decoder_init(&d, max);
    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(net_frame_decoder_feed(&d, net_buf_bytes(&one), net_buf_len(&one), on_frame, &s), 0);
    CHECK_INT_EQ(s.frames, 1);
    net_frame_decoder_finish(&d);
    net_buf_finish(&one);

    /* N = max + 1, N = 0, N = 0xFFFFFFFF: refused at the header, nothing delivered, nothing allocated */
    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(feed_header((uint32_t)max + 1, max, NULL, 0, &s), ZD_EBAD_FRAME);
    CHECK_INT_EQ(feed_header(0, max, NULL, 0, &s), ZD_EBAD_FRAME);
    CHECK_INT_EQ(feed_header(0xFFFFFFFFu, max, NULL, 0, &s), ZD_EBAD_FRAME);
    CHECK_INT_EQ(s.frames, 0);

    /* the bad header inside a buffer after good frames: the good ones are delivered first */
    net_buf mix;
    net_buf_init(&mix, 1 << 16);
    CHECK_INT_EQ(net_frame_append(&mix, (const uint8_t *)"ab", 2, max), 0);
    CHECK_INT_EQ(net_buf_append(&mix, "\0\0\0\0", 4), 0);
    net_frame_decoder_init(&d, max);
    memset(&s, 0, sizeof(s));
    CHECK_INT_EQ(net_frame_decoder_feed(&d, net_buf_bytes(&mix), net_buf_len(&mix), on_frame, &s), ZD_EBAD_FRAME);
    CHECK_INT_EQ(s.frames, 1);
    net_frame_decoder_finish(&d);
    net_buf_finish(&mix);

    /* the encoder refuses what the decoder would */
    net_buf out;
    net_buf_init(&out, 4 * max);
    CHECK_INT_EQ(net_frame_append(&out, big, 0, max), ZD_EBAD_FRAME);
    CHECK_INT_EQ(net_frame_append(&out, big, max + 1, max), ZD_EBAD_FRAME);
    CHECK_INT_EQ(net_buf_len(&out), 0);
    net_buf_finish(&out);

    /* output cap: an encoder into a full buffer says OVERLOADED */
    net_buf small;
    net_buf_init(&small, 8);
    CHECK_INT_EQ(net_frame_append(&small, big, 5, max), ZD_EOVERLOADED);
    net_buf_finish(&small);
    free(big);
}

static void test_stop_from_callback(void)
{
    net_buf stream;
    net_buf_init(&stream, 1 << 20);
    uint32_t sum;
    size_t bytes;
    make_stream(&stream, 10, NET_FRAME_DEFAULT_MAX, &sum, &bytes);
    net_frame_decoder d;
    net_frame_decoder_init(&d, 0);
    seen s = {.stop_after = 3};
    CHECK_INT_EQ(net_frame_decoder_feed(&d, net_buf_bytes(&stream), net_buf_len(&stream), on_frame, &s), 1);
    CHECK_INT_EQ(s.frames, 3);
    net_frame_decoder_finish(&d);
    net_buf_finish(&stream);
}

/* feed_some says how far it got when a callback stops it, so the caller can resume from there; the
 * frames after the stop are neither lost nor seen twice, also when the stop comes on a split frame. */
static void test_feed_some_resumes(void)
{
    net_buf stream;
    net_buf_init(&stream, 1 << 16);
    uint32_t sum;
    size_t bytes;
    make_stream(&stream, 10, NET_FRAME_DEFAULT_MAX, &sum, &bytes);
    const uint8_t *p = net_buf_bytes(&stream);
    size_t len = net_buf_len(&stream);

    net_frame_decoder d;
    net_frame_decoder_init(&d, 0);
    seen s = {0};
    s.stop_after = 1;
    size_t used = 0;
    CHECK_INT_EQ(net_frame_decoder_feed_some(&d, p, len, on_frame, &s, &used), 1);
    CHECK_INT_EQ(used, NET_FRAME_HEADER + 1); /* frame 0 holds one byte */
    size_t off = used;
    s.stop_after = 0;
    /* the rest in two pieces, the first ending inside frame 3 */
    size_t cut = off + (4 + 2) + (4 + 3) + 2; /* frames 1 and 2, then two bytes of frame 3 */
    CHECK_INT_EQ(net_frame_decoder_feed_some(&d, p + off, cut - off, on_frame, &s, &used), 0);
    CHECK_INT_EQ(used, cut - off);
    CHECK(net_frame_decoder_partial(&d));
    CHECK_INT_EQ(net_frame_decoder_feed_some(&d, p + cut, len - cut, on_frame, &s, &used), 0);
    CHECK_INT_EQ(used, len - cut);
    CHECK_INT_EQ(s.frames, 10);
    CHECK_INT_EQ(s.bytes, bytes);
    CHECK_INT_EQ(s.sum, sum);
    net_frame_decoder_finish(&d);
    net_buf_finish(&stream);
}

int main(void)
{
    test_many_in_one_and_byte_by_byte();
    test_split_prefix();
    test_lengths();
    test_stop_from_callback();
    test_feed_some_resumes();
    puts("net-frame: ok");
    return 0;
}
