/* Login over the wire: the real server (in this process) with a private PostgreSQL (run under
 * tests/unit/server/with-pg), real TLS with certificates from deploy/pki, and a scripted client that sends
 * one request at a time. Before Login every request that needs one is UNAUTHENTICATED; a wrong password is
 * UNAUTHENTICATED; the right one gives LoginResult (role, 32-byte token); after it the authorization matrix
 * decides (a clerk may pull the roster, may not add users); Logout ends it; the token of a later login
 * resumes on a new connection of the same device; the township's device refuses the school's clerk.
 * The roster and user-add handlers are stand-ins (srv_server.overrides) that answer when let through. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "migrate.h"
#include "password.h"
#include "server.h"
#include "tpki.h"

static tpki pki;
static uv_loop_t loop;
static srv_server srv;
static srv_config cfg;
static char owner_conninfo[512], app_conninfo[512];

/* ---- database ---- */

static void owner_exec(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "setup failed: %s\n%s\n", PQerrorMessage(pg), sql);
        abort();
    }
    PQclear(r);
}

/* SHA-256 of the certificate's DER, lowercase hex: what the devices table names. */
static void cert_fingerprint(const char *path, char out[65])
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(x != NULL);
    unsigned char md[32];
    unsigned int n = 0;
    CHECK(X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32);
    X509_free(x);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void add_user(PGconn *pg, const char *name, const char *password, const char *role, const char *level,
                     const char *institution)
{
    static const srv_password_cost cheap = {.m_kib = 256, .t_cost = 1, .parallelism = 1};
    char *hash = NULL;
    CHECK_INT_EQ(srv_password_hash(password, strlen(password), &cheap, &hash), ZD_OK);
    const char *column = strcmp(level, "school") == 0 ? "school_id" : "township_id";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO zd.app_user (username, password_hash, role, level, %s) "
             "SELECT '%s', '%s', '%s', '%s', id FROM zd.%s WHERE code = '%s'",
             column, name, hash, role, level, level, institution);
    owner_exec(pg, sql);
    free(hash);
}

static void add_device(PGconn *pg, const char *home, const char *level, const char *institution)
{
    char fp[65], sql[512];
    cert_fingerprint(tpki_path(&pki, home), fp);
    const char *column = strcmp(level, "school") == 0 ? "school_id" : "township_id";
    snprintf(
        sql, sizeof sql,
        "INSERT INTO zd.device (fingerprint, level, %s) SELECT '%s', '%s', id FROM zd.%s WHERE code = '%s'",
        column, fp, level, level, institution);
    owner_exec(pg, sql);
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
    char sqldir[600], err[256];
    snprintf(sqldir, sizeof sqldir, "%s/sql", src);
    srv_migrate_result res;
    if (srv_migrate_apply(owner_conninfo, sqldir, tpki_path(&pki, "scope.key"), NULL, &res, err,
                          sizeof err) != 0) {
        fprintf(stderr, "migrate: %s\n", err);
        abort();
    }
    PGconn *pg = PQconnectdb(owner_conninfo);
    CHECK(PQstatus(pg) == CONNECTION_OK);
    owner_exec(pg, "INSERT INTO zd.county (code, name) VALUES ('C4301', 'Test County')");
    owner_exec(pg,
               "INSERT INTO zd.township (county_id, code, name) SELECT id, 'T430101', 'East' FROM zd.county");
    owner_exec(pg, "INSERT INTO zd.school (township_id, code, name) SELECT id, 'S43010101', 'East One' "
                   "FROM zd.township WHERE code = 'T430101'");
    add_user(pg, "clerk1", "clerk-pass", "clerk", "school", "S43010101");
    add_user(pg, "officer1", "officer-pass", "township_officer", "township", "T430101");
    add_device(pg, "good/cert.pem", "school", "S43010101");
    add_device(pg, "township/cert.pem", "township", "T430101");
    PQfinish(pg);
}

/* ---- a client that sends one request per answer ---- */

#define MAXSTEPS 16

