/* The asynchronous database pool: non-blocking libpq connections driven by uv_poll, jobs as transactions.
 *
 * Each connection runs one batch at a time. A batch is a list of operations (prepare, rollback, begin,
 * statement, commit, sync) built when the batch starts; results come back in the order the operations were
 * sent, so the head of that list always names the operation a result belongs to. A batch of plain jobs is
 * sent at once in pipeline mode with a Sync after each job; a job with a COPY is sent one operation at a
 * time outside pipeline mode, because libpq refuses COPY in a pipeline.
 *
 * Why a ROLLBACK precedes every job but the first of a batch: in a pipeline, an error inside BEGIN … COMMIT
 * leaves the session in an aborted transaction after the Sync, and the next job (already sent) would fail
 * with "current transaction is aborted". The ROLLBACK ends that transaction, or is a harmless warning when
 * the previous job committed.
 *
 * Why prepares go first, in their own segment: a Parse sent after a failing statement is skipped by the
 * server, and a later job counting on it would fail. Preparing before any job keeps jobs independent. */
#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DB_MAX_DEFS 256          /* named statements per pool */
#define DB_COPY_CHUNK 65536      /* bytes handed to PQputCopyData at once */

enum stmt_kind { STMT_SQL, STMT_PREPARED, STMT_COPY };

struct stmt {
    enum stmt_kind kind;
    char *sql;                  /* STMT_SQL, STMT_COPY */
    int def;                    /* STMT_PREPARED: index into db->defs */
    int nparams;
    char **params;
    char *copy_data;
    size_t copy_len;
    srv_db_scope_fn scope_fn;   /* set: params[0] is made at send time */
    void *scope_arg;
    PGresult *res;              /* owned until the job is freed or the caller takes it */
};

enum job_state { JOB_NEW, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct srv_db_job {
    srv_db *db;
    srv_db_job *next, *prev;    /* queue or deferred list */
    srv_db_done_fn done;
    void *data;
    void (*unref)(void *data);
    struct stmt *stmts;
    size_t nstmts, cap;
    enum job_state state;
    bool has_copy;
    bool committed;
    bool failed;                /* status/message are set; remaining results are skipped */
    zd_err status;
    char *message;
    char sqlstate[6];
    char *field;
    int failed_index;
    uint64_t queued_at;
};

struct def {
    char *name;
    char *sql;
};

enum op_kind { OP_PREPARE, OP_ROLLBACK, OP_BEGIN, OP_STMT, OP_COMMIT, OP_SYNC };

struct op {
    enum op_kind kind;
    unsigned index;             /* OP_PREPARE: definition; OP_STMT: statement */
    srv_db_job *job;            /* NULL for the prepare segment */
    bool got_result;
};

enum conn_state { CONN_DOWN, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };

enum prep_state { PREP_NONE, PREP_PENDING, PREP_READY };

struct conn;

/* The poll handle lives on the heap because libpq may change its socket (a new attempt, another address);
 * the old handle is freed only in its close callback, after the new one is already watching. */
struct watch {
    uv_poll_t poll;
    struct conn *conn;
};

struct conn {
    srv_db *db;
    PGconn *pg;
    struct watch *watch;
    int fd;
    int events;
    enum conn_state state;
    uv_timer_t timer;           /* reconnect delay, or the deadline of an attempt */
    uint64_t backoff_ms;
    unsigned char *prep;        /* enum prep_state per definition */
    struct op *ops;
    size_t nops, opcap, head;
    bool pipeline;
    srv_db_job **batch;
    size_t nbatch;
    size_t ndone;               /* batch[0..ndone) completed at their Sync, in order */
    bool copy_active;           /* between PGRES_COPY_IN and a successful PQputCopyEnd */
    size_t copy_off;
    bool want_write;
};

struct srv_db {
    uv_loop_t *loop;
    srv_db_config cfg;
    char *conninfo;
    struct conn *conns;
    struct def defs[DB_MAX_DEFS];
    unsigned ndefs;
    srv_db_job *queue_head, *queue_tail;
    size_t queued;
    srv_db_job *deferred_head, *deferred_tail;
    uv_idle_t kick;             /* dispatch and deferred completions, at the next turn of the loop */
    uv_timer_t sweep;           /* fails jobs that waited too long while no connection is up */
    unsigned handles_open;
    bool closing;
    srv_db_stats stats;
};

static void conn_connect(struct conn *c);
static void conn_lost(struct conn *c, const char *why);
static void conn_drain(struct conn *c);
static void db_kick(srv_db *db);

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static void list_push(srv_db_job **head, srv_db_job **tail, srv_db_job *job)
{
    job->next = NULL;
    job->prev = *tail;
    if (*tail != NULL)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void list_remove(srv_db_job **head, srv_db_job **tail, srv_db_job *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        *head = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    else
        *tail = job->prev;
    job->next = job->prev = NULL;
}

/* ---- errors ---- */

zd_err srv_db_err_from_sqlstate(const char *s)
{
    if (s == NULL || strlen(s) != 5)
        return ZD_EINTERNAL;
    if (strcmp(s, "23505") == 0 || strcmp(s, "23P01") == 0)
        return ZD_ECONFLICT;
    if (strcmp(s, "42501") == 0)
        return ZD_EFORBIDDEN;       /* insufficient privilege, also "new row violates row-level security" */
    if (strncmp(s, "23", 2) == 0)
        return ZD_EINVALID_ARGUMENT; /* check, not-null, foreign key, restrict */
    if (strncmp(s, "22", 2) == 0)
        return ZD_EINVALID_ARGUMENT; /* data exceptions: bad date, number out of range, bad COPY row */
    if (strcmp(s, "P0001") == 0)
        return ZD_EINVALID_ARGUMENT; /* RAISE EXCEPTION from a rule kept in SQL */
    if (strcmp(s, "P0002") == 0)
        return ZD_ENOT_FOUND;
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0 || strcmp(s, "57P01") == 0 ||
        strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0 || strcmp(s, "57014") == 0 ||
        strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return ZD_EUNAVAILABLE;     /* retrying later can succeed */
    return ZD_EINTERNAL;
}

zd_err srv_db_err_from_result(const PGresult *res, const PGconn *conn)
{
    if (res != NULL) {
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
        case PGRES_COPY_IN:
        case PGRES_PIPELINE_SYNC:
        case PGRES_SINGLE_TUPLE:
            return ZD_OK;
        default:
            break;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state != NULL && state[0] != '\0')
            return srv_db_err_from_sqlstate(state);
    }
    if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
        return ZD_EUNAVAILABLE;
    return ZD_EINTERNAL;
}

/* ---- jobs ---- */

static void stmt_finish(struct stmt *st)
{
    free(st->sql);
    for (int i = 0; i < st->nparams; i++)
        free(st->params[i]);
    free(st->params);
    free(st->copy_data);
    PQclear(st->res);
}

static void job_free(srv_db_job *job)
{
    for (size_t i = 0; i < job->nstmts; i++)
        stmt_finish(&job->stmts[i]);
    free(job->stmts);
    free(job->message);
    free(job->field);
    free(job);
}

/* Records the first failure of a job; later ones (aborted statements, a lost connection) keep it. */
static void job_fail(srv_db_job *job, zd_err code, const char *message, const char *sqlstate,
                     const char *field, int index)
{
    if (job->failed)
        return;
    job->failed = true;
    job->status = code;
    free(job->message);
    job->message = dup_str(message != NULL ? message : zd_err_text(code));
    if (sqlstate != NULL)
        snprintf(job->sqlstate, sizeof job->sqlstate, "%s", sqlstate);
    free(job->field);
    job->field = field != NULL ? dup_str(field) : NULL;
    job->failed_index = index;
}

static void job_fail_from_result(srv_db_job *job, const PGresult *res, const PGconn *pg, int index)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *field = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (field == NULL)
        field = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    char fallback[256];
    if (msg == NULL) {
        /* Connection-level failures carry their text in the connection, not in a message field. */
        snprintf(fallback, sizeof fallback, "%s", pg != NULL ? PQerrorMessage(pg) : "");
        size_t n = strlen(fallback);
        while (n > 0 && (fallback[n - 1] == '\n' || fallback[n - 1] == ' '))
            fallback[--n] = '\0';
        msg = n > 0 ? fallback : NULL;
    }
    job_fail(job, srv_db_err_from_result(res, pg), msg, PQresultErrorField(res, PG_DIAG_SQLSTATE), field,
             index);
}

