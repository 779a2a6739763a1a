/* server/login against a real private PostgreSQL (run under tests/unit/server/with-pg), migrated by the real
 * migrations, with the real pool and scope tokens: right and wrong password, unknown user, disabled user,
 * wrong institution (hidden by row-level security, or visible and refused), the growing delay counted in
 * refused attempts on a clock the test steps, resuming by session token (same device only), logout, expiry,
 * and a database that is away (UNAVAILABLE, and not held against the user).
 *
 * Setup and checks use a separate blocking libpq connection as the owner: that is the test looking at the
 * database, never the code under test. Every wait on the loop is bounded by a guard timer. */
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
#include "login.h"
#include "migrate.h"
#include "password.h"
#include "scope.h"
#include "token.h"

static uv_loop_t loop;
static char owner_conninfo[512];
static char app_conninfo[512];
static char tmpdir[] = "/tmp/zd-login-test.XXXXXX";
static uint64_t fake_now = 1788000000000ull; /* the server's clock, stepped by the test */

static const srv_password_cost cheap = {.m_kib = 256, .t_cost = 1, .parallelism = 1};
static const char fp_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char fp_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static uint64_t clock_now(void *clock)
{
    (void)clock;
    return fake_now;
}

/* ---- the owner's view ---- */

static void owner_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "setup failed: %s\n%s\n", PQerrorMessage(pg), sql);
        abort();
    }
    PQclear(r);
}

static long long owner_count(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static void add_user(PGconn *pg, const char *name, const char *password, const char *role, const char *level,
                     const char *institution, bool disabled)
{
    char *hash = NULL;
    CHECK_INT_EQ(srv_password_hash(password, strlen(password), &cheap, &hash), ZD_OK);
    const char *column = strcmp(level, "school") == 0     ? "school_id"
                         : strcmp(level, "township") == 0 ? "township_id"
                                                          : "county_id";
    const char *table = strcmp(level, "school") == 0     ? "school"
                        : strcmp(level, "township") == 0 ? "township"
                                                         : "county";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO zd.app_user (username, password_hash, role, level, %s, disabled) "
             "SELECT '%s', '%s', '%s', '%s', id, %s FROM zd.%s WHERE code = '%s'",
             column, name, hash, role, level, disabled ? "true" : "false", table, institution);
    owner_exec(pg, sql);
    free(hash);
}

static void setup_database(void)
{
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT"), *src = getenv("ZD_SRC");
    CHECK(host && port && src);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "psql -X -q -v ON_ERROR_STOP=1 -v db=zerodrop -d postgres -f '%s/sql/bootstrap.sql' >/dev/null",
             src);
    CHECK_INT_EQ(system(cmd), 0);
    snprintf(owner_conninfo, sizeof owner_conninfo, "host=%s port=%s user=zerodrop_owner dbname=zerodrop",
             host, port);
    snprintf(app_conninfo, sizeof app_conninfo, "host=%s port=%s user=zerodrop_app dbname=zerodrop", host,
             port);

    CHECK(mkdtemp(tmpdir) != NULL);
    char key[600], sqldir[600], err[256];
    snprintf(key, sizeof key, "%s/scope.key", tmpdir);
    snprintf(sqldir, sizeof sqldir, "%s/sql", src);
    srv_migrate_result res;
    if (srv_migrate_apply(owner_conninfo, sqldir, key, NULL, &res, err, sizeof err) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        abort();
    }

    PGconn *pg = PQconnectdb(owner_conninfo);
    CHECK(PQstatus(pg) == CONNECTION_OK);
    owner_exec(pg, "INSERT INTO zd.county (code, name) VALUES ('C4301', 'Test County')");
    owner_exec(pg,
               "INSERT INTO zd.township (county_id, code, name) SELECT id, 'T430101', 'East' FROM zd.county");
    owner_exec(pg,
               "INSERT INTO zd.township (county_id, code, name) SELECT id, 'T430102', 'West' FROM zd.county");
    owner_exec(pg, "INSERT INTO zd.school (township_id, code, name) SELECT id, 'S43010101', 'East One' "
                   "FROM zd.township WHERE code = 'T430101'");
    owner_exec(pg, "INSERT INTO zd.school (township_id, code, name) SELECT id, 'S43010102', 'East Two' "
                   "FROM zd.township WHERE code = 'T430101'");
    add_user(pg, "clerk1", "clerk-pass", "clerk", "school", "S43010101", false);
    add_user(pg, "principal1", "principal-pass", "principal", "school", "S43010101", false);
    add_user(pg, "gone", "gone-pass", "clerk", "school", "S43010101", true);
    add_user(pg, "other", "other-pass", "clerk", "school", "S43010102", false);
    add_user(pg, "officer1", "officer-pass", "township_officer", "township", "T430101", false);
    add_user(pg, "admin", "admin-pass", "county_admin", "county", "C4301", false);
    PQfinish(pg);
}