typedef struct answer {
    Zerodrop__V1__Envelope__BodyCase body;
    int code;
    char message[160];
    Zerodrop__V1__Role role;
    uint8_t token[32];
    size_t token_len;
} answer;

typedef struct tclient {
    net_conn conn;
    uv_connect_t req;
    Zerodrop__V1__Envelope *steps[MAXSTEPS];
    int nsteps, sent;
    answer got[MAXSTEPS];
    int ngot;
    bool freed;
} tclient;

static void send_next(tclient *t)
{
    if (t->sent < t->nsteps) {
        Zerodrop__V1__Envelope *e = t->steps[t->sent];
        e->request_id = (uint64_t)t->sent + 1;
        t->sent++;
        CHECK_INT_EQ(net_conn_send(&t->conn, e), 0);
    } else {
        net_conn_close(&t->conn, "done", NULL);
    }
}

static void client_established(net_conn *c)
{
    send_next((tclient *)c);
}

static void client_frame(net_conn *c, const uint8_t *p, size_t len)
{
    tclient *t = (tclient *)c;
    Zerodrop__V1__Envelope *e = net_envelope_unpack(p, len);
    CHECK(e != NULL);
    CHECK(t->ngot < MAXSTEPS);
    answer *a = &t->got[t->ngot++];
    CHECK_INT_EQ(e->request_id, (uint64_t)t->ngot);
    a->body = e->body_case;
    if (e->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR) {
        a->code = e->error->code;
        snprintf(a->message, sizeof a->message, "%s", e->error->message);
    }
    if (e->body_case == ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT) {
        a->role = e->login_result->role;
        a->token_len = e->login_result->session_token.len;
        CHECK(a->token_len <= sizeof a->token);
        memcpy(a->token, e->login_result->session_token.data, a->token_len);
    }
    zerodrop__v1__envelope__free_unpacked(e, NULL);
    send_next(t);
}

static void client_close(net_conn *c)
{
    (void)c;
}

static void client_free(net_conn *c)
{
    tclient *t = (tclient *)c;
    for (int i = 0; i < t->nsteps; i++) {
        if (t->steps[i]->body_case == ZERODROP__V1__ENVELOPE__BODY_LOGIN) /* the body is a union */
            free(t->steps[i]->login);
        free(t->steps[i]);
    }
    t->freed = true;
}

static const net_conn_ops client_ops = {
    .on_established = client_established,
    .on_frame = client_frame,
    .on_close = client_close,
    .on_free = client_free,
};

static Zerodrop__V1__Envelope *step(Zerodrop__V1__Envelope__BodyCase body)
{
    Zerodrop__V1__Envelope *e = calloc(1, sizeof *e);
    CHECK(e != NULL);
    zerodrop__v1__envelope__init(e);
    e->body_case = body;
    return e;
}

static void add_hello(tclient *t)
{
    static Zerodrop__V1__Hello hello = ZERODROP__V1__HELLO__INIT;
    hello.protocol_version = 1;
    Zerodrop__V1__Envelope *e = step(ZERODROP__V1__ENVELOPE__BODY_HELLO);
    e->hello = &hello;
    t->steps[t->nsteps++] = e;
}

static void add_login(tclient *t, const char *user, const char *password, const uint8_t *token, size_t len)
{
    Zerodrop__V1__Envelope *e = step(ZERODROP__V1__ENVELOPE__BODY_LOGIN);
    e->login = calloc(1, sizeof *e->login);
    CHECK(e->login != NULL);
    zerodrop__v1__login__init(e->login);
    e->login->user = (char *)user;
    e->login->password = (char *)password;
    e->login->session_token.data = (uint8_t *)token;
    e->login->session_token.len = len;
    t->steps[t->nsteps++] = e;
}

