/* client/validate: roll calls and daily reports are checked against the roster cache before they are
 * stored, each problem in exact plain words with its field; corrections are new roll calls naming the
 * one they replace, carried through a real outbox (built, signed, enqueued, read back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers.h"
#include "record.h"
#include "store.h"
#include "validate.h"

#define A "G430101201301010011" /* 王小明, 7-2 */
#define B "G430101201302020022" /* 李小红, 7-2 */
#define C "G430101201903030033" /* 张三, 1-1 */
#define D "G430101201304040044" /* left the school, was 7-2 */
#define E "G430101201305050055" /* another school's student */
#define U "G430101201306060066" /* nowhere in the roster */
#define CLASS72 "S43010101-7-2"
#define TODAY 20260304u

static char dir[256];

static void load_roster(cli_store *s)
{
    Zerodrop__V1__SchoolClass c1 = ZERODROP__V1__SCHOOL_CLASS__INIT, c2 = c1, c3 = c1;
    c1.code = CLASS72;
    c1.school_code = "S43010101";
    c1.grade = 7;
    c1.name = "7-2";
    c2 = c1;
    c2.code = "S43010101-1-1";
    c2.grade = 1;
    c2.name = "1-1";
    c3 = c1;
    c3.code = "S43010102-8-1";
    c3.school_code = "S43010102";
    c3.name = "8-1";
    Zerodrop__V1__Student a = ZERODROP__V1__STUDENT__INIT, b, c, d, e;
    a.student_id = A;
    a.name = "王小明";
    a.class_code = CLASS72;
    a.enrolled = 1;
    a.version = 1;
    b = a;
    b.student_id = B;
    b.name = "李小红";
    c = a;
    c.student_id = C;
    c.name = "张三";
    c.class_code = "S43010101-1-1";
    d = a;
    d.student_id = D;
    d.name = "赵四";
    d.enrolled = 0;
    e = a;
    e.student_id = E;
    e.name = "钱五";
    e.class_code = "S43010102-8-1";
    Zerodrop__V1__SchoolClass *classes[] = {&c1, &c2, &c3};
    Zerodrop__V1__Student *students[] = {&a, &b, &c, &d, &e};
    Zerodrop__V1__RosterChunk chunk = ZERODROP__V1__ROSTER_CHUNK__INIT;
    chunk.classes = classes;
    chunk.n_classes = 3;
    chunk.students = students;
    chunk.n_students = 5;
    chunk.next_cursor = 5;
    CHECK_INT_EQ(cli_store_roster_apply(s, &chunk), ZD_OK);
}

static void test_dates(void)
{
    uint32_t d = 1;
    CHECK_INT_EQ(cli_date_parse("2026-03-04", &d), ZD_OK);
    CHECK_INT_EQ(d, 20260304);
    CHECK_INT_EQ(cli_date_parse("2024-02-29", &d), ZD_OK);
    CHECK_INT_EQ(d, 20240229);
    CHECK_INT_EQ(cli_date_parse("2000-02-29", &d), ZD_OK);
    const char *bad[] = {"2026-02-29", "2100-02-28",  "1999-12-31", "2026-04-31", "2026-13-01",
                         "2026-00-10", "2026-01-00",  "2026-3-4",   "2026/03/04", "20260304",
                         "",           "2026-03-04x", "2026-0a-04"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = 7;
        CHECK_INT_EQ(cli_date_parse(bad[i], &d), ZD_EINVALID_ARGUMENT);
        CHECK_INT_EQ(d, 7);
    }
    CHECK_INT_EQ(cli_date_parse(NULL, &d), ZD_EINVALID_ARGUMENT);
    char t[CLI_DATE_TEXT];
    cli_date_format(20260304, t);
    CHECK_STR_EQ(t, "2026-03-04");
    cli_date_format(20261304, t);
    CHECK_STR_EQ(t, "20261304");
    CHECK(!cli_date_valid(0));
    CHECK(cli_date_valid(20991231));

    /* The local calendar day: UTC midnight of 4 March is already the 4th in UTC, and 8:00 in the county
     * (UTC+8); 23:59:59 UTC of the 3rd is the 4th in the county. */
    setenv("TZ", "UTC0", 1);
    tzset();
    CHECK_INT_EQ(cli_date_of(1772582400000LL), 20260304);
    CHECK_INT_EQ(cli_date_of(1772582400000LL - 1000), 20260303);
    setenv("TZ", "CST-8", 1);
    tzset();
    CHECK_INT_EQ(cli_date_of(1772582400000LL - 1000), 20260304);
    CHECK_INT_EQ(cli_date_of(1772582400000LL - 8 * 3600 * 1000LL - 1000), 20260303);

    CHECK(cli_student_id_valid(A));
    CHECK(!cli_student_id_valid("G43010120130101001"));   /* 17 digits */
    CHECK(!cli_student_id_valid("G4301012013010100111")); /* 19 digits */
    CHECK(!cli_student_id_valid("X430101201301010011"));
    CHECK(!cli_student_id_valid("G43010120130101001X"));
    CHECK(!cli_student_id_valid(NULL));
}

