/* The server proper: the listener, the sessions and the loop, driven by a loaded configuration.
 *
 * srv_server_run is what `zerodropd --config FILE` does. The pieces below it (start on a caller's loop,
 * shut down, reload) are public so that unit tests run a real server inside their own loop. */
#ifndef ZD_SERVER_SERVER_H
#define ZD_SERVER_SERVER_H

#include <uv.h>

#include "config.h"
#include "conn.h"
#include "dispatch.h"
#include "session.h"
#include "tls.h"

struct srv_server {
    const srv_config *cfg;
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listening;
    int port;         /* the bound port (useful with port = 0) */
    net_tls_ctx *tls; /* for new handshakes; replaced on reload */
    net_conn_limits lim;
    srv_session *sessions; /* live (not yet closed) sessions */
    uint64_t n_conns, n_handshakes;
    uint64_t next_id;
    int stopping;
    const srv_route *overrides; /* tests only: handlers looked up before the table */
    void *db;                   /* the database pool (a later issue); NULL: transport only */
    /* srv_server_run's own handles */
    uv_signal_t sig_term, sig_int, sig_hup;
    int signals;
};

/* Loads TLS and the test clock, binds and listens on loop. Returns 0, or -1 after a log line saying why
 * (nothing left to release then). cfg must outlive srv. */
int srv_server_start(srv_server *srv, const srv_config *cfg, uv_loop_t *loop);

/* What SIGTERM does: stops accepting, lets each session finish what is in flight, then closes it.
 * The loop then runs out of handles (once pending requests finish). Idempotent. */
void srv_server_shutdown(srv_server *srv);

/* What SIGHUP does: reloads the CRL (a new TLS context for new handshakes; on failure the old one stays,
 * with a log line), re-reads the test clock, and drops sessions whose certificate is now revoked.
 * Returns 0 when the CRL was reloaded. */
int srv_server_reload(srv_server *srv);

/* Releases what start allocated; call after the loop has stopped. */
void srv_server_finish(srv_server *srv);

/* Serves until SIGTERM/SIGINT, then finishes what is in flight. Returns the exit status (0 after a clean
 * stop; non-zero, after a log line saying why, when the server could not start). */
int srv_server_run(const srv_config *cfg);

#endif
