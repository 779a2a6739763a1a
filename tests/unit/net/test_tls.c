/* net/tls over net/conn, both sides in one process over loopback: a good device is accepted and named by
 * its certificate; a foreign CA, a revoked certificate, no certificate and a bad subject are refused with
 * the alert the client explains; the client refuses a server whose name does not match. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>

#include "check.h"
#include "tpair.h"
#include "tpki.h"

static tpki pki;

static net_tls_ctx *server_ctx(void)
{
    char err[256];
    char cert[300], key[300], ca[300], crl[300];
    snprintf(cert, sizeof(cert), "%s/pki/server.pem", pki.dir);
    snprintf(key, sizeof(key), "%s/pki/server.key", pki.dir);
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    snprintf(crl, sizeof(crl), "%s/pki/crl.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_server(cert, key, ca, crl, err, sizeof(err));
    if (ctx == NULL)
        fprintf(stderr, "server ctx: %s\n", err);
    CHECK(ctx != NULL);
    return ctx;
}

/* home: a client home under the pki folder ("good", "foreign"...), or NULL for no certificate. */
static net_tls_ctx *client_ctx(const char *home)
{
    char err[256];
    char cert[300], key[300], ca[300];
    snprintf(cert, sizeof(cert), "%s/%s/cert.pem", pki.dir, home ? home : "good");
    snprintf(key, sizeof(key), "%s/%s/key.pem", pki.dir, home ? home : "good");
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_client(home ? cert : NULL, home ? key : NULL, ca, err, sizeof(err));
    if (ctx == NULL)
        fprintf(stderr, "client ctx: %s\n", err);
    CHECK(ctx != NULL);
    return ctx;
}

static void client_pings(tside *s)
{
    tpair_send_ping(&s->conn, 7, 0);
}

static void server_answers(tside *s, Zerodrop__V1__Envelope *env)
{
    CHECK_INT_EQ(env->body_case, ZERODROP__V1__ENVELOPE__BODY_PING);
    CHECK_INT_EQ(env->request_id, 7);
    tpair_send_ping(&s->conn, env->request_id, 1);
}

/* Storage a memory BIO keeps, whatever it holds. */
static size_t bio_storage(BIO *b)
{
    BUF_MEM *m = NULL;
    BIO_get_mem_ptr(b, &m);
    return m ? m->max : 0;
}

static void client_gets_pong(tside *s, Zerodrop__V1__Envelope *env)
{
    CHECK_INT_EQ(env->body_case, ZERODROP__V1__ENVELOPE__BODY_PONG);
    CHECK_INT_EQ(env->request_id, 7);
    /* The server answered and went quiet: it keeps no plaintext buffer, and its memory BIOs no longer
     * hold the handshake flight's storage (an idle session must stay cheap). */
    net_conn *srv = &s->pair->server.conn;
    CHECK(srv->in.data == NULL);
    CHECK(bio_storage(srv->tls.in) <= 512);
    CHECK(bio_storage(srv->tls.out) <= 512);
    net_conn_drain(&s->conn, "done");
}

static void fingerprint_of(const char *pem, char out[65])
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s' -noout -fingerprint -sha256", pem);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    char line[256] = {0};
    CHECK(fgets(line, sizeof(line), f) != NULL);
    pclose(f);
    const char *eq = strchr(line, '=');
    CHECK(eq != NULL);
    size_t o = 0;
    for (const char *p = eq + 1; *p && o < 64; p++)
        if (isxdigit((unsigned char)*p))
            out[o++] = (char)tolower((unsigned char)*p);
    out[o] = '\0';
}

static void test_accept(const char *home, const char *level, const char *code)
{
    tpair p;
    tpair_init(&p);
    p.server_ctx = server_ctx();
    p.client_ctx = client_ctx(home);
    p.client.on_established = client_pings;
    p.server.on_frame = server_answers;
    p.client.on_frame = client_gets_pong;
    tpair_run(&p);

    CHECK_INT_EQ(p.server.established, 1);
    CHECK_INT_EQ(p.client.established, 1);
    CHECK(p.server.peer_ok);
    CHECK_STR_EQ(p.server.peer.level, level);
    CHECK_STR_EQ(p.server.peer.code, code);
    char want[65];
    char certpath[300];
    snprintf(certpath, sizeof(certpath), "%s/%s/cert.pem", pki.dir, home);
    fingerprint_of(certpath, want);
    CHECK_INT_EQ(strlen(want), 64);
    CHECK_STR_EQ(p.server.peer.fingerprint, want);
    CHECK_INT_EQ(p.server.frames, 1);
    CHECK_INT_EQ(p.client.frames, 1);
    CHECK_STR_EQ(p.client.reason, "done");
    CHECK_STR_EQ(p.server.reason, "peer_closed");
    CHECK_INT_EQ(p.server.freed, 1);
    CHECK_INT_EQ(p.client.freed, 1);
    net_tls_ctx_destroy(p.server_ctx);
    net_tls_ctx_destroy(p.client_ctx);
}

