/* server/db against a real private PostgreSQL (run under tests/unit/server/with-pg): pipelined jobs complete
 * in order with their own results; a failing statement fails only its job and rolls it back; a full queue
 * refuses with OVERLOADED and recovers; COPY loads 10,000 rows; a job's owner stays alive until its
 * callback; and with backends killed and the cluster restarted under load, every job either committed (its
 * row is there) or failed UNAVAILABLE, and new jobs succeed after the pool reconnects by itself.
 *
 * Setup and verification use a separate blocking libpq connection: that is the test looking at the
 * database, never the pool under test. Every wait on the loop is bounded by a guard timer. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <uv.h>

#include "check.h"
#include "db.h"

static uv_loop_t loop;
static char conninfo[512];
static char admin_conninfo[512];

/* ---- bounded waiting ---- */

static bool guard_fired;

static void on_guard(uv_timer_t *t)
{
    (void)t;
    guard_fired = true;
}

/* Turns the loop until cond(arg) holds; aborts after limit_ms. */
static void spin(bool (*cond)(void *), void *arg, uint64_t limit_ms, const char *what)
{
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    guard_fired = false;
    uv_timer_start(&guard, on_guard, limit_ms, 0);
    while (!cond(arg) && !guard_fired)
        uv_run(&loop, UV_RUN_ONCE);
    if (!cond(arg)) {
        fprintf(stderr, "timed out after %" PRIu64 " ms waiting for %s\n", limit_ms, what);
        abort();
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* Turns the loop until *count reaches target; aborts after limit_ms. */
static void wait_count(int *count, int target, uint64_t limit_ms, const char *what)
{
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    guard_fired = false;
    uv_timer_start(&guard, on_guard, limit_ms, 0);
    while (*count < target && !guard_fired)
        uv_run(&loop, UV_RUN_ONCE);
    if (*count < target) {
        fprintf(stderr, "timed out after %" PRIu64 " ms waiting for %s (%d of %d)\n", limit_ms, what, *count,
                target);
        abort();
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static bool pool_up(void *arg)
{
    srv_db_stats st;
    srv_db_stats_get(arg, &st);
    return st.conns_up == st.pool_size;
}

static srv_db *pool_new(unsigned size, unsigned queue_max, uint64_t wait_ms)
{
    srv_db_config cfg = {
        .conninfo = conninfo,
        .pool_size = size,
        .queue_max = queue_max,
        .wait_ms = wait_ms,
        .backoff_min_ms = 50,
        .backoff_max_ms = 400,
    };
    srv_db *db = srv_db_create(&loop, &cfg);
    CHECK(db != NULL);
    spin(pool_up, db, 10000, "the pool's connections");
    return db;
}

static void pool_free(srv_db *db)
{
    srv_db_destroy(db);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- the test's own view of the database ---- */

static PGconn *admin;

static void admin_connect(void)
{
    for (int i = 0; i < 100; i++) {
        admin = PQconnectdb(admin_conninfo);
        if (PQstatus(admin) == CONNECTION_OK)
            return;
        PQfinish(admin);
        admin = NULL;
        usleep(100 * 1000);
    }
    fprintf(stderr, "cannot connect: %s\n", admin_conninfo);
    abort();
}

static void admin_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(admin));
        abort();
    }
    PQclear(r);
}

/* The single value of a one-row query, copied into buf. */
static const char *admin_value(const char *sql, char *buf, size_t len)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(admin));
        abort();
    }
    snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return buf;
}

/* ---- recording completions ---- */

#define MAX_JOBS 1024

struct outcome {
    int order;          /* completion rank */
    zd_err status;
    char sqlstate[6];
    char field[64];
    char message[200];
    int failed_index;
    char v[4][64];      /* first value of statements 0..3 */
    char tag[4][32];
    uint64_t affected[4];
};

static struct outcome outcomes[MAX_JOBS];
static int completed;

static void on_done(srv_db_job *job, void *data)
{
    int id = (int)(intptr_t)data;
    CHECK(id >= 0 && id < MAX_JOBS);
    struct outcome *o = &outcomes[id];
    o->order = completed++;
    o->status = srv_db_job_status(job);
    snprintf(o->sqlstate, sizeof o->sqlstate, "%s", srv_db_job_sqlstate(job));
    snprintf(o->field, sizeof o->field, "%s", srv_db_job_field(job));
    snprintf(o->message, sizeof o->message, "%s", srv_db_job_message(job));
    o->failed_index = srv_db_job_failed_index(job);
    for (size_t i = 0; i < 4 && i < srv_db_job_count(job); i++) {
        const char *v = srv_db_job_value(job, i, 0, 0);
        snprintf(o->v[i], sizeof o->v[i], "%s", v != NULL ? v : "(null)");
        snprintf(o->tag[i], sizeof o->tag[i], "%s", srv_db_job_tag(job, i));
        o->affected[i] = srv_db_job_affected(job, i);
    }
}

