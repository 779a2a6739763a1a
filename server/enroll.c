/* `zerodropd enroll`: registers devices and creates the first users, as the owner role; see enroll.h.
 *
 * The statements are the same the admin handlers run (SRV_DEVICE_ADD_SQL, SRV_USER_ADD_SQL), so a device
 * or user made at bootstrap is indistinguishable from one an admin adds over the wire. */
#include "enroll.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include "config.h"
#include "handlers_admin.h"
#include "handlers_device.h"
#include "password.h"

static const char usage_text[] =
    "usage: zerodropd enroll --config FILE --device CERT.pem [--label TEXT]\n"
    "       zerodropd enroll --config FILE --user NAME --role ROLE --institution CODE --password-file F\n"
    "\n"
    "Registers a device certificate to the institution its subject names (OU = level, CN = code), or creates\n"
    "a user (the county's first admin) with the password on the first line of F. Runs as [database]\n"
    "owner_conninfo. Registering the same certificate again changes nothing.\n"
    "ROLE: clerk, head_teacher, principal, township_officer, county_auditor, county_admin\n";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "zerodropd enroll: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* The certificate's fingerprint (lowercase hex), level (OU) and code (CN). 0, or -1 with a reason. */
static int read_cert(const char *path, char fp[65], char level[16], char code[40], const char **why)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *why = "cannot open the certificate";
        return -1;
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL) {
        *why = "not a PEM certificate";
        return -1;
    }
    int rc = -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    X509_NAME *subj = X509_get_subject_name(x);
    if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
        *why = "cannot compute the fingerprint";
        goto out;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
    if (X509_NAME_get_text_by_NID(subj, NID_organizationalUnitName, level, 16) <= 0 ||
        X509_NAME_get_text_by_NID(subj, NID_commonName, code, 40) <= 0) {
        *why = "the subject lacks OU (level) or CN (institution code)";
        goto out;
    }
    rc = 0;
out:
    X509_free(x);
    return rc;
}

static int exec_ok(PGconn *conn, PGresult *r, const char **why)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    *why = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (*why == NULL)
        *why = PQerrorMessage(conn);
    return -1;
}

