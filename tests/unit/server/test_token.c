/* server/token: tokens are 32 fresh random bytes; the stored form is their SHA-256 as a bytea parameter,
 * checked against a digest worked out independently (the SHA-256 of 32 zero bytes). */
#include <string.h>

#include "check.h"
#include "err.h"
#include "token.h"

int main(void)
{
    uint8_t a[SRV_TOKEN_BYTES], b[SRV_TOKEN_BYTES];
    CHECK_INT_EQ(srv_token_new(a), ZD_OK);
    CHECK_INT_EQ(srv_token_new(b), ZD_OK);
    CHECK(memcmp(a, b, sizeof a) != 0);

    uint8_t zero[SRV_TOKEN_BYTES] = {0};
    char param[SRV_TOKEN_PARAM_SIZE];
    CHECK_INT_EQ(srv_token_digest_param(zero, sizeof zero, param), ZD_OK);
    /* head -c 32 /dev/zero | sha256sum */
    CHECK_STR_EQ(param, "\\x66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
    CHECK_INT_EQ(strlen(param), SRV_TOKEN_PARAM_SIZE - 1);

    uint8_t d[SRV_TOKEN_DIGEST_BYTES];
    CHECK_INT_EQ(srv_token_digest(zero, sizeof zero, d), ZD_OK);
    CHECK_INT_EQ(d[0], 0x66);
    CHECK_INT_EQ(d[31], 0x25);

    CHECK_INT_EQ(srv_token_digest_param(zero, 31, param), ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(param, "");
    CHECK_INT_EQ(srv_token_digest_param(NULL, 32, param), ZD_EINVALID_ARGUMENT);
    return 0;
}