static void expect(zd_err got, const cli_problem *p, zd_err code, const char *field, const char *message)
{
    CHECK_INT_EQ(got, code);
    CHECK_INT_EQ(p->code, code);
    CHECK_STR_EQ(p->field, field);
    CHECK_STR_EQ(p->message, message);
}

static void test_roll_call(cli_store *s)
{
    Zerodrop__V1__Absence a1 = ZERODROP__V1__ABSENCE__INIT, a2 = a1;
    Zerodrop__V1__Absence *abs[] = {&a1, &a2};
    Zerodrop__V1__RollCall rc = ZERODROP__V1__ROLL_CALL__INIT;
    rc.class_code = CLASS72;
    rc.date = TODAY;
    rc.absences = abs;
    rc.n_absences = 2;
    a1.student_id = A;
    a1.reason = "sick";
    a2.student_id = B;
    a2.reason = "family";
    cli_problem p;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_OK, "", "");
    rc.n_absences = 0; /* everyone present */
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_OK, "", "");
    rc.n_absences = 2;

    rc.date = 20260305;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "date",
           "2026-03-05 is in the future (today is 2026-03-04)");
    rc.date = 20260230;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "date",
           "20260230 is not a date; write it as YYYY-MM-DD, e.g. 2026-03-04");
    rc.date = 0;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "date",
           "no date is not a date; write it as YYYY-MM-DD, e.g. 2026-03-04");
    rc.date = 20260302; /* a past day is fine */
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_OK, "", "");

    rc.class_code = "S43010101-7-9";
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "class_code",
           "class S43010101-7-9 is not in this school's roster; check the class, or run sync to refresh the "
           "roster");
    rc.class_code = " ";
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "class_code",
           "the roll call names no class");
    rc.class_code = CLASS72;
    rc.date = TODAY;

    a2.student_id = C; /* in 1-1 */
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].student_id",
           "student " C " is not in class 7-2 on 2026-03-04");
    a2.student_id = D; /* left */
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].student_id",
           "student " D " is not in class 7-2 on 2026-03-04");
    a2.student_id = U;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].student_id",
           "student " U " is not in class 7-2 on 2026-03-04");
    a2.student_id = "";
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].student_id",
           "absence 2 names no student");
    a2.student_id = A;
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].student_id",
           "student " A " is listed twice in this roll call");
    a2.student_id = B;
    a2.reason = " \t";
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].reason",
           "the absence of student " B " (李小红) has no reason");
    a2.reason = "";
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "absences[1].reason",
           "the absence of student " B " (李小红) has no reason");
    a2.reason = "family";
    uint8_t three[3] = {1, 2, 3};
    rc.corrects = (ProtobufCBinaryData){3, three};
    expect(cli_validate_roll_call(s, &rc, TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "corrects",
           "the roll call it corrects is named wrongly");
}