/* Runs the callback, then releases the owner and frees the job. Success only if COMMIT came back. */
static void job_complete(srv_db_job *job)
{
    srv_db *db = job->db;
    if (!job->failed && !job->committed)
        job_fail(job, ZD_EINTERNAL, "the transaction ended without a commit", NULL, NULL, -1);
    if (job->failed) {
        /* Results of a failed job are never shown: they describe work that was rolled back. */
        for (size_t i = 0; i < job->nstmts; i++) {
            PQclear(job->stmts[i].res);
            job->stmts[i].res = NULL;
        }
        db->stats.jobs_failed++;
        if (job->status == ZD_EOVERLOADED)
            db->stats.jobs_overloaded++;
    } else {
        db->stats.jobs_done++;
    }
    job->state = JOB_DONE;
    job->done(job, job->data);
    if (job->unref != NULL)
        job->unref(job->data);
    job_free(job);
}

srv_db_job *srv_db_job_create(srv_db *db, srv_db_done_fn done, void *data)
{
    if (db == NULL || done == NULL)
        return NULL;
    srv_db_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return NULL;
    job->db = db;
    job->done = done;
    job->data = data;
    job->status = ZD_OK;
    job->failed_index = -1;
    return job;
}

void srv_db_job_hold(srv_db_job *job, void (*ref)(void *data), void (*unref)(void *data))
{
    if (ref != NULL)
        ref(job->data);
    job->unref = unref;
}

static struct stmt *job_stmt_new(srv_db_job *job)
{
    if (job->failed)
        return NULL;
    if (job->nstmts == job->cap) {
        size_t cap = job->cap ? job->cap * 2 : 4;
        struct stmt *p = realloc(job->stmts, cap * sizeof *p);
        if (p == NULL) {
            job_fail(job, ZD_EOVERLOADED, "the server is out of memory", NULL, NULL, -1);
            return NULL;
        }
        job->stmts = p;
        job->cap = cap;
    }
    struct stmt *st = &job->stmts[job->nstmts];
    memset(st, 0, sizeof *st);
    return st;
}

static zd_err stmt_copy_params(srv_db_job *job, struct stmt *st, int nparams, const char *const *params)
{
    /* The protocol counts parameters in 16 bits; more would break the connection, not just the job. */
    if (nparams < 0 || nparams > 65535 || (nparams > 0 && params == NULL)) {
        job_fail(job, ZD_EINVALID_ARGUMENT, "bad statement parameters", NULL, NULL, (int)job->nstmts);
        return ZD_EINVALID_ARGUMENT;
    }
    if (nparams == 0)
        return ZD_OK;
    st->params = calloc((size_t)nparams, sizeof *st->params);
    if (st->params == NULL)
        goto oom;
    st->nparams = nparams;
    for (int i = 0; i < nparams; i++) {
        if (params[i] == NULL)
            continue;
        st->params[i] = dup_str(params[i]);
        if (st->params[i] == NULL)
            goto oom;
    }
    return ZD_OK;
oom:
    job_fail(job, ZD_EOVERLOADED, "the server is out of memory", NULL, NULL, -1);
    return ZD_EOVERLOADED;
}

