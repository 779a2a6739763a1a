/* libFuzzer target: the bytes a peer may send after the TLS handshake.
 *
 * The input goes through the incremental frame decoder in chunks whose sizes come from the input itself
 * (so every split is explored), and each frame through envelope unpacking; an envelope that unpacks must
 * pack again to the same size. Any crash, sanitizer report or mismatch is a finding. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_frame(void *ud, const uint8_t *payload, size_t len)
{
    (void)ud;
    Zerodrop__V1__Envelope *env = net_envelope_unpack(payload, len);
    if (env == NULL)
        return 0;
    size_t again = zerodrop__v1__envelope__get_packed_size(env);
    uint8_t *buf = malloc(again ? again : 1);
    if (buf != NULL) {
        size_t packed = zerodrop__v1__envelope__pack(env, buf);
        if (packed != again)
            abort();
        free(buf);
    }
    zerodrop__v1__envelope__free_unpacked(env, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The first byte picks the chunk size (1..256), the rest is the stream. */
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    net_frame_decoder d;
    net_frame_decoder_init(&d, 64 * 1024);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (net_frame_decoder_feed(&d, data + off, n, on_frame, NULL) != 0)
            break;
    }
    net_frame_decoder_finish(&d);
    return 0;
}
