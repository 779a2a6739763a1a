/* Client-side checks of roll calls and daily reports, and corrections of roll calls.
 *
 * Each check stops at the first problem and says it in one sentence naming the student, the class (by
 * its short name, as teachers say it) and the day, because a list of twenty complaints about one typed
 * class code helps nobody. */
#include "validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((format(printf, 4, 5))) static zd_err problem(cli_problem *p, zd_err code, const char *field,
                                                            const char *fmt, ...)
{
    p->code = code;
    snprintf(p->field, sizeof(p->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    return code;
}

static void no_problem(cli_problem *p)
{
    p->code = ZD_OK;
    p->field[0] = '\0';
    p->message[0] = '\0';
}

bool cli_date_valid(uint32_t date)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t y = date / 10000, m = date / 100 % 100, d = date % 100;
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1)
        return false;
    uint32_t max = days[m - 1];
    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        max = 29;
    return d <= max;
}

zd_err cli_date_parse(const char *text, uint32_t *out)
{
    if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return ZD_EINVALID_ARGUMENT;
    uint32_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (text[i] < '0' || text[i] > '9')
            return ZD_EINVALID_ARGUMENT;
        v = v * 10 + (uint32_t)(text[i] - '0');
    }
    if (!cli_date_valid(v))
        return ZD_EINVALID_ARGUMENT;
    *out = v;
    return ZD_OK;
}

void cli_date_format(uint32_t date, char out[CLI_DATE_TEXT])
{
    if (!cli_date_valid(date)) {
        snprintf(out, CLI_DATE_TEXT, "%u", date % 100000000u);
        return;
    }
    snprintf(out, CLI_DATE_TEXT, "%04u-%02u-%02u", date / 10000 % 10000, date / 100 % 100, date % 100);
}

uint32_t cli_date_of(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 + (uint32_t)tm.tm_mday;
}

bool cli_student_id_valid(const char *id)
{
    if (id == NULL || id[0] != 'G' || strlen(id) != 19)
        return false;
    for (int i = 1; i < 19; i++)
        if (id[i] < '0' || id[i] > '9')
            return false;
    return true;
}

static bool blank(const char *t)
{
    if (t == NULL)
        return true;
    for (; *t; t++)
        if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
            return false;
    return true;
}

/* The date checks shared by both records. */
static zd_err check_date(uint32_t date, uint32_t today, cli_problem *p)
{
    char d[CLI_DATE_TEXT], t[CLI_DATE_TEXT];
    if (!cli_date_valid(date)) {
        cli_date_format(date, d);
        return problem(p, ZD_EINVALID_ARGUMENT, "date",
                       "%s is not a date; write it as YYYY-MM-DD, e.g. 2026-03-04", date ? d : "no date");
    }
    if (today != 0 && date > today) {
        cli_date_format(date, d);
        cli_date_format(today, t);
        return problem(p, ZD_EINVALID_ARGUMENT, "date", "%s is in the future (today is %s)", d, t);
    }
    return ZD_OK;
}

zd_err cli_validate_roll_call(cli_store *s, const Zerodrop__V1__RollCall *rc, uint32_t today, cli_problem *p)
{
    no_problem(p);
    if (s == NULL || rc == NULL)
        return problem(p, ZD_EINVALID_ARGUMENT, "", "there is no roll call to check");
    if (blank(rc->class_code))
        return problem(p, ZD_EINVALID_ARGUMENT, "class_code", "the roll call names no class");
    zd_err rc_err = check_date(rc->date, today, p);
    if (rc_err != ZD_OK)
        return rc_err;
    if (rc->corrects.len != 0 && rc->corrects.len != CLI_UUID_BYTES)
        return problem(p, ZD_EINVALID_ARGUMENT, "corrects", "the roll call it corrects is named wrongly");

    char day[CLI_DATE_TEXT];
    cli_date_format(rc->date, day);
    cli_class cls;
    zd_err e = cli_store_class_get(s, rc->class_code, &cls);
    if (e == ZD_ENOT_FOUND)
        return problem(
            p, ZD_EINVALID_ARGUMENT, "class_code",
            "class %s is not in this school's roster; check the class, or run sync to refresh the roster",
            rc->class_code);
    if (e != ZD_OK)
        return problem(p, e, "", "the local store could not be read: %s", zd_err_text(e));

    char field[64];
    for (size_t i = 0; i < rc->n_absences; i++) {
        const Zerodrop__V1__Absence *a = rc->absences[i];
        const char *id = a && a->student_id ? a->student_id : "";
        snprintf(field, sizeof(field), "absences[%zu].student_id", i);
        if (blank(id))
            return problem(p, ZD_EINVALID_ARGUMENT, field, "absence %zu names no student", i + 1);
        for (size_t j = 0; j < i; j++) {
            const Zerodrop__V1__Absence *b = rc->absences[j];
            if (b && b->student_id && strcmp(b->student_id, id) == 0)
                return problem(p, ZD_EINVALID_ARGUMENT, field, "student %s is listed twice in this roll call",
                               id);
        }
        cli_student st;
        e = cli_store_student_get(s, id, &st);
        if (e == ZD_ENOT_FOUND ||
            (e == ZD_OK && (!st.enrolled || strcmp(st.class_code, rc->class_code) != 0)))
            return problem(p, ZD_EINVALID_ARGUMENT, field, "student %s is not in class %s on %s", id,
                           cls.name, day);
        if (e != ZD_OK)
            return problem(p, e, "", "the local store could not be read: %s", zd_err_text(e));
        if (blank(a->reason)) {
            snprintf(field, sizeof(field), "absences[%zu].reason", i);
            return problem(p, ZD_EINVALID_ARGUMENT, field, "the absence of student %s (%s) has no reason", id,
                           st.name);
        }
    }
    return ZD_OK;
}

