/* `zerodrop admin calendar set|show` and `zerodrop admin settings set|show`: the county's calendar (school
 * days, holidays, term starts, a school's closures) and its settings (deadline, streak tiers, thresholds).
 *
 * The client only shapes the request: dates from YYYY-MM-DD into the wire's YYYYMMDD, a CSV file into a list
 * of days. The server checks every field and answers a mistake with the field it found it in, which is
 * printed as is; nothing is applied unless all of it is right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "rpc.h"

#define DAYS_MAX 2000   /* what one CalendarSet may carry (server/handlers_calendar.h) */
#define LINE_FIELDS 8
#define FIELD_MAX 256

/* "2026-09-01" → 20260901; 0 when it is not a date of that shape (the server checks the day exists). */
static uint32_t parse_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    unsigned y = (unsigned)strtoul(s, NULL, 10), m = (unsigned)strtoul(s + 5, NULL, 10),
             d = (unsigned)strtoul(s + 8, NULL, 10);
    return y * 10000 + m * 100 + d;
}

/* The day after d (YYYYMMDD), by the Gregorian calendar. */
static uint32_t next_day(uint32_t d)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = d / 10000, m = d / 100 % 100, day = d % 100;
    unsigned max = m >= 1 && m <= 12 ? mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) : 31;
    if (++day > max) {
        day = 1;
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    return y * 10000 + m * 100 + day;
}

/* The days being gathered for one CalendarSet; strings are owned here. */
typedef struct day_list {
    Zerodrop__V1__CalendarDay days[DAYS_MAX];
    Zerodrop__V1__CalendarDay *ptrs[DAYS_MAX];
    size_t n;
} day_list;

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static void day_list_free(day_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->days[i].kind);
        free(l->days[i].school_code);
        free(l->days[i].note);
    }
    free(l);
}

/* Appends one day. 0, or 1 after cli_fail. */
static int day_add(day_list *l, uint32_t date, const char *kind, const char *school, const char *note)
{
    if (l->n == DAYS_MAX)
        return cli_fail("calendar set: more than %d days at once; split the file", DAYS_MAX);
    Zerodrop__V1__CalendarDay *d = &l->days[l->n];
    zerodrop__v1__calendar_day__init(d);
    d->date = date;
    d->kind = dup_text(kind);
    d->school_code = dup_text(school);
    d->note = dup_text(note);
    l->ptrs[l->n] = d;
    l->n++;
    if (d->kind == NULL || d->school_code == NULL || d->note == NULL)
        return cli_fail("out of memory");
    return 0;
}

/* Splits one CSV record (RFC 4180 quoting, one physical line) into at most LINE_FIELDS fields. Returns the
 * number of fields. */
static size_t split_csv(char *line, char fields[LINE_FIELDS][FIELD_MAX])
{
    size_t n = 0, k = 0;
    int quoted = 0;
    memset(fields, 0, LINE_FIELDS * FIELD_MAX);
    for (char *p = line;; p++) {
        char c = *p;
        if (c == '\0' || c == '\n' || (c == '\r' && (p[1] == '\n' || p[1] == '\0'))) {
            if (!quoted || c == '\0')
                return n + 1;
        }
        if (quoted) {
            if (c == '"' && p[1] == '"') {
                p++;
            } else if (c == '"') {
                quoted = 0;
                continue;
            }
        } else if (c == '"' && k == 0) {
            quoted = 1;
            continue;
        } else if (c == ',') {
            if (++n == LINE_FIELDS)
                return n;
            k = 0;
            continue;
        }
        if (k + 1 < FIELD_MAX)
            fields[n][k++] = c;
    }
}