static void reset_outcomes(void)
{
    memset(outcomes, 0, sizeof outcomes);
    for (int i = 0; i < MAX_JOBS; i++)
        outcomes[i].order = -1;
    completed = 0;
}

static const char *const scope_sql = "SELECT set_config('zerodrop.scope', $1, true)";

static srv_db_job *job_new(srv_db *db, int id)
{
    srv_db_job *job = srv_db_job_create(db, on_done, (void *)(intptr_t)id);
    CHECK(job != NULL);
    char scope[32];
    snprintf(scope, sizeof scope, "job-%d", id);
    const char *p[] = {scope};
    CHECK_INT_EQ(srv_db_job_add_sql(job, scope_sql, 1, p), ZD_OK);
    return job;
}

/* A scope bound to the backend, as the real tokens are: "<job id>@<backend pid>". */
static int make_scope(void *arg, int backend_pid, char *out, size_t outlen)
{
    int id = (int)(intptr_t)arg;
    if (id < 0)
        return -1;
    int n = snprintf(out, outlen, "%d@%d", id, backend_pid);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* 'bound' when the scope was made for the backend running the statement, else 'unbound'. */
static const char *const scope_check_sql =
    "SELECT CASE WHEN current_setting('zerodrop.scope') = $1::text || '@' || pg_backend_pid() "
    "THEN 'bound' ELSE 'unbound' END";

/* ---- tests ---- */

static void test_err_mapping(void)
{
    CHECK_INT_EQ(srv_db_err_from_sqlstate("23505"), ZD_ECONFLICT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("23P01"), ZD_ECONFLICT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("42501"), ZD_EFORBIDDEN);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("23514"), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("23502"), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("23503"), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("22007"), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("P0001"), ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("P0002"), ZD_ENOT_FOUND);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("08006"), ZD_EUNAVAILABLE);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("57P01"), ZD_EUNAVAILABLE);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("53300"), ZD_EUNAVAILABLE);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("40001"), ZD_EUNAVAILABLE);
    CHECK_INT_EQ(srv_db_err_from_sqlstate("42P01"), ZD_EINTERNAL);
    CHECK_INT_EQ(srv_db_err_from_sqlstate(""), ZD_EINTERNAL);
    CHECK_INT_EQ(srv_db_err_from_sqlstate(NULL), ZD_EINTERNAL);
    CHECK_INT_EQ(srv_db_err_from_result(NULL, NULL), ZD_EUNAVAILABLE);
}

/* One connection, 100 jobs submitted in one turn: one pipeline of batch_max jobs after another, completions
 * in submission order, each job seeing its own scope and its own rows. */