static bool needs_other_school(Zerodrop__V1__EventType t)
{
    return t == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN ||
           t == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT;
}

zd_err cli_validate_daily_report(cli_store *s, const Zerodrop__V1__DailyReport *dr, const char *school_code,
                                 uint32_t today, cli_problem *p)
{
    no_problem(p);
    if (s == NULL || dr == NULL)
        return problem(p, ZD_EINVALID_ARGUMENT, "", "there is no report to check");
    if (blank(dr->school_code))
        return problem(p, ZD_EINVALID_ARGUMENT, "school_code", "the report names no school");
    if (school_code != NULL && strcmp(dr->school_code, school_code) != 0)
        return problem(p, ZD_EFORBIDDEN, "school_code",
                       "the report is for school %s, but this device belongs to school %s", dr->school_code,
                       school_code);
    zd_err e = check_date(dr->date, today, p);
    if (e != ZD_OK)
        return e;
    if (dr->corrects.len != 0 && dr->corrects.len != CLI_UUID_BYTES)
        return problem(p, ZD_EINVALID_ARGUMENT, "corrects", "the report it corrects is named wrongly");
    char day[CLI_DATE_TEXT];
    cli_date_format(dr->date, day);

    switch (dr->kind) {
    case ZERODROP__V1__REPORT_KIND__REPORT_ZERO:
        if (dr->n_events > 0)
            return problem(
                p, ZD_EINVALID_ARGUMENT, "events",
                "a zero-report says nothing happened, so it cannot list events; send an events report");
        return ZD_OK;
    case ZERODROP__V1__REPORT_KIND__REPORT_EVENTS:
        if (dr->n_events == 0)
            return problem(
                p, ZD_EINVALID_ARGUMENT, "events",
                "an events report needs at least one event; if nothing happened, send a zero-report");
        break;
    default:
        return problem(p, ZD_EINVALID_ARGUMENT, "kind",
                       "the report is neither a zero-report nor an events report");
    }

    char field[64];
    for (size_t i = 0; i < dr->n_events; i++) {
        const Zerodrop__V1__ReportEvent *ev = dr->events[i];
        if (ev == NULL || ev->type <= ZERODROP__V1__EVENT_TYPE__EVENT_UNSPECIFIED ||
            ev->type > ZERODROP__V1__EVENT_TYPE__EVENT_NO_SHOW) {
            snprintf(field, sizeof(field), "events[%zu].type", i);
            return problem(p, ZD_EINVALID_ARGUMENT, field, "event %zu does not say what happened", i + 1);
        }
        const char *id = ev->student_id ? ev->student_id : "";
        snprintf(field, sizeof(field), "events[%zu].student_id", i);
        if (blank(id))
            return problem(p, ZD_EINVALID_ARGUMENT, field, "event %zu names no student", i + 1);
        for (size_t j = 0; j < i; j++) {
            const Zerodrop__V1__ReportEvent *o = dr->events[j];
            if (o && o->type == ev->type && o->student_id && strcmp(o->student_id, id) == 0)
                return problem(p, ZD_EINVALID_ARGUMENT, field,
                               "the same event for student %s is listed twice", id);
        }
        if (needs_other_school(ev->type) && blank(ev->other_school)) {
            snprintf(field, sizeof(field), "events[%zu].other_school", i);
            return problem(p, ZD_EINVALID_ARGUMENT, field,
                           ev->type == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN
                               ? "the transfer of student %s does not say which school the student came from"
                               : "the transfer of student %s does not say which school the student goes to",
                           id);
        }
        if (ev->type == ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN) {
            /* A child arriving from elsewhere is not in our roster yet; the id must still be one. */
            if (!cli_student_id_valid(id))
                return problem(p, ZD_EINVALID_ARGUMENT, field,
                               "%s is not a student id (学籍号): it is G followed by 18 digits", id);
            continue;
        }
        cli_student st;
        cli_class cls;
        e = cli_store_student_get(s, id, &st);
        if (e == ZD_OK) {
            e = cli_store_class_get(s, st.class_code, &cls);
            if (e == ZD_OK && strcmp(cls.school_code, dr->school_code) != 0)
                e = ZD_ENOT_FOUND;
        }
        if (e == ZD_ENOT_FOUND)
            return problem(p, ZD_EINVALID_ARGUMENT, field, "student %s is not a student of school %s on %s",
                           id, dr->school_code, day);
        if (e != ZD_OK)
            return problem(p, e, "", "the local store could not be read: %s", zd_err_text(e));
    }
    return ZD_OK;
}

