#!/usr/bin/env bash
# The county calendar and settings over the wire (issue 5): the real zerodropd with its PostgreSQL, the real
# client as a county admin on a county device, real TLS. Round trips (set, then show; the rows in the
# database), a calendar file from tests/gen-county, and the refusals: a bad date, kind or school names the
# field and changes nothing, an unknown setting or a bad value names the key, tiers out of order are refused
# by the database with all the other keys of the request, and a school's clerk may read but not change.
set -euo pipefail
. "$(dirname "$0")/core-lib.sh"
core_start
hc=$(core_home C4301 county)
h1=$(core_home S43010101)
core_enroll "$hc"
core_enroll "$h1"
printf 'county-admin-secret\n' >"$CORE_TMP/admin.pw"
printf 'clerk-secret\n' >"$CORE_TMP/clerk.pw"
"$ZERODROPD" enroll --config "$CORE_INI" --user chief --role county_admin --institution C4301 \
    --password-file "$CORE_TMP/admin.pw" >/dev/null
"$ZERODROPD" enroll --config "$CORE_INI" --user clerk1 --role clerk --institution S43010101 \
    --password-file "$CORE_TMP/clerk.pw" >/dev/null
core_server_start
zc() { "$ZERODROP" --home "$hc" admin "$@" --as chief --as-password-file "$CORE_TMP/admin.pw"; }
zs() { "$ZERODROP" --home "$h1" admin "$@" --as clerk1 --as-password-file "$CORE_TMP/clerk.pw"; }
refused() { # refused WANT_STDERR WHAT ARGS...: the command fails with exactly that line
    local want=$1 what=$2
    shift 2
    if "$@" >/dev/null 2>"$CORE_TMP/err"; then core_fail "$what: accepted"; fi
    core_eq "$(cat "$CORE_TMP/err")" "$want" "$what"
}

# A whole term from the generator's calendar file: 93 county school days (tests/gen/README.md).
ZD_BUILD=$ZD_BUILD "$ZD_SRC/tests/gen-county" --small --out "$CORE_TMP/county" >/dev/null
core_eq "$(zc calendar set --file "$CORE_TMP/county/calendar.csv")" "calendar: 137 day(s) set" "calendar file"
core_eq "$(core_psql "SELECT count(*) FILTER (WHERE school_day), count(*), min(day), max(day) FROM zd.calendar_day")" \
    "93|137|2026-09-01|2027-01-15" "calendar rows"

# Arguments: a term start, a range, a closure; shown back in order.
core_eq "$(zc calendar set 2026-09-01 term_start --note "autumn 2026")" "calendar: 1 day(s) set" "term start"
core_eq "$(zc calendar set 2026-10-08..2026-10-09 holiday --note "flood")" "calendar: 2 day(s) set" "range"
core_eq "$(zc calendar set 2026-11-18 closure S43010102 --note weather)" "calendar: 1 day(s) set" "closure"
core_eq "$(zc calendar set 2026-11-18 closure S43010102 --note weather)" "calendar: 1 day(s) set" "closure again"
core_eq "$(core_psql "SELECT s.code, c.from_date, c.to_date, c.reason FROM zd.school_closure c JOIN zd.school s ON s.id = c.school_id")" \
    "S43010102|2026-11-18|2026-11-18|weather" "one closure row"
core_eq "$(core_psql "SELECT name, starts_on, ends_on FROM zd.term")" "autumn 2026|2026-09-01|2027-01-15" "term row"
core_eq "$(zc calendar show 2026-10-07 2026-10-09 --csv)" "date,kind,school_code,note
2026-10-07,holiday,,\"National Day\"
2026-10-08,holiday,,\"flood\"
2026-10-09,holiday,,\"flood\"" "show csv"
core_eq "$(zc calendar show 2026-11-18 2026-11-18 --json)" \
    '[{"date":"2026-11-18","kind":"closure","school_code":"S43010102","note":"weather"},{"date":"2026-11-18","kind":"school_day","school_code":"","note":"term"}]' "show json"
core_eq "$(zc calendar show 2026-09-01 2026-09-01)" "2026-09-01  school_day  -           autumn 2026
2026-09-01  term_start  -           autumn 2026" "show table"

# Refusals name the field and change nothing.
refused "zerodrop: calendar set: 20260230 is not a date (YYYYMMDD, 2000–2100) (field calendar_set.days[0].date)" \
    "bad date" zc calendar set 2026-02-30 holiday
refused "zerodrop: calendar set: \"vacation\" is not a kind of day (school_day, holiday, term_start, closure) (field calendar_set.days[0].kind)" \
    "bad kind" zc calendar set 2026-10-08 vacation
refused "zerodrop: calendar set: a closure names the school it closes (a school code such as S43010101) (field calendar_set.days[0].school_code)" \
    "closure without school" zc calendar set 2026-10-08 closure
# closures.csv names S43010103, which the fixture county does not have: the whole file is refused.
refused "zerodrop: calendar set: there is no school with code \"S43010103\" (field school_code)" \
    "unknown school" zc calendar set --file "$CORE_TMP/county/closures.csv"
core_eq "$(core_psql "SELECT count(*) FROM zd.school_closure")" "1" "no closure added"
core_eq "$(core_psql "SELECT count(*) FILTER (WHERE school_day) FROM zd.calendar_day")" "91" "school days after the range"

# Settings: defaults, a change, refusals (all or nothing).
core_eq "$(zc settings show --csv | grep -E '^(report_deadline|streak_|veto_class)')" "report_deadline,10:00:00
streak_contact_days,3
streak_dropout_days,20
streak_suspected_days,5
veto_class_rate,0.0500" "defaults"
core_eq "$(zc settings set report_deadline=15:30 streak_contact_days=4 veto_class_rate=0.04)" "settings: 3 set" "set"
core_eq "$(core_psql "SELECT report_deadline, streak_contact_days, veto_class_rate FROM zd.county_setting")" "15:30:00|4|0.0400" "set rows"
refused "zerodrop: settings set: there is no setting \"foo\" (zerodrop admin settings show lists them) (field foo)" \
    "unknown key" zc settings set foo=1
refused "zerodrop: settings set: veto_class_rate is a share from 0 to 1 such as 0.05, not \"2\" (field veto_class_rate)" \
    "bad rate" zc settings set veto_class_rate=2
refused "zerodrop: settings set: report_deadline is a time of day HH:MM such as 10:00, not \"25:00\" (field report_deadline)" \
    "bad time" zc settings set report_deadline=25:00
refused "zerodrop: settings set: the streak tiers must grow: contact 30 ≤ suspected 5 ≤ dropout 20 days (field streak_suspected_days)" \
    "tiers" zc settings set report_deadline=17:00 streak_contact_days=30
refused "zerodrop: settings set: \"Mars/Olympus\" is not a time zone (such as Asia/Shanghai) (field timezone)" \
    "zone" zc settings set timezone=Mars/Olympus
core_eq "$(zc settings show --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["report_deadline"], d["streak_contact_days"], d["timezone"])')" \
    "15:30:00 4 Asia/Shanghai" "nothing changed by the refusals"

# A school's clerk reads the calendar but changes nothing, and does not read the settings.
core_eq "$(zs calendar show 2026-10-08 2026-10-08 --csv)" 'date,kind,school_code,note
2026-10-08,holiday,,"flood"' "clerk reads the calendar"
refused "zerodrop: calendar set: your role may not do this from this institution" "clerk sets" zs calendar set 2026-10-10 holiday
refused "zerodrop: settings show: your role may not do this from this institution" "clerk settings" zs settings show
echo ok
