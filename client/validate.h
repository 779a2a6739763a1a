/* Checks a roll call or a daily report before it is signed and stored, in words a teacher understands,
 * and builds the roll call that corrects an earlier one.
 *
 * The client checks against its roster cache so that a clerk in a village without a link learns at
 * once that "student G4301… is not in class 7-2", instead of days later when the server refuses the
 * record. The server checks again (it is the authority); these checks only spare the user a round trip.
 *
 * Records are never changed in place: `absent` on a class and day that already has a roll call, and
 * `present` (undoing a mistaken absence), make a new roll call whose `corrects` names the one it
 * replaces, holding the whole corrected list of absences. */
#ifndef ZD_CLIENT_VALIDATE_H
#define ZD_CLIENT_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attendance.pb-c.h"
#include "err.h"
#include "report.pb-c.h"
#include "store.h"

#define CLI_DATE_TEXT 11 /* "2026-03-04" and its NUL */

/* What is wrong, shaped like the wire's Error{code, field, message}. */
typedef struct cli_problem {
    zd_err code;
    char field[64];    /* e.g. "absences[2].reason"; empty when the whole record is meant */
    char message[320]; /* one plain-words sentence */
} cli_problem;

/* Parses "YYYY-MM-DD" (a real calendar day, years 2000-2099) into YYYYMMDD. Returns ZD_OK or
 * ZD_EINVALID_ARGUMENT (out untouched). */
zd_err cli_date_parse(const char *text, uint32_t *out);

/* True when date is a real calendar day YYYYMMDD in 2000-2099. */
bool cli_date_valid(uint32_t date);

/* Writes "YYYY-MM-DD" into out; an invalid date is written as its digits. */
void cli_date_format(uint32_t date, char out[CLI_DATE_TEXT]);

/* The local calendar day (the machine's time zone, the county's) of an instant. */
uint32_t cli_date_of(int64_t ms);

/* True when id has the national student id's shape: 'G' and 18 digits. */
bool cli_student_id_valid(const char *id);

/* Checks a roll call against the roster cache: a class code and a valid date not after today; the class
 * is in the roster cache; each absent student is in the cache, enrolled, and in that class; each has a
 * reason (not only spaces); nobody is listed twice; corrects is empty or 16 bytes. Returns ZD_OK, or the
 * first problem's code (ZD_EINVALID_ARGUMENT, or a store error) with *p filled. p may not be NULL. */
zd_err cli_validate_roll_call(cli_store *s, const Zerodrop__V1__RollCall *rc, uint32_t today, cli_problem *p);

/* Checks a daily report: its school is school_code (the device's institution); a valid date not after
 * today; a zero-report lists no events and an events report at least one; each event has a type; a
 * transfer names the other school; a transfer in names a well-formed student id (the child may be new
 * to the roster); every other event names a student of this school in the roster cache; no event is
 * listed twice. Returns and fills *p as cli_validate_roll_call. */
zd_err cli_validate_daily_report(cli_store *s, const Zerodrop__V1__DailyReport *dr, const char *school_code,
                                 uint32_t today, cli_problem *p);

/* The latest roll call of a class and day in the outbox (not rejected by the server), unpacked into
 * *out (free it with zerodrop__v1__roll_call__free_unpacked). ZD_ENOT_FOUND when there is none. */
zd_err cli_roll_call_latest(cli_store *s, const char *class_code, uint32_t date,
                            Zerodrop__V1__RollCall **out);

/* The latest daily report of a school and day in the outbox (not rejected), for `status` ("attested
 * zero", "events", "not yet sent") and for a corrected report's `corrects`. Unpacked into *out (free it
 * with zerodrop__v1__daily_report__free_unpacked); *state (may be NULL) gets its outbox state.
 * ZD_ENOT_FOUND when the school has captured no report for that day. */
zd_err cli_daily_report_latest(cli_store *s, const char *school_code, uint32_t date,
                               Zerodrop__V1__DailyReport **out, cli_outbox_state *state);

/* What a correction does to the students it names. */
typedef enum cli_mark {
    CLI_MARK_ABSENT,  /* add them as absent (one already absent gets the new reason and excuse) */
    CLI_MARK_PRESENT, /* remove them from the absences: each must be absent in old */
} cli_mark;

/* Builds the roll call that replaces old for its class and day: old's absences with students marked as
 * mark says, corrects = old's uuid. old may be NULL (nothing recorded yet): then class_code and date
 * name the roll call and mark must be CLI_MARK_ABSENT. reason and excused apply to CLI_MARK_ABSENT;
 * taken_by (may be NULL) is copied. The result has no uuid and no capture time: cli_record_build gives
 * both. On ZD_OK *out is a new heap roll call that the caller frees with cli_roll_call_free (never with
 * __free_unpacked). Errors: ZD_EINVALID_ARGUMENT with *p filled (a student marked present who was not
 * absent, present with no earlier roll call, no students), ZD_EOVERLOADED when memory ran out. */
zd_err cli_roll_call_correct(const Zerodrop__V1__RollCall *old, const char *class_code, uint32_t date,
                             cli_mark mark, const char *const *students, size_t n_students,
                             const char *reason, bool excused, const char *taken_by,
                             Zerodrop__V1__RollCall **out, cli_problem *p);

/* Frees a roll call made by cli_roll_call_correct; NULL is a no-op. */
void cli_roll_call_free(Zerodrop__V1__RollCall *rc);

#endif