/* The server refuses the client's certificate: the server logs why, the client hears which alert. */
static void test_refused(const char *home, const char *server_detail, int alert, const char *alert_words)
{
    tpair p;
    tpair_init(&p);
    p.server_ctx = server_ctx();
    p.client_ctx = client_ctx(home);
    p.client.on_established = client_pings;
    p.server.on_frame = server_answers;
    tpair_run(&p);

    CHECK_INT_EQ(p.server.established, 0);
    CHECK_INT_EQ(p.server.frames, 0);
    CHECK_INT_EQ(p.client.frames, 0);
    CHECK_STR_EQ(p.server.reason, "tls_handshake_failed");
    CHECK_STR_EQ(p.server.detail, server_detail);
    CHECK_INT_EQ(p.client.alert_received, alert);
    CHECK_STR_EQ(net_tls_alert_text(p.client.alert_received), alert_words);
    CHECK(strcmp(p.client.reason, "tls_error") == 0 || strcmp(p.client.reason, "tls_handshake_failed") == 0);
    net_tls_ctx_destroy(p.server_ctx);
    net_tls_ctx_destroy(p.client_ctx);
}

static void test_wrong_server_name(void)
{
    tpair p;
    tpair_init(&p);
    p.server_ctx = server_ctx();
    p.client_ctx = client_ctx("good");
    p.server_name = "county.example";
    tpair_run(&p);
    CHECK_INT_EQ(p.client.established, 0);
    CHECK_STR_EQ(p.client.reason, "tls_handshake_failed");
    CHECK_STR_EQ(p.client.detail, "certificate verify failed: hostname mismatch");
    CHECK_INT_EQ(p.server.established, 0);
    CHECK_STR_EQ(p.server.reason, "tls_handshake_failed");
    net_tls_ctx_destroy(p.server_ctx);
    net_tls_ctx_destroy(p.client_ctx);

    /* An IP literal is checked against the IP SANs: 127.0.0.1 is one. */
    tpair_init(&p);
    p.server_ctx = server_ctx();
    p.client_ctx = client_ctx("good");
    p.server_name = "127.0.0.1";
    p.client.on_established = client_pings;
    p.server.on_frame = server_answers;
    p.client.on_frame = client_gets_pong;
    tpair_run(&p);
    CHECK_INT_EQ(p.client.established, 1);
    CHECK_STR_EQ(p.client.reason, "done");
    net_tls_ctx_destroy(p.server_ctx);
    net_tls_ctx_destroy(p.client_ctx);
}

static void test_ctx_errors(void)
{
    char err[256];
    char cert[300], key[300], ca[300], crl[300];
    snprintf(cert, sizeof(cert), "%s/pki/server.pem", pki.dir);
    snprintf(key, sizeof(key), "%s/good/key.pem", pki.dir); /* not the server's key */
    snprintf(ca, sizeof(ca), "%s/pki/ca.pem", pki.dir);
    snprintf(crl, sizeof(crl), "%s/pki/crl.pem", pki.dir);
    CHECK(net_tls_ctx_create_server(cert, key, ca, crl, err, sizeof(err)) == NULL);
    char want[900];
    snprintf(want, sizeof(want), "the key %s does not belong to the certificate %s", key, cert);
    CHECK_STR_EQ(err, want);

    snprintf(key, sizeof(key), "%s/pki/server.key", pki.dir);
    snprintf(crl, sizeof(crl), "%s/other/crl.pem", pki.dir); /* the foreign CA's CRL */
    CHECK(net_tls_ctx_create_server(cert, key, ca, crl, err, sizeof(err)) == NULL);
    snprintf(want, sizeof(want), "the CRL %s is not signed by the CA %s", crl, ca);
    CHECK_STR_EQ(err, want);

    snprintf(crl, sizeof(crl), "%s/pki/none.pem", pki.dir);
    CHECK(net_tls_ctx_create_server(cert, key, ca, crl, err, sizeof(err)) == NULL);
    snprintf(want, sizeof(want), "cannot load the CRL %s: ", crl);
    CHECK(strncmp(err, want, strlen(want)) == 0);
}

int main(void)
{
    tpki_make(&pki);
    test_accept("good", "school", "S43010101");
    test_accept("township", "township", "T430101");
    test_refused("foreign", "certificate verify failed: unable to get local issuer certificate", 48,
                 "not issued by the county CA");
    test_refused("revoked", "certificate verify failed: certificate revoked", 44, "revoked");
    test_refused(NULL, "peer did not return a certificate", 116, "none was sent");
    test_wrong_server_name();
    test_ctx_errors();
    tpki_remove(&pki);
    return 0;
}
