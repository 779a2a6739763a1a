/* Applying the numbered migrations; see migrate.h.
 *
 * The order is: connect, take a session advisory lock (two runs at once would race on the same files),
 * make sure the bookkeeping table exists, read every file and its checksum, compare with what the database
 * recorded — all before the first change — and only then apply what is missing, one transaction per file.
 * The file's text goes to the server as one simple query, so a file may hold any number of statements but
 * must not hold BEGIN/COMMIT of its own. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "scope.h"

/* Key for pg_advisory_lock: "zdmigrat" as a number, so it collides with nothing else of ours. */
#define MIGRATE_LOCK_KEY "7a646d6967726174"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (16u << 20)

typedef struct migration {
    int version;
    char *name;         /* file name, e.g. 001_schema.sql */
    char *text;         /* NUL-terminated contents */
    char sha256[65];    /* hex */
} migration;

static void migrations_free(migration *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].text);
    }
    free(m);
}

/* NNN_name.sql: three digits, an underscore, [A-Za-z0-9_-]+, ".sql". Returns the version or -1. */
static int parse_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 9 || strcmp(name + n - 4, ".sql") != 0 || name[3] != '_')
        return -1;
    for (int i = 0; i < 3; i++)
        if (name[i] < '0' || name[i] > '9')
            return -1;
    for (size_t i = 4; i < n - 4; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return -1;
    }
    return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static int by_version(const void *a, const void *b)
{
    const migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Reads dir/name whole, with its SHA-256. Returns 0 or -1 (errbuf). */
static int read_file(const char *dir, migration *m, char *errbuf, size_t errlen)
{
    size_t plen = strlen(dir) + 1 + strlen(m->name) + 1;
    char *path = malloc(plen);
    if (path == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    snprintf(path, plen, "%s/%s", dir, m->name);
    int rc = -1;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out_path;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out_file;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= MIGRATE_MAX_BYTES) {
                snprintf(errbuf, errlen, "%s: larger than %u bytes", path, MIGRATE_MAX_BYTES);
                goto out_buf;
            }
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                snprintf(errbuf, errlen, "out of memory");
                goto out_buf;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(errbuf, errlen, "%s: cannot read", path);
        goto out_buf;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        snprintf(errbuf, errlen, "%s: holds a NUL byte", path);
        goto out_buf;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        snprintf(errbuf, errlen, "%s: cannot compute SHA-256", path);
        goto out_buf;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(m->sha256 + 2 * i, 3, "%02x", md[i]);
    m->text = buf;
    buf = NULL;
    rc = 0;
out_buf:
    free(buf);
out_file:
    fclose(f);
out_path:
    free(path);
    return rc;
}

/* Lists and reads the migrations of dir, sorted by version. Returns 0 with *out and *count set, or -1. */
static int load_dir(const char *dir, migration **out, size_t *count, char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(errbuf, errlen, "%s: cannot open migrations folder: %s", dir, strerror(errno));
        return -1;
    }
    migration *m = calloc(MIGRATE_MAX_FILES, sizeof(*m));
    size_t n = 0;
    int rc = -1;
    if (m == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int v = parse_name(e->d_name);
        if (v < 0)
            continue;
        if (n == MIGRATE_MAX_FILES) {
            snprintf(errbuf, errlen, "%s: more than %d migrations", dir, MIGRATE_MAX_FILES);
            goto out;
        }
        m[n].version = v;
        m[n].name = strdup(e->d_name);
        if (m[n].name == NULL) {
            snprintf(errbuf, errlen, "out of memory");
            goto out;
        }
        n++;
    }
    qsort(m, n, sizeof(*m), by_version);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && m[i].version == m[i - 1].version) {
            snprintf(errbuf, errlen, "%s: %s and %s share number %03d", dir, m[i - 1].name, m[i].name,
                     m[i].version);
            goto out;
        }
        if (read_file(dir, &m[i], errbuf, errlen) != 0)
            goto out;
    }
    rc = 0;
out:
    closedir(d);
    if (rc == 0) {
        *out = m;
        *count = n;
    } else if (m != NULL) {
        migrations_free(m, n);
    }
    return rc;
}

/* The first line of the server's error, without the trailing newline. */
static void pq_error(char *errbuf, size_t errlen, const char *what, const char *msg)
{
    size_t n = strcspn(msg, "\n");
    snprintf(errbuf, errlen, "%s: %.*s", what, (int)n, msg);
}

