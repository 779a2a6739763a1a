/* The calendar and settings handlers; see handlers_calendar.h.
 *
 * Validation lives here as well as in SQL on purpose: the handler can name the exact field of the request
 * (which day of the list, which key), and it refuses nonsense before it costs a database round trip; the
 * functions of sql/009 check again, because they are the last word whoever calls them. */
#include "handlers_calendar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "handlers.h"
#include "buf.h"

/* ---- shared checks -------------------------------------------------------------------------------- */

int srv_calendar_date_text(uint32_t d, char out[11])
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = d / 10000, m = d / 100 % 100, day = d % 100;
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || day < 1)
        return 0;
    unsigned max = mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    if (day > max)
        return 0;
    snprintf(out, 11, "%04u-%02u-%02u", y, m, day);
    return 1;
}

static int code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- calendar ------------------------------------------------------------------------------------- */

static int kind_known(const char *k)
{
    return strcmp(k, "school_day") == 0 || strcmp(k, "holiday") == 0 || strcmp(k, "term_start") == 0 ||
           strcmp(k, "closure") == 0;
}

static void reply_done(srv_request *req, const char *what)
{
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__AdminDone d = ZERODROP__V1__ADMIN_DONE__INIT;
    d.what = (char *)what;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_ADMIN_DONE;
    e.admin_done = &d;
    srv_request_reply(req, &e);
}

static void on_calendar_set(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    char what[64];
    snprintf(what, sizeof(what), "calendar: %zu day(s) set", srv_db_job_count(job) - 1);
    reply_done(req, what);
}

void srv_calendar_set_handle(srv_request *req)
{
    const Zerodrop__V1__CalendarSet *cs = srv_request_envelope(req)->calendar_set;
    char field[64], msg[200];
    if (cs == NULL || cs->n_days == 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "calendar_set.days", "name at least one day");
        return;
    }
    if (cs->n_days > SRV_CALENDAR_SET_MAX) {
        snprintf(msg, sizeof(msg), "%zu days at once is too many; send at most %d", cs->n_days, SRV_CALENDAR_SET_MAX);
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "calendar_set.days", msg);
        return;
    }
    for (size_t i = 0; i < cs->n_days; i++) {
        const Zerodrop__V1__CalendarDay *d = cs->days[i];
        char date[11];
        const char *school = d->school_code ? d->school_code : "";
        const char *kind = d->kind ? d->kind : "";
        const char *bad = NULL;
        if (!srv_calendar_date_text(d->date, date)) {
            bad = "date";
            snprintf(msg, sizeof(msg), "%u is not a date (YYYYMMDD, 2000–2100)", d->date);
        } else if (!kind_known(kind)) {
            bad = "kind";
            snprintf(msg, sizeof(msg), "\"%.40s\" is not a kind of day (school_day, holiday, term_start, closure)",
                     kind);
        } else if (strcmp(kind, "closure") == 0 && !code_valid(school)) {
            bad = "school_code";
            snprintf(msg, sizeof(msg), "a closure names the school it closes (a school code such as S43010101)");
        } else if (strcmp(kind, "closure") != 0 && school[0] != '\0') {
            bad = "school_code";
            snprintf(msg, sizeof(msg), "only a closure names a school");
        } else if (d->note != NULL && strlen(d->note) > 200) {
            bad = "note";
            snprintf(msg, sizeof(msg), "the note is longer than 200 bytes");
        }
        if (bad != NULL) {
            snprintf(field, sizeof(field), "calendar_set.days[%zu].%s", i, bad);
            srv_request_fail(req, ZD_EINVALID_ARGUMENT, field, msg);
            return;
        }
    }
    srv_db_job *job = srv_handler_job_create(req, on_calendar_set);
    if (job == NULL)
        return;
    for (size_t i = 0; i < cs->n_days; i++) {
        const Zerodrop__V1__CalendarDay *d = cs->days[i];
        char date[11];
        (void)srv_calendar_date_text(d->date, date);
        const char *params[] = {date, d->kind, d->school_code ? d->school_code : "", d->note ? d->note : ""};
        (void)srv_db_job_add_sql(job, "SELECT zd.calendar_day_set($1::date, $2, $3, $4)", 4, params);
    }
    srv_db_job_submit(job);
}

