/* TLS over memory BIOs with zerodrop's fixed policy; see tls.h.
 *
 * Every OpenSSL call that can fail goes through tls__status, the one place that reads SSL_get_error,
 * turns the result into NET_TLS_*, and on failure leaves a few plain words in t->error (the verify
 * result, an alert, or the first error on OpenSSL's queue) before clearing that queue, so that one
 * session's failure never leaks into the next call on another session. */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct net_tls_ctx {
    SSL_CTX *ssl_ctx;
    X509_CRL *crl; /* server only: what net_tls_ctx_revokes checks against */
    int server;
};

/* Extra per-session state OpenSSL's callbacks need, reached through SSL_get_app_data. */
#define BAD_SUBJECT_ALERT (-2)

static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown OpenSSL error";
}

static void ctx_fail(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "%s %s: %s", what, path, ossl_reason());
    ERR_clear_error();
}

/* The subject must be exactly C=CN, O=zerodrop, OU=<level>, CN=<code>, in that order. */
static int subject_parse(X509 *cert, net_tls_peer *peer)
{
    static const int nids[4] = {NID_countryName, NID_organizationName, NID_organizationalUnitName,
                                NID_commonName};
    const X509_NAME *name = X509_get_subject_name(cert);
    if (name == NULL || X509_NAME_entry_count(name) != 4)
        return -1;
    char values[4][40];
    for (int i = 0; i < 4; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != nids[i])
            return -1;
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
        int len = ASN1_STRING_length(s);
        if (len <= 0 || len >= (int)sizeof(values[i]))
            return -1;
        memcpy(values[i], ASN1_STRING_get0_data(s), (size_t)len);
        values[i][len] = '\0';
        if (strlen(values[i]) != (size_t)len)
            return -1; /* an embedded NUL */
    }
    if (strcmp(values[0], "CN") != 0 || strcmp(values[1], "zerodrop") != 0)
        return -1;
    if (strcmp(values[2], "school") != 0 && strcmp(values[2], "township") != 0 &&
        strcmp(values[2], "county") != 0)
        return -1;
    size_t n = strlen(values[3]);
    if (n < 1 || n > 32)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = values[3][i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return -1;
    }
    if (peer != NULL) {
        /* lengths were checked above: level <= 8 bytes, code <= 32 */
        memcpy(peer->level, values[2], strlen(values[2]) + 1);
        memcpy(peer->code, values[3], n + 1);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != 32)
            return -1;
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(peer->fingerprint + 2 * i, 3, "%02x", md[i]);
    }
    return 0;
}

/* Server side: a chain the CA vouches for is not enough; the leaf must name an institution our way.
 * Refusing here (rather than after the handshake) sends the client an alert it can explain. */
static int server_verify_cb(int ok, X509_STORE_CTX *sctx)
{
    if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
        return ok;
    X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
    if (cert != NULL && subject_parse(cert, NULL) == 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    net_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
    if (t != NULL)
        snprintf(t->error, sizeof(t->error),
                 "certificate subject is not /C=CN/O=zerodrop/OU=<level>/CN=<code>");
    /* INVALID_PURPOSE makes OpenSSL send unsupported_certificate, which the client explains. */
    X509_STORE_CTX_set_error(sctx, X509_V_ERR_INVALID_PURPOSE);
    return 0;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT))
        return;
    net_tls *t = SSL_get_app_data(ssl);
    int desc = ret & 0xff;
    if (t == NULL || desc == SSL3_AD_CLOSE_NOTIFY)
        return;
    if (where & SSL_CB_READ)
        t->alert_received = desc;
    else
        t->alert_sent = desc;
}

