/* TLS 1.3 over a byte stream we carry ourselves (OpenSSL memory BIOs).
 *
 * OpenSSL never touches a socket: the connection hands received ciphertext to net_tls_feed, calls
 * net_tls_handshake / net_tls_read / net_tls_write, and sends whatever net_tls_out_take hands back.
 * One function (tls__status in tls.c) interprets SSL_get_error for every call.
 *
 * The policy is fixed here, not configurable: TLS 1.3 only; the county CA is the only trust anchor;
 * the server demands a client certificate, checks it against the CRL and requires the subject
 * /C=CN/O=zerodrop/OU=<level>/CN=<code>; the client checks the server certificate against ca.pem and the
 * server's name. A context (net_tls_ctx) is immutable once built: a CRL reload builds a new one for new
 * handshakes, while sessions keep the context they were made with (OpenSSL counts references). */
#ifndef ZD_NET_TLS_H
#define ZD_NET_TLS_H

#include <stddef.h>

#include <openssl/x509.h>

typedef struct net_tls_ctx net_tls_ctx;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

/* Results of net_tls_handshake / net_tls_read / net_tls_write. */
enum {
    NET_TLS_OK = 0,      /* done (handshake established, bytes read or written) */
    NET_TLS_WANT = 1,    /* needs more ciphertext from the peer: feed it and call again */
    NET_TLS_CLOSED = 2,  /* the peer closed the TLS session cleanly (close_notify) */
    NET_TLS_FAILED = -1, /* fatal: net_tls_error says why; send what net_tls_out_take holds (an alert) */
};

#define NET_TLS_ERRLEN 160

/* The institution a peer certificate names, and the certificate's identity. */
typedef struct net_tls_peer {
    char level[16];       /* "school" | "township" | "county" */
    char code[33];        /* [A-Za-z0-9_-]{1,32} */
    char fingerprint[65]; /* SHA-256 of the DER certificate, lowercase hex */
} net_tls_peer;

/* Builds the server context: cert/key (PEM), the county CA as the only anchor, the CRL (must exist and be
 * signed by that CA). Returns NULL with a one-line reason in err (errlen bytes). */
net_tls_ctx *net_tls_ctx_create_server(const char *cert, const char *key, const char *ca, const char *crl,
                                       char *err, size_t errlen);

/* Builds the client context: the device cert/key and the county CA. Returns NULL with a reason in err.
 * cert and key NULL make a client without a certificate (tests use it to see the server refuse one). */
net_tls_ctx *net_tls_ctx_create_client(const char *cert, const char *key, const char *ca, char *err,
                                       size_t errlen);

/* Drops the caller's reference; sessions made from ctx keep it alive as long as they need it.
 * NULL is a no-op. */
void net_tls_ctx_destroy(net_tls_ctx *ctx);

typedef struct net_tls {
    SSL *ssl;
    BIO *in;  /* ciphertext from the peer, read by OpenSSL */
    BIO *out; /* ciphertext for the peer, written by OpenSSL */
    int established;
    int alert_received; /* TLS alert description from the peer, or -1 */
    int alert_sent;     /* TLS alert description we sent, or -1 */
    char error[NET_TLS_ERRLEN];
} net_tls;

/* Starts a session from ctx. For a client context, server_name is the name (DNS or IP literal) the
 * server certificate must carry; for a server context it is ignored. Returns 0, or -1 when memory ran
 * out (t is then finished). A client session produces its first flight at the first net_tls_handshake. */
int net_tls_init(net_tls *t, net_tls_ctx *ctx, const char *server_name);

/* Releases the session. Safe on a zeroed or already finished t. */
void net_tls_finish(net_tls *t);

/* Hands len bytes of ciphertext from the peer to OpenSSL. Returns 0, or -1 when memory ran out. */
int net_tls_feed(net_tls *t, const void *cipher, size_t len);

/* Advances the handshake. NET_TLS_OK once established (and on every later call). */
int net_tls_handshake(net_tls *t);

/* Reads decrypted bytes into buf (cap > 0). NET_TLS_OK with *got > 0; NET_TLS_WANT when no whole record
 * is buffered; NET_TLS_CLOSED; NET_TLS_FAILED. */
int net_tls_read(net_tls *t, void *buf, size_t cap, size_t *got);

/* Encrypts len bytes (the memory BIO never blocks, so it is all or nothing). NET_TLS_OK or NET_TLS_FAILED. */
int net_tls_write(net_tls *t, const void *p, size_t len);

/* Gives back the storage of the memory BIOs once they are empty: they grow to the largest flight or
 * record that passed through them and would hold it for the connection's life. Call it when a
 * connection goes quiet (nothing left to feed or take); it does nothing before the handshake is done or
 * while either BIO holds bytes. */
void net_tls_compact(net_tls *t);

/* Queues a close_notify for the peer (best effort). */
void net_tls_shutdown(net_tls *t);

/* Ciphertext waiting to be sent, and taking it: copies up to cap bytes into buf and returns the count. */
size_t net_tls_out_pending(const net_tls *t);
size_t net_tls_out_take(net_tls *t, void *buf, size_t cap);

/* After NET_TLS_FAILED: why, in a few words ("certificate revoked", "peer sent alert: unknown CA"). */
const char *net_tls_error(const net_tls *t);

/* The peer certificate's institution and fingerprint, once established. Returns 0, or -1 when the peer
 * sent no certificate or its subject does not have our layout. */
int net_tls_peer_get(const net_tls *t, net_tls_peer *peer);

/* The established session's peer certificate, borrowed (valid while t is), or NULL before the handshake
 * or without one. The server checks record signatures against it (net/sign.h). */
X509 *net_tls_peer_cert(const net_tls *t);

/* 1 when the established session's peer certificate is on ctx's CRL (a server context), else 0. */
int net_tls_ctx_revokes(const net_tls_ctx *ctx, const net_tls *t);

/* Plain words for a TLS alert a server sends when it refuses a client certificate ("revoked", "expired",
 * "not issued by the county CA", "none was sent"); the OpenSSL description for others. */
const char *net_tls_alert_text(int alert);

#endif
