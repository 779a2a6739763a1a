/* Throughput of server/db against a private PostgreSQL (run under tests/unit/server/with-pg; `meson test
 * --benchmark db-throughput -v`): small insert jobs with and without pipelining, and one large COPY. Prints
 * figures only; speed is measured here, never asserted in tests. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <uv.h>

#include "db.h"

static uv_loop_t loop;
static char conninfo[512];
static int completed, failed;

static void on_done(srv_db_job *job, void *data)
{
    (void)data;
    completed++;
    if (srv_db_job_status(job) != ZD_OK)
        failed++;
}

static int pool_up(srv_db *db)
{
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    return st.conns_up == st.pool_size;
}

static srv_db *pool_new(unsigned size, unsigned batch)
{
    srv_db_config cfg = {.conninfo = conninfo, .pool_size = size, .queue_max = 100000, .batch_max = batch};
    srv_db *db = srv_db_create(&loop, &cfg);
    if (db == NULL)
        abort();
    uint64_t until = uv_hrtime() + 10 * 1000000000ull;
    while (!pool_up(db) && uv_hrtime() < until)
        uv_run(&loop, UV_RUN_ONCE);
    if (!pool_up(db))
        abort();
    return db;
}

static void wait_done(int target)
{
    uint64_t until = uv_hrtime() + 120 * 1000000000ull;
    while (completed < target && uv_hrtime() < until)
        uv_run(&loop, UV_RUN_ONCE);
    if (completed < target)
        abort();
}

static void bench_inserts(const char *label, unsigned size, unsigned batch, int n, int window)
{
    srv_db *db = pool_new(size, batch);
    if (srv_db_statement_define(db, "ins", "INSERT INTO b (id) VALUES ($1)") != ZD_OK)
        abort();
    completed = failed = 0;
    uint64_t t0 = uv_hrtime();
    int submitted = 0;
    while (completed < n) {
        /* Keep `window` jobs in flight, like many sessions at once. */
        while (submitted < n && submitted - completed < window) {
            srv_db_job *job = srv_db_job_create(db, on_done, NULL);
            char id[16];
            snprintf(id, sizeof id, "%d", submitted++);
            const char *scope[] = {"bench"};
            const char *p[] = {id};
            srv_db_job_add_sql(job, "SELECT set_config('zerodrop.scope', $1, true)", 1, scope);
            srv_db_job_add_prepared(job, "ins", 1, p);
            srv_db_job_submit(job);
        }
        uv_run(&loop, UV_RUN_ONCE);
    }
    double s = (double)(uv_hrtime() - t0) / 1e9;
    srv_db_stats st;
    srv_db_stats_get(db, &st);
    printf("%-28s %6d jobs in %.3f s = %8.0f jobs/s (failed %d, %" PRIu64 " pipelines, largest %u)\n", label,
           n, s, n / s, failed, st.batches, st.batch_largest);
    srv_db_destroy(db);
    uv_run(&loop, UV_RUN_NOWAIT);
}

int main(void)
{
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT");
    if (host == NULL || port == NULL)
        return 1;
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=postgres dbname=postgres", host, port);
    uv_loop_init(&loop);
    PGconn *admin = PQconnectdb(conninfo);
    PQclear(PQexec(admin, "CREATE UNLOGGED TABLE b (id int PRIMARY KEY)"));

    const int n = 20000;
    const char *labels[] = {"pool 4, pipeline 32", "pool 4, one job per flight", "pool 1, pipeline 32",
                            "pool 1, one job per flight"};
    unsigned sizes[] = {4, 4, 1, 1}, batches[] = {32, 1, 32, 1};
    for (int v = 0; v < 4; v++) {
        PQclear(PQexec(admin, "TRUNCATE b"));
        bench_inserts(labels[v], sizes[v], batches[v], n, 256);
    }

    /* One COPY of 200,000 rows. */
    PQclear(PQexec(admin, "CREATE UNLOGGED TABLE bc (id int, name text)"));
    size_t cap = 200000 * 24, len = 0;
    char *data = malloc(cap);
    if (data == NULL)
        abort();
    for (int i = 0; i < 200000; i++)
        len += (size_t)snprintf(data + len, cap - len, "%d\tname %d\n", i, i);
    srv_db *db = pool_new(1, 32);
    completed = failed = 0;
    uint64_t t0 = uv_hrtime();
    srv_db_job *job = srv_db_job_create(db, on_done, NULL);
    srv_db_job_add_copy(job, "COPY bc FROM STDIN", data, len);
    srv_db_job_submit(job);
    wait_done(1);
    double s = (double)(uv_hrtime() - t0) / 1e9;
    printf("%-28s %6d rows in %.3f s = %8.0f rows/s (failed %d)\n", "COPY", 200000, s, 200000 / s, failed);
    srv_db_destroy(db);
    uv_run(&loop, UV_RUN_NOWAIT);
    free(data);
    PQfinish(admin);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