static void test_pipeline_order(void)
{
    admin_exec("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)");
    srv_db *db = pool_new(1, 1024, 5000);
    CHECK_INT_EQ(srv_db_statement_define(db, "t_get", "SELECT v FROM t WHERE id = $1"), ZD_OK);
    CHECK_INT_EQ(srv_db_statement_define(db, "t_get", "SELECT 1"), ZD_EINVALID_ARGUMENT);
    reset_outcomes();
    const int n = 100;
    for (int i = 0; i < n; i++) {
        srv_db_job *job = job_new(db, i);
        char id[16], v[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(v, sizeof v, "value-%d", i);
        const char *ins[] = {id, v};
        CHECK_INT_EQ(srv_db_job_add_sql(job, "INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id", 2, ins),
                     ZD_OK);
        const char *get[] = {id};
        CHECK_INT_EQ(srv_db_job_add_prepared(job, "t_get", 1, get), ZD_OK);
        CHECK_INT_EQ(srv_db_job_add_sql(job, "SELECT current_setting('zerodrop.scope')", 0, NULL), ZD_OK);
        srv_db_job_submit(job);
    }
    wait_count(&completed, n, 10000, "pipelined jobs");
    for (int i = 0; i < n; i++) {
        struct outcome *o = &outcomes[i];
        char want[32];
        CHECK_INT_EQ(o->status, ZD_OK);
        CHECK_INT_EQ(o->order, i);
        CHECK_INT_EQ(o->failed_index, -1);
        snprintf(want, sizeof want, "%d", i);
        CHECK_STR_EQ(o->v[1], want);
        CHECK_STR_EQ(o->tag[1], "INSERT 0 1");
        CHECK_INT_EQ(o->affected[1], 1);
        snprintf(want, sizeof want, "value-%d", i);
        CHECK_STR_EQ(o->v[2], want);
        snprintf(want, sizeof want, "job-%d", i);
        CHECK_STR_EQ(o->v[3], want);
        CHECK_STR_EQ(o->v[0], want); /* set_config returns the value it set */
    }
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.jobs_done, n);
    CHECK_INT_EQ(st.jobs_failed, 0);
    CHECK_INT_EQ(st.batch_largest, 32);
    CHECK_INT_EQ(st.batches, 4);    /* 32 + 32 + 32 + 4 */
    CHECK_INT_EQ(st.conns_lost, 0);
    CHECK_INT_EQ(st.queue_depth, 0);
    CHECK_INT_EQ(st.running, 0);

    /* The scope was transaction-local: a job that does not set it sees none. */
    reset_outcomes();
    srv_db_job *job = srv_db_job_create(db, on_done, (void *)(intptr_t)0);
    CHECK_INT_EQ(srv_db_job_add_sql(job, "SELECT coalesce(current_setting('zerodrop.scope', true), '')", 0,
                                    NULL),
                 ZD_OK);
    srv_db_job_submit(job);
    wait_count(&completed, 1, 5000, "the unscoped job");
    CHECK_INT_EQ(outcomes[0].status, ZD_OK);
    CHECK_STR_EQ(outcomes[0].v[0], "");
    pool_free(db);

    /* Four connections, 300 jobs: every one committed with its own row. */
    db = pool_new(4, 1024, 5000);
    reset_outcomes();
    for (int i = 0; i < 300; i++) {
        srv_db_job *j = job_new(db, i);
        char id[16];
        snprintf(id, sizeof id, "%d", 1000 + i);
        const char *ins[] = {id, "x"};
        srv_db_job_add_sql(j, "INSERT INTO t (id, v) VALUES ($1, $2) RETURNING id", 2, ins);
        srv_db_job_submit(j);
    }
    wait_count(&completed, 300, 10000, "jobs on four connections");
    for (int i = 0; i < 300; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", 1000 + i);
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
        CHECK_STR_EQ(outcomes[i].v[1], want);
    }
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.jobs_done, 300);
    CHECK(st.batches >= 4); /* spread over the connections */
    char buf[64];
    CHECK_STR_EQ(admin_value("SELECT count(*) FROM t", buf, sizeof buf), "400");
    pool_free(db);
}

/* Ten jobs in one pipeline; four fail in different ways. Each failure rolls back only its own job, names the
 * statement, and maps to its code; the jobs after it in the same pipeline commit. */