static void add_plain(tclient *t, Zerodrop__V1__Envelope__BodyCase body)
{
    /* bodies whose content does not matter here: the authorization check comes first */
    static Zerodrop__V1__RosterPull pull = ZERODROP__V1__ROSTER_PULL__INIT;
    static Zerodrop__V1__UserAdd add = ZERODROP__V1__USER_ADD__INIT;
    static Zerodrop__V1__Logout out = ZERODROP__V1__LOGOUT__INIT;
    Zerodrop__V1__Envelope *e = step(body);
    if (body == ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL)
        e->roster_pull = &pull;
    else if (body == ZERODROP__V1__ENVELOPE__BODY_USER_ADD)
        e->user_add = &add;
    else
        e->logout = &out;
    t->steps[t->nsteps++] = e;
}

static void connected(uv_connect_t *req, int status)
{
    tclient *t = req->data;
    CHECK_INT_EQ(status, 0);
    CHECK_INT_EQ(net_conn_start(&t->conn, t->conn.data, "localhost"), 0);
}

/* Runs t's script as device home against the server; returns when the client has gone. */
static void run_client(tclient *t, const char *home)
{
    char cert[600], key[600], ca[600], err[256];
    snprintf(cert, sizeof cert, "%s/%s/cert.pem", pki.dir, home);
    snprintf(key, sizeof key, "%s/%s/key.pem", pki.dir, home);
    snprintf(ca, sizeof ca, "%s/pki/ca.pem", pki.dir);
    net_tls_ctx *ctx = net_tls_ctx_create_client(cert, key, ca, err, sizeof err);
    if (ctx == NULL)
        fprintf(stderr, "client tls: %s\n", err);
    CHECK(ctx != NULL);
    net_conn_limits lim = {.max_frame = 1 << 20,
                           .max_output = 1 << 22,
                           .max_inflight = 8,
                           .handshake_ms = 5000,
                           .frame_ms = 5000,
                           .idle_ms = 10000};
    CHECK_INT_EQ(net_conn_init(&t->conn, &loop, &client_ops, &lim), 0);
    t->conn.data = ctx;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", srv.port, &addr);
    t->req.data = t;
    CHECK_INT_EQ(uv_tcp_connect(&t->req, &t->conn.tcp, (const struct sockaddr *)&addr, connected), 0);
    for (int i = 0; i < 2000 && !t->freed; i++)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK(t->freed);
    net_tls_ctx_destroy(ctx);
}

/* Stand-ins for the roster and admin handlers (other rooms'): they answer only when the authorization
 * check has let the request through, which is what this test looks at. */
static void allowed_handler(srv_request *req)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__AdminDone done = ZERODROP__V1__ADMIN_DONE__INIT;
    done.what = (char *)"allowed";
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE;
    e.admin_done = &done;
    srv_request_reply(req, &e);
}

static const srv_route stand_ins[] = {
    {ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL, allowed_handler},
    {ZERODROP__V1__ENVELOPE__BODY_USER_ADD, allowed_handler},
    {ZERODROP__V1__ENVELOPE__BODY__NOT_SET, NULL},
};

static void expect_error(const tclient *t, int i, int code, const char *message)
{
    CHECK_INT_EQ(t->got[i].body, ZERODROP__V1__ENVELOPE__BODY_ERROR);
    CHECK_INT_EQ(t->got[i].code, code);
    if (message)
        CHECK_STR_EQ(t->got[i].message, message);
}

