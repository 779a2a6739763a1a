/* `zerodrop admin user|device|stats`: the county admin's users, devices and the server's figures.
 *
 * Each is a sub-command of `admin` (cmd_admin.c lists them). They act as a logged-in county admin: with
 * `--as USER --as-password-file F` the command logs in first in its own session (for scripts and
 * deploy/up); otherwise they act as the login `zerodrop login` kept in the home (cli_rpc_open resumes it). Tables by default,
 * --json or --csv where a table is printed; every failure is one line on stderr and a non-zero exit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cmd.h"
#include "rpc.h"

enum { OUT_TABLE, OUT_JSON, OUT_CSV };

/* Exit status of a failure: 75 (EX_TEMPFAIL) when the server said UNAVAILABLE (its database is away; the
 * same command may be retried), 1 otherwise. */
#define EXIT_RETRY 75
static int failure_status = 1;

static void note_code(const Zerodrop__V1__Envelope *reply)
{
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR && reply->error != NULL &&
        reply->error->code == ZERODROP__V1__ERROR_CODE__UNAVAILABLE)
        failure_status = EXIT_RETRY;
}


/* Options every sub-command here understands, taken out of argv as it is parsed. */
typedef struct admin_opts {
    const char *as_user;
    const char *as_password_file;
    int out;
    const char *pos[4];      /* positional arguments after the sub-command's own words */
    int npos;
    const char *role, *institution, *password_file, *display_name, *label, *cert;
} admin_opts;

/* True when argv asks for help anywhere: the caller prints its usage. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int parse(const char *what, int argc, char **argv, int from, admin_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--as") == 0                  ? &o->as_user
                            : strcmp(a, "--as-password-file") == 0  ? &o->as_password_file
                            : strcmp(a, "--role") == 0              ? &o->role
                            : strcmp(a, "--institution") == 0       ? &o->institution
                            : strcmp(a, "--password-file") == 0     ? &o->password_file
                            : strcmp(a, "--display-name") == 0      ? &o->display_name
                            : strcmp(a, "--label") == 0             ? &o->label
                            : strcmp(a, "--cert") == 0              ? &o->cert
                                                                    : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc)
                return cli_fail("%s: %s needs a value", what, a);
            *slot = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->out = OUT_JSON;
        } else if (strcmp(a, "--csv") == 0) {
            o->out = OUT_CSV;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_fail("%s: unknown option '%s' (try --help)", what, a);
        } else if (o->npos < 4) {
            o->pos[o->npos++] = a;
        } else {
            return cli_fail("%s: unexpected argument '%s' (try --help)", what, a);
        }
    }
    return 0;
}

/* Opens a session and logs in as the options say. NULL after a message. */
static cli_rpc *admin_open(const cli_ctx *ctx, const char *what, const admin_opts *o)
{
    int login_code = 0;
    cli_rpc *rpc = cli_admin_open(ctx, what, o->as_user, o->as_password_file, &login_code);
    if (rpc == NULL && login_code == ZERODROP__V1__ERROR_CODE__UNAVAILABLE)
        failure_status = EXIT_RETRY;
    return rpc;
}

/* Sends env on a fresh admin session; returns the reply of the expected body case, or NULL after a
 * message (an Error reply is printed as "WHAT: message (field F)"). */
static Zerodrop__V1__Envelope *admin_call(const cli_ctx *ctx, const char *what, const admin_opts *o,
                                          Zerodrop__V1__Envelope *env, Zerodrop__V1__Envelope__BodyCase want)
{
    cli_rpc *rpc = admin_open(ctx, what, o);
    if (rpc == NULL)
        return NULL;
    char err[CLI_RPC_ERRLEN];
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, env, err);
    cli_rpc_close(rpc);
    if (reply == NULL) {
        cli_fail("%s", err);
        return NULL;
    }
    if (reply->body_case == want)
        return reply;
    note_code(reply);
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ERROR && reply->error != NULL) {
        if (reply->error->field[0])
            cli_fail("%s: %s (field %s)", what, reply->error->message, reply->error->field);
        else
            cli_fail("%s: %s", what, reply->error->message);
    } else {
        cli_fail("%s: the server answered with something unexpected", what);
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return NULL;
}