static void test_daily_report(cli_store *s)
{
    Zerodrop__V1__DailyReport dr = ZERODROP__V1__DAILY_REPORT__INIT;
    dr.school_code = "S43010101";
    dr.date = TODAY;
    dr.kind = ZERODROP__V1__REPORT_KIND__REPORT_ZERO;
    cli_problem p;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_OK, "", "");
    expect(cli_validate_daily_report(s, &dr, "S43010102", TODAY, &p), &p, ZD_EFORBIDDEN, "school_code",
           "the report is for school S43010101, but this device belongs to school S43010102");
    dr.date = 20260310;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "date",
           "2026-03-10 is in the future (today is 2026-03-04)");
    dr.date = TODAY;

    Zerodrop__V1__ReportEvent e1 = ZERODROP__V1__REPORT_EVENT__INIT, e2 = e1;
    Zerodrop__V1__ReportEvent *evs[] = {&e1, &e2};
    e1.type = ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT;
    e1.student_id = A;
    e1.other_school = "S43010102";
    e2.type = ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_IN;
    e2.student_id = U; /* new to us: not in the roster, but a well-formed id */
    e2.other_school = "a school in Guangdong";
    dr.events = evs;
    dr.n_events = 2;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "events",
           "a zero-report says nothing happened, so it cannot list events; send an events report");
    dr.kind = ZERODROP__V1__REPORT_KIND__REPORT_EVENTS;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_OK, "", "");
    dr.n_events = 0;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "events",
           "an events report needs at least one event; if nothing happened, send a zero-report");
    dr.n_events = 2;

    e1.other_school = "";
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[0].other_school",
           "the transfer of student " A " does not say which school the student goes to");
    e1.other_school = "S43010102";
    e2.student_id = "G123";
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[1].student_id", "G123 is not a student id (学籍号): it is G followed by 18 digits");
    e2.student_id = U;
    e2.type = ZERODROP__V1__EVENT_TYPE__EVENT_SUSPECTED_DROPOUT;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[1].student_id", "student " U " is not a student of school S43010101 on 2026-03-04");
    e2.student_id = E; /* a student of another school */
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[1].student_id", "student " E " is not a student of school S43010101 on 2026-03-04");
    e2.student_id = C;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_OK, "", "");
    e2.type = ZERODROP__V1__EVENT_TYPE__EVENT_TRANSFER_OUT;
    e2.student_id = A;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[1].student_id", "the same event for student " A " is listed twice");
    e2.type = ZERODROP__V1__EVENT_TYPE__EVENT_UNSPECIFIED;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT,
           "events[1].type", "event 2 does not say what happened");
    dr.kind = ZERODROP__V1__REPORT_KIND__REPORT_KIND_UNSPECIFIED;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_EINVALID_ARGUMENT, "kind",
           "the report is neither a zero-report nor an events report");
}

/* Builds, signs and enqueues a roll call, the way a command will. */
static void capture(cli_store *s, cli_signer *signer, Zerodrop__V1__RollCall *rc, cli_record *out)
{
    cli_problem p;
    expect(cli_validate_roll_call(s, rc, TODAY, &p), &p, ZD_OK, "", "");
    CHECK_INT_EQ(cli_record_build(signer, &rc->base, 1772600000000LL, out), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, out), ZD_OK);
}