static zd_err job_append(srv_db_job *job, enum stmt_kind kind, const char *sql, int def, int nparams,
                         const char *const *params, const void *data, size_t len)
{
    struct stmt *st = job_stmt_new(job);
    if (st == NULL)
        return job->status;
    st->kind = kind;
    st->def = def;
    if (sql != NULL && (st->sql = dup_str(sql)) == NULL)
        goto oom;
    if (kind == STMT_COPY && len > 0) {
        st->copy_data = malloc(len);
        if (st->copy_data == NULL)
            goto oom;
        memcpy(st->copy_data, data, len);
        st->copy_len = len;
    }
    zd_err err = stmt_copy_params(job, st, nparams, params);
    if (err != ZD_OK) {
        stmt_finish(st);
        return err;
    }
    if (kind == STMT_COPY)
        job->has_copy = true;
    job->nstmts++;
    return ZD_OK;
oom:
    stmt_finish(st);
    job_fail(job, ZD_EOVERLOADED, "the server is out of memory", NULL, NULL, -1);
    return ZD_EOVERLOADED;
}

zd_err srv_db_job_add_sql(srv_db_job *job, const char *sql, int nparams, const char *const *params)
{
    if (job->failed)
        return job->status;
    if (sql == NULL) {
        job_fail(job, ZD_EINVALID_ARGUMENT, "no SQL text", NULL, NULL, (int)job->nstmts);
        return ZD_EINVALID_ARGUMENT;
    }
    return job_append(job, STMT_SQL, sql, -1, nparams, params, NULL, 0);
}

zd_err srv_db_job_add_scope(srv_db_job *job, const char *sql, srv_db_scope_fn fn, void *arg)
{
    if (job->failed)
        return job->status;
    if (sql == NULL || fn == NULL) {
        job_fail(job, ZD_EINVALID_ARGUMENT, "no scope statement or token maker", NULL, NULL, (int)job->nstmts);
        return ZD_EINVALID_ARGUMENT;
    }
    const char *none[] = {NULL};
    zd_err err = job_append(job, STMT_SQL, sql, -1, 1, none, NULL, 0);
    if (err == ZD_OK) {
        job->stmts[job->nstmts - 1].scope_fn = fn;
        job->stmts[job->nstmts - 1].scope_arg = arg;
    }
    return err;
}

/* Fills the scope parameters of a job for the connection it is about to run on. */
static bool job_bind(srv_db_job *job, PGconn *pg)
{
    for (size_t i = 0; i < job->nstmts; i++) {
        struct stmt *st = &job->stmts[i];
        if (st->scope_fn == NULL)
            continue;
        char value[SRV_DB_SCOPE_MAX];
        value[0] = '\0';
        if (st->scope_fn(st->scope_arg, PQbackendPID(pg), value, sizeof value) != 0) {
            job_fail(job, ZD_EINTERNAL, "the scope of the transaction could not be made", NULL, NULL, (int)i);
            return false;
        }
        value[sizeof value - 1] = '\0';
        char *p = dup_str(value);
        if (p == NULL) {
            job_fail(job, ZD_EOVERLOADED, "the server is out of memory", NULL, NULL, -1);
            return false;
        }
        free(st->params[0]);
        st->params[0] = p;
    }
    return true;
}

zd_err srv_db_job_add_prepared(srv_db_job *job, const char *name, int nparams, const char *const *params)
{
    if (job->failed)
        return job->status;
    srv_db *db = job->db;
    for (unsigned d = 0; name != NULL && d < db->ndefs; d++) {
        if (strcmp(db->defs[d].name, name) == 0)
            return job_append(job, STMT_PREPARED, NULL, (int)d, nparams, params, NULL, 0);
    }
    job_fail(job, ZD_EINVALID_ARGUMENT, "no statement of that name is defined", NULL, NULL,
             (int)job->nstmts);
    return ZD_EINVALID_ARGUMENT;
}

zd_err srv_db_job_add_copy(srv_db_job *job, const char *copy_sql, const void *data, size_t len)
{
    if (job->failed)
        return job->status;
    if (copy_sql == NULL || (len > 0 && data == NULL)) {
        job_fail(job, ZD_EINVALID_ARGUMENT, "no COPY statement or data", NULL, NULL, (int)job->nstmts);
        return ZD_EINVALID_ARGUMENT;
    }
    return job_append(job, STMT_COPY, copy_sql, -1, 0, NULL, data, len);
}

void srv_db_job_destroy(srv_db_job *job)
{
    if (job == NULL)
        return;
    if (job->unref != NULL)
        job->unref(job->data);
    job_free(job);
}

static void job_defer(srv_db_job *job)
{
    srv_db *db = job->db;
    job->state = JOB_QUEUED; /* not in the queue, but not yet done either */
    list_push(&db->deferred_head, &db->deferred_tail, job);
    db_kick(db);
}

void srv_db_job_submit(srv_db_job *job)
{
    srv_db *db = job->db;
    if (db->closing) {
        job_fail(job, ZD_EUNAVAILABLE, "the database pool is shutting down", NULL, NULL, -1);
        job_complete(job);
        return;
    }
    if (!job->failed && job->nstmts == 0)
        job_fail(job, ZD_EINVALID_ARGUMENT, "a job without statements", NULL, NULL, -1);
    if (!job->failed && db->queued >= db->cfg.queue_max)
        job_fail(job, ZD_EOVERLOADED, NULL, NULL, NULL, -1);
    if (job->failed) {
        job_defer(job);
        return;
    }
    job->state = JOB_QUEUED;
    job->queued_at = uv_now(db->loop);
    list_push(&db->queue_head, &db->queue_tail, job);
    db->queued++;
    db_kick(db);
}

zd_err srv_db_job_status(const srv_db_job *job)
{
    return job->status;
}

const char *srv_db_job_message(const srv_db_job *job)
{
    return job->message != NULL ? job->message : "";
}

