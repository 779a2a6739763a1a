/* zd-peer: a small, blocking TLS client that plays the peers an honest client never is.
 *
 * The integration tests use it to do what `zerodrop` never does — send a wrong protocol version, garbage
 * after the handshake, a frame announcing 4 GiB, one byte per second, nothing at all — and to report, one
 * line per event on stdout, what the server answered: "welcome institution=S1 level=school", "pong id=2",
 * "error code=BAD_FRAME", "closed", "tls-error reason=...". Tests compare those lines exactly. Plain
 * blocking sockets with receive/send timeouts keep it simple; every wait is bounded, so a silent server
 * makes it print "timeout" instead of hanging. Frames and envelopes come from net/, so the bytes it sends
 * are the bytes the real client sends.
 *
 * usage: zd-peer --port P [options] STEP...   (zd-peer --help lists both) */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "frame.h"

typedef struct peer_options {
    const char *host;
    const char *port;
    const char *server_name;
    const char *ca;
    const char *cert;
    const char *key;
    int tls;
    int tls12_only;
    int timeout_ms;
    uint64_t seed;
} peer_options;

typedef struct peer {
    peer_options opt;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int closed;        /* the server closed (or reset) the connection; later steps only report it */
    int quiet_timeout; /* while waiting for a close, a read timeout is a tick, not an event */
    uint64_t next_id;
    uint64_t rng;
} peer;

enum { READ_OK = 0, READ_CLOSED = 1, READ_TIMEOUT = 2, READ_FAILED = 3 };

static char home_paths[3][PATH_MAX];

static void usage(FILE *out)
{
    fprintf(out,
            "usage: zd-peer --port P [options] STEP...\n"
            "options:\n"
            "  --host H            server address (127.0.0.1)\n"
            "  --server-name N     name to verify in the server certificate (localhost)\n"
            "  --home DIR          take cert.pem, key.pem and ca.pem from a client home\n"
            "  --ca F --cert F --key F   the same, one by one; --no-cert sends no client certificate\n"
            "  --tls12             offer TLS 1.2 only\n"
            "  --no-tls            plain TCP: never start the handshake\n"
            "  --timeout-ms N      bound of every wait (5000)\n"
            "  --seed N            seed of the pseudo-random bytes (1)\n"
            "steps (each prints what happened):\n"
            "  hello [VERSION]     send Hello (version 1) and print the reply\n"
            "  ping                send a Ping and print the reply\n"
            "  send-ping           send a Ping, do not read\n"
            "  send-pings N        send N Pings in one write, do not read\n"
            "  read                read and print one reply\n"
            "  read-all            print replies until the server closes\n"
            "  random BYTES        send that many pseudo-random bytes\n"
            "  header HEX          send a 4-byte frame length, e.g. ffffffff\n"
            "  trickle SECONDS     send a Ping frame one byte per second until closed (at most SECONDS)\n"
            "  idle SECONDS        send nothing; wait for the server to close (at most SECONDS)\n"
            "  sleep MS            pause\n"
            "  mark                print 'mark' (lets a test act at this point)\n");
}

/* One line per event, flushed at once: the test may be reading while we wait. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void
say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static uint64_t rng_next(peer *p)
{
    /* xorshift64*: reproducible bytes, so a failing run can be repeated exactly. */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 0x2545F4914F6CDD1DULL;
}

/* The reason of the first queued OpenSSL error ("tlsv13 alert certificate required"), or fallback. */
static const char *ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : fallback;
}

