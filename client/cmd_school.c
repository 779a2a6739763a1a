/* The school's everyday commands: `roster`, `absent`, `present`, `status` and `sync`.
 *
 * Capture commands work offline: they check the record against the roster cache, seal it with the device
 * key, put it in the outbox (durable when the command says "saved") and only then try a quick sync, whose
 * failure is not an error — the record waits in the outbox for the next sync. Listing commands print a
 * table by default, CSV with --csv, JSON with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_school.h"
#include "record.h"
#include "store.h"
#include "sync.h"
#include "validate.h"

enum { OUT_TABLE, OUT_CSV, OUT_JSON };

#define MAX_STUDENTS 256

void cli__school_env_finish(school_env *e)
{
    cli_signer_destroy(e->signer);
    cli_store_destroy(e->store);
    memset(e, 0, sizeof(*e));
}

int cli__school_env_open(const cli_ctx *ctx, school_env *e, int need_key)
{
    memset(e, 0, sizeof(*e));
    if (cli_home_open(ctx, &e->home) != 0)
        return 1;
    if (cli_store_create_in_home(e->home.dir, &e->store) != ZD_OK)
        return cli_fail("cannot open the local store in %s", e->home.dir);
    if (need_key && cli_signer_create_in_home(e->home.dir, &e->signer) != ZD_OK) {
        cli__school_env_finish(e);
        return cli_fail("cannot read this device's key (%s/key.pem)", ctx->home_dir);
    }
    return 0;
}

/* "7-2" means this school's class 7-2; a full code ("S43010101-7-2") is taken as it is. */
static void class_code_full(const cli_home *h, const char *arg, char out[CLI_CODE_MAX])
{
    if (strchr(arg, '-') != NULL && strchr(arg, '-') != strrchr(arg, '-'))
        snprintf(out, CLI_CODE_MAX, "%s", arg);
    else
        snprintf(out, CLI_CODE_MAX, "%s-%s", h->institution, arg);
}

/* Seals msg, enqueues it, says so, and tries a quick sync. Returns the exit status. */
int cli__school_capture(school_env *e, ProtobufCMessage *msg, const char *what)
{
    cli_record rec = {0};
    zd_err rc = cli_record_build(e->signer, msg, cli_now_ms(), &rec);
    if (rc != ZD_OK)
        return cli_fail("cannot seal the %s: %s", what, zd_err_text(rc));
    rc = cli_store_outbox_enqueue(e->store, &rec);
    if (rc != ZD_OK) {
        cli_record_finish(&rec);
        return cli_fail("cannot save the %s: %s", what, cli_store_errmsg(e->store));
    }
    char uuid[CLI_UUID_TEXT];
    cli_uuid_format(rec.uuid, uuid);
    printf("saved %s %s\n", what, uuid);
    cli_record_finish(&rec);
    fflush(stdout);
    (void)cli_sync_quick(&e->home, e->store, stdout);
    return 0;
}

/* The roster cache has never been filled: checks against it would refuse everything, so they are left to
 * the server (which checks again anyway). */
static int roster_known(cli_store *s, const char *class_code)
{
    cli_class c;
    uint64_t cursor = 0;
    if (cli_store_class_get(s, class_code, &c) == ZD_OK)
        return 1;
    return cli_store_cursor_get(s, "roster", &cursor) == ZD_OK && cursor > 0;
}

/* ---- absent / present ---- */

