/* The server's asynchronous database pool.
 *
 * A fixed number of non-blocking libpq connections, each socket watched by a uv_poll handle on the server's
 * one loop, so no database call ever blocks it. Work arrives as jobs: a job is one transaction, an ordered list
 * of statements (SQL text, a prepared statement defined on the pool, or a COPY FROM STDIN with its data) that
 * the pool runs between BEGIN and COMMIT. The job's completion callback runs exactly once, never from inside
 * srv_db_job_submit, and reports success only after COMMIT succeeded: an acknowledgement built in the callback
 * is never ahead of the database.
 *
 * Jobs that find every connection busy wait in a bounded queue; when several are ready they go to a connection
 * together in libpq pipeline mode (one Sync per job, so a failing job never disturbs its neighbours). Jobs with
 * a COPY run alone on a connection taken out of pipeline mode. A lost connection is re-established with
 * exponential backoff; every job it carried that had not committed completes with ZD_EUNAVAILABLE.
 *
 * The pool is generic: it knows no schema. The caller passes the row-level-security scope statement as the
 * first statement of each job, with srv_db_job_add_scope: the scope token names the backend it is valid on
 * (sql/README.md), and only the pool knows which connection a job will run on, so the pool asks the caller
 * for the token when it sends the job. */
#ifndef ZD_SERVER_DB_H
#define ZD_SERVER_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <uv.h>

#include "err.h"

typedef struct srv_db srv_db;
typedef struct srv_db_job srv_db_job;

/* How the pool is built. Zero fields take the defaults in brackets. */
typedef struct srv_db_config {
    const char *conninfo;       /* libpq connection string; copied */
    unsigned pool_size;         /* connections [4] */
    unsigned queue_max;         /* jobs waiting for a connection [1024] */
    unsigned batch_max;         /* jobs pipelined on one connection at once [32] */
    uint64_t wait_ms;           /* a job queued while no connection is up fails UNAVAILABLE after this [5000] */
    uint64_t connect_timeout_ms; /* one connection attempt [5000] */
    uint64_t backoff_min_ms;    /* first reconnect delay [100] */
    uint64_t backoff_max_ms;    /* reconnect delays double up to this [5000] */
} srv_db_config;

/* Figures for `admin stats`. */
typedef struct srv_db_stats {
    unsigned pool_size;
    unsigned conns_up;          /* connected and usable */
    size_t queue_depth;         /* jobs waiting for a connection */
    size_t running;             /* jobs on a connection */
    uint64_t jobs_done;         /* completed with ZD_OK */
    uint64_t jobs_failed;       /* completed with any other code, OVERLOADED included */
    uint64_t jobs_overloaded;   /* of which refused because the queue was full */
    uint64_t conns_lost;        /* connections lost or attempts failed, each followed by a reconnect */
    uint64_t batches;           /* pipelines sent */
    unsigned batch_largest;     /* most jobs in one pipeline so far */
} srv_db_stats;

/* Runs once per submitted job, after COMMIT succeeded or the job failed. `job` and every result it holds
 * stay valid until the callback returns; then the pool frees them (take a result with
 * srv_db_job_result_take to keep it). The callback may create and submit new jobs; it must not call
 * srv_db_destroy. */
typedef void (*srv_db_done_fn)(srv_db_job *job, void *data);

/* Creates a pool on `loop` and starts connecting at once (the constructor does not wait for PostgreSQL:
 * jobs submitted before a connection is up wait in the queue). Returns NULL when out of memory or when
 * `config->conninfo` is NULL. */
srv_db *srv_db_create(uv_loop_t *loop, const srv_db_config *config);

/* Completes every queued and running job with ZD_EUNAVAILABLE (their callbacks run now, inside this call),
 * closes the connections and starts closing the pool's handles; the memory is freed once they have closed,
 * so the caller runs the loop afterwards. Jobs submitted from those callbacks complete at once with
 * ZD_EUNAVAILABLE. NULL is a no-op. Not to be called from a completion callback. */
void srv_db_destroy(srv_db *db);

/* Defines a named statement that jobs name with srv_db_job_add_prepared. Each connection prepares it once,
 * on first use (again after a reconnect). `name` and `sql` are copied. Returns ZD_OK, ZD_EINVALID_ARGUMENT
 * (name taken, empty, or too many definitions) or ZD_EOVERLOADED (out of memory). */
zd_err srv_db_statement_define(srv_db *db, const char *name, const char *sql);

/* Copies the pool's figures into `out`. */
void srv_db_stats_get(const srv_db *db, srv_db_stats *out);

/* Translates a libpq result (and, for results that carry no SQLSTATE, the connection's state) into the
 * error vocabulary: unique/exclusion violation → CONFLICT; insufficient privilege and row-level-security
 * refusals → FORBIDDEN; check, not-null, foreign-key and data exceptions, RAISE EXCEPTION → INVALID_ARGUMENT;
 * no_data_found → NOT_FOUND; connection loss, shutdown, too many connections, serialization failure,
 * deadlock, statement timeout → UNAVAILABLE (retryable); everything else → INTERNAL. A successful result
 * gives ZD_OK. Either argument may be NULL. */
zd_err srv_db_err_from_result(const PGresult *res, const PGconn *conn);

/* The same translation from a five-character SQLSTATE alone; NULL or "" gives INTERNAL. */
zd_err srv_db_err_from_sqlstate(const char *sqlstate);