static void set_timeouts(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int tcp_connect(peer *p)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(p->opt.host, p->opt.port, &hints, &res);
    if (rc != 0) {
        say("connect-error reason=%s", gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        say("connect-error reason=%s", strerror(errno));
        return -1;
    }
    set_timeouts(fd, p->opt.timeout_ms);
    p->fd = fd;
    return 0;
}

static int tls_connect(peer *p)
{
    p->ctx = SSL_CTX_new(TLS_client_method());
    if (p->ctx == NULL)
        goto fail;
    if (p->opt.tls12_only) {
        SSL_CTX_set_min_proto_version(p->ctx, TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(p->ctx, TLS1_2_VERSION);
    } else {
        SSL_CTX_set_min_proto_version(p->ctx, TLS1_3_VERSION);
    }
    if (p->opt.ca) {
        if (SSL_CTX_load_verify_locations(p->ctx, p->opt.ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (p->opt.cert && (SSL_CTX_use_certificate_chain_file(p->ctx, p->opt.cert) != 1 ||
                        SSL_CTX_use_PrivateKey_file(p->ctx, p->opt.key, SSL_FILETYPE_PEM) != 1))
        goto fail;
    p->ssl = SSL_new(p->ctx);
    if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1)
        goto fail;
    SSL_set_tlsext_host_name(p->ssl, p->opt.server_name);
    if (p->opt.ca)
        SSL_set1_host(p->ssl, p->opt.server_name);
    if (SSL_connect(p->ssl) != 1) {
        say("tls-error reason=%s", ssl_reason("handshake failed"));
        p->closed = 1;
        return 0;
    }
    say("tls version=%s", SSL_get_version(p->ssl));
    return 0;
fail:
    say("setup-error reason=%s", ssl_reason("openssl setup failed"));
    return -1;
}

/* Writes all of buf. Returns 0, or -1 when the connection is gone (reported once). */
static int send_bytes(peer *p, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    while (n > 0) {
        int chunk = n > 16384 ? 16384 : (int)n;
        int w;
        if (p->ssl) {
            w = SSL_write(p->ssl, b, chunk);
            if (w <= 0) {
                int e = SSL_get_error(p->ssl, w);
                say("send-failed reason=%s", e == SSL_ERROR_SYSCALL ? strerror(errno) : ssl_reason("tls"));
                return -1;
            }
        } else {
            ssize_t s = send(p->fd, b, (size_t)chunk, MSG_NOSIGNAL);
            if (s <= 0) {
                say("send-failed reason=%s", strerror(errno));
                return -1;
            }
            w = (int)s;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads up to n bytes (at least one). Returns the count, or 0 and sets *why to a READ_ value. */
static size_t recv_some(peer *p, uint8_t *buf, size_t n, int *why)
{
    if (p->ssl) {
        int r = SSL_read(p->ssl, buf, (int)n);
        if (r > 0)
            return (size_t)r;
        int e = SSL_get_error(p->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            *why = READ_CLOSED;
        } else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
                   (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            /* On a blocking socket "want" means the receive timeout ran out. */
            *why = READ_TIMEOUT;
        } else if (e == SSL_ERROR_SYSCALL) {
            /* EOF without close_notify, or a reset: the server dropped us. */
            *why = READ_CLOSED;
        } else if (e == SSL_ERROR_SSL &&
                   ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            /* OpenSSL 3's name for a hang-up without close_notify: to us, simply closed. */
            *why = READ_CLOSED;
        } else if (e == SSL_ERROR_SSL) {
            say("tls-error reason=%s", ssl_reason("tls"));
            *why = READ_CLOSED;
        } else {
            say("read-error ssl_error=%d", e);
            *why = READ_FAILED;
        }
        return 0;
    }
    ssize_t r = recv(p->fd, buf, n, 0);
    if (r > 0)
        return (size_t)r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        *why = READ_TIMEOUT;
    else
        *why = READ_CLOSED;
    return 0;
}

static int recv_exact(peer *p, uint8_t *buf, size_t n)
{
    int why = READ_FAILED;
    while (n > 0) {
        size_t r = recv_some(p, buf, n, &why);
        if (r == 0)
            return why;
        buf += r;
        n -= r;
    }
    return READ_OK;
}

static void report_end(peer *p, int why)
{
    if (why == READ_TIMEOUT) {
        if (!p->quiet_timeout)
            say("timeout");
        return;
    }
    say(why == READ_CLOSED ? "closed" : "read-failed");
    p->closed = 1;
}

/* Reads one envelope and prints it. Returns READ_OK or why there was none (already printed). */
static int read_reply(peer *p)
{
    uint8_t hdr[NET_FRAME_HEADER];
    int why = recv_exact(p, hdr, sizeof hdr);
    if (why != READ_OK) {
        report_end(p, why);
        return why;
    }
    uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (len == 0 || len > NET_FRAME_DEFAULT_MAX) {
        say("bad-frame len=%" PRIu32, len);
        p->closed = 1;
        return READ_FAILED;
    }
    uint8_t *body = malloc(len);
    if (body == NULL) {
        say("read-failed reason=out of memory");
        p->closed = 1;
        return READ_FAILED;
    }
    why = recv_exact(p, body, len);
    if (why != READ_OK) {
        free(body);
        report_end(p, why);
        return why;
    }
    Zerodrop__V1__Envelope *env = net_envelope_unpack(body, len);
    free(body);
    if (env == NULL) {
        say("bad-envelope len=%" PRIu32, len);
        p->closed = 1;
        return READ_FAILED;
    }
    switch (env->body_case) {
    case ZERODROP__V1__ENVELOPE__BODY_WELCOME: {
        const Zerodrop__V1__Institution *inst = env->welcome->institution;
        static const char *levels[] = {"unspecified", "school", "township", "county"};
        int lv = inst ? (int)inst->level : 0;
        say("welcome institution=%s level=%s protocol=%" PRIu32, inst && inst->code ? inst->code : "",
            lv >= 0 && lv <= 3 ? levels[lv] : "unknown", env->welcome->protocol_version);
        break;
    }
    case ZERODROP__V1__ENVELOPE__BODY_PONG:
        say("pong id=%" PRIu64, env->request_id);
        break;
    case ZERODROP__V1__ENVELOPE__BODY_ERROR:
        say("error code=%s id=%" PRIu64, zd_err_name((int)env->error->code), env->request_id);
        break;
    default:
        say("envelope body=%d id=%" PRIu64, (int)env->body_case, env->request_id);
        break;
    }
    zerodrop__v1__envelope__free_unpacked(env, NULL);
    return READ_OK;
}

static int send_envelope(peer *p, Zerodrop__V1__Envelope *env)
{
    net_buf out;
    net_buf_init(&out, NET_FRAME_DEFAULT_MAX + NET_FRAME_HEADER);
    int rc = net_envelope_append(&out, env, NET_FRAME_DEFAULT_MAX);
    if (rc == 0)
        rc = send_bytes(p, net_buf_bytes(&out), net_buf_len(&out));
    else
        say("encode-failed code=%s", zd_err_name(rc));
    net_buf_finish(&out);
    if (rc != 0)
        p->closed = 1;
    return rc;
}

static int send_hello(peer *p, uint32_t version)
{
    Zerodrop__V1__Hello hello = ZERODROP__V1__HELLO__INIT;
    hello.protocol_version = version;
    hello.client_version = (char *)"zd-peer";
    hello.client_name = (char *)"zd-peer";
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    env.request_id = p->next_id++;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    return send_envelope(p, &env);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ping_init(peer *p, Zerodrop__V1__Envelope *env, Zerodrop__V1__Ping *ping)
{
    zerodrop__v1__ping__init(ping);
    ping->client_time_ms = now_ms();
    zerodrop__v1__envelope__init(env);
    env->request_id = p->next_id++;
    env->body_case = ZERODROP__V1__ENVELOPE__BODY_PING;
    env->ping = ping;
}

/* Waits until the server closes, reading (and printing) whatever it sends; gives up after secs. */
static void wait_closed(peer *p, long secs)
{
    set_timeouts(p->fd, 1000);
    p->quiet_timeout = 1;
    for (long i = 0; i < secs && !p->closed; i++)
        read_reply(p);
    p->quiet_timeout = 0;
    set_timeouts(p->fd, p->opt.timeout_ms);
    if (!p->closed)
        say("still-open after=%lds", secs);
}

/* A Ping frame, one byte a second; between bytes, a closed connection is noticed at once. */
static void trickle(peer *p, long secs)
{
    Zerodrop__V1__Envelope env;
    Zerodrop__V1__Ping ping;
    ping_init(p, &env, &ping);
    net_buf frame;
    net_buf_init(&frame, 4096);
    if (net_envelope_append(&frame, &env, NET_FRAME_DEFAULT_MAX) != 0) {
        say("encode-failed");
        net_buf_finish(&frame);
        return;
    }
    const uint8_t *bytes = net_buf_bytes(&frame);
    size_t sent = 0, total = net_buf_len(&frame);
    for (long i = 0; i < secs && !p->closed; i++) {
        if (sent < total) {
            if (send_bytes(p, bytes + sent, 1) != 0) {
                p->closed = 1;
                break;
            }
            sent++;
        }
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) > 0)
            wait_closed(p, 1);
    }
    net_buf_finish(&frame);
    say("trickled bytes=%zu of=%zu", sent, total);
    if (!p->closed)
        say("still-open after=%lds", secs);
}

static int run_step(peer *p, int argc, char **argv, int *i)
{
    const char *step = argv[*i];
    const char *arg = *i + 1 < argc ? argv[*i + 1] : NULL;
    long n = 0;
#define NEED_ARG(lo, hi)                                                                                     \
    do {                                                                                                     \
        if (arg == NULL || parse_long(arg, (lo), (hi), &n) != 0) {                                           \
            fprintf(stderr, "zd-peer: %s needs a number in [%ld, %ld]\n", step, (long)(lo), (long)(hi));     \
            return -1;                                                                                       \
        }                                                                                                    \
        (*i)++;                                                                                              \
    } while (0)

    if (strcmp(step, "mark") == 0) {
        say("mark");
        return 0;
    }
    if (strcmp(step, "sleep") == 0) {
        NEED_ARG(0, 600000);
        struct timespec ts = {.tv_sec = n / 1000, .tv_nsec = (n % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return 0;
    }
    /* The steps below need the connection; after a close they only say so. */
    if (strcmp(step, "hello") == 0) {
        uint32_t version = 1;
        if (arg && parse_long(arg, 0, UINT32_MAX, &n) == 0) {
            version = (uint32_t)n;
            (*i)++;
        }
        if (p->closed)
            goto closed;
        if (send_hello(p, version) == 0)
            read_reply(p);
        return 0;
    }
    if (strcmp(step, "ping") == 0 || strcmp(step, "send-ping") == 0) {
        if (p->closed)
            goto closed;
        Zerodrop__V1__Envelope env;
        Zerodrop__V1__Ping ping;
        ping_init(p, &env, &ping);
        if (send_envelope(p, &env) == 0 && step[0] == 'p')
            read_reply(p);
        return 0;
    }
    if (strcmp(step, "send-pings") == 0) {
        NEED_ARG(1, 100000);
        if (p->closed)
            goto closed;
        /* All in one write: the server decodes them from one read, so several are in flight at once. */
        net_buf out;
        net_buf_init(&out, (size_t)n * 64);
        int rc = 0;
        for (long k = 0; k < n && rc == 0; k++) {
            Zerodrop__V1__Envelope env;
            Zerodrop__V1__Ping ping;
            ping_init(p, &env, &ping);
            rc = net_envelope_append(&out, &env, NET_FRAME_DEFAULT_MAX);
        }
        if (rc == 0 && send_bytes(p, net_buf_bytes(&out), net_buf_len(&out)) == 0)
            say("sent pings=%ld", n);
        else
            p->closed = 1;
        net_buf_finish(&out);
        return 0;
    }
    if (strcmp(step, "read") == 0) {
        if (p->closed)
            goto closed;
        read_reply(p);
        return 0;
    }
    if (strcmp(step, "read-all") == 0) {
        for (int k = 0; k < 1000 && !p->closed; k++)
            if (read_reply(p) != READ_OK)
                break;
        return 0;
    }
    if (strcmp(step, "random") == 0) {
        NEED_ARG(1, 64L << 20);
        if (p->closed)
            goto closed;
        uint8_t *buf = malloc((size_t)n);
        if (buf == NULL) {
            say("random-failed reason=out of memory");
            return -1;
        }
        for (long k = 0; k < n; k += 8) {
            uint64_t r = rng_next(p);
            memcpy(buf + k, &r, (size_t)(n - k < 8 ? n - k : 8));
        }
        if (send_bytes(p, buf, (size_t)n) == 0)
            say("sent bytes=%ld", n);
        free(buf);
        return 0;
    }
    if (strcmp(step, "header") == 0) {
        char *end = NULL;
        if (arg == NULL) {
            fprintf(stderr, "zd-peer: header needs a hex length\n");
            return -1;
        }
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 16);
        if (errno != 0 || end == arg || *end != '\0' || v > UINT32_MAX) {
            fprintf(stderr, "zd-peer: header needs a hex length up to ffffffff\n");
            return -1;
        }
        (*i)++;
        if (p->closed)
            goto closed;
        uint8_t hdr[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        if (send_bytes(p, hdr, sizeof hdr) == 0)
            say("sent header=%08llx", v);
        return 0;
    }
    if (strcmp(step, "trickle") == 0) {
        NEED_ARG(1, 600);
        if (p->closed)
            goto closed;
        trickle(p, n);
        return 0;
    }
    if (strcmp(step, "idle") == 0) {
        NEED_ARG(1, 600);
        if (p->closed)
            goto closed;
        wait_closed(p, n);
        return 0;
    }
    fprintf(stderr, "zd-peer: unknown step '%s'\n", step);
    return -1;
closed:
    say("closed");
    return 0;
#undef NEED_ARG
}

static const char *home_file(const char *home, int which, const char *name)
{
    int w = snprintf(home_paths[which], sizeof home_paths[which], "%s/%s", home, name);
    return w > 0 && (size_t)w < sizeof home_paths[which] ? home_paths[which] : NULL;
}

int main(int argc, char **argv)
{
    peer p = {.fd = -1, .next_id = 1, .rng = 1};
    p.opt = (peer_options){
        .host = "127.0.0.1", .server_name = "localhost", .tls = 1, .timeout_ms = 5000, .seed = 1};
    int no_cert = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n = 0;
        if (strcmp(o, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(o, "--tls12") == 0) {
            p.opt.tls12_only = 1;
        } else if (strcmp(o, "--no-tls") == 0) {
            p.opt.tls = 0;
        } else if (strcmp(o, "--no-cert") == 0) {
            no_cert = 1;
        } else if (v == NULL) {
            fprintf(stderr, "zd-peer: %s needs a value\n", o);
            return 2;
        } else {
            i++;
            if (strcmp(o, "--host") == 0) {
                p.opt.host = v;
            } else if (strcmp(o, "--port") == 0) {
                p.opt.port = v;
            } else if (strcmp(o, "--server-name") == 0) {
                p.opt.server_name = v;
            } else if (strcmp(o, "--ca") == 0) {
                p.opt.ca = v;
            } else if (strcmp(o, "--cert") == 0) {
                p.opt.cert = v;
            } else if (strcmp(o, "--key") == 0) {
                p.opt.key = v;
            } else if (strcmp(o, "--home") == 0) {
                p.opt.cert = home_file(v, 0, "cert.pem");
                p.opt.key = home_file(v, 1, "key.pem");
                p.opt.ca = home_file(v, 2, "ca.pem");
            } else if (strcmp(o, "--timeout-ms") == 0 && parse_long(v, 1, 600000, &n) == 0) {
                p.opt.timeout_ms = (int)n;
            } else if (strcmp(o, "--seed") == 0 && parse_long(v, 1, LONG_MAX, &n) == 0) {
                p.opt.seed = (uint64_t)n;
            } else {
                fprintf(stderr, "zd-peer: bad option %s %s\n", o, v);
                return 2;
            }
        }
    }
    if (no_cert)
        p.opt.cert = p.opt.key = NULL;
    if (p.opt.port == NULL || i >= argc || (p.opt.cert != NULL) != (p.opt.key != NULL)) {
        usage(stderr);
        return 2;
    }
    p.rng = p.opt.seed;
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    if (tcp_connect(&p) != 0)
        goto out;
    say("connected");
    if (p.opt.tls && tls_connect(&p) != 0)
        goto out;
    rc = 0;
    for (; i < argc; i++) {
        if (run_step(&p, argc, argv, &i) != 0) {
            rc = 2;
            break;
        }
    }
out:
    SSL_free(p.ssl);
    SSL_CTX_free(p.ctx);
    if (p.fd >= 0)
        close(p.fd);
    return rc;
}