static void test_corrections(cli_store *s, cli_signer *signer)
{
    Zerodrop__V1__RollCall *old = NULL, *rc = NULL;
    cli_problem p;
    CHECK_INT_EQ(cli_roll_call_latest(s, CLASS72, TODAY, &old), ZD_ENOT_FOUND);
    const char *only_a[] = {A};
    expect(cli_roll_call_correct(NULL, CLASS72, TODAY, CLI_MARK_PRESENT, only_a, 1, NULL, false, "clerk", &rc,
                                 &p),
           &p, ZD_EINVALID_ARGUMENT, "corrects",
           "no roll call of class S43010101-7-2 on 2026-03-04 has been recorded, so nobody can be marked "
           "present");
    expect(cli_roll_call_correct(NULL, CLASS72, TODAY, CLI_MARK_ABSENT, only_a, 0, "sick", false, "clerk",
                                 &rc, &p),
           &p, ZD_EINVALID_ARGUMENT, "absences", "name at least one student");

    /* First roll call of the day: A absent, excused. */
    CHECK_INT_EQ(cli_roll_call_correct(NULL, CLASS72, TODAY, CLI_MARK_ABSENT, only_a, 1, "sick", true,
                                       "clerk", &rc, &p),
                 ZD_OK);
    CHECK_STR_EQ(rc->class_code, CLASS72);
    CHECK_INT_EQ(rc->date, TODAY);
    CHECK_INT_EQ(rc->corrects.len, 0);
    CHECK_INT_EQ(rc->uuid.len, 0);
    CHECK_INT_EQ(rc->n_absences, 1);
    CHECK_STR_EQ(rc->absences[0]->student_id, A);
    CHECK_STR_EQ(rc->absences[0]->reason, "sick");
    CHECK(rc->absences[0]->excused);
    CHECK_STR_EQ(rc->taken_by, "clerk");
    cli_record first;
    capture(s, signer, rc, &first);
    cli_roll_call_free(rc);

    /* absent again on the same day: B added, A's reason changed; the new record names the first. */
    CHECK_INT_EQ(cli_roll_call_latest(s, CLASS72, TODAY, &old), ZD_OK);
    CHECK_MEM_EQ(old->uuid.data, first.uuid, CLI_UUID_BYTES);
    const char *b_and_a[] = {B, A, B};
    CHECK_INT_EQ(
        cli_roll_call_correct(old, NULL, 0, CLI_MARK_ABSENT, b_and_a, 3, "family", false, "head", &rc, &p),
        ZD_OK);
    zerodrop__v1__roll_call__free_unpacked(old, NULL);
    CHECK_INT_EQ(rc->corrects.len, CLI_UUID_BYTES);
    CHECK_MEM_EQ(rc->corrects.data, first.uuid, CLI_UUID_BYTES);
    CHECK_INT_EQ(rc->n_absences, 2);
    CHECK_STR_EQ(rc->absences[0]->student_id, A);
    CHECK_STR_EQ(rc->absences[0]->reason, "family");
    CHECK(!rc->absences[0]->excused);
    CHECK_STR_EQ(rc->absences[1]->student_id, B);
    CHECK_STR_EQ(rc->absences[1]->reason, "family");
    cli_record second;
    capture(s, signer, rc, &second);
    cli_roll_call_free(rc);
    CHECK(second.has_corrects);
    CHECK_MEM_EQ(second.corrects, first.uuid, CLI_UUID_BYTES);
    CHECK(memcmp(second.uuid, first.uuid, CLI_UUID_BYTES) != 0);

    /* present: A was there after all. C was never absent: refused, in words. */
    CHECK_INT_EQ(cli_roll_call_latest(s, CLASS72, TODAY, &old), ZD_OK);
    CHECK_MEM_EQ(old->uuid.data, second.uuid, CLI_UUID_BYTES);
    const char *c_only[] = {C};
    expect(cli_roll_call_correct(old, NULL, 0, CLI_MARK_PRESENT, c_only, 1, NULL, false, "head", &rc, &p), &p,
           ZD_EINVALID_ARGUMENT, "absences",
           "student " C " was not recorded absent in class S43010101-7-2 on 2026-03-04");
    CHECK_INT_EQ(
        cli_roll_call_correct(old, NULL, 0, CLI_MARK_PRESENT, only_a, 1, NULL, false, "head", &rc, &p),
        ZD_OK);
    zerodrop__v1__roll_call__free_unpacked(old, NULL);
    CHECK_INT_EQ(rc->n_absences, 1);
    CHECK_STR_EQ(rc->absences[0]->student_id, B);
    CHECK_MEM_EQ(rc->corrects.data, second.uuid, CLI_UUID_BYTES);
    cli_record third;
    capture(s, signer, rc, &third);
    cli_roll_call_free(rc);

    /* Three records, none deleted, each naming the one before. */
    cli_outbox_filter f = {0, ZERODROP__V1__RECORD_KIND__RECORD_ROLL_CALL, CLASS72, TODAY};
    cli_outbox_list list;
    CHECK_INT_EQ(cli_store_outbox_list(s, &f, 0, &list), ZD_OK);
    CHECK_INT_EQ(list.count, 3);
    CHECK(!list.rows[0].has_corrects);
    CHECK_MEM_EQ(list.rows[1].corrects, first.uuid, CLI_UUID_BYTES);
    CHECK_MEM_EQ(list.rows[2].corrects, second.uuid, CLI_UUID_BYTES);
    CHECK_MEM_EQ(list.rows[2].uuid, third.uuid, CLI_UUID_BYTES);
    cli_outbox_list_finish(&list);
    cli_record_finish(&first);
    cli_record_finish(&second);
    cli_record_finish(&third);
    cli_roll_call_free(NULL);
}

/* The day's report as `status` reads it back: none, then the zero-report, then the events report that
 * corrects it. */