static void test_failure_mid_pipeline(void)
{
    admin_exec("CREATE TABLE u (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0))");
    admin_exec("INSERT INTO u VALUES (1000, 0)");
    admin_exec("CREATE ROLE zd_nobody NOLOGIN");
    srv_db *db = pool_new(1, 1024, 5000);
    reset_outcomes();
    for (int i = 0; i < 10; i++) {
        srv_db_job *job = job_new(db, i);
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        const char *p[] = {id, id};
        srv_db_job_add_sql(job, "INSERT INTO u (id, n) VALUES ($1, $2)", 2, p);
        if (i == 3)
            srv_db_job_add_sql(job, "INSERT INTO u (id, n) VALUES (1000, 1)", 0, NULL);
        if (i == 5)
            srv_db_job_add_sql(job, "INSERT INTO u (id, n) VALUES (2000, -1)", 0, NULL);
        if (i == 7) {
            srv_db_job_add_sql(job, "SET LOCAL ROLE zd_nobody", 0, NULL);
            srv_db_job_add_sql(job, "INSERT INTO u (id, n) VALUES (2001, 1)", 0, NULL);
        }
        if (i == 8)
            srv_db_job_add_sql(job, "SELECT * FROM no_such_table", 0, NULL);
        srv_db_job_add_sql(job, "SELECT count(*) FROM u", 0, NULL);
        srv_db_job_submit(job);
    }
    wait_count(&completed, 10, 10000, "jobs with failures");
    for (int i = 0; i < 10; i++)
        CHECK_INT_EQ(outcomes[i].order, i);
    CHECK_INT_EQ(outcomes[3].status, ZD_ECONFLICT);
    CHECK_STR_EQ(outcomes[3].sqlstate, "23505");
    CHECK_STR_EQ(outcomes[3].field, "u_pkey");
    CHECK_INT_EQ(outcomes[3].failed_index, 2);
    CHECK(strstr(outcomes[3].message, "duplicate key") != NULL);
    CHECK_INT_EQ(outcomes[5].status, ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(outcomes[5].sqlstate, "23514");
    CHECK_STR_EQ(outcomes[5].field, "u_n_check");
    CHECK_INT_EQ(outcomes[5].failed_index, 2);
    CHECK_INT_EQ(outcomes[7].status, ZD_EFORBIDDEN);
    CHECK_STR_EQ(outcomes[7].sqlstate, "42501");
    CHECK_INT_EQ(outcomes[7].failed_index, 3);
    CHECK_INT_EQ(outcomes[8].status, ZD_EINTERNAL);
    CHECK_STR_EQ(outcomes[8].sqlstate, "42P01");
    CHECK_INT_EQ(outcomes[8].failed_index, 2);
    CHECK_STR_EQ(outcomes[3].v[0], "(null)"); /* a failed job shows no results */
    /* The good jobs each see the rows committed before them: 1000, then 0..i minus the failed ones. */
    const char *seen[10] = {"2", "3", "4", NULL, "5", NULL, "6", NULL, NULL, "7"};
    for (int i = 0; i < 10; i++) {
        if (seen[i] == NULL)
            continue;
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
        CHECK_STR_EQ(outcomes[i].v[2], seen[i]);
        CHECK_STR_EQ(outcomes[i].sqlstate, "");
        CHECK_STR_EQ(outcomes[i].message, "");
    }
    char buf[128];
    CHECK_STR_EQ(admin_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM u", buf, sizeof buf),
                 "0,1,2,4,6,9,1000");
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.jobs_done, 6);
    CHECK_INT_EQ(st.jobs_failed, 4);
    CHECK_INT_EQ(st.batch_largest, 10);
    CHECK_INT_EQ(st.conns_lost, 0);

    /* A deferred constraint fails at COMMIT: in a pipeline and outside one (a COPY job); the job is not
     * acknowledged, and the next job on the same connection commits. */
    admin_exec("CREATE TABLE d (id int, CONSTRAINT d_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
    reset_outcomes();
    srv_db_job *dj = job_new(db, 0);
    srv_db_job_add_sql(dj, "INSERT INTO d VALUES (1), (1)", 0, NULL);
    srv_db_job_submit(dj);
    dj = job_new(db, 1);
    srv_db_job_add_sql(dj, "INSERT INTO d VALUES (2)", 0, NULL);
    srv_db_job_submit(dj);
    wait_count(&completed, 2, 5000, "jobs with a deferred constraint");
    CHECK_INT_EQ(outcomes[0].status, ZD_ECONFLICT);
    CHECK_STR_EQ(outcomes[0].field, "d_once");
    CHECK_INT_EQ(outcomes[0].failed_index, -1); /* COMMIT, not one of the caller's statements */
    CHECK_INT_EQ(outcomes[1].status, ZD_OK);
    reset_outcomes();
    dj = job_new(db, 0);
    srv_db_job_add_copy(dj, "COPY d FROM STDIN", "3\n3\n", 4);
    srv_db_job_submit(dj);
    dj = job_new(db, 1);
    srv_db_job_add_sql(dj, "INSERT INTO d VALUES (4)", 0, NULL);
    srv_db_job_submit(dj);
    wait_count(&completed, 2, 5000, "a COPY with a deferred constraint");
    CHECK_INT_EQ(outcomes[0].status, ZD_ECONFLICT);
    CHECK_INT_EQ(outcomes[0].failed_index, -1);
    CHECK_INT_EQ(outcomes[1].status, ZD_OK);
    CHECK_STR_EQ(admin_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM d", buf, sizeof buf), "2,4");

    /* Jobs refused before they reach the database. */
    reset_outcomes();
    srv_db_job *job = srv_db_job_create(db, on_done, (void *)(intptr_t)0);
    CHECK_INT_EQ(srv_db_job_add_prepared(job, "no_such_statement", 0, NULL), ZD_EINVALID_ARGUMENT);
    srv_db_job_submit(job);
    srv_db_job_submit(srv_db_job_create(db, on_done, (void *)(intptr_t)1)); /* no statements */
    CHECK_INT_EQ(completed, 0); /* never from inside submit */
    wait_count(&completed, 2, 5000, "refused jobs");
    CHECK_INT_EQ(outcomes[0].status, ZD_EINVALID_ARGUMENT);
    CHECK_INT_EQ(outcomes[1].status, ZD_EINVALID_ARGUMENT);
    pool_free(db);
}

/* A queue of four behind one connection: of 20 jobs submitted in one turn, 4 wait and commit, 16 are
 * refused OVERLOADED; afterwards the pool takes work again. */
static void test_overloaded(void)
{
    admin_exec("CREATE TABLE o (id int PRIMARY KEY)");
    srv_db *db = pool_new(1, 4, 5000);
    reset_outcomes();
    for (int i = 0; i < 20; i++) {
        srv_db_job *job = job_new(db, i);
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        const char *p[] = {id};
        srv_db_job_add_sql(job, "INSERT INTO o VALUES ($1)", 1, p);
        srv_db_job_submit(job);
    }
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.queue_depth, 4);
    wait_count(&completed, 20, 10000, "an overloaded queue");
    for (int i = 0; i < 20; i++) {
        CHECK_INT_EQ(outcomes[i].status, i < 4 ? ZD_OK : ZD_EOVERLOADED);
        if (i >= 4)
            CHECK_STR_EQ(outcomes[i].message, zd_err_text(ZD_EOVERLOADED));
    }
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.jobs_done, 4);
    CHECK_INT_EQ(st.jobs_failed, 16);
    CHECK_INT_EQ(st.jobs_overloaded, 16);
    char buf[64];
    CHECK_STR_EQ(admin_value("SELECT string_agg(id::text, ',' ORDER BY id) FROM o", buf, sizeof buf),
                 "0,1,2,3");

    reset_outcomes();
    for (int i = 0; i < 4; i++) {
        srv_db_job *job = job_new(db, i);
        char id[16];
        snprintf(id, sizeof id, "%d", 100 + i);
        const char *p[] = {id};
        srv_db_job_add_sql(job, "INSERT INTO o VALUES ($1)", 1, p);
        srv_db_job_submit(job);
    }
    wait_count(&completed, 4, 5000, "jobs after the overload");
    for (int i = 0; i < 4; i++)
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
    CHECK_STR_EQ(admin_value("SELECT count(*) FROM o", buf, sizeof buf), "8");
    pool_free(db);
}

