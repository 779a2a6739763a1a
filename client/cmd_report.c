/* `zerodrop report zero|events`: the school's daily report, signed and saved in the outbox first.
 *
 * A zero-report attests that nothing changed and nobody is at risk; an events report lists transfers out
 * (with the receiving school), transfers in (with the sending school), suspected dropouts, returns and
 * no-shows. Silence is never a zero: only this command makes one. A second report for the same day is a
 * new record naming the one it corrects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmd_school.h"
#include "validate.h"

#define MAX_EVENTS 256

static int add_event(Zerodrop__V1__ReportEvent *ev, size_t *n, Zerodrop__V1__EventType type, char *arg)
{
    if (*n >= MAX_EVENTS)
        return cli_fail("report: at most %d events at once", MAX_EVENTS);
    Zerodrop__V1__ReportEvent *e = &ev[*n];
    zerodrop__v1__report_event__init(e);
    e->type = type;
    e->student_id = arg;
    if (type == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT || type == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN) {
        char *colon = strchr(arg, ':');
        if (colon == NULL || colon[1] == '\0')
            return cli_fail("report: a transfer is STUDENT:SCHOOL (the school at the other end), not '%s'", arg);
        *colon = '\0';
        e->other_school = colon + 1;
    }
    (*n)++;
    return 0;
}

static int run(const cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "zero") != 0 && strcmp(argv[1], "events") != 0))
        return cli_fail("report: say `report zero` or `report events` (try zerodrop report --help)");
    int zero = strcmp(argv[1], "zero") == 0;
    const char *date_arg = NULL, *signed_by = "";
    Zerodrop__V1__ReportEvent *ev = calloc(MAX_EVENTS, sizeof(*ev));
    Zerodrop__V1__ReportEvent *ptrs[MAX_EVENTS];
    size_t n = 0;
    int status = 1;
    if (ev == NULL)
        return cli_fail("out of memory");
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        Zerodrop__V1__EventType t = ZERODROP__V1__EVENT_TYPE__EVENT_UNSPECIFIED;
        if (strcmp(a, "--date") == 0 && has) {
            date_arg = argv[++i];
            continue;
        } else if (strcmp(a, "--signed-by") == 0 && has) {
            signed_by = argv[++i];
            continue;
        } else if (!zero && strcmp(a, "--transfer-out") == 0 && has) {
            t = ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT;
        } else if (!zero && strcmp(a, "--transfer-in") == 0 && has) {
            t = ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN;
        } else if (!zero && strcmp(a, "--suspected") == 0 && has) {
            t = ZERODROP__V1__EVENT_TYPE__EVENT_SUSPECTED_DROPOUT;
        } else if (!zero && strcmp(a, "--return") == 0 && has) {
            t = ZERODROP__V1__EVENT_TYPE__EVENT_RETURN;
        } else if (!zero && strcmp(a, "--no-show") == 0 && has) {
            t = ZERODROP__V1__EVENT_TYPE__EVENT_NO_SHOW;
        } else {
            status = cli_fail("report %s: unexpected argument '%s' (try zerodrop report --help)", argv[1], a);
            goto out_ev;
        }
        if (add_event(ev, &n, t, argv[++i]) != 0)
            goto out_ev;
    }
    if (!zero && n == 0) {
        status = cli_fail("report events: name at least one event (or send `report zero`)");
        goto out_ev;
    }
    uint32_t today = cli_date_of(cli_now_ms()), date = today;
    if (date_arg != NULL && cli_date_parse(date_arg, &date) != ZD_OK) {
        status = cli_fail("report: '%s' is not a date (YYYY-MM-DD)", date_arg);
        goto out_ev;
    }
    school_env e;
    if (cli__school_env_open(ctx, &e, 1) != 0)
        goto out_ev;
    Zerodrop__V1__DailyReport dr = ZERODROP__V1__DAILY_REPORT__INIT;
    dr.school_code = e.home.institution;
    dr.date = date;
    dr.kind = zero ? ZERODROP__V1__REPORT_KIND__REPORT_ZERO : ZERODROP__V1__REPORT_KIND__REPORT_EVENTS;
    dr.signed_by = (char *)signed_by;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &ev[i];
    dr.n_events = n;
    dr.events = ptrs;
    /* A second report of the day corrects the first. */
    Zerodrop__V1__DailyReport *old = NULL;
    if (cli_daily_report_latest(e.store, e.home.institution, date, &old, NULL) == ZD_OK) {
        dr.corrects = old->uuid;
    }
    cli_problem p = {0};
    uint64_t cursor = 0;
    int roster = zero || (cli_store_cursor_get(e.store, "roster", &cursor) == ZD_OK && cursor > 0);
    if (roster && cli_validate_daily_report(e.store, &dr, e.home.institution, today, &p) != ZD_OK) {
        status = cli_fail("%s", p.message);
    } else {
        char what[96], d[CLI_DATE_TEXT];
        cli_date_format(date, d);
        snprintf(what, sizeof(what), "%s of %s on %s", zero ? "zero-report" : "events report", e.home.institution,
                 d);
        status = cli__school_capture(&e, &dr.base, what);
    }
    if (old != NULL)
        zerodrop__v1__daily_report__free_unpacked(old, NULL);
    cli__school_env_finish(&e);
out_ev:
    free(ev);
    return status;
}

const cli_command cli_cmd_report = {
    .name = "report",
    .summary = "the daily report: `report zero` or `report events ...` (works offline)",
    .usage = "usage: zerodrop [--home DIR] report zero [--date YYYY-MM-DD] [--signed-by USER]\n"
             "       zerodrop [--home DIR] report events [--date YYYY-MM-DD] [--signed-by USER]\n"
             "                [--transfer-out STUDENT:SCHOOL]... [--transfer-in STUDENT:SCHOOL]...\n"
             "                [--suspected STUDENT]... [--return STUDENT]... [--no-show STUDENT]...\n"
             "\n"
             "`report zero` attests for the school that nothing changed and nobody is at risk on the date\n"
             "(default today). `report events` reports what happened instead. The report is signed by this\n"
             "device, saved in the outbox, then sent if the server is reachable; a second report of the same\n"
             "day corrects the first.\n",
    .run = run,
};