static int mark_run(const cli_ctx *ctx, int argc, char **argv, cli_mark mark)
{
    const char *name = argv[0];
    const char *klass = NULL, *date_arg = NULL, *reason = NULL;
    bool excused = false;
    const char *students[MAX_STUDENTS];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--class") == 0 && i + 1 < argc)
            klass = argv[++i];
        else if (strcmp(a, "--date") == 0 && i + 1 < argc)
            date_arg = argv[++i];
        else if (mark == CLI_MARK_ABSENT && strcmp(a, "--reason") == 0 && i + 1 < argc)
            reason = argv[++i];
        else if (mark == CLI_MARK_ABSENT && strcmp(a, "--excused") == 0)
            excused = true;
        else if (a[0] == '-')
            return cli_fail("%s: unknown option '%s' (try zerodrop %s --help)", name, a, name);
        else if (n < MAX_STUDENTS)
            students[n++] = a;
        else
            return cli_fail("%s: at most %d students at once", name, MAX_STUDENTS);
    }
    if (klass == NULL)
        return cli_fail("%s: name the class with --class (e.g. --class 7-2)", name);
    if (n == 0)
        return cli_fail("%s: name at least one student", name);
    if (mark == CLI_MARK_ABSENT && (reason == NULL || reason[0] == '\0'))
        return cli_fail("absent: give the reason with --reason (e.g. --reason sick)");
    uint32_t today = cli_date_of(cli_now_ms()), date = today;
    if (date_arg != NULL && cli_date_parse(date_arg, &date) != ZD_OK)
        return cli_fail("%s: '%s' is not a date (YYYY-MM-DD)", name, date_arg);
    school_env e;
    if (cli__school_env_open(ctx, &e, 1) != 0)
        return 1;
    int status = 1;
    char code[CLI_CODE_MAX];
    class_code_full(&e.home, klass, code);
    Zerodrop__V1__RollCall *old = NULL, *rc = NULL;
    zd_err err = cli_roll_call_latest(e.store, code, date, &old);
    if (err != ZD_OK && err != ZD_ENOT_FOUND) {
        status = cli_fail("cannot read the outbox: %s", cli_store_errmsg(e.store));
        goto out;
    }
    cli_problem p = {0};
    if (cli_roll_call_correct(old, code, date, mark, students, n, reason, excused, NULL, &rc, &p) != ZD_OK) {
        status = cli_fail("%s", p.message);
        goto out;
    }
    if (roster_known(e.store, code) && cli_validate_roll_call(e.store, rc, today, &p) != ZD_OK) {
        status = cli_fail("%s", p.message);
        goto out;
    }
    char what[160], dtext[CLI_DATE_TEXT];
    cli_date_format(date, dtext);
    snprintf(what, sizeof(what), "roll call of %s on %s (%zu absent)", code, dtext, rc->n_absences);
    status = cli__school_capture(&e, &rc->base, what);
out:
    cli_roll_call_free(rc);
    if (old != NULL)
        zerodrop__v1__roll_call__free_unpacked(old, NULL);
    cli__school_env_finish(&e);
    return status;
}

static int absent_run(const cli_ctx *ctx, int argc, char **argv) { return mark_run(ctx, argc, argv, CLI_MARK_ABSENT); }
static int present_run(const cli_ctx *ctx, int argc, char **argv) { return mark_run(ctx, argc, argv, CLI_MARK_PRESENT); }

const cli_command cli_cmd_absent = {
    .name = "absent",
    .summary = "record students absent in a class's roll call (works offline)",
    .usage = "usage: zerodrop [--home DIR] absent --class C [--date YYYY-MM-DD] STUDENT... --reason R [--excused]\n"
             "\n"
             "Records the named students (national student ids) absent from class C (\"7-2\" or the full code\n"
             "\"S43010101-7-2\") on the date (default today); everyone else in the class was present. When the\n"
             "class already has a roll call that day, a new one replaces it, naming the old (records are never\n"
             "changed in place). The record is saved in the outbox first, then sent if the server is reachable.\n",
    .run = absent_run,
};

const cli_command cli_cmd_present = {
    .name = "present",
    .summary = "correct a mistaken absence: the students were present (works offline)",
    .usage = "usage: zerodrop [--home DIR] present --class C [--date YYYY-MM-DD] STUDENT...\n"
             "\n"
             "Makes a new roll call of class C on the date (default today) without the named students' absences,\n"
             "naming the roll call it corrects. Each student must be absent in the latest roll call.\n",
    .run = present_run,
};

/* ---- roster ---- */