static int done_print(Zerodrop__V1__Envelope *reply, int out)
{
    if (out == OUT_JSON) {
        printf("{\"done\":");
        cli_json_str(stdout, reply->admin_done->what);
        printf("}\n");
    } else {
        printf("%s\n", reply->admin_done->what);
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return 0;
}

static const char *const role_words[] = {"", "clerk", "head_teacher", "principal", "township_officer",
                                         "county_auditor", "county_admin"};

/* ---- admin user ---- */

static int user_run(const cli_ctx *ctx, int argc, char **argv)
{
    admin_opts o;
    if (wants_help(argc, argv)) {
        fputs(cli_admin_user.usage, stdout);
        return 0;
    }
    if (argc < 2)
        return cli_fail("admin user: add, disable or passwd (try zerodrop admin user --help)");
    const char *verb = argv[1];
    char what[64];
    snprintf(what, sizeof(what), "admin user %s", verb);
    if (parse(what, argc, argv, 2, &o) != 0)
        return 1;
    if (o.npos != 1)
        return cli_fail("%s: name one user (try --help)", what);
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__UserAdd add = ZERODROP__V1__USER_ADD__INIT;
    Zerodrop__V1__UserDisable dis = ZERODROP__V1__USER_DISABLE__INIT;
    Zerodrop__V1__UserPasswd pw = ZERODROP__V1__USER_PASSWD__INIT;
    char password[1100] = "";
    if (strcmp(verb, "add") == 0 || strcmp(verb, "passwd") == 0) {
        if (o.password_file == NULL)
            return cli_fail("%s: --password-file F names the new password", what);
        if (cli_password_file_read(what, o.password_file, password, sizeof(password)) != 0)
            return 1;
    }
    if (strcmp(verb, "add") == 0) {
        int role = 0;
        for (int r = 1; r <= 6 && o.role; r++)
            if (strcmp(role_words[r], o.role) == 0)
                role = r;
        if (role == 0)
            return cli_fail("%s: --role is one of clerk, head_teacher, principal, township_officer, county_auditor, "
                            "county_admin",
                            what);
        if (o.institution == NULL)
            return cli_fail("%s: --institution CODE names the user's school, township or county", what);
        add.user = (char *)o.pos[0];
        add.password = password;
        add.role = (Zerodrop__V1__Role)role;
        add.institution_code = (char *)o.institution;
        add.display_name = (char *)(o.display_name ? o.display_name : "");
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_USER_ADD;
        env.user_add = &add;
    } else if (strcmp(verb, "disable") == 0) {
        dis.user = (char *)o.pos[0];
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_USER_DISABLE;
        env.user_disable = &dis;
    } else if (strcmp(verb, "passwd") == 0) {
        pw.user = (char *)o.pos[0];
        pw.password = password;
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_USER_PASSWD;
        env.user_passwd = &pw;
    } else {
        return cli_fail("admin user: unknown sub-command '%s' (add, disable, passwd)", verb);
    }
    Zerodrop__V1__Envelope *reply = admin_call(ctx, what, &o, &env, ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE);
    memset(password, 0, sizeof(password));
    return reply ? done_print(reply, o.out) : failure_status;
}

const cli_command cli_admin_user = {
    .name = "user",
    .summary = "add, disable a user or set a user's password",
    .usage = "usage: zerodrop [--home DIR] admin user add NAME --role ROLE --institution CODE --password-file F\n"
             "                                       [--display-name TEXT]\n"
             "       zerodrop [--home DIR] admin user disable NAME\n"
             "       zerodrop [--home DIR] admin user passwd NAME --password-file F\n"
             "\n"
             "ROLE: clerk, head_teacher, principal (a school), township_officer (a township), county_auditor,\n"
             "county_admin (the county). The password is the first line of F (8 to 1024 characters).\n"
             "Acting as: the login kept in DIR/session, or --as USER --as-password-file F. --json prints\n"
             "{\"done\":\"...\"}.\n",
    .run = user_run,
};

/* ---- admin device ---- */

/* The SHA-256 fingerprint of the certificate in path, lowercase hex, into out (65 bytes). 0 or -1. */
static int cert_fingerprint(const char *path, char out[65])
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    int rc = X509_digest(x, EVP_sha256(), md, &n) == 1 && n == 32 ? 0 : -1;
    X509_free(x);
    for (unsigned i = 0; rc == 0 && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return rc;
}

static void when(char *out, size_t n, int64_t ms)
{
    if (ms == 0) {
        snprintf(out, n, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int list_print(const Zerodrop__V1__DeviceList *l, int out)
{
    if (out == OUT_JSON) {
        printf("[");
        for (size_t i = 0; i < l->n_devices; i++) {
            const Zerodrop__V1__Device *d = l->devices[i];
            printf("%s{\"fingerprint\":", i ? "," : "");
            cli_json_str(stdout, d->fingerprint);
            printf(",\"institution\":");
            cli_json_str(stdout, d->institution_code);
            printf(",\"label\":");
            cli_json_str(stdout, d->label);
            printf(",\"issued_ms\":%" PRId64 ",\"revoked_ms\":%" PRId64 ",\"last_contact_ms\":%" PRId64 "}",
                   d->issued_ms, d->revoked_ms, d->last_contact_ms);
        }
        printf("]\n");
        return 0;
    }
    if (out == OUT_CSV)
        printf("fingerprint,institution,label,issued,revoked,last_contact\n");
    else
        printf("%-64s  %-12s  %-20s  %-20s  %s\n", "FINGERPRINT", "INSTITUTION", "ISSUED", "REVOKED", "LAST CONTACT");
    for (size_t i = 0; i < l->n_devices; i++) {
        const Zerodrop__V1__Device *d = l->devices[i];
        char a[32], b[32], c[32];
        when(a, sizeof(a), d->issued_ms);
        when(b, sizeof(b), d->revoked_ms);
        when(c, sizeof(c), d->last_contact_ms);
        if (out == OUT_CSV) {
            int quote = strpbrk(d->label, ",\"\n") != NULL;
            printf("%s,%s,", d->fingerprint, d->institution_code);
            if (quote) {
                putchar('"');
                for (const char *p = d->label; *p; p++) {
                    if (*p == '"')
                        putchar('"');
                    putchar(*p);
                }
                putchar('"');
            } else {
                fputs(d->label, stdout);
            }
            printf(",%s,%s,%s\n", d->issued_ms ? a : "", d->revoked_ms ? b : "", d->last_contact_ms ? c : "");
        } else {
            printf("%-64s  %-12s  %-20s  %-20s  %s\n", d->fingerprint, d->institution_code, a, b, c);
        }
    }
    return 0;
}

static int device_run(const cli_ctx *ctx, int argc, char **argv)
{
    admin_opts o;
    if (wants_help(argc, argv)) {
        fputs(cli_admin_device.usage, stdout);
        return 0;
    }
    if (argc < 2)
        return cli_fail("admin device: add, revoke or list (try zerodrop admin device --help)");
    const char *verb = argv[1];
    char what[64], fp[65];
    snprintf(what, sizeof(what), "admin device %s", verb);
    if (parse(what, argc, argv, 2, &o) != 0)
        return 1;
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__DeviceAdd add = ZERODROP__V1__DEVICE_ADD__INIT;
    Zerodrop__V1__DeviceRevoke rev = ZERODROP__V1__DEVICE_REVOKE__INIT;
    Zerodrop__V1__DeviceListRequest lr = ZERODROP__V1__DEVICE_LIST_REQUEST__INIT;
    Zerodrop__V1__Envelope__BodyCase want = ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE;
    const char *fingerprint = NULL;
    if (strcmp(verb, "add") == 0 || strcmp(verb, "revoke") == 0) {
        if (o.cert != NULL) {
            if (o.npos != 0)
                return cli_fail("%s: give --cert or a fingerprint, not both", what);
            if (cert_fingerprint(o.cert, fp) != 0)
                return cli_fail("%s: %s is not a readable PEM certificate", what, o.cert);
            fingerprint = fp;
        } else if (o.npos == 1) {
            fingerprint = o.pos[0];
        } else {
            return cli_fail("%s: name the device by its fingerprint or --cert CERT.pem (try --help)", what);
        }
    }
    if (strcmp(verb, "add") == 0) {
        if (o.institution == NULL)
            return cli_fail("%s: --institution CODE names the device's school, township or county", what);
        add.fingerprint = (char *)fingerprint;
        add.institution_code = (char *)o.institution;
        add.label = (char *)(o.label ? o.label : "");
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_DEVICE_ADD;
        env.device_add = &add;
    } else if (strcmp(verb, "revoke") == 0) {
        rev.fingerprint = (char *)fingerprint;
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_DEVICE_REVOKE;
        env.device_revoke = &rev;
    } else if (strcmp(verb, "list") == 0) {
        if (o.npos != 0)
            return cli_fail("%s: unexpected argument '%s' (try --help)", what, o.pos[0]);
        lr.institution_code = (char *)(o.institution ? o.institution : "");
        env.body_case = ZERODROP__V1__ENVELOPE__BODY_DEVICE_LIST_REQUEST;
        env.device_list_request = &lr;
        want = ZERODROP__V1__ENVELOPE__BODY_DEVICE_LIST;
    } else {
        return cli_fail("admin device: unknown sub-command '%s' (add, revoke, list)", verb);
    }
    Zerodrop__V1__Envelope *reply = admin_call(ctx, what, &o, &env, want);
    if (reply == NULL)
        return failure_status;
    if (want == ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE)
        return done_print(reply, o.out);
    int rc = list_print(reply->device_list, o.out);
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return rc;
}

const cli_command cli_admin_device = {
    .name = "device",
    .summary = "register, revoke or list device certificates",
    .usage = "usage: zerodrop [--home DIR] admin device add (FINGERPRINT | --cert CERT.pem) --institution CODE\n"
             "                                         [--label TEXT]\n"
             "       zerodrop [--home DIR] admin device revoke (FINGERPRINT | --cert CERT.pem)\n"
             "       zerodrop [--home DIR] admin device list [--institution CODE] [--json | --csv]\n"
             "\n"
             "FINGERPRINT is the certificate's SHA-256 (openssl x509 -noout -fingerprint -sha256), with or\n"
             "without colons. A device is admitted only while registered to the institution its certificate\n"
             "names; revoking drops its open sessions at once. list prints FINGERPRINT, INSTITUTION, ISSUED,\n"
             "REVOKED, LAST CONTACT (UTC); --csv has the header fingerprint,institution,label,issued,revoked,\n"
             "last_contact; --json an array of {fingerprint, institution, label, issued_ms, revoked_ms,\n"
             "last_contact_ms} (0: never). Acting as: DIR/session, or --as USER --as-password-file F.\n",
    .run = device_run,
};

/* ---- admin stats ---- */

static void figure(int csv, const char *name, uint64_t value)
{
    if (csv)
        printf("%s,%" PRIu64 "\n", name, value);
    else
        printf("%-36s %" PRIu64 "\n", name, value);
}

static int stats_run(const cli_ctx *ctx, int argc, char **argv)
{
    admin_opts o;
    if (wants_help(argc, argv)) {
        fputs(cli_admin_stats.usage, stdout);
        return 0;
    }
    if (parse("admin stats", argc, argv, 1, &o) != 0)
        return 1;
    if (o.npos != 0)
        return cli_fail("admin stats: unexpected argument '%s' (try --help)", o.pos[0]);
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__StatsRequest sr = ZERODROP__V1__STATS_REQUEST__INIT;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_STATS_REQUEST;
    env.stats_request = &sr;
    Zerodrop__V1__Envelope *reply = admin_call(ctx, "admin stats", &o, &env, ZERODROP__V1__ENVELOPE__BODY_STATS);
    if (reply == NULL)
        return failure_status;
    const Zerodrop__V1__Stats *s = reply->stats;
    if (o.out == OUT_JSON) {
        printf("{\"connections\":%" PRIu64 ",\"handshakes_in_progress\":%" PRIu64 ",\"handshakes_done\":%" PRIu64
               ",\"db_queue_depth\":%" PRIu64 ",\"db_connections_up\":%" PRIu64
               ",\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,\"requests\":{",
               s->connections, s->handshakes_in_progress, s->handshakes_done, s->db_queue_depth,
               s->db_connections_up, s->latency_p50_ms, s->latency_p99_ms);
        for (size_t i = 0; i < s->n_requests; i++) {
            printf("%s", i ? "," : "");
            cli_json_str(stdout, s->requests[i]->name);
            printf(":%" PRIu64, s->requests[i]->value);
        }
        printf("}}\n");
    } else {
        int csv = o.out == OUT_CSV;
        if (csv)
            printf("name,value\n");
        figure(csv, "connections", s->connections);
        figure(csv, "handshakes_in_progress", s->handshakes_in_progress);
        figure(csv, "handshakes_done", s->handshakes_done);
        figure(csv, "db_queue_depth", s->db_queue_depth);
        figure(csv, "db_connections_up", s->db_connections_up);
        printf(csv ? "%s,%.3f\n" : "%-36s %.3f\n", "latency_p50_ms", s->latency_p50_ms);
        printf(csv ? "%s,%.3f\n" : "%-36s %.3f\n", "latency_p99_ms", s->latency_p99_ms);
        for (size_t i = 0; i < s->n_requests; i++) {
            char name[128];
            snprintf(name, sizeof(name), "requests %s", s->requests[i]->name);
            figure(csv, name, s->requests[i]->value);
        }
    }
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return 0;
}

const cli_command cli_admin_stats = {
    .name = "stats",
    .summary = "the server's figures: connections, handshakes, requests by type and code, pool, latency",
    .usage = "usage: zerodrop [--home DIR] admin stats [--json | --csv]\n"
             "\n"
             "Prints one figure per line: connections, handshakes_in_progress, handshakes_done, db_queue_depth,\n"
             "db_connections_up, latency_p50_ms, latency_p99_ms (of every request answered since the start),\n"
             "then 'requests TYPE/CODE COUNT' (e.g. requests ping/OK 12). --csv: name,value rows; --json one\n"
             "object with a \"requests\" object of \"type/code\": count. Acting as: DIR/session, or --as USER\n"
             "--as-password-file F.\n",
    .run = stats_run,
};