zd_err cli_roll_call_latest(cli_store *s, const char *class_code, uint32_t date, Zerodrop__V1__RollCall **out)
{
    if (s == NULL || class_code == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    cli_outbox_row row;
    zd_err rc =
        cli_store_outbox_latest(s, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, class_code, date, &row);
    if (rc != ZD_OK)
        return rc;
    Zerodrop__V1__RollCall *m = zerodrop__v1__roll_call__unpack(NULL, row.body_len, row.body);
    cli_outbox_row_finish(&row);
    /* Our own outbox holds only bodies we packed; one that does not unpack means the store is damaged. */
    if (m == NULL)
        return ZD_EINTERNAL;
    *out = m;
    return ZD_OK;
}

zd_err cli_daily_report_latest(cli_store *s, const char *school_code, uint32_t date,
                               Zerodrop__V1__DailyReport **out, cli_outbox_state *state)
{
    if (s == NULL || school_code == NULL || out == NULL)
        return ZD_EINVALID_ARGUMENT;
    cli_outbox_row row;
    zd_err rc =
        cli_store_outbox_latest(s, ZERODROP__V1__RECORD_KIND__RECORD_DAILY_REPORT, school_code, date, &row);
    if (rc != ZD_OK)
        return rc;
    Zerodrop__V1__DailyReport *m = zerodrop__v1__daily_report__unpack(NULL, row.body_len, row.body);
    cli_outbox_state st = row.state;
    cli_outbox_row_finish(&row);
    if (m == NULL)
        return ZD_EINTERNAL;
    *out = m;
    if (state)
        *state = st;
    return ZD_OK;
}

static bool named(const char *id, const char *const *students, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (students[i] && strcmp(students[i], id) == 0)
            return true;
    return false;
}

/* Appends a copy of one absence to rc (whose array has room). */
static int add_absence(Zerodrop__V1__RollCall *rc, const char *id, const char *reason, bool excused)
{
    Zerodrop__V1__Absence *a = malloc(sizeof(*a));
    if (a == NULL)
        return -1;
    zerodrop__v1__absence__init(a);
    a->excused = excused;
    /* Counted in at once, so cli_roll_call_free releases a half-made absence too. */
    rc->absences[rc->n_absences++] = a;
    a->student_id = strdup(id);
    if (a->student_id == NULL)
        return -1;
    a->reason = strdup(reason ? reason : "");
    if (a->reason == NULL)
        return -1;
    return 0;
}

void cli_roll_call_free(Zerodrop__V1__RollCall *rc)
{
    if (rc == NULL)
        return;
    for (size_t i = 0; i < rc->n_absences; i++) {
        Zerodrop__V1__Absence *a = rc->absences[i];
        if (a == NULL)
            continue;
        free(a->student_id == protobuf_c_empty_string ? NULL : a->student_id);
        free(a->reason == protobuf_c_empty_string ? NULL : a->reason);
        free(a);
    }
    free(rc->absences);
    free(rc->class_code == protobuf_c_empty_string ? NULL : rc->class_code);
    free(rc->taken_by == protobuf_c_empty_string ? NULL : rc->taken_by);
    free(rc->corrects.data);
    free(rc);
}

zd_err cli_roll_call_correct(const Zerodrop__V1__RollCall *old, const char *class_code, uint32_t date,
                             cli_mark mark, const char *const *students, size_t n_students,
                             const char *reason, bool excused, const char *taken_by,
                             Zerodrop__V1__RollCall **out, cli_problem *p)
{
    no_problem(p);
    if (out == NULL || (students == NULL && n_students > 0))
        return problem(p, ZD_EINVALID_ARGUMENT, "", "nothing to correct");
    if (n_students == 0)
        return problem(p, ZD_EINVALID_ARGUMENT, "absences", "name at least one student");
    if (old == NULL && mark == CLI_MARK_PRESENT) {
        char d[CLI_DATE_TEXT];
        cli_date_format(date, d);
        return problem(p, ZD_EINVALID_ARGUMENT, "corrects",
                       "no roll call of class %s on %s has been recorded, so nobody can be marked present",
                       class_code ? class_code : "?", d);
    }
    if (old != NULL && old->uuid.len != CLI_UUID_BYTES)
        return problem(p, ZD_EINVALID_ARGUMENT, "corrects", "the roll call to correct has no id");
    if (old == NULL && (class_code == NULL || *class_code == '\0'))
        return problem(p, ZD_EINVALID_ARGUMENT, "class_code", "the roll call names no class");
    for (size_t i = 0; i < n_students; i++) {
        if (students[i] == NULL || *students[i] == '\0')
            return problem(p, ZD_EINVALID_ARGUMENT, "absences", "a student is named by nothing");
        if (mark == CLI_MARK_PRESENT) {
            bool was_absent = false;
            for (size_t j = 0; j < old->n_absences && !was_absent; j++)
                was_absent = strcmp(old->absences[j]->student_id, students[i]) == 0;
            if (!was_absent) {
                char d[CLI_DATE_TEXT];
                cli_date_format(old->date, d);
                return problem(p, ZD_EINVALID_ARGUMENT, "absences",
                               "student %s was not recorded absent in class %s on %s", students[i],
                               old->class_code, d);
            }
        }
    }

    Zerodrop__V1__RollCall *rc = malloc(sizeof(*rc));
    if (rc == NULL)
        return problem(p, ZD_EOVERLOADED, "", "out of memory");
    zerodrop__v1__roll_call__init(rc);
    size_t room = (old ? old->n_absences : 0) + n_students;
    rc->date = old ? old->date : date;
    rc->absences = calloc(room, sizeof(*rc->absences));
    if (rc->absences == NULL)
        goto oom;
    rc->class_code = strdup(old ? old->class_code : class_code);
    if (rc->class_code == NULL)
        goto oom;
    rc->taken_by = strdup(taken_by ? taken_by : "");
    if (rc->taken_by == NULL)
        goto oom;
    if (old != NULL) {
        rc->corrects.data = malloc(CLI_UUID_BYTES);
        if (rc->corrects.data == NULL)
            goto oom;
        memcpy(rc->corrects.data, old->uuid.data, CLI_UUID_BYTES);
        rc->corrects.len = CLI_UUID_BYTES;
    }

    /* Earlier absences keep their order; a student named again in absent mode gets the new reason. */
    for (size_t j = 0; old != NULL && j < old->n_absences; j++) {
        const Zerodrop__V1__Absence *a = old->absences[j];
        bool hit = named(a->student_id, students, n_students);
        if (hit && mark == CLI_MARK_PRESENT)
            continue;
        if (add_absence(rc, a->student_id, hit ? reason : a->reason, hit ? excused : a->excused) != 0)
            goto oom;
    }
    if (mark == CLI_MARK_ABSENT) {
        for (size_t i = 0; i < n_students; i++) {
            bool have = false;
            for (size_t j = 0; j < rc->n_absences && !have; j++)
                have = strcmp(rc->absences[j]->student_id, students[i]) == 0;
            if (!have && add_absence(rc, students[i], reason, excused) != 0)
                goto oom;
        }
    }
    *out = rc;
    return ZD_OK;
oom:
    cli_roll_call_free(rc);
    return problem(p, ZD_EOVERLOADED, "", "out of memory");
}
