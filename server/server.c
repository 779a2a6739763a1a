/* The listener, the session list, signals and reloads; see server.h.
 *
 * Accepting is where the global caps live: past max_connections or max_handshakes the newcomer is
 * accepted only to be closed at once (with a log line), so an established session is never the one
 * that pays for a flood. */
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "handlers_device.h"
#include "handlers_import.h"
#include "login.h"
#include "log.h"

void srv__session_on_frame(net_conn *c, const uint8_t *payload, size_t len);
void srv__session_on_bad_frame(net_conn *c);

static void session_established(net_conn *c)
{
    srv_session *s = (srv_session *)c;
    srv_server *srv = s->server;
    srv->n_handshakes--;
    srv->n_handshakes_done++;
    s->established = 1;
    if (net_tls_peer_get(&c->tls, &s->peer) != 0) {
        /* The verify callback refuses such certificates; this is a second lock on the same door. */
        net_conn_close(c, "bad_certificate_subject", NULL);
        return;
    }
    if (strcmp(s->peer.level, "school") == 0)
        s->level = ZERODROP__V1__LEVEL__LEVEL_SCHOOL;
    else if (strcmp(s->peer.level, "township") == 0)
        s->level = ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP;
    else
        s->level = ZERODROP__V1__LEVEL__LEVEL_COUNTY;
    srv_log(SRV_LOG_INFO, "handshake_done", "conn=%llu institution=%s:%s fingerprint=%s",
            (unsigned long long)s->id, s->peer.level, s->peer.code, s->peer.fingerprint);
}

static void db_closed(uv_handle_t *h)
{
    (void)h;
}

/* The pool goes last: only once every session has gone are all the jobs they started answered. It is
 * destroyed from a timer, not from whatever callback saw the last session go (which may be the pool's). */
static void db_close_now(uv_timer_t *t)
{
    srv_server *srv = t->data;
    uv_close((uv_handle_t *)&srv->device_sweep, db_closed);
    srv_login_destroy(srv->login); /* no login is in flight: each holds a request, and the sessions are gone */
    srv->login = NULL;
    srv_db_destroy(srv->db);
    srv->db = NULL;
    uv_close((uv_handle_t *)&srv->db_close, db_closed);
}

static void db_close_soon(srv_server *srv)
{
    if (srv->db == NULL || srv->db_closing)
        return;
    srv->db_closing = 1;
    uv_timer_start(&srv->db_close, db_close_now, 0, 0);
}

static void session_closed(net_conn *c)
{
    srv_session *s = (srv_session *)c;
    srv_server *srv = s->server;
    if (!s->established)
        srv->n_handshakes--;
    srv->n_conns--;
    if (s->prev)
        s->prev->next = s->next;
    else if (srv->sessions == s)
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    if (srv->stopping && srv->n_conns == 0)
        db_close_soon(srv);
    char inst[64], detail[200];
    srv_log(SRV_LOG_INFO, "closed", "conn=%llu institution=%s reason=%s detail=%s requests=%llu",
            (unsigned long long)s->id, srv_session_institution(s, inst, sizeof(inst)), net_conn_close_reason(c),
            srv_log_quote(detail, sizeof(detail), net_conn_close_detail(c)[0] ? net_conn_close_detail(c) : "-"),
            (unsigned long long)s->requests);
    srv_import_session_closed(s); /* an unfinished upload's memory goes with its session */
}

static void session_free(net_conn *c)
{
    free(c); /* the session starts with its connection */
}

static const net_conn_ops session_ops = {
    .on_established = session_established,
    .on_frame = srv__session_on_frame,
    .on_bad_frame = srv__session_on_bad_frame,
    .on_close = session_closed,
    .on_free = session_free,
};