/* Reads a calendar file in one of the three layouts the usage names. 0, or 1 after cli_fail. */
static int read_calendar_file(const char *path, day_list *l)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return cli_fail("calendar set: cannot open %s", path);
    char line[4096];
    char fl[LINE_FIELDS][FIELD_MAX];
    enum { OURS, GEN_CALENDAR, GEN_CLOSURES } layout = OURS;
    int rc = 0;
    unsigned row = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        row++;
        char *text = line;
        if (row == 1 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
            (unsigned char)text[2] == 0xBF)
            text += 3;
        if (text[0] == '\n' || (text[0] == '\r' && text[1] == '\n'))
            continue;
        size_t n = split_csv(text, fl);
        if (row == 1) {
            if (n == 4 && strcmp(fl[0], "date") == 0 && strcmp(fl[1], "kind") == 0 &&
                strcmp(fl[2], "school_code") == 0 && strcmp(fl[3], "note") == 0)
                layout = OURS;
            else if (n == 5 && strcmp(fl[0], "date") == 0 && strcmp(fl[2], "school_day") == 0)
                layout = GEN_CALENDAR;
            else if (n == 3 && strcmp(fl[0], "school_code") == 0 && strcmp(fl[1], "date") == 0)
                layout = GEN_CLOSURES;
            else
                rc = cli_fail("calendar set: %s: row 1 must be the header date,kind,school_code,note", path);
            continue;
        }
        size_t want = layout == OURS ? 4 : layout == GEN_CALENDAR ? 5 : 3;
        if (n != want) {
            rc = cli_fail("calendar set: %s: row %u has %zu columns, expected %zu", path, row, n, want);
            break;
        }
        const char *date_text = layout == GEN_CLOSURES ? fl[1] : fl[0];
        uint32_t date = parse_date(date_text);
        if (date == 0) {
            rc = cli_fail("calendar set: %s: row %u, column date: \"%s\" is not a date (YYYY-MM-DD)", path, row,
                          date_text);
            break;
        }
        if (layout == OURS)
            rc = day_add(l, date, fl[1], fl[2], fl[3]);
        else if (layout == GEN_CALENDAR)
            rc = day_add(l, date, strcmp(fl[2], "1") == 0 ? "school_day" : "holiday", "", fl[4][0] ? fl[4] : fl[3]);
        else
            rc = day_add(l, date, "closure", fl[0], fl[2]);
    }
    if (rc == 0 && ferror(f))
        rc = cli_fail("calendar set: cannot read %s", path);
    fclose(f);
    if (rc == 0 && l->n == 0)
        rc = cli_fail("calendar set: %s names no day", path);
    return rc;
}

/* Who acts: --as USER --as-password-file F, or the login kept in the home (both NULL). */
typedef struct acting {
    const char *user, *password_file;
} acting;

/* Sends env on a logged-in session, returns the reply or NULL after printing why. */
static Zerodrop__V1__Envelope *call(const cli_ctx *ctx, const acting *as, Zerodrop__V1__Envelope *env,
                                    const char *what)
{
    char err[CLI_RPC_ERRLEN];
    cli_rpc *rpc = cli_admin_open(ctx, what, as->user, as->password_file, NULL);
    if (rpc == NULL)
        return NULL;
    Zerodrop__V1__Envelope *reply = cli_rpc_call(rpc, env, err);
    cli_rpc_close(rpc);
    if (reply == NULL)
        cli_fail("%s: %s", what, err);
    return reply;
}

/* Prints AdminDone's words, or the refusal. */
static int expect_done(Zerodrop__V1__Envelope *reply, const char *what)
{
    if (reply == NULL)
        return 1;
    int rc = 0;
    if (reply->body_case == ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE && reply->admin_done != NULL)
        printf("%s\n", reply->admin_done->what);
    else
        rc = cli_fail_reply(what, reply);
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return rc;
}