/* Runs sql expecting command_ok or tuples_ok; on failure fills errbuf with what and the error. */
static int exec_ok(PGconn *conn, const char *sql, const char *what, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pq_error(errbuf, errlen, what, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int install_key(PGconn *conn, const char *path, int *installed, char *errbuf, size_t errlen)
{
    unsigned char key[SRV_SCOPE_KEY_MAX];
    size_t keylen = 0;
    char hex[2 * SRV_SCOPE_KEY_MAX + 1];
    if (srv_scope_key_ensure(path, key, &keylen, errbuf, errlen) != 0)
        return -1;
    for (size_t i = 0; i < keylen; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    const char *params[1] = {hex};
    PGresult *r = PQexecParams(conn,
                               "INSERT INTO zd.scope_key (key) VALUES (decode($1, 'hex')) "
                               "ON CONFLICT (only_row) DO UPDATE SET key = EXCLUDED.key, installed_at = now() "
                               "WHERE zd.scope_key.key <> EXCLUDED.key",
                               1, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pq_error(errbuf, errlen, "installing the scope key", PQresultErrorMessage(r));
        rc = -1;
    } else {
        *installed = strcmp(PQcmdTuples(r), "0") != 0;
    }
    PQclear(r);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* Applies m (not yet recorded) in one transaction together with its record. */
static int apply_one(PGconn *conn, const migration *m, char *errbuf, size_t errlen)
{
    if (exec_ok(conn, "BEGIN", m->name, errbuf, errlen) != 0)
        return -1;
    PGresult *r = PQexec(conn, m->text);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pq_error(errbuf, errlen, m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto rollback;
    }
    PQclear(r);
    /* A file that ended its own transaction would leave us recording outside of it. */
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        snprintf(errbuf, errlen, "%s: a migration must not end its transaction (no COMMIT/ROLLBACK in it)",
                 m->name);
        goto rollback;
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[3] = {version, m->name, m->sha256};
    r = PQexecParams(conn, "INSERT INTO zd_meta.migration (version, name, sha256) VALUES ($1, $2, $3)", 3, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pq_error(errbuf, errlen, m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto rollback;
    }
    PQclear(r);
    return exec_ok(conn, "COMMIT", m->name, errbuf, errlen);
rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}

/* Compares the recorded migrations with the files. Returns 0 and sets done[i] for every file already
 * applied, or -1 (errbuf) when a recorded file changed or is missing. */
static int check_recorded(PGconn *conn, const char *dir, const migration *m, size_t n, unsigned char *done,
                          int *up_to_date, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, "SELECT version, name, sha256 FROM zd_meta.migration ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pq_error(errbuf, errlen, "reading zd_meta.migration", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    *up_to_date = 0;
    for (int row = 0; row < PQntuples(r) && rc == 0; row++) {
        long v = strtol(PQgetvalue(r, row, 0), NULL, 10);
        const char *name = PQgetvalue(r, row, 1);
        const char *sum = PQgetvalue(r, row, 2);
        size_t i = 0;
        while (i < n && m[i].version != v)
            i++;
        if (i == n || strcmp(m[i].name, name) != 0) {
            snprintf(errbuf, errlen,
                     "migration %s was applied but is not in %s; refusing to go on (nothing changed)", name, dir);
            rc = -1;
        } else if (strcmp(m[i].sha256, sum) != 0) {
            snprintf(errbuf, errlen,
                     "%s/%s changed after it was applied (sha256 %.12s… recorded, %.12s… on disk); a shipped "
                     "migration is never edited, add a new one (nothing changed)",
                     dir, name, sum, m[i].sha256);
            rc = -1;
        } else {
            done[i] = 1;
            (*up_to_date)++;
        }
    }
    PQclear(r);
    return rc;
}

int srv_migrate_apply(const char *conninfo, const char *dir, const char *scope_key_file, FILE *progress,
                      srv_migrate_result *res, char *errbuf, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    migration *m = NULL;
    size_t n = 0;
    unsigned char *done = NULL;
    int rc = -1;
    if (conninfo == NULL || conninfo[0] == '\0') {
        snprintf(errbuf, errlen, "[database] owner_conninfo is empty: migrations run as the owner role");
        return -1;
    }
    if (load_dir(dir, &m, &n, errbuf, errlen) != 0)
        return -1;
    done = calloc(n + 1, 1);
    if (done == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        goto out_files;
    }

    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        pq_error(errbuf, errlen, "cannot connect as the owner", PQerrorMessage(conn));
        goto out_conn;
    }
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    if (exec_ok(conn, "SET client_min_messages = warning", "setting up", errbuf, errlen) != 0 ||
        exec_ok(conn, "SELECT pg_advisory_lock(x'" MIGRATE_LOCK_KEY "'::bigint)", "taking the migration lock",
                errbuf, errlen) != 0 ||
        exec_ok(conn,
                "CREATE SCHEMA IF NOT EXISTS zd_meta; "
                "CREATE TABLE IF NOT EXISTS zd_meta.migration ("
                " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                "creating zd_meta.migration", errbuf, errlen) != 0)
        goto out_conn;
    if (check_recorded(conn, dir, m, n, done, &res->up_to_date, errbuf, errlen) != 0)
        goto out_conn;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        if (apply_one(conn, &m[i], errbuf, errlen) != 0)
            goto out_conn;
        res->applied++;
        if (progress != NULL)
            fprintf(progress, "applied %s\n", m[i].name);
    }
    if (scope_key_file != NULL && scope_key_file[0] != '\0' &&
        install_key(conn, scope_key_file, &res->key_installed, errbuf, errlen) != 0)
        goto out_conn;
    if (progress != NULL) {
        if (res->applied == 0)
            fprintf(progress, "nothing to apply (%d migrations up to date)\n", res->up_to_date);
        if (res->key_installed)
            fprintf(progress, "installed the scope key from %s\n", scope_key_file);
    }
    rc = 0;
out_conn:
    PQfinish(conn);
out_files:
    free(done);
    migrations_free(m, n);
    return rc;
}

int srv_migrate_main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: zerodropd migrate --config FILE\n"
                   "applies the numbered migrations of [database] migrations_dir as [database] owner_conninfo,\n"
                   "then installs [database] scope_key_file (created when missing) into the database.\n");
            return 0;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        } else {
            fprintf(stderr, "zerodropd migrate: unexpected argument '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "zerodropd migrate: --config FILE is required\n");
        return 2;
    }
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    if (srv_config_load(path, &cfg, err) != 0) {
        fprintf(stderr, "zerodropd migrate: %s\n", err);
        return 2;
    }
    srv_migrate_result res;
    char why[1024];
    int rc = srv_migrate_apply(cfg.owner_conninfo, cfg.migrations_dir, cfg.scope_key_file, stdout, &res, why,
                               sizeof(why));
    if (rc != 0)
        fprintf(stderr, "zerodropd migrate: %s\n", why);
    srv_config_finish(&cfg);
    return rc == 0 ? 0 : 1;
}