static int enroll_device(PGconn *conn, const char *cert, const char *label)
{
    char fp[65], level[16], code[40], now[24];
    const char *why = NULL;
    if (read_cert(cert, fp, level, code, &why) != 0)
        return fail("%s: %s", cert, why);
    const char *p1[] = {fp};
    PGresult *r = PQexecParams(conn,
                               "SELECT d.level::text, COALESCE(s.code, t.code, c.code), d.revoked_at IS NOT NULL "
                               "FROM zd.device d LEFT JOIN zd.school s ON s.id = d.school_id "
                               "LEFT JOIN zd.township t ON t.id = d.township_id "
                               "LEFT JOIN zd.county c ON c.id = d.county_id WHERE d.fingerprint = $1",
                               1, NULL, p1, NULL, NULL, 0);
    if (exec_ok(conn, r, &why) != 0) {
        fail("cannot read the devices: %s", why);
        PQclear(r);
        return 1;
    }
    if (PQntuples(r) == 1) {
        int same = strcmp(PQgetvalue(r, 0, 0), level) == 0 && strcmp(PQgetvalue(r, 0, 1), code) == 0;
        int revoked = PQgetvalue(r, 0, 2)[0] == 't';
        PQclear(r);
        if (!same)
            return fail("%s: %s", cert, "this certificate is registered to another institution");
        if (revoked)
            return fail("%s: %s", cert, "this certificate was revoked; issue a new one");
        printf("device %s (%s %s) already registered\n", fp, level, code);
        return 0;
    }
    PQclear(r);
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    snprintf(now, sizeof(now), "%" PRId64, (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    const char *p2[] = {fp, code, label, now};
    r = PQexecParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    PQclear(r);
    r = PQexecParams(conn, SRV_DEVICE_ADD_SQL " , level::text", 4, NULL, p2, NULL, NULL, 0);
    int rc = 0;
    if (exec_ok(conn, r, &why) != 0)
        rc = fail("cannot register the device: %s", why);
    else if (PQntuples(r) != 1)
        rc = fail("no school, township or county has the code %s", code);
    else if (strcmp(PQgetvalue(r, 0, 1), level) != 0)
        rc = fail("the certificate says %s, but %s is not one", level, code);
    PQclear(r);
    r = PQexec(conn, rc == 0 ? "COMMIT" : "ROLLBACK");
    if (rc == 0 && exec_ok(conn, r, &why) != 0)
        rc = fail("cannot register the device: %s", why);
    PQclear(r);
    if (rc == 0)
        printf("device %s registered to %s %s\n", fp, level, code);
    return rc;
}

/* The first line of path into out (n bytes), without its line end. 0, or -1. */
static int read_password(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] ? 0 : -1;
}

static int enroll_user(PGconn *conn, const srv_config *cfg, const char *user, const char *role, const char *inst,
                       const char *pwfile)
{
    int known = 0;
    for (int r = 1; r <= 6; r++)
        if (strcmp(srv_admin_role_word(r), role) == 0)
            known = 1;
    if (!known)
        return fail("unknown role '%s' (try --help)", role);
    char pw[SRV_PASSWORD_MAX_BYTES + 2];
    if (read_password(pwfile, pw, sizeof(pw)) != 0)
        return fail("%s: %s", pwfile, "cannot read a password from its first line");
    char *hash = NULL;
    srv_password_cost cost = {.m_kib = (uint32_t)cfg->password_memory_kib,
                              .t_cost = (uint32_t)cfg->password_passes,
                              .parallelism = 1};
    zd_err hrc = srv_password_hash(pw, strlen(pw), &cost, &hash);
    memset(pw, 0, sizeof(pw));
    if (hrc != ZD_OK)
        return fail("cannot hash the password");
    const char *params[] = {user, hash, role, inst, user};
    PGresult *r = PQexecParams(conn, SRV_USER_ADD_SQL, 5, NULL, params, NULL, NULL, 0);
    free(hash);
    const char *why = NULL;
    int rc = 0;
    if (exec_ok(conn, r, &why) != 0) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23505") == 0)
            rc = fail("a user called %s already exists", user);
        else
            rc = fail("cannot add the user: %s", why);
    } else if (PQntuples(r) != 1) {
        rc = fail("no school, township or county has the code %s", inst);
    }
    PQclear(r);
    if (rc == 0)
        printf("user %s (%s at %s) created\n", user, role, inst);
    return rc;
}

int srv_enroll_main(int argc, char **argv)
{
    const char *config = NULL, *device = NULL, *label = "", *user = NULL, *role = NULL, *inst = NULL,
               *pwfile = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        const char **slot = strcmp(a, "--config") == 0          ? &config
                            : strcmp(a, "--device") == 0        ? &device
                            : strcmp(a, "--label") == 0         ? &label
                            : strcmp(a, "--user") == 0          ? &user
                            : strcmp(a, "--role") == 0          ? &role
                            : strcmp(a, "--institution") == 0   ? &inst
                            : strcmp(a, "--password-file") == 0 ? &pwfile
                                                                : NULL;
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "zerodropd enroll: %s '%s' (try --help)\n", slot ? "missing value for" : "unknown option",
                    a);
            return 2;
        }
        *slot = argv[++i];
    }
    int want_device = device != NULL, want_user = user || role || inst || pwfile;
    if (config == NULL || want_device == want_user || (want_user && !(user && role && inst && pwfile))) {
        fputs(usage_text, stderr);
        return 2;
    }
    srv_config cfg;
    char err[SRV_CONFIG_ERRBUF];
    if (srv_config_load(config, &cfg, err) != 0) {
        fprintf(stderr, "zerodropd enroll: %s\n", err);
        return 1;
    }
    int rc = 1;
    if (cfg.owner_conninfo[0] == '\0') {
        fail("[database] owner_conninfo is empty: enroll runs as the owner role");
        goto out_config;
    }
    PGconn *conn = PQconnectdb(cfg.owner_conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fail("cannot connect to the database: %s", PQerrorMessage(conn));
        goto out_conn;
    }
    rc = want_device ? enroll_device(conn, device, label) : enroll_user(conn, &cfg, user, role, inst, pwfile);
out_conn:
    PQfinish(conn);
out_config:
    srv_config_finish(&cfg);
    return rc;
}