static X509_STORE *store_create(const char *ca, char *err, size_t errlen)
{
    X509_STORE *store = X509_STORE_new();
    if (store == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (X509_STORE_load_file(store, ca) != 1) {
        ctx_fail(err, errlen, "cannot load the CA", ca);
        X509_STORE_free(store);
        return NULL;
    }
    return store;
}

static SSL_CTX *ctx_common(const SSL_METHOD *method, const char *cert, const char *key, char *err,
                           size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(method);
    if (c == NULL) {
        snprintf(err, errlen, "cannot create a TLS context: %s", ossl_reason());
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
        ctx_fail(err, errlen, "cannot load the certificate", cert);
        goto fail_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            snprintf(err, errlen, "the key %s does not belong to the certificate %s", key, cert);
            ERR_clear_error();
        } else {
            ctx_fail(err, errlen, "cannot load the key", key);
        }
        goto fail_ctx;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        snprintf(err, errlen, "the key %s does not belong to the certificate %s", key, cert);
        ERR_clear_error();
        goto fail_ctx;
    }
    return c;

fail_ctx:
    SSL_CTX_free(c);
    return NULL;
}

static X509 *cert_read(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    if (b == NULL)
        return NULL;
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

net_tls_ctx *net_tls_ctx_create_server(const char *cert, const char *key, const char *ca, const char *crl,
                                       char *err, size_t errlen)
{
    net_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctx->server = 1;
    ctx->ssl_ctx = ctx_common(TLS_server_method(), cert, key, err, errlen);
    if (ctx->ssl_ctx == NULL)
        goto fail_wrapper;

    X509_STORE *store = store_create(ca, err, errlen);
    if (store == NULL)
        goto fail_wrapper;
    SSL_CTX_set_cert_store(ctx->ssl_ctx, store); /* the context owns the store now */

    BIO *b = BIO_new_file(crl, "r");
    if (b != NULL) {
        ctx->crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
        BIO_free(b);
    }
    if (ctx->crl == NULL) {
        ctx_fail(err, errlen, "cannot load the CRL", crl);
        goto fail_wrapper;
    }
    X509 *ca_cert = cert_read(ca);
    int signed_by_ca = ca_cert != NULL && X509_CRL_verify(ctx->crl, X509_get0_pubkey(ca_cert)) == 1;
    X509_free(ca_cert);
    if (!signed_by_ca) {
        snprintf(err, errlen, "the CRL %s is not signed by the CA %s", crl, ca);
        ERR_clear_error();
        goto fail_wrapper;
    }
    if (X509_STORE_add_crl(store, ctx->crl) != 1) {
        ctx_fail(err, errlen, "cannot use the CRL", crl);
        goto fail_wrapper;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);

    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (names != NULL)
        SSL_CTX_set_client_CA_list(ctx->ssl_ctx, names);
    SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, server_verify_cb);
    SSL_CTX_set_verify_depth(ctx->ssl_ctx, 2);
    /* Tickets would let a device resume without showing its (possibly revoked) certificate again. */
    SSL_CTX_set_num_tickets(ctx->ssl_ctx, 0);
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_TICKET);
    ERR_clear_error();
    return ctx;

fail_wrapper:
    net_tls_ctx_destroy(ctx);
    return NULL;
}

net_tls_ctx *net_tls_ctx_create_client(const char *cert, const char *key, const char *ca, char *err,
                                       size_t errlen)
{
    net_tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cert == NULL) {
        /* Only tests do this: to see the server refuse a client without a certificate. */
        ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (ctx->ssl_ctx == NULL) {
            snprintf(err, errlen, "cannot create a TLS context: %s", ossl_reason());
            goto fail_wrapper;
        }
        SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_3_VERSION);
        SSL_CTX_set_max_proto_version(ctx->ssl_ctx, TLS1_3_VERSION);
    } else {
        ctx->ssl_ctx = ctx_common(TLS_client_method(), cert, key, err, errlen);
    }
    if (ctx->ssl_ctx == NULL)
        goto fail_wrapper;
    X509_STORE *store = store_create(ca, err, errlen);
    if (store == NULL)
        goto fail_wrapper;
    SSL_CTX_set_cert_store(ctx->ssl_ctx, store);
    SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(ctx->ssl_ctx, 2);
    ERR_clear_error();
    return ctx;