/* Creates an empty job for `db`. `done` (required) is called with `data` exactly once after the job is
 * submitted. Returns NULL when out of memory. */
srv_db_job *srv_db_job_create(srv_db *db, srv_db_done_fn done, void *data);

/* Makes the job hold a reference on its owner: `ref(data)` is called now, `unref(data)` after the
 * completion callback has returned (or when an unsubmitted job is destroyed). This is how a session that
 * goes away while its job runs stays allocated (closed, but not freed) until the callback has seen it. */
void srv_db_job_hold(srv_db_job *job, void (*ref)(void *data), void (*unref)(void *data));

/* Appends a statement of SQL text with `nparams` text parameters (a NULL entry is SQL NULL). Text and
 * parameters are copied. Returns ZD_OK, or an error that the job will also complete with if submitted
 * anyway (so a caller may submit without checking each append). */
zd_err srv_db_job_add_sql(srv_db_job *job, const char *sql, int nparams, const char *const *params);

/* Makes the scope parameter for the connection a job is about to be sent on: writes a NUL-terminated value
 * into `out` (`outlen` bytes, SRV_DB_SCOPE_MAX) for `backend_pid` (that connection's PQbackendPID) and returns
 * 0, or returns -1, which fails the job with ZD_EINTERNAL before anything is sent. Runs on the loop, at most
 * once per job; it must not submit or destroy anything. */
typedef int (*srv_db_scope_fn)(void *arg, int backend_pid, char *out, size_t outlen);

#define SRV_DB_SCOPE_MAX 256

/* Appends the scope statement: `sql` takes exactly one parameter, $1, made by `fn(arg, …)` when the job is
 * sent (typically SRV_SCOPE_SQL with a token from srv_scope_token_build). `arg` must stay valid until the
 * completion callback has run (hold the owner with srv_db_job_hold). Append it first. Returns as
 * srv_db_job_add_sql. */
zd_err srv_db_job_add_scope(srv_db_job *job, const char *sql, srv_db_scope_fn fn, void *arg);

/* Appends an execution of the statement defined as `name` (srv_db_statement_define). ZD_EINVALID_ARGUMENT
 * when no such name is defined; otherwise as srv_db_job_add_sql. */
zd_err srv_db_job_add_prepared(srv_db_job *job, const char *name, int nparams, const char *const *params);

/* Appends `copy_sql` (a `COPY … FROM STDIN` statement) fed with `len` bytes of `data` in the COPY text or
 * CSV format the statement names. The data are copied. A job with a COPY runs alone, outside pipeline mode.
 * Returns as srv_db_job_add_sql. */
zd_err srv_db_job_add_copy(srv_db_job *job, const char *copy_sql, const void *data, size_t len);

/* Hands the job to the pool, which owns it from now on. The callback always runs later, from the loop:
 * with ZD_EOVERLOADED at the next turn when the queue is full, with the append error when an append
 * failed, with ZD_EINVALID_ARGUMENT for a job without statements. */
void srv_db_job_submit(srv_db_job *job);

/* Frees a job that was never submitted (its owner's unref runs). NULL is a no-op. */
void srv_db_job_destroy(srv_db_job *job);

/* In the completion callback: ZD_OK when the transaction committed, otherwise the code it failed with. */
zd_err srv_db_job_status(const srv_db_job *job);

/* The failure in words: PostgreSQL's primary message, or the pool's own. "" on success. Never NULL. */
const char *srv_db_job_message(const srv_db_job *job);

/* The SQLSTATE the job failed with, "" when none (success, overload, lost connection without one). */
const char *srv_db_job_sqlstate(const srv_db_job *job);

/* The constraint or column PostgreSQL named in the error (useful as Error.field), "" when none. */
const char *srv_db_job_field(const srv_db_job *job);

/* Index of the caller's statement that failed, or -1 (success, or a failure not tied to one statement,
 * such as COMMIT or a lost connection). */
int srv_db_job_failed_index(const srv_db_job *job);

/* Number of statements the caller appended. */
size_t srv_db_job_count(const srv_db_job *job);

/* The result of the caller's statement `i` (0 is the scope statement) of a successful job; NULL when the
 * job failed or `i` is out of range. Owned by the pool: valid until the callback returns, PQclear is the
 * pool's. */
const PGresult *srv_db_job_result(const srv_db_job *job, size_t i);

/* As srv_db_job_result, but hands ownership to the caller, who calls PQclear. Later calls for the same `i`
 * return NULL. */
PGresult *srv_db_job_result_take(srv_db_job *job, size_t i);

/* Rows returned by statement `i` (0 when none or failed). */
int srv_db_job_rows(const srv_db_job *job, size_t i);

/* Text of row `row`, column `col` of statement `i`; NULL for SQL NULL or out of range. Valid while the
 * result is. */
const char *srv_db_job_value(const srv_db_job *job, size_t i, int row, int col);

/* Command tag of statement `i` ("INSERT 0 1", "COPY 10000"); "" when none. */
const char *srv_db_job_tag(const srv_db_job *job, size_t i);

/* Rows affected by statement `i` (INSERT, UPDATE, DELETE, COPY, SELECT …); 0 when none. */
uint64_t srv_db_job_affected(const srv_db_job *job, size_t i);

#endif