static void on_calendar_show(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    int n = srv_db_job_rows(job, 1);
    Zerodrop__V1__CalendarDay *items = n > 0 ? calloc((size_t)n, sizeof(*items)) : NULL;
    Zerodrop__V1__CalendarDay **ptrs = n > 0 ? calloc((size_t)n, sizeof(*ptrs)) : NULL;
    if (n > 0 && (items == NULL || ptrs == NULL)) {
        free(items);
        free(ptrs);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        zerodrop__v1__calendar_day__init(&items[i]);
        const char *d = srv_db_job_value(job, 1, i, 0);
        items[i].date = d ? (uint32_t)strtoul(d, NULL, 10) : 0;
        items[i].kind = (char *)srv_db_job_value(job, 1, i, 1);
        items[i].school_code = (char *)srv_db_job_value(job, 1, i, 2);
        items[i].note = (char *)srv_db_job_value(job, 1, i, 3);
        ptrs[i] = &items[i];
    }
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Calendar cal = ZERODROP__V1__CALENDAR__INIT;
    cal.n_days = (size_t)n;
    cal.days = ptrs;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_CALENDAR;
    e.calendar = &cal;
    srv_request_reply(req, &e);
    free(items);
    free(ptrs);
}

void srv_calendar_show_handle(srv_request *req)
{
    const Zerodrop__V1__CalendarShowRequest *r = srv_request_envelope(req)->calendar_show_request;
    uint32_t from = r ? r->from_date : 0, to = r ? r->to_date : 0;
    char from_text[11] = "2000-01-01", to_text[11] = "2100-12-31";
    if (from != 0 && !srv_calendar_date_text(from, from_text)) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "calendar_show_request.from_date",
                         "the first day is not a date (YYYYMMDD, 2000–2100)");
        return;
    }
    if (to != 0 && !srv_calendar_date_text(to, to_text)) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "calendar_show_request.to_date",
                         "the last day is not a date (YYYYMMDD, 2000–2100)");
        return;
    }
    if (strcmp(from_text, to_text) > 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "calendar_show_request.to_date",
                         "the last day comes before the first");
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, on_calendar_show);
    if (job == NULL)
        return;
    const char *params[] = {from_text, to_text};
    /* A cap keeps the answer well inside one frame, whatever range is asked for. */
    (void)srv_db_job_add_sql(job,
                             "SELECT to_char(day, 'YYYYMMDD'), kind, school_code, note "
                             "FROM zd.calendar_show($1::date, $2::date) LIMIT 5000",
                             2, params);
    srv_db_job_submit(job);
}

/* ---- settings ------------------------------------------------------------------------------------- */

typedef enum setting_type { SET_DAYS, SET_RATE, SET_TIME, SET_ZONE } setting_type;

static const struct setting_rule {
    const char *key;
    setting_type type;
} setting_rules[] = {
    {"timezone", SET_ZONE},
    {"report_deadline", SET_TIME},
    {"streak_contact_days", SET_DAYS},
    {"streak_suspected_days", SET_DAYS},
    {"streak_dropout_days", SET_DAYS},
    {"transfer_limbo_days", SET_DAYS},
    {"commendation_rate", SET_RATE},
    {"veto_class_rate", SET_RATE},
    {"veto_grade6_loss", SET_RATE},
    {"stage_days_contact", SET_DAYS},
    {"stage_days_notice", SET_DAYS},
    {"stage_days_visits", SET_DAYS},
    {"stage_days_report", SET_DAYS},
    {"stage_days_township", SET_DAYS},
    {"stage_days_county", SET_DAYS},
};

#define SETTING_COUNT (sizeof(setting_rules) / sizeof(setting_rules[0]))

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