/* COPY FROM STDIN of 10,000 rows in one job, beside ordinary jobs on the same pool; a COPY with one bad row
 * loads nothing and leaves the connection fit for the next job. */
static void test_copy(void)
{
    admin_exec("CREATE TABLE c (id int PRIMARY KEY, name text NOT NULL, d date NOT NULL)");
    srv_db *db = pool_new(2, 1024, 5000);
    size_t cap = 10000 * 40, len = 0;
    char *data = malloc(cap);
    CHECK(data != NULL);
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(data + len, cap - len, "%d,\"name %d, the %s\",2026-09-01\n", i, i,
                         i % 2 ? "odd" : "even");
        CHECK(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    reset_outcomes();
    srv_db_job *job = job_new(db, 0);
    CHECK_INT_EQ(srv_db_job_add_copy(job, "COPY c (id, name, d) FROM STDIN (FORMAT csv)", data, len), ZD_OK);
    srv_db_job_add_sql(job, "SELECT count(*)::text || ' ' || sum(id) FROM c", 0, NULL);
    srv_db_job_add_sql(job, "SELECT name FROM c WHERE id = 9999", 0, NULL);
    srv_db_job_submit(job);
    for (int i = 1; i <= 5; i++) {
        srv_db_job *j = job_new(db, i);
        srv_db_job_add_sql(j, "SELECT 41 + 1", 0, NULL);
        srv_db_job_submit(j);
    }
    wait_count(&completed, 6, 20000, "the COPY job");
    CHECK_INT_EQ(outcomes[0].status, ZD_OK);
    CHECK_STR_EQ(outcomes[0].tag[1], "COPY 10000");
    CHECK_INT_EQ(outcomes[0].affected[1], 10000);
    CHECK_STR_EQ(outcomes[0].v[2], "10000 49995000");
    CHECK_STR_EQ(outcomes[0].v[3], "name 9999, the odd");
    for (int i = 1; i <= 5; i++) {
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
        CHECK_STR_EQ(outcomes[i].v[1], "42");
    }

    /* Row 5001 has a month 13: the whole COPY is refused and rolled back. */
    len = 0;
    for (int i = 10000; i < 20000; i++) {
        int n = snprintf(data + len, cap - len, "%d,n,%s\n", i, i == 15000 ? "2026-13-01" : "2026-09-02");
        len += (size_t)n;
    }
    reset_outcomes();
    job = job_new(db, 0);
    srv_db_job_add_copy(job, "COPY c (id, name, d) FROM STDIN (FORMAT csv)", data, len);
    srv_db_job_submit(job);
    wait_count(&completed, 1, 20000, "the bad COPY job");
    CHECK_INT_EQ(outcomes[0].status, ZD_EINVALID_ARGUMENT);
    CHECK_STR_EQ(outcomes[0].sqlstate, "22008");
    CHECK_INT_EQ(outcomes[0].failed_index, 1);
    free(data);
    char buf[64];
    CHECK_STR_EQ(admin_value("SELECT count(*) FROM c", buf, sizeof buf), "10000");

    /* Both connections are clean: two more jobs, one on each (each sees no open transaction). */
    reset_outcomes();
    for (int i = 0; i < 4; i++) {
        srv_db_job *j = job_new(db, i);
        srv_db_job_add_sql(j, "SELECT count(*) FROM c", 0, NULL);
        srv_db_job_submit(j);
    }
    wait_count(&completed, 4, 5000, "jobs after the bad COPY");
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
        CHECK_STR_EQ(outcomes[i].v[1], "10000");
    }
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.conns_lost, 0);
    pool_free(db);
}