/* ---- bounded waiting ---- */

static bool guard_fired;

static void on_guard(uv_timer_t *t)
{
    (void)t;
    guard_fired = true;
}

static void wait_flag(const bool *flag, uint64_t limit_ms, const char *what)
{
    uv_timer_t guard;
    CHECK_INT_EQ(uv_timer_init(&loop, &guard), 0);
    guard_fired = false;
    uv_timer_start(&guard, on_guard, limit_ms, 0);
    while (!*flag && !guard_fired)
        uv_run(&loop, UV_RUN_ONCE);
    if (!*flag) {
        fprintf(stderr, "timed out after %" PRIu64 " ms waiting for %s\n", limit_ms, what);
        abort();
    }
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- one login ---- */

typedef struct outcome {
    bool done;
    int calls;
    int refs;
    zd_err code;
    char message[192];
    char user[SRV_LOGIN_USER_MAX + 1];
    Zerodrop__V1__Role role;
    uint8_t token[SRV_TOKEN_BYTES];
    int64_t expires_ms;
} outcome;

static void on_ref(void *data)
{
    ((outcome *)data)->refs++;
}

static void on_unref(void *data)
{
    outcome *o = data;
    o->refs--;
    o->done = true; /* after the callback: the attempt has let go of us */
}

static void on_login(void *data, zd_err code, const char *message, const srv_login_outcome *out)
{
    outcome *o = data;
    o->calls++;
    o->code = code;
    snprintf(o->message, sizeof o->message, "%s", message);
    if (code == ZD_OK && out) {
        snprintf(o->user, sizeof o->user, "%s", out->user);
        o->role = out->role;
        memcpy(o->token, out->token, SRV_TOKEN_BYTES);
        o->expires_ms = out->expires_ms;
    }
}

static outcome run_login(srv_login *l, Zerodrop__V1__Level level, const char *institution, const char *fp,
                         const char *user, const char *password, const uint8_t *token)
{
    outcome o;
    memset(&o, 0, sizeof o);
    srv_login_request req = {
        .level = level,
        .institution = institution,
        .fingerprint = fp,
        .user = user,
        .password = password,
        .password_len = password ? strlen(password) : 0,
        .token = token,
        .token_len = token ? SRV_TOKEN_BYTES : 0,
    };
    CHECK_INT_EQ(srv_login_start(l, &req, on_login, &o, on_ref, on_unref), ZD_OK);
    CHECK_INT_EQ(o.calls, 0); /* never from inside start */
    wait_flag(&o.done, 10000, user ? user : "a login");
    CHECK_INT_EQ(o.calls, 1);
    CHECK_INT_EQ(o.refs, 0);
    return o;
}

#define SCHOOL ZERODROP__V1__LEVEL__LEVEL_SCHOOL
#define TOWNSHIP ZERODROP__V1__LEVEL__LEVEL_TOWNSHIP
#define COUNTY ZERODROP__V1__LEVEL__LEVEL_COUNTY

static const char wrong[] = "wrong user name or password";
static const char ended[] = "your session has ended; log in again with your password";
static const char wait1[] = "too many failed logins for this user; try again in 1 s";

static srv_login *make_login(srv_db *db)
{
    unsigned char key[SRV_SCOPE_KEY_MAX];
    size_t keylen = 0;
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/scope.key", tmpdir);
    CHECK_INT_EQ(srv_scope_key_load(path, key, &keylen, err, sizeof err), 0);
    srv_login_config cfg = {
        .loop = &loop,
        .db = db,
        .cost = &cheap,
        .now_ms = clock_now,
        .scope_key = key,
        .scope_key_len = keylen,
    };
    srv_login *l = srv_login_create(&cfg);
    CHECK(l != NULL);
    return l;
}

static void test_passwords(srv_login *l, PGconn *pg)
{
    outcome o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_STR_EQ(o.user, "clerk1");
    CHECK_INT_EQ(o.role, ZERODROP__V1__ROLE__ROLE_CLERK);
    CHECK_INT_EQ(o.expires_ms, (int64_t)(fake_now + SRV_LOGIN_SESSION_TTL_MS));
    /* the database holds the token's SHA-256, never the token */
    char sql[512], hex[2 * SRV_TOKEN_BYTES + 1];
    for (int i = 0; i < SRV_TOKEN_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", o.token[i]);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM zd.app_session a JOIN zd.app_user u ON u.id = a.user_id "
             "WHERE u.username = 'clerk1' AND a.token_sha256 = sha256('\\x%s'::bytea) AND "
             "a.device_fingerprint = '%s' "
             "AND a.expires_at = to_timestamp(%" PRIu64 " / 1000.0) AND a.ended_at IS NULL",
             hex, fp_a, (uint64_t)(fake_now + SRV_LOGIN_SESSION_TTL_MS));
    CHECK_INT_EQ(owner_count(pg, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM zd.app_session WHERE token_sha256 = '\\x%s'::bytea", hex);
    CHECK_INT_EQ(owner_count(pg, sql), 0);

    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "clerk-pas", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, wrong);
    /* unknown: the same answer, after the same work */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "nobody", "clerk-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, wrong);
    /* disabled: refused only after the right password, and said plainly */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "gone", "wrong", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "gone", "gone-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EFORBIDDEN);
    CHECK_STR_EQ(o.message, "this user is disabled; ask the county admin");
    /* another school's user, from this school's device: row-level security hides them */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "other", "other-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, wrong);
    /* a school's user on the township's device: visible, right password, but not from here */
    o = run_login(l, TOWNSHIP, "T430101", fp_b, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EFORBIDDEN);
    CHECK_STR_EQ(o.message,
                 "user clerk1 belongs to school S43010101; log in from a device of that institution");
    o = run_login(l, COUNTY, "C4301", fp_b, "officer1", "officer-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EFORBIDDEN);
    /* the other township cannot see officer1 at all */
    o = run_login(l, TOWNSHIP, "T430102", fp_b, "officer1", "officer-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    o = run_login(l, TOWNSHIP, "T430101", fp_b, "officer1", "officer-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_INT_EQ(o.role, ZERODROP__V1__ROLE__ROLE_TOWNSHIP_OFFICER);
    o = run_login(l, COUNTY, "C4301", fp_b, "admin", "admin-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_INT_EQ(o.role, ZERODROP__V1__ROLE__ROLE_COUNTY_ADMIN);

    /* names that cannot exist, and no password */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "drop table", "x", NULL);
    CHECK_INT_EQ(o.code, ZD_EINVALID_ARGUMENT);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "", NULL);
    CHECK_INT_EQ(o.code, ZD_EINVALID_ARGUMENT);
    o = run_login(l, ZERODROP__V1__LEVEL__LEVEL_UNSPECIFIED, "S43010101", fp_a, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EFORBIDDEN);
}

static void test_growing_delay(srv_login *l)
{
    srv_login_stats before;
    srv_login_stats_get(l, &before);
    int wrong_answers = 0, refused = 0;
    /* ten wrong passwords sent one after the other at the same instant: three reach the check */
    for (int i = 0; i < 10; i++) {
        outcome o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "guess", NULL);
        CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
        if (strcmp(o.message, wrong) == 0)
            wrong_answers++;
        else if (strcmp(o.message, wait1) == 0)
            refused++;
        else
            CHECK_STR_EQ(o.message, "(an expected message)");
    }
    CHECK_INT_EQ(wrong_answers, 3);
    CHECK_INT_EQ(refused, 7);
    /* the right password is refused too while the wait lasts */
    outcome o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "principal-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, wait1);
    /* one second later: one wrong (now 2 s), refused, two seconds later the right one gets in */
    fake_now += 1000;
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "guess", NULL);
    CHECK_STR_EQ(o.message, wrong);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "principal-pass", NULL);
    CHECK_STR_EQ(o.message, "too many failed logins for this user; try again in 2 s");
    fake_now += 2000;
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "principal-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_INT_EQ(o.role, ZERODROP__V1__ROLE__ROLE_PRINCIPAL);
    /* success forgot the failures: two wrong in a row are answered, not refused */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "guess", NULL);
    CHECK_STR_EQ(o.message, wrong);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", "guess", NULL);
    CHECK_STR_EQ(o.message, wrong);
    /* and the throttle is per user: clerk1 is not slowed by principal1 */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(o.code, ZD_OK);

    srv_login_stats after;
    srv_login_stats_get(l, &after);
    CHECK_INT_EQ(after.throttled - before.throttled, 9);
    CHECK_INT_EQ(after.attempts - before.attempts, 17);
    CHECK_INT_EQ(after.succeeded - before.succeeded, 2);
}