static int calendar_set(const cli_ctx *ctx, int argc, char **argv)
{
    day_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return cli_fail("out of memory");
    const char *file = NULL, *note = "";
    const char *pos[3] = {NULL, NULL, NULL};
    acting as = {NULL, NULL};
    int npos = 0, rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        if (cli_admin_as_option(argc, argv, &i, &as.user, &as.password_file))
            continue;
        if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
            note = argv[++i];
        else if (argv[i][0] != '-' && npos < 3)
            pos[npos++] = argv[i];
        else
            rc = cli_fail("calendar set: unexpected argument '%s' (try zerodrop admin --help)", argv[i]);
    }
    if (rc == 0 && file != NULL && npos > 0)
        rc = cli_fail("calendar set: give either --file or DATE KIND, not both");
    if (rc == 0 && file != NULL) {
        rc = read_calendar_file(file, l);
    } else if (rc == 0) {
        if (npos < 2) {
            rc = cli_fail("calendar set: name DATE[..DATE] and KIND (or --file FILE.csv)");
        } else {
            char first[16] = "", last[16] = "";
            const char *dots = strstr(pos[0], "..");
            if (dots != NULL) {
                snprintf(first, sizeof(first), "%.*s", (int)(dots - pos[0]), pos[0]);
                snprintf(last, sizeof(last), "%s", dots + 2);
            } else {
                snprintf(first, sizeof(first), "%s", pos[0]);
                snprintf(last, sizeof(last), "%s", pos[0]);
            }
            uint32_t from = parse_date(first), to = parse_date(last);
            if (from == 0 || to == 0 || to < from)
                rc = cli_fail("calendar set: \"%s\" is not a date or a range YYYY-MM-DD..YYYY-MM-DD", pos[0]);
            for (uint32_t d = from; rc == 0 && d <= to; d = next_day(d))
                rc = day_add(l, d, pos[1], pos[2] ? pos[2] : "", note);
        }
    }
    if (rc != 0) {
        day_list_free(l);
        return rc;
    }
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__CalendarSet set = ZERODROP__V1__CALENDAR_SET__INIT;
    set.n_days = l->n;
    set.days = l->ptrs;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_CALENDAR_SET;
    env.calendar_set = &set;
    rc = expect_done(call(ctx, &as, &env, "calendar set"), "calendar set");
    day_list_free(l);
    return rc;
}

static void print_date(FILE *out, uint32_t d)
{
    fprintf(out, "%04u-%02u-%02u", d / 10000, d / 100 % 100, d % 100);
}

static int calendar_show(const cli_ctx *ctx, int argc, char **argv)
{
    int json = 0, csv = 0, npos = 0;
    uint32_t range[2] = {0, 0};
    acting as = {NULL, NULL};
    for (int i = 2; i < argc; i++) {
        if (cli_admin_as_option(argc, argv, &i, &as.user, &as.password_file))
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else if (argv[i][0] != '-' && npos < 2 && parse_date(argv[i]) != 0)
            range[npos++] = parse_date(argv[i]);
        else
            return cli_fail("calendar show: unexpected argument '%s' (dates are YYYY-MM-DD)", argv[i]);
    }
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__CalendarShowRequest req = ZERODROP__V1__CALENDAR_SHOW_REQUEST__INIT;
    req.from_date = range[0];
    req.to_date = npos == 2 ? range[1] : 0;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_CALENDAR_SHOW_REQUEST;
    env.calendar_show_request = &req;
    Zerodrop__V1__Envelope *reply = call(ctx, &as, &env, "calendar show");
    if (reply == NULL)
        return 1;
    if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_CALENDAR || reply->calendar == NULL) {
        int rc = cli_fail_reply("calendar show", reply);
        zerodrop__v1__envelope__free_unpacked(reply, NULL);
        return rc;
    }
    const Zerodrop__V1__Calendar *cal = reply->calendar;
    if (json)
        printf("[");
    else if (csv)
        printf("date,kind,school_code,note\n");
    for (size_t i = 0; i < cal->n_days; i++) {
        const Zerodrop__V1__CalendarDay *d = cal->days[i];
        if (json) {
            printf("%s{\"date\":\"", i ? "," : "");
            print_date(stdout, d->date);
            printf("\",\"kind\":");
            cli_json_str(stdout, d->kind);
            printf(",\"school_code\":");
            cli_json_str(stdout, d->school_code);
            printf(",\"note\":");
            cli_json_str(stdout, d->note);
            printf("}");
        } else if (csv) {
            print_date(stdout, d->date);
            printf(",%s,%s,\"", d->kind, d->school_code);
            for (const char *p = d->note; *p; p++)
                fputs(*p == '"' ? "\"\"" : (char[2]){*p, 0}, stdout);
            printf("\"\n");
        } else {
            print_date(stdout, d->date);
            printf("  %-10s  %-10s  %s\n", d->kind, d->school_code[0] ? d->school_code : "-", d->note);
        }
    }
    if (json)
        printf("]\n");
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return 0;
}

