/* Signing and verifying record bodies with OpenSSL's one-shot EVP_DigestSign / EVP_DigestVerify.
 *
 * The OpenSSL result is translated into our vocabulary here and only here: a verification that runs but
 * does not match is ZD_EUNAUTHENTICATED (the record is not what the device signed), everything that
 * keeps OpenSSL from running is ZD_EINTERNAL. */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* Clears OpenSSL's error queue and passes the code through, so a failure here does not leak into a
 * later SSL_get_error on the same thread. */
static zd_err ossl_fail(zd_err code)
{
    ERR_clear_error();
    return code;
}

zd_err net_sign_key_load(const char *path, EVP_PKEY **out)
{
    if (path == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ZD_ENOT_FOUND;
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL)
        return ossl_fail(ZD_EINVALID_ARGUMENT);
    *out = key;
    return ZD_OK;
}

zd_err net_sign_cert_load(const char *path, X509 **out)
{
    if (path == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ZD_ENOT_FOUND;
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL)
        return ossl_fail(ZD_EINVALID_ARGUMENT);
    *out = cert;
    return ZD_OK;
}

zd_err net_sign_body(EVP_PKEY *key, const uint8_t *body, size_t body_len, uint8_t **sig, size_t *sig_len)
{
    if (key == NULL || sig == NULL || sig_len == NULL || (body == NULL && body_len > 0))
        return ZD_EINVALID_ARGUMENT;
    static const uint8_t nothing[1];
    if (body == NULL)
        body = nothing;

    zd_err rc = ZD_EINTERNAL;
    uint8_t *buf = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        goto out;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto out;
    size_t len = 0;
    if (EVP_DigestSign(ctx, NULL, &len, body, body_len) != 1 || len == 0 || len > NET_SIGN_MAX_BYTES)
        goto out;
    buf = malloc(len);
    if (buf == NULL)
        goto out;
    /* The first call gave the largest length; the real DER signature may be shorter. */
    if (EVP_DigestSign(ctx, buf, &len, body, body_len) != 1)
        goto out;
    *sig = buf;
    *sig_len = len;
    buf = NULL;
    rc = ZD_OK;
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    return rc == ZD_OK ? rc : ossl_fail(rc);
}

zd_err net_sign_verify_key(EVP_PKEY *key, const uint8_t *body, size_t body_len, const uint8_t *sig,
                           size_t sig_len)
{
    if (key == NULL || sig == NULL || sig_len == 0 || sig_len > NET_SIGN_MAX_BYTES ||
        (body == NULL && body_len > 0))
        return ZD_EINVALID_ARGUMENT;
    static const uint8_t nothing[1];
    if (body == NULL)
        body = nothing;

    zd_err rc = ZD_EINTERNAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        goto out;
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto out;
    /* 1 is a match; 0 a mismatch; a negative value a signature OpenSSL could not even parse. Both of the
     * latter mean the same to us: this is not what the key signed. */
    rc = EVP_DigestVerify(ctx, sig, sig_len, body, body_len) == 1 ? ZD_OK : ZD_EUNAUTHENTICATED;
out:
    EVP_MD_CTX_free(ctx);
    return rc == ZD_OK ? rc : ossl_fail(rc);
}

zd_err net_sign_verify(X509 *cert, const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len)
{
    if (cert == NULL)
        return ZD_EINVALID_ARGUMENT;
    /* X509_get0_pubkey borrows: the key belongs to the certificate. */
    EVP_PKEY *key = X509_get0_pubkey(cert);
    if (key == NULL)
        return ossl_fail(ZD_EINVALID_ARGUMENT);
    return net_sign_verify_key(key, body, body_len, sig, sig_len);
}