const char *srv_db_job_sqlstate(const srv_db_job *job)
{
    return job->sqlstate;
}

const char *srv_db_job_field(const srv_db_job *job)
{
    return job->field != NULL ? job->field : "";
}

int srv_db_job_failed_index(const srv_db_job *job)
{
    return job->failed_index;
}

size_t srv_db_job_count(const srv_db_job *job)
{
    return job->nstmts;
}

const PGresult *srv_db_job_result(const srv_db_job *job, size_t i)
{
    if (i >= job->nstmts || job->failed)
        return NULL;
    return job->stmts[i].res;
}

PGresult *srv_db_job_result_take(srv_db_job *job, size_t i)
{
    if (i >= job->nstmts || job->failed)
        return NULL;
    PGresult *res = job->stmts[i].res;
    job->stmts[i].res = NULL;
    return res;
}

int srv_db_job_rows(const srv_db_job *job, size_t i)
{
    const PGresult *res = srv_db_job_result(job, i);
    return res != NULL ? PQntuples(res) : 0;
}

const char *srv_db_job_value(const srv_db_job *job, size_t i, int row, int col)
{
    const PGresult *res = srv_db_job_result(job, i);
    if (res == NULL || row < 0 || col < 0 || row >= PQntuples(res) || col >= PQnfields(res))
        return NULL;
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

const char *srv_db_job_tag(const srv_db_job *job, size_t i)
{
    const PGresult *res = srv_db_job_result(job, i);
    return res != NULL ? PQcmdStatus((PGresult *)res) : "";
}

uint64_t srv_db_job_affected(const srv_db_job *job, size_t i)
{
    const PGresult *res = srv_db_job_result(job, i);
    if (res == NULL)
        return 0;
    const char *n = PQcmdTuples((PGresult *)res);
    if (n == NULL || n[0] == '\0')
        return 0;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(n, &end, 10);
    if (errno != 0 || end == n)
        return 0;
    return (uint64_t)v;
}

/* ---- connections: watching the socket ---- */

static void watch_closed(uv_handle_t *h)
{
    free(h->data);
}

static void watch_drop(struct conn *c)
{
    if (c->watch == NULL)
        return;
    /* uv_poll_stop removes the fd from epoll at once, so libpq may close the socket right after. */
    uv_poll_stop(&c->watch->poll);
    c->watch->poll.data = c->watch;
    uv_close((uv_handle_t *)&c->watch->poll, watch_closed);
    c->watch = NULL;
    c->fd = -1;
    c->events = 0;
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watches libpq's current socket for `events`, following a socket change. Returns false on failure (the
 * caller treats the connection as lost). */
static bool watch_set(struct conn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return false;
    if (c->watch != NULL && c->fd != fd)
        watch_drop(c);
    if (c->watch == NULL) {
        struct watch *w = malloc(sizeof *w);
        if (w == NULL)
            return false;
        w->conn = c;
        if (uv_poll_init_socket(c->db->loop, &w->poll, fd) != 0) {
            free(w);
            return false;
        }
        w->poll.data = w;
        c->watch = w;
        c->fd = fd;
        c->events = 0;
    }
    if (events != c->events) {
        if (uv_poll_start(&c->watch->poll, events, on_poll) != 0)
            return false;
        c->events = events;
    }
    return true;
}

/* Reading is always watched on a live connection, so a killed backend is noticed even when idle. */
static bool watch_update(struct conn *c)
{
    return watch_set(c, UV_READABLE | (c->want_write ? UV_WRITABLE : 0));
}

static bool conn_flush(struct conn *c)
{
    int r = PQflush(c->pg);
    if (r < 0)
        return false;
    c->want_write = r == 1;
    return true;
}

/* ---- connections: connecting and reconnecting ---- */

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->state == CONN_DOWN)
        conn_connect(c);
    else if (c->state == CONN_CONNECTING)
        conn_lost(c, "connecting to the database took too long");
}

static void ignore_notice(void *arg, const char *message)
{
    /* The ROLLBACK before each pipelined job warns when no transaction is open; that is expected. */
    (void)arg;
    (void)message;
}