static int run_calendar(const cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set") == 0)
        return calendar_set(ctx, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return calendar_show(ctx, argc, argv);
    return cli_fail("calendar: say set or show (try zerodrop admin --help)");
}

#define SETTINGS_MAX 32

static int settings_set(const cli_ctx *ctx, int argc, char **argv)
{
    Zerodrop__V1__Setting items[SETTINGS_MAX];
    Zerodrop__V1__Setting *ptrs[SETTINGS_MAX];
    char keys[SETTINGS_MAX][64];
    size_t n = 0;
    acting as = {NULL, NULL};
    for (int i = 2; i < argc; i++) {
        if (cli_admin_as_option(argc, argv, &i, &as.user, &as.password_file))
            continue;
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(keys[0]))
            return cli_fail("settings set: '%s' is not KEY=VALUE", argv[i]);
        if (n == SETTINGS_MAX)
            return cli_fail("settings set: too many settings at once");
        snprintf(keys[n], sizeof(keys[n]), "%.*s", (int)(eq - argv[i]), argv[i]);
        zerodrop__v1__setting__init(&items[n]);
        items[n].key = keys[n];
        items[n].value = (char *)(eq + 1);
        ptrs[n] = &items[n];
        n++;
    }
    if (n == 0)
        return cli_fail("settings set: name at least one KEY=VALUE");
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__SettingsSet set = ZERODROP__V1__SETTINGS_SET__INIT;
    set.n_settings = n;
    set.settings = ptrs;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_SETTINGS_SET;
    env.settings_set = &set;
    return expect_done(call(ctx, &as, &env, "settings set"), "settings set");
}

static int settings_show(const cli_ctx *ctx, int argc, char **argv)
{
    int json = 0, csv = 0;
    acting as = {NULL, NULL};
    for (int i = 2; i < argc; i++) {
        if (cli_admin_as_option(argc, argv, &i, &as.user, &as.password_file))
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else
            return cli_fail("settings show: unexpected argument '%s'", argv[i]);
    }
    Zerodrop__V1__Envelope env = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__SettingsGetRequest get = ZERODROP__V1__SETTINGS_GET_REQUEST__INIT;
    env.body_case = ZERODROP__V1__ENVELOPE__BODY_SETTINGS_GET_REQUEST;
    env.settings_get_request = &get;
    Zerodrop__V1__Envelope *reply = call(ctx, &as, &env, "settings show");
    if (reply == NULL)
        return 1;
    if (reply->body_case != ZERODROP__V1__ENVELOPE__BODY_SETTINGS || reply->settings == NULL) {
        int rc = cli_fail_reply("settings show", reply);
        zerodrop__v1__envelope__free_unpacked(reply, NULL);
        return rc;
    }
    const Zerodrop__V1__Settings *st = reply->settings;
    if (json)
        printf("{");
    else if (csv)
        printf("key,value\n");
    for (size_t i = 0; i < st->n_settings; i++) {
        if (json) {
            printf("%s", i ? "," : "");
            cli_json_str(stdout, st->settings[i]->key);
            printf(":");
            cli_json_str(stdout, st->settings[i]->value);
        } else if (csv) {
            printf("%s,%s\n", st->settings[i]->key, st->settings[i]->value);
        } else {
            printf("%-22s %s\n", st->settings[i]->key, st->settings[i]->value);
        }
    }
    if (json)
        printf("}\n");
    zerodrop__v1__envelope__free_unpacked(reply, NULL);
    return 0;
}

static int run_settings(const cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set") == 0)
        return settings_set(ctx, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "show") == 0)
        return settings_show(ctx, argc, argv);
    return cli_fail("settings: say set or show (try zerodrop admin --help)");
}

const cli_command cli_admin_calendar = {
    .name = "calendar",
    .summary = "set or show the county calendar (school days, holidays, term starts, closures)",
    .usage = "usage: zerodrop admin calendar set DATE[..DATE] KIND [SCHOOL] [--note TEXT] | set --file FILE.csv\n"
             "       zerodrop admin calendar show [FROM [TO]] [--json | --csv]\n",
    .run = run_calendar,
};

const cli_command cli_admin_settings = {
    .name = "settings",
    .summary = "set or show the county settings (deadline, streak tiers, thresholds)",
    .usage = "usage: zerodrop admin settings set KEY=VALUE … | show [--json | --csv]\n",
    .run = run_settings,
};
