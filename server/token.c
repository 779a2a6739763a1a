/* Session tokens: random bytes and their SHA-256 through OpenSSL (the contract is in token.h). */
#include "token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

zd_err srv_token_new(uint8_t token[SRV_TOKEN_BYTES])
{
    return RAND_bytes(token, SRV_TOKEN_BYTES) == 1 ? ZD_OK : ZD_EINTERNAL;
}

zd_err srv_token_digest(const uint8_t *token, size_t len, uint8_t out[SRV_TOKEN_DIGEST_BYTES])
{
    unsigned int n = 0;
    if (EVP_Digest(token, len, out, &n, EVP_sha256(), NULL) != 1 || n != SRV_TOKEN_DIGEST_BYTES)
        return ZD_EINTERNAL;
    return ZD_OK;
}

zd_err srv_token_digest_param(const uint8_t *token, size_t len, char out[SRV_TOKEN_PARAM_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[SRV_TOKEN_DIGEST_BYTES];
    out[0] = '\0';
    if (token == NULL || len != SRV_TOKEN_BYTES)
        return ZD_EINVALID_ARGUMENT;
    zd_err rc = srv_token_digest(token, len, d);
    if (rc != ZD_OK)
        return rc;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < sizeof d; i++) {
        out[2 + 2 * i] = hex[d[i] >> 4];
        out[3 + 2 * i] = hex[d[i] & 15];
    }
    out[SRV_TOKEN_PARAM_SIZE - 1] = '\0';
    return ZD_OK;
}