static void test_tokens(srv_login *l, PGconn *pg)
{
    outcome first = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(first.code, ZD_OK);

    outcome o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_STR_EQ(o.user, "clerk1");
    CHECK_INT_EQ(o.role, ZERODROP__V1__ROLE__ROLE_CLERK);
    CHECK_MEM_EQ(o.token, first.token, SRV_TOKEN_BYTES);
    CHECK_INT_EQ(o.expires_ms, first.expires_ms);
    /* no user name given: the token says who */
    o = run_login(l, SCHOOL, "S43010101", fp_a, "", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_OK);
    CHECK_STR_EQ(o.user, "clerk1");
    /* another device, another user name, another school: no */
    o = run_login(l, SCHOOL, "S43010101", fp_b, "clerk1", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, ended);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "principal1", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    o = run_login(l, SCHOOL, "S43010102", fp_a, "clerk1", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    uint8_t forged[SRV_TOKEN_BYTES];
    memcpy(forged, first.token, sizeof forged);
    forged[0] ^= 1;
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", NULL, forged);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);

    /* a disabled user's sessions no longer resume */
    outcome officer = run_login(l, TOWNSHIP, "T430101", fp_b, "officer1", "officer-pass", NULL);
    CHECK_INT_EQ(officer.code, ZD_OK);
    owner_exec(pg, "UPDATE zd.app_user SET disabled = true WHERE username = 'officer1'");
    o = run_login(l, TOWNSHIP, "T430101", fp_b, "officer1", NULL, officer.token);
    CHECK_INT_EQ(o.code, ZD_EFORBIDDEN);
    owner_exec(pg, "UPDATE zd.app_user SET disabled = false WHERE username = 'officer1'");

    /* logout on this device ends clerk1's sessions here for good (three so far), not elsewhere */
    outcome elsewhere = run_login(l, SCHOOL, "S43010101", fp_b, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(elsewhere.code, ZD_OK);
    outcome done;
    memset(&done, 0, sizeof done);
    CHECK_INT_EQ(srv_login_end(l, SCHOOL, "S43010101", "clerk1", fp_a, on_login, &done, on_ref, on_unref),
                 ZD_OK);
    wait_flag(&done.done, 10000, "logout");
    CHECK_INT_EQ(done.code, ZD_OK);
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", NULL, first.token);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);
    CHECK_STR_EQ(o.message, ended);
    CHECK_INT_EQ(owner_count(pg, "SELECT count(*) FROM zd.app_session WHERE ended_at IS NOT NULL"), 3);
    o = run_login(l, SCHOOL, "S43010101", fp_b, "clerk1", NULL, elsewhere.token);
    CHECK_INT_EQ(o.code, ZD_OK);

    /* expiry follows the server's clock */
    outcome later = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "clerk-pass", NULL);
    CHECK_INT_EQ(later.code, ZD_OK);
    fake_now += SRV_LOGIN_SESSION_TTL_MS - 1;
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", NULL, later.token);
    CHECK_INT_EQ(o.code, ZD_OK);
    fake_now += 1;
    o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", NULL, later.token);
    CHECK_INT_EQ(o.code, ZD_EUNAUTHENTICATED);

    /* every password login that succeeded left exactly one session row */
    CHECK_INT_EQ(owner_count(pg, "SELECT count(*) FROM zd.app_session"), 9);
}

static void test_database_away(void)
{
    /* A pool that can never connect: the login fails UNAVAILABLE, and is not held against the user. */
    srv_db_config dc = {.conninfo =
                            "host=127.0.0.1 port=1 user=zerodrop_app dbname=zerodrop connect_timeout=1",
                        .pool_size = 1,
                        .wait_ms = 100,
                        .backoff_min_ms = 50,
                        .backoff_max_ms = 100};
    srv_db *db = srv_db_create(&loop, &dc);
    CHECK(db != NULL);
    srv_login *l = make_login(db);
    for (int i = 0; i < 5; i++) {
        outcome o = run_login(l, SCHOOL, "S43010101", fp_a, "clerk1", "guess", NULL);
        CHECK_INT_EQ(o.code, ZD_EUNAVAILABLE);
        CHECK_STR_EQ(o.message, "the county database is not available right now; try again in a moment");
    }
    srv_login_destroy(l);
    srv_db_destroy(db);
    uv_run(&loop, UV_RUN_DEFAULT);
}

int main(void)
{
    CHECK_INT_EQ(uv_loop_init(&loop), 0);
    setup_database();

    srv_db_config dc = {.conninfo = app_conninfo, .pool_size = 2};
    srv_db *db = srv_db_create(&loop, &dc);
    CHECK(db != NULL);
    srv_login *l = make_login(db);
    PGconn *pg = PQconnectdb(owner_conninfo);
    CHECK(PQstatus(pg) == CONNECTION_OK);

    test_passwords(l, pg);
    test_growing_delay(l);
    test_tokens(l, pg);

    PQfinish(pg);
    srv_login_destroy(l);
    srv_db_destroy(db);
    uv_run(&loop, UV_RUN_DEFAULT);

    test_database_away();
    CHECK_INT_EQ(uv_loop_close(&loop), 0);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK_INT_EQ(system(cmd), 0);
    printf("login: ok\n");
    return 0;
}