int main(void)
{
    tpki_make(&pki);
    setup_database();

    char path[600], err[SRV_CONFIG_ERRBUF];
    snprintf(path, sizeof path, "%s/zerodropd.ini", pki.dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f,
            "[server]\nlisten = 127.0.0.1\nport = 0\ncert = %s/pki/server.pem\nkey = %s/pki/server.key\n"
            "ca = %s/pki/ca.pem\ncrl = %s/pki/crl.pem\n[database]\nconninfo = %s\nscope_key_file = "
            "%s/scope.key\n",
            pki.dir, pki.dir, pki.dir, pki.dir, app_conninfo, pki.dir);
    fclose(f);
    if (srv_config_load(path, &cfg, err) != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_INT_EQ(uv_loop_init(&loop), 0);
    srv.overrides = stand_ins;
    CHECK_INT_EQ(srv_server_start(&srv, &cfg, &loop), 0);

    /* the school's device: refused before login, wrong password, right password, the matrix, logout */
    tclient a;
    memset(&a, 0, sizeof a);
    add_hello(&a);
    add_plain(&a, ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL);
    add_login(&a, "clerk1", "clerk-wrong", NULL, 0);
    add_login(&a, "clerk1", "clerk-pass", NULL, 0);
    add_plain(&a, ZERODROP__V1__ENVELOPE__BODY_USER_ADD);
    add_plain(&a, ZERODROP__V1__ENVELOPE__BODY_LOGOUT);
    add_plain(&a, ZERODROP__V1__ENVELOPE__BODY_USER_ADD);
    add_login(&a, "clerk1", "clerk-pass", NULL, 0);
    run_client(&a, "good");
    CHECK_INT_EQ(a.ngot, 8);
    CHECK_INT_EQ(a.got[0].body, ZERODROP__V1__ENVELOPE__BODY_WELCOME);
    expect_error(&a, 1, ZD_EUNAUTHENTICATED, "log in first (zerodrop login USER)");
    expect_error(&a, 2, ZD_EUNAUTHENTICATED, "wrong user name or password");
    CHECK_INT_EQ(a.got[3].body, ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT);
    CHECK_INT_EQ(a.got[3].role, ZERODROP__V1__ROLE__ROLE_CLERK);
    CHECK_INT_EQ(a.got[3].token_len, 32);
    expect_error(&a, 4, ZD_EFORBIDDEN, "your role may not do this from this institution");
    CHECK_INT_EQ(a.got[5].body, ZERODROP__V1__ENVELOPE__BODY_LOGOUT);
    expect_error(&a, 6, ZD_EUNAUTHENTICATED, "log in first (zerodrop login USER)");
    CHECK_INT_EQ(a.got[7].body, ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT);

    /* a new connection of the same device resumes with the last token; the logged-out one is dead */
    tclient b;
    memset(&b, 0, sizeof b);
    add_hello(&b);
    add_login(&b, "clerk1", "", a.got[3].token, 32);
    add_login(&b, "clerk1", "", a.got[7].token, 32);
    add_plain(&b, ZERODROP__V1__ENVELOPE__BODY_USER_ADD);
    run_client(&b, "good");
    CHECK_INT_EQ(b.ngot, 4);
    expect_error(&b, 1, ZD_EUNAUTHENTICATED, "your session has ended; log in again with your password");
    CHECK_INT_EQ(b.got[2].body, ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT);
    CHECK_INT_EQ(b.got[2].role, ZERODROP__V1__ROLE__ROLE_CLERK);
    CHECK_MEM_EQ(b.got[2].token, a.got[7].token, 32);
    expect_error(&b, 3, ZD_EFORBIDDEN, NULL);

    /* the township's device: the school's clerk is refused, its own officer gets in */
    tclient c;
    memset(&c, 0, sizeof c);
    add_hello(&c);
    add_login(&c, "clerk1", "clerk-pass", NULL, 0);
    add_login(&c, "officer1", "officer-pass", NULL, 0);
    add_plain(&c, ZERODROP__V1__ENVELOPE__BODY_ROSTER_PULL);
    run_client(&c, "township");
    CHECK_INT_EQ(c.ngot, 4);
    expect_error(&c, 1, ZD_EFORBIDDEN,
                 "user clerk1 belongs to school S43010101; log in from a device of that institution");
    CHECK_INT_EQ(c.got[2].body, ZERODROP__V1__ENVELOPE__BODY_LOGIN_RESULT);
    CHECK_INT_EQ(c.got[2].role, ZERODROP__V1__ROLE__ROLE_TOWNSHIP_OFFICER);
    CHECK_INT_EQ(c.got[3].body, ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE); /* the matrix let it through */

    srv_server_shutdown(&srv);
    for (int i = 0; i < 2000 && uv_run(&loop, UV_RUN_ONCE); i++)
        ;
    srv_server_finish(&srv);
    CHECK_INT_EQ(uv_loop_close(&loop), 0);
    srv_config_finish(&cfg);
    tpki_remove(&pki);
    printf("login over the wire: ok\n");
    return 0;
}