static void peer_name(uv_tcp_t *tcp, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    snprintf(out, n, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

static void on_connection(uv_stream_t *l, int status)
{
    srv_server *srv = l->data;
    if (status < 0) {
        srv_log(SRV_LOG_WARN, "accept_failed", "error=%s", uv_err_name(status));
        return;
    }
    srv_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        srv_log(SRV_LOG_ERROR, "accept_failed", "error=out_of_memory");
        return;
    }
    if (net_conn_init(&s->conn, srv->loop, &session_ops, &srv->lim) != 0) {
        free(s);
        srv_log(SRV_LOG_ERROR, "accept_failed", "error=conn_init");
        return;
    }
    s->server = srv;
    s->id = ++srv->next_id;
    s->conn.data = s;
    /* Counted from here: session_closed undoes it, whatever happens next. */
    srv->n_conns++;
    srv->n_handshakes++;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    int rc = uv_accept(l, (uv_stream_t *)&s->conn.tcp);
    if (rc != 0) {
        srv_log(SRV_LOG_WARN, "accept_failed", "conn=%llu error=%s", (unsigned long long)s->id, uv_err_name(rc));
        net_conn_close(&s->conn, "accept_failed", NULL);
        return;
    }
    peer_name(&s->conn.tcp, s->peer_addr, sizeof(s->peer_addr));
    const char *refuse = NULL;
    if (srv->stopping)
        refuse = "shutting_down";
    else if (srv->n_conns > srv->cfg->max_connections)
        refuse = "too_many_connections";
    else if (srv->n_handshakes > srv->cfg->max_handshakes)
        refuse = "too_many_handshakes";
    if (refuse != NULL) {
        srv_log(SRV_LOG_WARN, "refused", "conn=%llu peer=%s reason=%s connections=%llu handshakes=%llu",
                (unsigned long long)s->id, s->peer_addr, refuse, (unsigned long long)srv->n_conns - 1,
                (unsigned long long)srv->n_handshakes - 1);
        net_conn_close(&s->conn, refuse, NULL);
        return;
    }
    srv_log(SRV_LOG_INFO, "accepted", "conn=%llu peer=%s", (unsigned long long)s->id, s->peer_addr);
    net_conn_start(&s->conn, srv->tls, NULL);
}

static uint64_t server_now_ms(void *clock)
{
    (void)clock;
    return (uint64_t)srv_clock_now_ms();
}

/* Creates the pool when [database] conninfo is set, with the scope key its jobs need, and the login service
 * on it. 0, or -1 logged. */
static int db_start(srv_server *srv)
{
    const srv_config *cfg = srv->cfg;
    if (cfg->conninfo == NULL || cfg->conninfo[0] == '\0') {
        srv_log(SRV_LOG_INFO, "database", "mode=transport_only");
        return 0;
    }
    char err[512], q[600];
    if (srv_scope_key_load(cfg->scope_key_file, srv->scope_key, &srv->scope_key_len, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "database_failed", "error=%s", srv_log_quote(q, sizeof(q), err));
        return -1;
    }
    srv->db = srv_db_create(srv->loop, &(srv_db_config){.conninfo = cfg->conninfo,
                                                        .pool_size = (unsigned)cfg->pool_size,
                                                        .queue_max = (unsigned)cfg->queue_max});
    if (srv->db == NULL) {
        srv_log(SRV_LOG_ERROR, "database_failed", "error=out_of_memory");
        return -1;
    }
    srv->password_cost = (srv_password_cost){.m_kib = (uint32_t)cfg->password_memory_kib,
                                             .t_cost = (uint32_t)cfg->password_passes,
                                             .parallelism = 1};
    srv->login = srv_login_create(&(srv_login_config){.loop = srv->loop,
                                                      .db = srv->db,
                                                      .cost = &srv->password_cost,
                                                      .now_ms = server_now_ms,
                                                      .scope_key = srv->scope_key,
                                                      .scope_key_len = srv->scope_key_len});
    if (srv->login == NULL) {
        srv_log(SRV_LOG_ERROR, "database_failed", "error=login_service");
        srv_db_destroy(srv->db);
        srv->db = NULL;
        return -1;
    }
    uv_timer_init(srv->loop, &srv->db_close);
    srv->db_close.data = srv;
    uv_timer_init(srv->loop, &srv->device_sweep);
    srv->device_sweep.data = srv;
    uv_timer_start(&srv->device_sweep, srv_device_sweep, SRV_DEVICE_SWEEP_MS, SRV_DEVICE_SWEEP_MS);
    srv_log(SRV_LOG_INFO, "database", "mode=pool pool_size=%u queue_max=%u", (unsigned)cfg->pool_size,
            (unsigned)cfg->queue_max);
    return 0;
}

static int listen_on(srv_server *srv)
{
    const srv_config *cfg = srv->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(cfg->listen, (int)cfg->port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(cfg->listen, (int)cfg->port, (struct sockaddr_in6 *)&ss) != 0) {
        srv_log(SRV_LOG_ERROR, "listen_failed", "listen=%s error=bad_address", cfg->listen);
        return -1;
    }
    int rc = uv_tcp_init(srv->loop, &srv->listener);
    if (rc != 0)
        goto fail;
    srv->listener.data = srv;
    srv->listening = 1;
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0)
        goto fail;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    srv_log(SRV_LOG_INFO, "listening", "listen=%s port=%d", cfg->listen, srv->port);
    return 0;

fail:
    srv_log(SRV_LOG_ERROR, "listen_failed", "listen=%s port=%u error=%s", cfg->listen, (unsigned)cfg->port,
            uv_strerror(rc));
    return -1;
}

