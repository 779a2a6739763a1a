/* The server proper: the listener, the sessions and the loop, driven by a loaded configuration.
 *
 * srv_server_run is what `zerodropd --config FILE` does. The pieces below it (start on a caller's loop,
 * shut down, reload) are public so that unit tests run a real server inside their own loop. */
#ifndef ZD_SERVER_SERVER_H
#define ZD_SERVER_SERVER_H

#include <uv.h>

#include "config.h"
#include "conn.h"
#include "db.h"
#include "dispatch.h"
#include "password.h"
#include "scope.h"
#include "session.h"
#include "tls.h"

/* Request figures for `admin stats` (srv__stats_request, called once per answered request). */
#define SRV_STATS_BODIES 128
#define SRV_STATS_BUCKETS 161 /* latency buckets: bucket b holds ms in [10^((b-1)/20), 10^(b/20)) µs */
typedef struct srv_stats {
    uint64_t requests[SRV_STATS_BODIES][ZD_ERR_COUNT];
    uint64_t latency[SRV_STATS_BUCKETS];
    uint64_t latency_n;
} srv_stats;

struct srv_server {
    const srv_config *cfg;
    uv_loop_t *loop;
    uv_tcp_t listener;
    int listening;
    int port;                    /* the bound port (useful with port = 0) */
    net_tls_ctx *tls;            /* for new handshakes; replaced on reload */
    net_conn_limits lim;
    srv_session *sessions;       /* live (not yet closed) sessions */
    uint64_t n_conns, n_handshakes;
    struct srv_login *login;     /* the login service (server/login.h); NULL without a database */
    uint64_t next_id;
    int stopping;
    const srv_route *overrides;  /* tests only: handlers looked up before the table */
    srv_db *db;                  /* the pool, from [database] conninfo; NULL: transport only (Hello/Ping) */
    unsigned char scope_key[SRV_SCOPE_KEY_MAX]; /* [database] scope_key_file, for srv_handler_job_create */
    size_t scope_key_len;
    srv_password_cost password_cost; /* [server] password_*: new hashes (admin, login's dummy) */
    uv_timer_t db_close;         /* destroys the pool once the last session has gone after shutdown */
    int db_closing;
    uv_timer_t device_sweep;     /* drops sessions of devices revoked in the database (handlers_device.c) */
    int sweeping;                /* a sweep job is out */
    uint64_t n_handshakes_done;  /* for admin stats */
    srv_stats stats;
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

/* Closes every established session whose certificate has this SHA-256 fingerprint (lowercase hex), as a
 * revoked device's must be. Returns how many were closed. */
unsigned srv_server_device_drop(srv_server *srv, const char *fingerprint);

/* Counts one answered request of type body with code (0 on success) that took ms milliseconds. */
void srv__stats_request(srv_server *srv, int body, int code, double ms);

/* Releases what start allocated; call after the loop has stopped. */
void srv_server_finish(srv_server *srv);

/* Serves until SIGTERM/SIGINT, then finishes what is in flight. Returns the exit status (0 after a clean
 * stop; non-zero, after a log line saying why, when the server could not start). */
int srv_server_run(const srv_config *cfg);

#endif