/* A session-like owner: the job holds a reference, the owner closes and drops its own while the job runs;
 * the callback finds it closed but alive, and the last unref frees it. Also: destroying the pool completes
 * every pending job with UNAVAILABLE. */
struct session {
    int refs;
    bool closed;
    int seen_closed;
};

static int sessions_freed;

static void session_ref(void *data)
{
    ((struct session *)data)->refs++;
}

static void session_unref(void *data)
{
    struct session *s = data;
    if (--s->refs == 0) {
        free(s);
        sessions_freed++;
    }
}

static int session_done;
static zd_err session_status[8];

static void on_session_job(srv_db_job *job, void *data)
{
    struct session *s = data;
    CHECK(s->refs >= 1);
    if (s->closed)
        s->seen_closed++;
    session_status[session_done++] = srv_db_job_status(job);
}

static void test_owner_reference(void)
{
    srv_db *db = pool_new(1, 16, 5000);
    struct session *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->refs = 1;
    sessions_freed = 0;
    session_done = 0;
    for (int i = 0; i < 3; i++) {
        srv_db_job *job = srv_db_job_create(db, on_session_job, s);
        srv_db_job_hold(job, session_ref, session_unref);
        srv_db_job_add_sql(job, "SELECT pg_sleep(0.01)", 0, NULL);
        srv_db_job_submit(job);
    }
    CHECK_INT_EQ(s->refs, 4);
    s->closed = true; /* the client went away */
    struct session *alias = s;
    session_unref(s);
    s = NULL;
    CHECK_INT_EQ(sessions_freed, 0);
    wait_count(&session_done, 3, 5000, "jobs of a closed session");
    CHECK_INT_EQ(sessions_freed, 1);
    (void)alias;
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(session_status[i], ZD_OK);

    /* Unsubmitted jobs release their owner too. */
    s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->refs = 1;
    srv_db_job *job = srv_db_job_create(db, on_session_job, s);
    srv_db_job_hold(job, session_ref, session_unref);
    srv_db_job_destroy(job);
    srv_db_job_destroy(NULL);
    CHECK_INT_EQ(s->refs, 1);
    session_unref(s);

    /* Pending jobs when the pool goes: each completes UNAVAILABLE, inside destroy. */
    session_done = 0;
    s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    s->refs = 1;
    for (int i = 0; i < 5; i++) {
        job = srv_db_job_create(db, on_session_job, s);
        srv_db_job_hold(job, session_ref, session_unref);
        srv_db_job_add_sql(job, "SELECT 1", 0, NULL);
        srv_db_job_submit(job);
    }
    srv_db_destroy(db);
    CHECK_INT_EQ(session_done, 5);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(session_status[i], ZD_EUNAVAILABLE);
    CHECK_INT_EQ(s->refs, 1);
    session_unref(s);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_run(&loop, UV_RUN_NOWAIT);
    srv_db_destroy(NULL);
}

/* Scopes are made per connection at send time; a job whose scope cannot be made fails before it is sent. */
static void test_scope_binding(void)
{
    srv_db *db = pool_new(3, 64, 5000);
    reset_outcomes();
    for (int i = 0; i < 30; i++) {
        srv_db_job *job = srv_db_job_create(db, on_done, (void *)(intptr_t)i);
        CHECK_INT_EQ(srv_db_job_add_scope(job, scope_sql, make_scope, (void *)(intptr_t)(i == 7 ? -1 : i)),
                     ZD_OK);
        char sid[16];
        snprintf(sid, sizeof sid, "%d", i);
        const char *p[] = {sid};
        srv_db_job_add_sql(job, scope_check_sql, 1, p);
        srv_db_job_submit(job);
    }
    wait_count(&completed, 30, 5000, "scoped jobs");
    for (int i = 0; i < 30; i++) {
        if (i == 7) {
            CHECK_INT_EQ(outcomes[i].status, ZD_EINTERNAL);
            CHECK_INT_EQ(outcomes[i].failed_index, 0);
            CHECK_STR_EQ(outcomes[i].message, "the scope of the transaction could not be made");
            continue;
        }
        if (outcomes[i].status != ZD_OK)
            fprintf(stderr, "scoped job %d: %s %s\n", i, outcomes[i].sqlstate, outcomes[i].message);
        CHECK_INT_EQ(outcomes[i].status, ZD_OK);
        CHECK_STR_EQ(outcomes[i].v[1], "bound");
    }
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.jobs_done, 29);
    CHECK_INT_EQ(st.jobs_failed, 1);
    pool_free(db);
}