static void test_report_latest(cli_store *s, cli_signer *signer)
{
    Zerodrop__V1__DailyReport *got = NULL;
    cli_outbox_state state = CLI_OUTBOX_REJECTED;
    CHECK_INT_EQ(cli_daily_report_latest(s, "S43010101", TODAY, &got, &state), ZD_ENOT_FOUND);
    CHECK(got == NULL);

    Zerodrop__V1__DailyReport dr = ZERODROP__V1__DAILY_REPORT__INIT;
    dr.school_code = "S43010101";
    dr.date = TODAY;
    dr.kind = ZERODROP__V1__REPORT_KIND__REPORT_ZERO;
    dr.signed_by = "principal";
    cli_problem p;
    expect(cli_validate_daily_report(s, &dr, "S43010101", TODAY, &p), &p, ZD_OK, "", "");
    cli_record zero;
    CHECK_INT_EQ(cli_record_build(signer, &dr.base, 1772590000000LL, &zero), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &zero), ZD_OK);
    CHECK_INT_EQ(cli_daily_report_latest(s, "S43010101", TODAY, &got, &state), ZD_OK);
    CHECK_INT_EQ(got->kind, ZERODROP__V1__REPORT_KIND__REPORT_ZERO);
    CHECK_STR_EQ(got->signed_by, "principal");
    CHECK_MEM_EQ(got->uuid.data, zero.uuid, CLI_UUID_BYTES);
    CHECK_INT_EQ(state, CLI_OUTBOX_PENDING);

    Zerodrop__V1__ReportEvent ev = ZERODROP__V1__REPORT_EVENT__INIT;
    Zerodrop__V1__ReportEvent *evs[] = {&ev};
    ev.type = ZERODROP__V1__EVENT_TYPE__EVENT_SUSPECTED_DROPOUT;
    ev.student_id = B;
    Zerodrop__V1__DailyReport fix = dr;
    fix.kind = ZERODROP__V1__REPORT_KIND__REPORT_EVENTS;
    fix.events = evs;
    fix.n_events = 1;
    fix.corrects = got->uuid;
    expect(cli_validate_daily_report(s, &fix, "S43010101", TODAY, &p), &p, ZD_OK, "", "");
    cli_record events;
    CHECK_INT_EQ(cli_record_build(signer, &fix.base, 1772590000001LL, &events), ZD_OK);
    zerodrop__v1__daily_report__free_unpacked(got, NULL);
    CHECK_INT_EQ(cli_store_outbox_enqueue(s, &events), ZD_OK);
    CHECK_INT_EQ(cli_store_outbox_mark_sent(s, events.uuid), ZD_OK);
    CHECK_INT_EQ(cli_daily_report_latest(s, "S43010101", TODAY, &got, &state), ZD_OK);
    CHECK_INT_EQ(got->kind, ZERODROP__V1__REPORT_KIND__REPORT_EVENTS);
    CHECK_INT_EQ(got->n_events, 1);
    CHECK_STR_EQ(got->events[0]->student_id, B);
    CHECK_MEM_EQ(got->corrects.data, zero.uuid, CLI_UUID_BYTES);
    CHECK_INT_EQ(state, CLI_OUTBOX_SENT);
    zerodrop__v1__daily_report__free_unpacked(got, NULL);
    CHECK_INT_EQ(cli_daily_report_latest(s, "S43010101", 20260303, &got, NULL), ZD_ENOT_FOUND);
    cli_record_finish(&zero);
    cli_record_finish(&events);
}

int main(void)
{
    helper_tmpdir(dir, sizeof(dir));
    helper_device(dir, "device");
    char key[512];
    snprintf(key, sizeof(key), "%s/device.key", dir);
    cli_signer *signer = NULL;
    CHECK_INT_EQ(cli_signer_create(key, &signer), ZD_OK);
    cli_store *s = NULL;
    CHECK_INT_EQ(cli_store_create_in_home(dir, &s), ZD_OK);
    load_roster(s);

    test_dates();
    test_roll_call(s);
    test_daily_report(s);
    test_corrections(s, signer);
    test_report_latest(s, signer);

    cli_store_destroy(s);
    cli_signer_destroy(signer);
    helper_rmdir(dir);
    puts("client-validate: ok");
    return 0;
}