static int roster_run(const cli_ctx *ctx, int argc, char **argv)
{
    const char *klass = NULL;
    int fmt = OUT_TABLE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--class") == 0 && i + 1 < argc)
            klass = argv[++i];
        else if (strcmp(argv[i], "--csv") == 0)
            fmt = OUT_CSV;
        else if (strcmp(argv[i], "--json") == 0)
            fmt = OUT_JSON;
        else
            return cli_fail("roster: unexpected argument '%s' (try zerodrop roster --help)", argv[i]);
    }
    school_env e;
    if (cli__school_env_open(ctx, &e, 0) != 0)
        return 1;
    char code[CLI_CODE_MAX] = "";
    if (klass != NULL)
        class_code_full(&e.home, klass, code);
    cli_student *st = NULL;
    size_t n = 0;
    if (cli_store_student_list(e.store, code, &st, &n) != ZD_OK) {
        cli__school_env_finish(&e);
        return cli_fail("cannot read the roster cache: %s", cli_store_errmsg(e.store));
    }
    if (fmt == OUT_JSON) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            printf(i ? ",{\"student_id\":" : "{\"student_id\":");
            cli_json_str(stdout, st[i].student_id);
            printf(",\"name\":");
            cli_json_str(stdout, st[i].name);
            printf(",\"class\":");
            cli_json_str(stdout, st[i].class_code);
            printf(",\"sex\":");
            cli_json_str(stdout, st[i].sex);
            printf("}");
        }
        printf("]\n");
    } else if (fmt == OUT_CSV) {
        printf("student_id,name,class,sex\n");
        for (size_t i = 0; i < n; i++)
            printf("%s,\"%s\",%s,%s\n", st[i].student_id, st[i].name, st[i].class_code, st[i].sex);
    } else {
        printf("%-20s %-20s %-18s %s\n", "STUDENT", "NAME", "CLASS", "SEX");
        for (size_t i = 0; i < n; i++)
            printf("%-20s %-20s %-18s %s\n", st[i].student_id, st[i].name, st[i].class_code, st[i].sex);
        if (n == 0)
            printf("(the roster cache is empty: run zerodrop sync)\n");
    }
    free(st);
    cli__school_env_finish(&e);
    return 0;
}

const cli_command cli_cmd_roster = {
    .name = "roster",
    .summary = "the school's classes and students, from the local roster cache",
    .usage = "usage: zerodrop [--home DIR] roster [--class C] [--csv|--json]\n"
             "\n"
             "Lists the enrolled students (all, or of class C) as the roster cache holds them; `sync` refreshes\n"
             "the cache. Columns: student, name, class, sex.\n",
    .run = roster_run,
};

/* ---- status ---- */

static const char *report_state_words(cli_store *s, const char *school, uint32_t day)
{
    Zerodrop__V1__DailyReport *dr = NULL;
    cli_outbox_state st;
    if (cli_daily_report_latest(s, school, day, &dr, &st) != ZD_OK)
        return "not yet sent";
    const char *w;
    if (dr->kind == ZERODROP__V1__REPORT_KIND__REPORT_ZERO)
        w = (st == CLI_OUTBOX_ACCEPTED || st == CLI_OUTBOX_DUPLICATE) ? "attested zero" : "attested zero (not yet sent)";
    else
        w = (st == CLI_OUTBOX_ACCEPTED || st == CLI_OUTBOX_DUPLICATE) ? "events" : "events (not yet sent)";
    zerodrop__v1__daily_report__free_unpacked(dr, NULL);
    return w;
}

static int status_run(const cli_ctx *ctx, int argc, char **argv)
{
    int fmt = OUT_TABLE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            fmt = OUT_JSON;
        else if (strcmp(argv[i], "--csv") == 0)
            fmt = OUT_CSV;
        else
            return cli_fail("status: unexpected argument '%s' (try zerodrop status --help)", argv[i]);
    }
    school_env e;
    if (cli__school_env_open(ctx, &e, 0) != 0)
        return 1;
    cli_outbox_counts c;
    if (cli_store_outbox_counts(e.store, &c) != ZD_OK) {
        cli__school_env_finish(&e);
        return cli_fail("cannot read the outbox: %s", cli_store_errmsg(e.store));
    }
    int64_t server_ms = 0, local_ms = 0;
    (void)cli_store_contact_get(e.store, &server_ms, &local_ms);
    uint32_t today = cli_date_of(cli_now_ms());
    const char *report = report_state_words(e.store, e.home.institution, today);
    if (fmt == OUT_JSON) {
        printf("{\"pending\":%lld,\"sent\":%lld,\"accepted\":%lld,\"duplicate\":%lld,\"rejected\":%lld,"
               "\"last_contact_ms\":%lld,\"today\":%u,\"report\":",
               (long long)c.by_state[0], (long long)c.by_state[1], (long long)c.by_state[2],
               (long long)c.by_state[3], (long long)c.by_state[4], (long long)local_ms, today);
        cli_json_str(stdout, report);
        printf("}\n");
    } else if (fmt == OUT_CSV) {
        printf("pending,sent,accepted,duplicate,rejected,last_contact_ms,today,report\n");
        printf("%lld,%lld,%lld,%lld,%lld,%lld,%u,%s\n", (long long)c.by_state[0], (long long)c.by_state[1],
               (long long)c.by_state[2], (long long)c.by_state[3], (long long)c.by_state[4], (long long)local_ms,
               today, report);
    } else {
        printf("%-10s %-10s %-10s %-10s %-10s\n", "PENDING", "SENT", "ACCEPTED", "DUPLICATE", "REJECTED");
        printf("%-10lld %-10lld %-10lld %-10lld %-10lld\n", (long long)c.by_state[0], (long long)c.by_state[1],
               (long long)c.by_state[2], (long long)c.by_state[3], (long long)c.by_state[4]);
        if (local_ms == 0)
            printf("last contact with the server: never\n");
        else
            printf("last contact with the server: %lld s ago\n", (long long)((cli_now_ms() - local_ms) / 1000));
        char d[CLI_DATE_TEXT];
        cli_date_format(today, d);
        printf("today's report (%s): %s\n", d, report);
    }
    cli__school_env_finish(&e);
    return 0;
}