/* Nothing listens on the port: queued jobs wait, then fail UNAVAILABLE; the pool keeps retrying. */
static void test_no_database(void)
{
    /* A port that was free a moment ago: bind, read it, close. */
    uv_tcp_t probe;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&loop, &probe);
    CHECK_INT_EQ(uv_tcp_bind(&probe, (const struct sockaddr *)&addr, 0), 0);
    struct sockaddr_storage got;
    int glen = sizeof got;
    CHECK_INT_EQ(uv_tcp_getsockname(&probe, (struct sockaddr *)&got, &glen), 0);
    int port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    uv_close((uv_handle_t *)&probe, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);

    char dead[128];
    snprintf(dead, sizeof dead, "host=127.0.0.1 port=%d user=postgres dbname=postgres", port);
    srv_db_config cfg = {.conninfo = dead, .pool_size = 2, .wait_ms = 300, .backoff_min_ms = 20,
                         .backoff_max_ms = 80};
    srv_db *db = srv_db_create(&loop, &cfg);
    CHECK(db != NULL);
    reset_outcomes();
    for (int i = 0; i < 3; i++) {
        srv_db_job *job = job_new(db, i);
        srv_db_job_submit(job);
    }
    wait_count(&completed, 3, 5000, "jobs without a database");
    for (int i = 0; i < 3; i++) {
        CHECK_INT_EQ(outcomes[i].status, ZD_EUNAVAILABLE);
        CHECK_STR_EQ(outcomes[i].message, "no database connection came up in time");
    }
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    CHECK_INT_EQ(st.conns_up, 0);
    CHECK(st.conns_lost >= 2);
    CHECK_INT_EQ(st.jobs_failed, 3);
    pool_free(db);
}

/* ---- killed backends and a restarted cluster under load ---- */

#define CHAOS_JOBS 600
#define CHAOS_AFTER 20          /* jobs submitted after the restart finished */
#define CHAOS_INFLIGHT 24

static srv_db *chaos_db;
static int chaos_submitted, chaos_limit;
static bool killed, restart_started, restart_done;
static int64_t restart_status = -1;
static uv_process_t restart_proc;

static void chaos_submit(void);

static void on_chaos_done(srv_db_job *job, void *data)
{
    on_done(job, data);
    chaos_submit();
}

static void chaos_one(int id)
{
    srv_db_job *job = srv_db_job_create(chaos_db, on_chaos_done, (void *)(intptr_t)id);
    CHECK(job != NULL);
    char sid[16];
    snprintf(sid, sizeof sid, "%d", id);
    const char *p[] = {sid};
    CHECK_INT_EQ(srv_db_job_add_scope(job, scope_sql, make_scope, (void *)(intptr_t)id), ZD_OK);
    srv_db_job_add_sql(job, "INSERT INTO k (id) VALUES ($1)", 1, p);
    srv_db_job_add_sql(job, scope_check_sql, 1, p);
    srv_db_job_submit(job);
}

static void on_restart_exit(uv_process_t *proc, int64_t status, int signal)
{
    (void)signal;
    restart_status = status;
    restart_done = true;
    uv_close((uv_handle_t *)proc, NULL);
}

static void restart_cluster(void)
{
    const char *pgdata = getenv("PGDATA");
    const char *dir = getenv("ZD_PG_DIR");
    CHECK(pgdata != NULL && dir != NULL);
    char log[512];
    snprintf(log, sizeof log, "%s/restart.log", dir);
    char pg_ctl[] = "/usr/lib/postgresql/15/bin/pg_ctl";
    char *argv_root[] = {"runuser", "-u", "postgres", "--", pg_ctl, "-D", (char *)pgdata, "-l", log,
                         "-w", "-t", "60", "-m", "immediate", "restart", NULL};
    char **argv = getuid() == 0 ? argv_root : argv_root + 4;
    uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
    uv_process_options_t opt = {
        .exit_cb = on_restart_exit,
        .file = argv[0],
        .args = argv,
        .stdio_count = 3,
        .stdio = stdio,
    };
    CHECK_INT_EQ(uv_spawn(&loop, &restart_proc, &opt), 0);
}

/* Keeps CHAOS_INFLIGHT jobs going; kills the pool's backends after 60 completions and restarts the cluster
 * after 200 (the admin connection dies with it and is made again when the restart is done). */