fail_wrapper:
    net_tls_ctx_destroy(ctx);
    return NULL;
}

void net_tls_ctx_destroy(net_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    X509_CRL_free(ctx->crl);
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* An empty memory BIO bigger than this is replaced by a fresh one (see net_tls_compact). */
#define TLS_BIO_KEEP 512

static BIO *tls__mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL)
        BIO_set_mem_eof_return(b, -1); /* empty means "wait for more", not end of stream */
    return b;
}

/* 1 when b holds nothing but keeps more than TLS_BIO_KEEP bytes of storage. */
static int tls__bio_oversized(BIO *b)
{
    BUF_MEM *m = NULL;
    if (BIO_ctrl_pending(b) != 0)
        return 0;
    BIO_get_mem_ptr(b, &m);
    return m != NULL && m->max > TLS_BIO_KEEP;
}

void net_tls_compact(net_tls *t)
{
    if (t->ssl == NULL || !t->established)
        return;
    if (tls__bio_oversized(t->in)) {
        BIO *b = tls__mem_bio();
        if (b != NULL) {
            SSL_set0_rbio(t->ssl, b); /* frees the old one */
            t->in = b;
        }
    }
    if (tls__bio_oversized(t->out)) {
        BIO *b = tls__mem_bio();
        if (b != NULL) {
            SSL_set0_wbio(t->ssl, b);
            t->out = b;
        }
    }
}

int net_tls_init(net_tls *t, net_tls_ctx *ctx, const char *server_name)
{
    memset(t, 0, sizeof(*t));
    t->alert_received = t->alert_sent = -1;
    t->ssl = SSL_new(ctx->ssl_ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->in == NULL || t->out == NULL)
        goto fail_session;
    /* An empty memory BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(t->in, -1);
    BIO_set_mem_eof_return(t->out, -1);
    SSL_set_bio(t->ssl, t->in, t->out); /* the SSL owns both BIOs now */
    SSL_set_app_data(t->ssl, t);
    SSL_set_info_callback(t->ssl, info_cb);
    if (ctx->server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (server_name != NULL && server_name[0] != '\0') {
            /* An IP literal must match an IP SAN; a name must match a DNS SAN (and goes in SNI). */
            int is_ip = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), server_name) == 1;
            if (!is_ip) {
                ERR_clear_error();
                if (SSL_set1_host(t->ssl, server_name) != 1 ||
                    SSL_set_tlsext_host_name(t->ssl, server_name) != 1)
                    goto fail_session;
            }
        }
    }
    return 0;

fail_session:
    if (t->ssl == NULL || SSL_get_rbio(t->ssl) == NULL) {
        BIO_free(t->in);
        BIO_free(t->out);
    }
    SSL_free(t->ssl);
    memset(t, 0, sizeof(*t));
    ERR_clear_error();
    return -1;
}

void net_tls_finish(net_tls *t)
{
    SSL_free(t->ssl); /* frees the BIOs too */
    t->ssl = NULL;
    t->in = t->out = NULL;
}