const cli_command cli_cmd_status = {
    .name = "status",
    .summary = "the outbox, the last contact with the server and today's report state",
    .usage = "usage: zerodrop [--home DIR] status [--csv|--json]\n"
             "\n"
             "Prints how many records are pending, sent without an answer, accepted, duplicate and rejected;\n"
             "when the server was last reached; and today's daily report: attested zero, events, or not yet\n"
             "sent.\n",
    .run = status_run,
};

/* ---- sync ---- */

static int sync_run(const cli_ctx *ctx, int argc, char **argv)
{
    const char *user = NULL, *pwfile = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
            pwfile = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_fail("sync: unexpected argument '%s' (try zerodrop sync --help)", argv[i]);
    }
    char password[1100] = "";
    if (user != NULL) {
        FILE *f = pwfile ? fopen(pwfile, "r") : NULL;
        if (f == NULL)
            return cli_fail("sync: --user needs --password-file with the password on its first line");
        if (fgets(password, sizeof(password), f) == NULL)
            password[0] = '\0';
        fclose(f);
        password[strcspn(password, "\r\n")] = '\0';
    }
    school_env e;
    if (cli__school_env_open(ctx, &e, 0) != 0)
        return 1;
    cli_sync_options opt = {.user = user, .password = password};
    cli_sync_report rep;
    char err[CLI_SYNC_ERRLEN];
    int rc = cli_sync_run(&e.home, e.store, &opt, &rep, err);
    memset(password, 0, sizeof(password));
    if (rc != 0) {
        cli__school_env_finish(&e);
        return cli_fail("sync: %s", err);
    }
    if (json)
        printf("{\"sent\":%zu,\"accepted\":%zu,\"duplicate\":%zu,\"rejected\":%zu,\"roster_rows\":%zu}\n", rep.sent,
               rep.accepted, rep.duplicate, rep.rejected, rep.roster_rows);
    else
        printf("sent %zu: %zu accepted, %zu duplicate, %zu rejected; roster rows %zu\n", rep.sent, rep.accepted,
               rep.duplicate, rep.rejected, rep.roster_rows);
    /* each rejection in plain words */
    cli_outbox_filter f = {.states = 1u << CLI_OUTBOX_REJECTED};
    cli_outbox_list list = {0};
    if (!json && rep.rejected > 0 && cli_store_outbox_list(e.store, &f, 0, &list) == ZD_OK) {
        for (size_t i = 0; i < list.count; i++) {
            char u[CLI_UUID_TEXT];
            cli_uuid_format(list.rows[i].uuid, u);
            printf("rejected %s %s: %s\n", u, list.rows[i].subject, list.rows[i].reason);
        }
    }
    cli_outbox_list_finish(&list);
    cli__school_env_finish(&e);
    return 0;
}

const cli_command cli_cmd_sync = {
    .name = "sync",
    .summary = "send the outbox to the county server and refresh the roster",
    .usage = "usage: zerodrop [--home DIR] sync [--user U --password-file F] [--json]\n"
             "\n"
             "Sends every record still waiting in the outbox, in batches, and keeps each answer (accepted,\n"
             "duplicate, or rejected and why) with its receipt; then pulls the roster changes. Logs in with the\n"
             "device's login session, or as user U with the password on the first line of F.\n",
    .run = sync_run,
};