int srv_setting_check(const char *key, const char *value, char *why, size_t n)
{
    const struct setting_rule *rule = NULL;
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(setting_rules[i].key, key) == 0)
            rule = &setting_rules[i];
    if (rule == NULL) {
        snprintf(why, n, "there is no setting \"%.40s\" (zerodrop admin settings show lists them)", key);
        return -1;
    }
    size_t len = strlen(value);
    switch (rule->type) {
    case SET_DAYS:
        if (!all_digits(value, len) || len > 3 || strtoul(value, NULL, 10) < 1 || strtoul(value, NULL, 10) > 366) {
            snprintf(why, n, "%s is a number of days from 1 to 366, not \"%.40s\"", key, value);
            return -1;
        }
        return 0;
    case SET_RATE: {
        /* 0, 1, or 0.xxxx with at most four decimals: what numeric(5,4) keeps exactly. */
        const char *dot = strchr(value, '.');
        size_t ip = dot ? (size_t)(dot - value) : len, fp = dot ? len - ip - 1 : 0;
        int ok = ip == 1 && all_digits(value, 1) && (dot == NULL || (fp >= 1 && fp <= 4 && all_digits(dot + 1, fp)));
        if (ok && value[0] == '1' && dot != NULL)
            for (size_t i = 0; i < fp; i++)
                ok &= dot[1 + i] == '0';
        if (!ok || value[0] > '1') {
            snprintf(why, n, "%s is a share from 0 to 1 such as 0.05, not \"%.40s\"", key, value);
            return -1;
        }
        return 0;
    }
    case SET_TIME:
        if (len != 5 || value[2] != ':' || !all_digits(value, 2) || !all_digits(value + 3, 2) ||
            strtoul(value, NULL, 10) > 23 || strtoul(value + 3, NULL, 10) > 59) {
            snprintf(why, n, "%s is a time of day HH:MM such as 10:00, not \"%.40s\"", key, value);
            return -1;
        }
        return 0;
    case SET_ZONE:
        for (size_t i = 0; i < len; i++) {
            char c = value[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '/' || c == '+' || c == '-'))
                len = 0;
        }
        if (len == 0 || len > 64) {
            snprintf(why, n, "%s is a time zone such as Asia/Shanghai, not \"%.40s\"", key, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

static void on_settings_set(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    char what[64];
    const char *n = srv_db_job_value(job, 1, 0, 0);
    snprintf(what, sizeof(what), "settings: %s set", n ? n : "0");
    reply_done(req, what);
}

void srv_settings_set_handle(srv_request *req)
{
    const Zerodrop__V1__SettingsSet *ss = srv_request_envelope(req)->settings_set;
    char why[200];
    if (ss == NULL || ss->n_settings == 0) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "settings", "name at least one setting KEY=VALUE");
        return;
    }
    if (ss->n_settings > SETTING_COUNT) {
        srv_request_fail(req, ZD_EINVALID_ARGUMENT, "settings", "more settings than there are keys");
        return;
    }
    for (size_t i = 0; i < ss->n_settings; i++) {
        const char *key = ss->settings[i]->key ? ss->settings[i]->key : "";
        const char *value = ss->settings[i]->value ? ss->settings[i]->value : "";
        if (srv_setting_check(key, value, why, sizeof(why)) != 0) {
            srv_request_fail(req, ZD_EINVALID_ARGUMENT, key[0] ? key : "settings", why);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(ss->settings[j]->key, key) == 0) {
                srv_request_fail(req, ZD_EINVALID_ARGUMENT, key, "the same setting is named twice");
                return;
            }
    }
    /* Keys and values passed the checks above, so they hold no character JSON would need escaped. */
    net_buf json;
    net_buf_init(&json, 8192);
    int bad = net_buf_append(&json, "{", 1);
    for (size_t i = 0; i < ss->n_settings && bad == 0; i++) {
        char item[200];
        int len = snprintf(item, sizeof(item), "%s\"%s\":\"%s\"", i ? "," : "", ss->settings[i]->key,
                           ss->settings[i]->value);
        bad = len < 0 || (size_t)len >= sizeof(item) || net_buf_append(&json, item, (size_t)len) != 0;
    }
    if (bad == 0)
        bad = net_buf_append(&json, "}", 2); /* with its NUL */
    if (bad != 0) {
        net_buf_finish(&json);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    srv_db_job *job = srv_handler_job_create(req, on_settings_set);
    if (job == NULL) {
        net_buf_finish(&json);
        return;
    }
    const char *params[] = {(const char *)net_buf_bytes(&json)};
    (void)srv_db_job_add_sql(job, "SELECT zd.county_settings_set($1::jsonb)", 1, params);
    net_buf_finish(&json);
    srv_db_job_submit(job);
}

static void on_settings_get(srv_db_job *job, void *data)
{
    srv_request *req = data;
    if (srv_db_job_status(job) != ZD_OK) {
        srv_handler_job_fail(req, job);
        return;
    }
    int n = srv_db_job_rows(job, 1);
    Zerodrop__V1__Setting *items = n > 0 ? calloc((size_t)n, sizeof(*items)) : NULL;
    Zerodrop__V1__Setting **ptrs = n > 0 ? calloc((size_t)n, sizeof(*ptrs)) : NULL;
    if (n > 0 && (items == NULL || ptrs == NULL)) {
        free(items);
        free(ptrs);
        srv_request_fail(req, ZD_EINTERNAL, "", "the server is out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        zerodrop__v1__setting__init(&items[i]);
        items[i].key = (char *)srv_db_job_value(job, 1, i, 0);
        items[i].value = (char *)srv_db_job_value(job, 1, i, 1);
        ptrs[i] = &items[i];
    }
    Zerodrop__V1__Envelope e = ZERODROP__V1__ENVELOPE__INIT;
    Zerodrop__V1__Settings st = ZERODROP__V1__SETTINGS__INIT;
    st.n_settings = (size_t)n;
    st.settings = ptrs;
    e.body_case = ZERODROP__V1__ENVELOPE__BODY_SETTINGS;
    e.settings = &st;
    srv_request_reply(req, &e);
    free(items);
    free(ptrs);
}

void srv_settings_get_handle(srv_request *req)
{
    srv_db_job *job = srv_handler_job_create(req, on_settings_get);
    if (job == NULL)
        return;
    (void)srv_db_job_add_sql(job, "SELECT key, value FROM zd.county_settings_get()", 0, NULL);
    srv_db_job_submit(job);
}
