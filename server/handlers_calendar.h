/* The county calendar and the county settings over the wire (admin family).
 *
 * CalendarSet{days} sets each day in one transaction (sql/009: zd.calendar_day_set): `school_day` and
 * `holiday` say whether the county's schools open that day, `term_start` marks a term's first day (a school
 * day; the note names the term), `closure` closes one school (school_code) that day for the reason in the
 * note. Dates on the wire are YYYYMMDD numbers, as Welcome.today. CalendarShowRequest{from, to} reads back
 * every fact in the range (0 means no bound). SettingsSet{settings} changes county settings all or nothing
 * (zd.county_settings_set); SettingsGetRequest reads them all as key/value text.
 *
 * Every field is checked here first, so a mistake is Error{INVALID_ARGUMENT, field, message} naming the day
 * (`calendar_set.days[3].kind`) or the setting's key; what only the database can know (an unknown school,
 * tiers out of order) comes back the same way from its error. */
#ifndef ZD_SERVER_HANDLERS_CALENDAR_H
#define ZD_SERVER_HANDLERS_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* Most days one CalendarSet may carry (a school year has 366). */
#define SRV_CALENDAR_SET_MAX 2000

/* Handlers (dispatch table). */
void srv_calendar_set_handle(srv_request *req);
void srv_calendar_show_handle(srv_request *req);
void srv_settings_set_handle(srv_request *req);
void srv_settings_get_handle(srv_request *req);

/* Checks one setting: 0 when key is known and value is valid for it; otherwise -1 with a reason in plain
 * words in why (n bytes). */
int srv_setting_check(const char *key, const char *value, char *why, size_t n);

/* True when d (YYYYMMDD) is a real date in 2000–2100; then writes it as "YYYY-MM-DD" into out (11 bytes). */
int srv_calendar_date_text(uint32_t d, char out[11]);

#endif