static void chaos_submit(void)
{
    if (!killed && completed >= 60) {
        killed = true;
        admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'zd-db-test'");
    }
    if (killed && !restart_started && completed >= 200) {
        restart_started = true;
        restart_cluster();
    }
    while (chaos_submitted < chaos_limit && chaos_submitted - completed < CHAOS_INFLIGHT)
        chaos_one(chaos_submitted++);
}

static bool restart_finished(void *arg)
{
    (void)arg;
    return restart_done;
}

static void test_kill_and_restart(void)
{
    admin_exec("CREATE TABLE k (id int PRIMARY KEY)");
    chaos_db = pool_new(2, 1024, 15000);
    reset_outcomes();
    chaos_limit = CHAOS_JOBS;
    chaos_submit();
    wait_count(&completed, CHAOS_JOBS, 60000, "jobs under kill and restart");
    spin(restart_finished, NULL, 60000, "pg_ctl restart");
    CHECK_INT_EQ(restart_status, 0);
    PQfinish(admin);
    admin_connect();

    /* After the restart, with nothing restarted by hand: new jobs succeed. */
    chaos_limit = CHAOS_JOBS + CHAOS_AFTER;
    chaos_submit();
    wait_count(&completed, CHAOS_JOBS + CHAOS_AFTER, 30000, "jobs after the restart");
    int ok = 0, unavailable = 0;
    for (int i = 0; i < CHAOS_JOBS + CHAOS_AFTER; i++) {
        if (outcomes[i].status == ZD_OK) {
            CHECK_STR_EQ(outcomes[i].v[2], "bound"); /* the scope named the backend it ran on */
            ok++;
        }
        else {
            if (outcomes[i].status != ZD_EUNAVAILABLE)
                fprintf(stderr, "job %d: %s %s %s\n", i, zd_err_name(outcomes[i].status),
                        outcomes[i].sqlstate, outcomes[i].message);
            CHECK_INT_EQ(outcomes[i].status, ZD_EUNAVAILABLE);
            CHECK(i < CHAOS_JOBS);
            unavailable++;
        }
    }
    /* Every acknowledged job's row is there: nothing acknowledged and lost. */
    PGresult *r = PQexec(admin, "SELECT id FROM k");
    CHECK_INT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    static bool present[CHAOS_JOBS + CHAOS_AFTER];
    for (int i = 0; i < PQntuples(r); i++) {
        long id = strtol(PQgetvalue(r, i, 0), NULL, 10);
        CHECK(id >= 0 && id < CHAOS_JOBS + CHAOS_AFTER);
        present[id] = true;
    }
    int committed_but_unavailable = 0;
    for (int i = 0; i < CHAOS_JOBS + CHAOS_AFTER; i++) {
        if (outcomes[i].status == ZD_OK && !present[i]) {
            fprintf(stderr, "job %d was acknowledged but its row is missing\n", i);
            abort();
        }
        if (outcomes[i].status != ZD_OK && present[i])
            committed_but_unavailable++;
    }
    PQclear(r);
    srv_db_stats st;
    srv_db_stats_get(chaos_db, &st);
    fprintf(stderr, "kill+restart: %d ok, %d unavailable (%d of them committed), %" PRIu64
                    " connections lost, %" PRIu64 " batches\n",
            ok, unavailable, committed_but_unavailable, st.conns_lost, st.batches);
    CHECK_INT_EQ(st.jobs_done, (uint64_t)ok);
    CHECK_INT_EQ(st.jobs_failed, (uint64_t)unavailable);
    CHECK(st.conns_lost >= 4); /* both connections, twice */
    CHECK_INT_EQ(st.conns_up, 2);
    pool_free(chaos_db);
}

int main(void)
{
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
    if (host == NULL || port == NULL) {
        fprintf(stderr, "run me under tests/unit/server/with-pg\n");
        return 1;
    }
    /* synchronous_commit on for the pool: the harness turns it off, and a commit acknowledged to us must
     * survive the immediate restart below. */
    snprintf(conninfo, sizeof conninfo,
             "host=%s port=%s user=postgres dbname=postgres application_name=zd-db-test "
             "options='-c synchronous_commit=on'",
             host, port);
    snprintf(admin_conninfo, sizeof admin_conninfo,
             "host=%s port=%s user=postgres dbname=postgres application_name=zd-db-admin", host, port);
    CHECK_INT_EQ(uv_loop_init(&loop), 0);
    admin_connect();

    test_err_mapping();
    test_pipeline_order();
    test_failure_mid_pipeline();
    test_overloaded();
    test_copy();
    test_owner_reference();
    test_scope_binding();
    test_no_database();
    test_kill_and_restart();

    PQfinish(admin);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);
    printf("db: all tests passed\n");
    return 0;
}