static net_tls_ctx *tls_load(const srv_config *cfg)
{
    char err[512], q[600];
    net_tls_ctx *ctx = net_tls_ctx_create_server(cfg->cert, cfg->key, cfg->ca, cfg->crl, err, sizeof(err));
    if (ctx == NULL)
        srv_log(SRV_LOG_ERROR, "tls_failed", "error=%s", srv_log_quote(q, sizeof(q), err));
    return ctx;
}

static void clock_load(const srv_config *cfg)
{
    char err[512], q[600];
    if (srv_clock_load(cfg->test_clock_file, err, sizeof(err)) != 0)
        srv_log(SRV_LOG_WARN, "clock_failed", "error=%s", srv_log_quote(q, sizeof(q), err));
#ifdef ZD_TEST_CLOCK
    if (cfg->test_clock_file[0] != '\0')
        srv_log(SRV_LOG_INFO, "clock", "offset_s=%lld today=%u", (long long)srv_clock_offset_s(),
                srv_clock_date(srv_clock_now_ms()));
#else
    if (cfg->test_clock_file[0] != '\0')
        srv_log(SRV_LOG_WARN, "clock_ignored", "reason=production_build");
#endif
}

int srv_server_start(srv_server *srv, const srv_config *cfg, uv_loop_t *loop)
{
    const srv_route *overrides = srv->overrides;
    memset(srv, 0, sizeof(*srv));
    srv->overrides = overrides;
    srv->cfg = cfg;
    srv->loop = loop;
    srv->lim.max_frame = (size_t)cfg->max_frame_bytes;
    srv->lim.max_output = (size_t)cfg->max_output_bytes;
    srv->lim.max_inflight = (unsigned)cfg->max_inflight;
    srv->lim.handshake_ms = cfg->handshake_timeout_ms;
    srv->lim.frame_ms = cfg->frame_timeout_ms;
    srv->lim.idle_ms = cfg->idle_timeout_ms;
    clock_load(cfg);
    srv->tls = tls_load(cfg);
    if (srv->tls == NULL)
        return -1;
    if (listen_on(srv) != 0) {
        if (srv->listening)
            uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = 0;
        net_tls_ctx_destroy(srv->tls);
        srv->tls = NULL;
        /* the listener's close callback must run before the caller's loop closes */
        uv_run(loop, UV_RUN_NOWAIT);
        return -1;
    }
    if (db_start(srv) != 0) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = 0;
        net_tls_ctx_destroy(srv->tls);
        srv->tls = NULL;
        uv_run(loop, UV_RUN_NOWAIT);
        return -1;
    }
    return 0;
}