/* The error string, first failure wins: it is the cause, later ones are consequences. */
static void describe(net_tls *t)
{
    if (t->error[0] != '\0')
        return;
    long vr = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_error();
    if (vr != X509_V_OK) {
        snprintf(t->error, sizeof(t->error), "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    } else if (t->alert_received >= 0) {
        snprintf(t->error, sizeof(t->error), "peer sent alert: %s",
                 SSL_alert_desc_string_long(t->alert_received));
    } else if (e != 0 && ERR_reason_error_string(e) != NULL) {
        snprintf(t->error, sizeof(t->error), "%s", ERR_reason_error_string(e));
    } else {
        snprintf(t->error, sizeof(t->error), "TLS failure");
    }
}

/* The one interpreter of SSL_get_error. */
static int tls__status(net_tls *t, int ret)
{
    switch (SSL_get_error(t->ssl, ret)) {
    case SSL_ERROR_NONE:
        return NET_TLS_OK;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* a memory BIO never fills; treated as "call again later" */
        return NET_TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        return NET_TLS_CLOSED;
    default:
        describe(t);
        ERR_clear_error();
        return NET_TLS_FAILED;
    }
}

int net_tls_feed(net_tls *t, const void *cipher, size_t len)
{
    if (len == 0)
        return 0;
    size_t written = 0;
    if (BIO_write_ex(t->in, cipher, len, &written) != 1 || written != len) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

int net_tls_handshake(net_tls *t)
{
    if (t->established)
        return NET_TLS_OK;
    ERR_clear_error();
    int rc = tls__status(t, SSL_do_handshake(t->ssl));
    if (rc == NET_TLS_OK)
        t->established = 1;
    return rc;
}

int net_tls_read(net_tls *t, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    ERR_clear_error();
    int ret = SSL_read_ex(t->ssl, buf, cap, got);
    return tls__status(t, ret == 1 ? 1 : 0);
}

int net_tls_write(net_tls *t, const void *p, size_t len)
{
    if (len == 0)
        return NET_TLS_OK;
    size_t written = 0;
    ERR_clear_error();
    int ret = SSL_write_ex(t->ssl, p, len, &written);
    int rc = tls__status(t, ret == 1 ? 1 : 0);
    if (rc == NET_TLS_OK && written != len)
        return NET_TLS_FAILED;
    return rc == NET_TLS_OK ? NET_TLS_OK : NET_TLS_FAILED;
}

void net_tls_shutdown(net_tls *t)
{
    if (t->ssl == NULL || !t->established)
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
}

size_t net_tls_out_pending(const net_tls *t)
{
    return t->out ? BIO_ctrl_pending(t->out) : 0;
}

size_t net_tls_out_take(net_tls *t, void *buf, size_t cap)
{
    size_t got = 0;
    if (t->out == NULL || cap == 0 || BIO_read_ex(t->out, buf, cap, &got) != 1)
        got = 0;
    ERR_clear_error();
    return got;
}

const char *net_tls_error(const net_tls *t)
{
    return t->error[0] ? t->error : "no error";
}

int net_tls_peer_get(const net_tls *t, net_tls_peer *peer)
{
    memset(peer, 0, sizeof(*peer));
    if (t->ssl == NULL || !t->established)
        return -1;
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (cert == NULL)
        return -1;
    return subject_parse(cert, peer);
}

X509 *net_tls_peer_cert(const net_tls *t)
{
    if (t->ssl == NULL || !t->established)
        return NULL;
    return SSL_get0_peer_certificate(t->ssl);
}

int net_tls_ctx_revokes(const net_tls_ctx *ctx, const net_tls *t)
{
    if (ctx == NULL || ctx->crl == NULL || t->ssl == NULL)
        return 0;
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (cert == NULL)
        return 0;
    X509_REVOKED *entry = NULL;
    int r = X509_CRL_get0_by_cert(ctx->crl, &entry, cert);
    return r == 1;
}

const char *net_tls_alert_text(int alert)
{
    switch (alert) {
    case SSL_AD_CERTIFICATE_REVOKED:
        return "revoked";
    case SSL_AD_CERTIFICATE_EXPIRED:
        return "expired";
    case SSL_AD_UNKNOWN_CA:
        return "not issued by the county CA";
    case SSL_AD_CERTIFICATE_REQUIRED:
        return "none was sent";
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
        return "it does not name a zerodrop institution";
    case SSL_AD_BAD_CERTIFICATE:
        return "bad certificate";
    default:
        return alert >= 0 ? SSL_alert_desc_string_long(alert) : "unknown reason";
    }
}