static void conn_up(struct conn *c)
{
    if (PQsetnonblocking(c->pg, 1) != 0) {
        conn_lost(c, "could not make the database connection non-blocking");
        return;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    uv_timer_stop(&c->timer);
    c->state = CONN_IDLE;
    c->want_write = false;
    memset(c->prep, PREP_NONE, DB_MAX_DEFS);
    c->db->stats.conns_up++;
    srv_log(SRV_LOG_INFO, "db_conn_up", "conn=%u up=%u of=%u", (unsigned)(c - c->db->conns),
            c->db->stats.conns_up, c->db->cfg.pool_size);
    if (!watch_update(c)) {
        conn_lost(c, "could not watch the database socket");
        return;
    }
    db_kick(c->db);
}

static void conn_connect_step(struct conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (!watch_set(c, UV_READABLE))
            conn_lost(c, "could not watch the database socket");
        return;
    case PGRES_POLLING_WRITING:
        if (!watch_set(c, UV_WRITABLE))
            conn_lost(c, "could not watch the database socket");
        return;
    case PGRES_POLLING_OK:
        conn_up(c);
        return;
    default:
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
}

static void conn_connect(struct conn *c)
{
    c->pg = PQconnectStart(c->db->conninfo);
    if (c->pg == NULL) {
        conn_lost(c, "out of memory");
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    c->state = CONN_CONNECTING;
    uv_timer_start(&c->timer, on_timer, c->db->cfg.connect_timeout_ms, 0);
    /* libpq's contract: before the first PQconnectPoll, behave as if it had asked to write. */
    if (!watch_set(c, UV_WRITABLE))
        conn_lost(c, "could not watch the database socket");
}

/* Ends the batch on a connection that broke: a job whose COMMIT came back succeeded, every other one
 * fails (UNAVAILABLE unless it had already failed for a reason of its own). Then schedules a reconnect. */
static void conn_lost(struct conn *c, const char *why)
{
    srv_db *db = c->db;
    srv_db_job **batch = c->batch;
    size_t nbatch = c->nbatch, first = c->ndone;
    bool was_up = c->state == CONN_IDLE || c->state == CONN_BUSY;

    /* `why` often points into the PGconn (PQerrorMessage), so it is copied before PQfinish. libpq messages
     * end in newlines; the sentence stays on one line. */
    char reason[200];
    snprintf(reason, sizeof reason, "%s", why != NULL ? why : "");
    size_t n = 0;
    for (size_t i = 0; reason[i] != '\0'; i++) {
        char ch = (unsigned char)reason[i] < 0x20 ? ' ' : reason[i];
        if (ch != ' ' || (n > 0 && reason[n - 1] != ' '))
            reason[n++] = ch;
    }
    while (n > 0 && reason[n - 1] == ' ')
        n--;
    reason[n] = '\0';
    char msg[256];
    snprintf(msg, sizeof msg, "the connection to the database was lost (%s)", reason);

    c->batch = NULL;
    c->nbatch = c->ndone = 0;
    free(c->ops);
    c->ops = NULL;
    c->nops = c->opcap = c->head = 0;
    c->copy_active = false;
    c->want_write = false;
    c->pipeline = false;
    watch_drop(c);
    PQfinish(c->pg);
    c->pg = NULL;
    c->state = CONN_DOWN;
    if (was_up)
        db->stats.conns_up--;
    db->stats.conns_lost++;
    db->stats.running -= nbatch - first;

    if (!db->closing) {
        /* The first retry after a healthy connection broke is immediate (PostgreSQL may be back at once);
         * then the delay doubles. It resets only after a batch succeeded, so a server that accepts and
         * then drops connections is not hammered. */
        uint64_t delay = c->backoff_ms;
        c->backoff_ms = c->backoff_ms == 0 ? db->cfg.backoff_min_ms : c->backoff_ms * 2;
        if (c->backoff_ms > db->cfg.backoff_max_ms)
            c->backoff_ms = db->cfg.backoff_max_ms;
        uv_timer_start(&c->timer, on_timer, delay, 0);
        char q[220];
        /* A lost working connection is news; a failed attempt while PostgreSQL is away is not. */
        srv_log(was_up ? SRV_LOG_WARN : SRV_LOG_DEBUG, was_up ? "db_conn_lost" : "db_connect_failed",
                "conn=%u jobs=%zu retry_ms=%" PRIu64 " reason=%s", (unsigned)(c - db->conns), nbatch - first,
                delay, srv_log_quote(q, sizeof q, reason));
    }

    for (size_t i = first; i < nbatch; i++) {
        srv_db_job *job = batch[i];
        if (!job->committed)
            job_fail(job, ZD_EUNAVAILABLE, msg, NULL, NULL, -1);
        job_complete(job);
    }
    free(batch);
    if (!db->closing)
        db_kick(db);
}

/* ---- batches ---- */

static bool ops_push(struct conn *c, enum op_kind kind, unsigned index, srv_db_job *job)
{
    if (c->nops == c->opcap) {
        size_t cap = c->opcap ? c->opcap * 2 : 16;
        struct op *p = realloc(c->ops, cap * sizeof *p);
        if (p == NULL)
            return false;
        c->ops = p;
        c->opcap = cap;
    }
    c->ops[c->nops++] = (struct op){.kind = kind, .index = index, .job = job};
    return true;
}

static bool op_send(struct conn *c, const struct op *op)
{
    PGconn *pg = c->pg;
    srv_db *db = c->db;
    switch (op->kind) {
    case OP_PREPARE:
        return PQsendPrepare(pg, db->defs[op->index].name, db->defs[op->index].sql, 0, NULL) == 1;
    case OP_ROLLBACK:
        return PQsendQueryParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) == 1;
    case OP_BEGIN:
        return PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
    case OP_COMMIT:
        return PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
    case OP_SYNC:
        return PQpipelineSync(pg) == 1;
    case OP_STMT: {
        const struct stmt *st = &op->job->stmts[op->index];
        const char *const *params = (const char *const *)st->params;
        if (st->kind == STMT_PREPARED)
            return PQsendQueryPrepared(pg, db->defs[st->def].name, st->nparams, params, NULL, NULL, 0) == 1;
        if (st->kind == STMT_COPY)
            return PQsendQuery(pg, st->sql) == 1; /* simple protocol: the plainest path into COPY IN */
        return PQsendQueryParams(pg, st->sql, st->nparams, NULL, params, NULL, NULL, 0) == 1;
    }
    }
    return false;
}

/* Builds the operation list of a batch and sends it (all of it in a pipeline, the first operation
 * otherwise). On failure the connection is treated as lost, which completes the batch's jobs. */
static void conn_start(struct conn *c, srv_db_job **batch, size_t nbatch, bool pipeline)
{
    srv_db *db = c->db;
    c->batch = batch;
    c->nbatch = nbatch;
    c->ndone = 0;
    c->pipeline = pipeline;
    c->head = c->nops = 0;
    c->state = CONN_BUSY;
    db->stats.running += nbatch;
    db->stats.batches++;
    if (nbatch > db->stats.batch_largest)
        db->stats.batch_largest = (unsigned)nbatch;

    bool ok = true;
    size_t nprep = 0;
    for (size_t j = 0; j < nbatch && ok; j++) {
        srv_db_job *job = batch[j];
        job->state = JOB_RUNNING;
        for (size_t i = 0; i < job->nstmts && ok; i++) {
            const struct stmt *st = &job->stmts[i];
            if (st->kind == STMT_PREPARED && c->prep[st->def] == PREP_NONE) {
                ok = ops_push(c, OP_PREPARE, (unsigned)st->def, NULL);
                c->prep[st->def] = PREP_PENDING;
                nprep++;
            }
        }
    }
    if (ok && nprep > 0 && pipeline)
        ok = ops_push(c, OP_SYNC, 0, NULL);
    bool clean = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    for (size_t j = 0; j < nbatch && ok; j++) {
        srv_db_job *job = batch[j];
        if (j > 0 || !clean)
            ok = ops_push(c, OP_ROLLBACK, 0, job);
        ok = ok && ops_push(c, OP_BEGIN, 0, job);
        for (size_t i = 0; i < job->nstmts && ok; i++)
            ok = ops_push(c, OP_STMT, (unsigned)i, job);
        ok = ok && ops_push(c, OP_COMMIT, 0, job);
        if (pipeline)
            ok = ok && ops_push(c, OP_SYNC, 0, job);
    }
    if (!ok) {
        conn_lost(c, "out of memory");
        return;
    }
    if (pipeline) {
        if (PQenterPipelineMode(c->pg) != 1) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        for (size_t k = 0; k < c->nops; k++) {
            if (!op_send(c, &c->ops[k])) {
                conn_lost(c, PQerrorMessage(c->pg));
                return;
            }
        }
    } else if (!op_send(c, &c->ops[0])) {
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    if (!conn_flush(c) || !watch_update(c))
        conn_lost(c, PQerrorMessage(c->pg));
}

static void conn_finish_batch(struct conn *c)
{
    srv_db *db = c->db;
    srv_db_job **batch = c->batch;
    size_t nbatch = c->nbatch, first = c->ndone;
    if (c->pipeline && PQexitPipelineMode(c->pg) != 1) {
        conn_lost(c, PQerrorMessage(c->pg));
        return;
    }
    c->batch = NULL;
    c->nbatch = c->ndone = 0;
    c->nops = c->head = 0;
    c->pipeline = false;
    c->state = CONN_IDLE;
    c->backoff_ms = 0;
    db->stats.running -= nbatch - first;
    /* In a pipeline each job completed at its Sync; a job outside one completes here. */
    for (size_t i = first; i < nbatch; i++)
        job_complete(batch[i]);
    free(batch);
    db_kick(db);
}

/* Outside pipeline mode a failed job skips its remaining operations and ends with a ROLLBACK. */
static void conn_seq_abort(struct conn *c)
{
    c->nops = c->head + 1;
    srv_db_job *job = c->ops[c->head].job;
    if (!ops_push(c, OP_ROLLBACK, 0, job))
        c->nops = c->head + 1; /* no room: the next batch starts with a ROLLBACK anyway (not idle) */
}

static bool conn_copy_push(struct conn *c)
{
    const struct op *op = &c->ops[c->head];
    const struct stmt *st = &op->job->stmts[op->index];
    while (c->copy_off < st->copy_len) {
        size_t n = st->copy_len - c->copy_off;
        if (n > DB_COPY_CHUNK)
            n = DB_COPY_CHUNK;
        int r = PQputCopyData(c->pg, st->copy_data + c->copy_off, (int)n);
        if (r < 0)
            return false;
        if (r == 0) {
            c->want_write = true; /* libpq's buffer is full: continue when the socket drains */
            return true;
        }
        c->copy_off += n;
    }
    int r = PQputCopyEnd(c->pg, NULL);
    if (r < 0)
        return false;
    if (r == 1)
        c->copy_active = false;
    else
        c->want_write = true;
    return true;
}

/* One result for the head operation. */
static void conn_result(struct conn *c, struct op *op, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    srv_db_job *job = op->job;
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    op->got_result = true;

    switch (op->kind) {
    case OP_PREPARE:
        c->prep[op->index] = st == PGRES_COMMAND_OK ? PREP_READY : PREP_NONE;
        break;
    case OP_SYNC:
        break;
    case OP_ROLLBACK:
        if (job->failed && !c->pipeline)
            break; /* the rollback that ends a failed job outside a pipeline */
        /* fall through */
    case OP_BEGIN:
        if (!ok) {
            if (st == PGRES_PIPELINE_ABORTED)
                job_fail(job, ZD_EINTERNAL, "the transaction was abandoned", NULL, NULL, -1);
            else
                job_fail_from_result(job, res, c->pg, -1);
            if (!c->pipeline)
                conn_seq_abort(c);
        }
        break;
    case OP_STMT:
        if (st == PGRES_COPY_IN && !c->pipeline) {
            c->copy_active = true;
            c->copy_off = 0;
            if (!conn_copy_push(c) || !conn_flush(c)) {
                PQclear(res);
                conn_lost(c, PQerrorMessage(c->pg));
                return;
            }
        } else if (ok && !job->failed) {
            PQclear(job->stmts[op->index].res);
            job->stmts[op->index].res = res;
            return; /* kept */
        } else if (!ok) {
            if (st == PGRES_PIPELINE_ABORTED)
                job_fail(job, ZD_EINTERNAL, "the transaction was abandoned", NULL, NULL, (int)op->index);
            else if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
                job_fail(job, ZD_EINTERNAL, "COPY TO is not supported by the pool", NULL, NULL,
                         (int)op->index);
            else
                job_fail_from_result(job, res, c->pg, (int)op->index);
            if (!c->pipeline)
                conn_seq_abort(c);
        }
        break;
    case OP_COMMIT:
        /* COMMIT of an aborted transaction answers "ROLLBACK" without an error: only "COMMIT" counts. */
        if (st == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0) {
            job->committed = true;
        } else if (st == PGRES_COMMAND_OK) {
            job_fail(job, ZD_EINTERNAL, "the transaction was rolled back", NULL, NULL, -1);
        } else if (st == PGRES_PIPELINE_ABORTED) {
            job_fail(job, ZD_EINTERNAL, "the transaction was abandoned", NULL, NULL, -1);
        } else {
            job_fail_from_result(job, res, c->pg, -1);
        }
        break;
    }
    PQclear(res);
}

/* Moves past the head operation; outside a pipeline, sends the next one. Returns false if the connection
 * was lost while doing so. */
static bool conn_advance(struct conn *c)
{
    struct op *op = &c->ops[c->head];
    c->head++;
    if (op->kind == OP_SYNC && op->job != NULL) {
        /* Jobs reach their Sync in batch order, so the done ones stay a prefix of the batch. */
        c->ndone++;
        c->db->stats.running--;
        job_complete(op->job);
    }
    if (!c->pipeline && c->head < c->nops) {
        if (!op_send(c, &c->ops[c->head]) || !conn_flush(c)) {
            conn_lost(c, PQerrorMessage(c->pg));
            return false;
        }
    }
    return true;
}

/* Reads every result libpq has parsed and hands each to its operation. */
static void conn_drain(struct conn *c)
{
    int spurious = 0;
    while (c->state == CONN_BUSY && c->head < c->nops) {
        if (c->copy_active)
            break; /* results come after PQputCopyEnd */
        if (PQisBusy(c->pg))
            break;
        PGresult *res = PQgetResult(c->pg);
        struct op *op = &c->ops[c->head];
        if (res == NULL) {
            if (!op->got_result) {
                /* A NULL before any result of the head operation carries no news; never spin on it. */
                if (++spurious > 2)
                    break;
                continue;
            }
            if (!conn_advance(c))
                return;
            continue;
        }
        spurious = 0;
        bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        conn_result(c, op, res);
        if (c->state != CONN_BUSY)
            return; /* lost inside */
        /* A Sync's result is not followed by NULL; every other operation's is. */
        if (sync && !conn_advance(c))
            return;
    }
    if (c->state == CONN_BUSY && c->head == c->nops) {
        conn_finish_batch(c);
        return;
    }
    if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_BAD)
        conn_lost(c, PQerrorMessage(c->pg));
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct watch *w = h->data;
    struct conn *c = w->conn;
    if (c->watch != w)
        return; /* a handle being replaced */
    if (c->state == CONN_CONNECTING) {
        conn_connect_step(c);
        return;
    }
    if (status < 0) {
        /* libuv reports a socket error (EPOLLERR) this way; libpq usually knows the story better. */
        if (PQconsumeInput(c->pg) != 1 || PQstatus(c->pg) == CONNECTION_BAD)
            conn_lost(c, PQerrorMessage(c->pg));
        else {
            char why[128];
            snprintf(why, sizeof why, "the socket failed: %s", uv_strerror(status));
            conn_lost(c, why);
        }
        return;
    }
    if (events & UV_WRITABLE) {
        if (c->copy_active && !conn_copy_push(c)) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
        if (!conn_flush(c)) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
    }
    if (events & UV_READABLE) {
        if (PQconsumeInput(c->pg) != 1) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
    }
    if (c->state == CONN_BUSY)
        conn_drain(c);
    else if (c->state == CONN_IDLE) {
        /* An idle connection only hears notices, or its end (a killed backend, a restart). */
        PGresult *res;
        while (!PQisBusy(c->pg) && (res = PQgetResult(c->pg)) != NULL)
            PQclear(res);
        if (PQstatus(c->pg) == CONNECTION_BAD) {
            conn_lost(c, PQerrorMessage(c->pg));
            return;
        }
    }
    if ((c->state == CONN_BUSY || c->state == CONN_IDLE) && !watch_update(c))
        conn_lost(c, "could not watch the database socket");
}

/* ---- the pool ---- */

static void db_dispatch(srv_db *db)
{
    unsigned idle = 0;
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        if (db->conns[i].state == CONN_IDLE)
            idle++;
    for (unsigned i = 0; i < db->cfg.pool_size && db->queue_head != NULL; i++) {
        struct conn *c = &db->conns[i];
        if (c->state != CONN_IDLE)
            continue;
        /* Share the waiting jobs among the idle connections, at most batch_max each. */
        size_t share = (db->queued + idle - 1) / idle;
        if (share > db->cfg.batch_max)
            share = db->cfg.batch_max;
        idle--;
        srv_db_job **batch = malloc(share * sizeof *batch);
        if (batch == NULL)
            return; /* try again at the next kick */
        size_t n = 0;
        bool pipeline = !db->queue_head->has_copy;
        while (n < share && db->queue_head != NULL) {
            srv_db_job *job = db->queue_head;
            if (job->has_copy && n > 0)
                break;
            list_remove(&db->queue_head, &db->queue_tail, job);
            db->queued--;
            bool copy = job->has_copy;
            if (job_bind(job, c->pg))
                batch[n++] = job;
            else
                job_complete(job); /* refused before anything was sent */
            if (copy)
                break;
        }
        if (n == 0) {
            free(batch);
            db_kick(db); /* this connection is still idle; look again at the next turn */
            continue;
        }
        conn_start(c, batch, n, pipeline);
    }
}

static void db_sweep_arm(srv_db *db);

static void on_sweep(uv_timer_t *t)
{
    srv_db *db = t->data;
    if (db->stats.conns_up > 0 || db->queue_head == NULL) {
        uv_timer_stop(&db->sweep);
        return;
    }
    uint64_t now = uv_now(db->loop);
    while (db->queue_head != NULL && db->queue_head->queued_at + db->cfg.wait_ms <= now) {
        srv_db_job *job = db->queue_head;
        list_remove(&db->queue_head, &db->queue_tail, job);
        db->queued--;
        job_fail(job, ZD_EUNAVAILABLE, "no database connection came up in time", NULL, NULL, -1);
        job_complete(job);
    }
    if (db->queue_head == NULL)
        uv_timer_stop(&db->sweep);
}

static void db_sweep_arm(srv_db *db)
{
    if (db->stats.conns_up > 0 || db->queue_head == NULL || uv_is_active((uv_handle_t *)&db->sweep))
        return;
    uint64_t every = db->cfg.wait_ms / 10;
    if (every < 10)
        every = 10;
    if (every > 1000)
        every = 1000;
    uv_timer_start(&db->sweep, on_sweep, every, every);
}

static void on_kick(uv_idle_t *h)
{
    srv_db *db = h->data;
    uv_idle_stop(&db->kick);
    /* Completions first: their callbacks may submit more work for the dispatch below. */
    while (db->deferred_head != NULL) {
        srv_db_job *job = db->deferred_head;
        list_remove(&db->deferred_head, &db->deferred_tail, job);
        job_complete(job);
    }
    db_dispatch(db);
    db_sweep_arm(db);
}

static void db_kick(srv_db *db)
{
    if (!db->closing)
        uv_idle_start(&db->kick, on_kick);
}

srv_db *srv_db_create(uv_loop_t *loop, const srv_db_config *config)
{
    if (loop == NULL || config == NULL || config->conninfo == NULL)
        return NULL;
    srv_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return NULL;
    db->loop = loop;
    db->cfg = *config;
    if (db->cfg.pool_size == 0)
        db->cfg.pool_size = 4;
    if (db->cfg.queue_max == 0)
        db->cfg.queue_max = 1024;
    if (db->cfg.batch_max == 0)
        db->cfg.batch_max = 32;
    if (db->cfg.wait_ms == 0)
        db->cfg.wait_ms = 5000;
    if (db->cfg.connect_timeout_ms == 0)
        db->cfg.connect_timeout_ms = 5000;
    if (db->cfg.backoff_min_ms == 0)
        db->cfg.backoff_min_ms = 100;
    if (db->cfg.backoff_max_ms < db->cfg.backoff_min_ms)
        db->cfg.backoff_max_ms = db->cfg.backoff_min_ms > 5000 ? db->cfg.backoff_min_ms : 5000;
    db->stats.pool_size = db->cfg.pool_size;
    db->conninfo = dup_str(config->conninfo);
    if (db->conninfo == NULL)
        goto fail_conninfo;
    db->cfg.conninfo = db->conninfo;
    db->conns = calloc(db->cfg.pool_size, sizeof *db->conns);
    if (db->conns == NULL)
        goto fail_conns;
    for (unsigned i = 0; i < db->cfg.pool_size; i++) {
        db->conns[i].prep = calloc(DB_MAX_DEFS, 1);
        if (db->conns[i].prep == NULL)
            goto fail_prep;
    }
    /* No failure is possible past this point, so no handle ever needs closing on the error path. */
    uv_idle_init(loop, &db->kick);
    db->kick.data = db;
    uv_timer_init(loop, &db->sweep);
    db->sweep.data = db;
    db->handles_open = 2;
    for (unsigned i = 0; i < db->cfg.pool_size; i++) {
        struct conn *c = &db->conns[i];
        c->db = db;
        c->fd = -1;
        c->state = CONN_DOWN;
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        db->handles_open++;
        conn_connect(c);
    }
    return db;

fail_prep:
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        free(db->conns[i].prep);
    free(db->conns);
fail_conns:
    free(db->conninfo);
fail_conninfo:
    free(db);
    return NULL;
}

zd_err srv_db_statement_define(srv_db *db, const char *name, const char *sql)
{
    if (name == NULL || name[0] == '\0' || sql == NULL || db->ndefs == DB_MAX_DEFS)
        return ZD_EINVALID_ARGUMENT;
    for (unsigned d = 0; d < db->ndefs; d++)
        if (strcmp(db->defs[d].name, name) == 0)
            return ZD_EINVALID_ARGUMENT;
    struct def *def = &db->defs[db->ndefs];
    def->name = dup_str(name);
    def->sql = dup_str(sql);
    if (def->name == NULL || def->sql == NULL) {
        free(def->name);
        free(def->sql);
        def->name = def->sql = NULL;
        return ZD_EOVERLOADED;
    }
    db->ndefs++;
    return ZD_OK;
}

void srv_db_stats_get(const srv_db *db, srv_db_stats *out)
{
    *out = db->stats;
    out->queue_depth = db->queued;
}

static void db_free(srv_db *db)
{
    for (unsigned i = 0; i < db->cfg.pool_size; i++)
        free(db->conns[i].prep);
    free(db->conns);
    for (unsigned d = 0; d < db->ndefs; d++) {
        free(db->defs[d].name);
        free(db->defs[d].sql);
    }
    free(db->conninfo);
    free(db);
}

static void db_handle_closed(uv_handle_t *h)
{
    srv_db *db = h->data;
    if (--db->handles_open == 0)
        db_free(db);
}

void srv_db_destroy(srv_db *db)
{
    if (db == NULL)
        return;
    db->closing = true;
    uv_idle_stop(&db->kick);
    while (db->deferred_head != NULL) {
        srv_db_job *job = db->deferred_head;
        list_remove(&db->deferred_head, &db->deferred_tail, job);
        job_complete(job);
    }
    while (db->queue_head != NULL) {
        srv_db_job *job = db->queue_head;
        list_remove(&db->queue_head, &db->queue_tail, job);
        db->queued--;
        job_fail(job, ZD_EUNAVAILABLE, "the database pool is shutting down", NULL, NULL, -1);
        job_complete(job);
    }
    for (unsigned i = 0; i < db->cfg.pool_size; i++) {
        struct conn *c = &db->conns[i];
        if (c->pg != NULL)
            conn_lost(c, "the pool is shutting down");
        uv_timer_stop(&c->timer);
        c->timer.data = db;
        uv_close((uv_handle_t *)&c->timer, db_handle_closed);
    }
    uv_close((uv_handle_t *)&db->kick, db_handle_closed);
    uv_close((uv_handle_t *)&db->sweep, db_handle_closed);
}