void srv_server_shutdown(srv_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    srv_log(SRV_LOG_INFO, "stopping", "sessions=%llu", (unsigned long long)srv->n_conns);
    if (srv->listening) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        srv->listening = 0;
    }
    if (srv->signals) {
        uv_close((uv_handle_t *)&srv->sig_term, NULL);
        uv_close((uv_handle_t *)&srv->sig_int, NULL);
        uv_close((uv_handle_t *)&srv->sig_hup, NULL);
        srv->signals = 0;
    }
    /* Closing unlinks a session from the list: walk with the next pointer saved. */
    for (srv_session *s = srv->sessions, *next; s != NULL; s = next) {
        next = s->next;
        if (s->conn.state == NET_CONN_OPEN)
            net_conn_drain(&s->conn, "shutdown");
        else if (s->conn.state != NET_CONN_DRAINING)
            net_conn_close(&s->conn, "shutdown", NULL);
    }
    if (srv->n_conns == 0)
        db_close_soon(srv);
}

unsigned srv_server_device_drop(srv_server *srv, const char *fingerprint)
{
    unsigned dropped = 0;
    for (srv_session *s = srv->sessions, *next; s != NULL; s = next) {
        next = s->next;
        if (s->established && strcmp(s->peer.fingerprint, fingerprint) == 0 &&
            (s->conn.state == NET_CONN_OPEN || s->conn.state == NET_CONN_DRAINING)) {
            dropped++;
            net_conn_close(&s->conn, "device_revoked", NULL);
        }
    }
    return dropped;
}

int srv_server_reload(srv_server *srv)
{
    clock_load(srv->cfg);
    net_tls_ctx *fresh = tls_load(srv->cfg);
    if (fresh == NULL) {
        srv_log(SRV_LOG_WARN, "reload_failed", "kept=previous_crl");
        return -1;
    }
    net_tls_ctx_destroy(srv->tls);
    srv->tls = fresh;
    unsigned dropped = 0;
    for (srv_session *s = srv->sessions, *next; s != NULL; s = next) {
        next = s->next;
        if (s->established && net_tls_ctx_revokes(fresh, &s->conn.tls)) {
            dropped++;
            net_conn_close(&s->conn, "certificate_revoked", NULL);
        }
    }
    srv_log(SRV_LOG_INFO, "reloaded", "crl=%s dropped=%u", srv->cfg->crl, dropped);
    return 0;
}

void srv_server_finish(srv_server *srv)
{
    net_tls_ctx_destroy(srv->tls);
    srv->tls = NULL;
}

static void on_signal(uv_signal_t *h, int signum)
{
    srv_server *srv = h->data;
    if (signum == SIGHUP) {
        srv_log(SRV_LOG_INFO, "signal", "name=HUP");
        srv_server_reload(srv);
        return;
    }
    srv_log(SRV_LOG_INFO, "signal", "name=%s", signum == SIGTERM ? "TERM" : "INT");
    srv_server_shutdown(srv);
}

int srv_server_run(const srv_config *cfg)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        srv_log(SRV_LOG_ERROR, "start_failed", "error=loop");
        return 1;
    }
    /* A client that hangs up while we write must not kill the county's server. */
    signal(SIGPIPE, SIG_IGN);
    srv_server srv;
    srv.overrides = NULL;
    if (srv_server_start(&srv, cfg, &loop) != 0) {
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_init(&loop, &srv.sig_term);
    uv_signal_init(&loop, &srv.sig_int);
    uv_signal_init(&loop, &srv.sig_hup);
    srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
    uv_signal_start(&srv.sig_term, on_signal, SIGTERM);
    uv_signal_start(&srv.sig_int, on_signal, SIGINT);
    uv_signal_start(&srv.sig_hup, on_signal, SIGHUP);
    srv.signals = 1;
    srv_log(SRV_LOG_INFO, "started", "version=%s pid=%ld", ZD_VERSION, (long)uv_os_getpid());
    uv_run(&loop, UV_RUN_DEFAULT);
    srv_server_finish(&srv);
    int rc = uv_loop_close(&loop);
    srv_log(SRV_LOG_INFO, "stopped", "clean=%s", rc == 0 ? "yes" : "no");
    return 0;
}
