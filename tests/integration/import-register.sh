#!/usr/bin/env bash
# Register and household imports over the wire (issue 5): the real zerodropd with its PostgreSQL, the real
# client as a county admin on a county device, real TLS. Asserts the exact lines printed and exit codes, and
# that the rows in the database equal the file: a clean import of 10,000 rows; the same file with one bad row
# (row 812) applies nothing and reports that row, column and reason; a repeated import changes nothing; bad
# CSV shape (header, column count, open quote) and bad UTF-8 come back as row/column problems; a school's
# clerk is FORBIDDEN.
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
gen=$ZD_SRC/tests/integration/import-gen.py
as_admin=(--as chief --as-password-file "$CORE_TMP/admin.pw")
zc() { "$ZERODROP" --home "$hc" admin "$@" "${as_admin[@]}"; }
students() { core_psql "SELECT count(*) FROM zd.student"; }
before=$(students)
core_eq "$before" "6" "fixture students"

python3 "$gen" register 10000 "$CORE_TMP/reg.csv"
# Row 812 of the spreadsheet is line 812 of the file (the header is row 1): its grade becomes 11.
awk -F, -v OFS=, 'NR == 812 { $6 = 11 } { print }' "$CORE_TMP/reg.csv" >"$CORE_TMP/bad.csv"

# One bad row in 10,000: nothing applied, that row reported with its column and reason, exit 1.
if out=$(zc import-register "$CORE_TMP/bad.csv" 2>"$CORE_TMP/err"); then core_fail "bad file applied"; fi
core_eq "$out" "row 812, column grade: 11 is not a grade (1–9)" "bad row reported"
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: import-register: nothing was applied: 1 problem in $CORE_TMP/bad.csv" "bad stderr"
core_eq "$(students)" "$before" "nothing applied"
core_eq "$(core_psql "SELECT applied, rows_staged, problems FROM zd.import_batch ORDER BY id DESC LIMIT 1")" "f|10000|1" "failed batch"
core_eq "$(core_psql "SELECT count(*) FROM zd.register_stage")" "0" "staging emptied"

# Clean import: every row of the file is in the database, field for field.
out=$(zc import-register "$CORE_TMP/reg.csv")
core_eq "$out" "$CORE_TMP/reg.csv: applied, 10000 rows: 10000 new, 0 changed, 0 unchanged" "clean import"
core_psql "SELECT s.student_id, s.name, s.birth_date, s.sex, sc.code, c.grade, c.name, s.household_id,
                  concat_ws(';', CASE WHEN left_behind THEN 'left_behind' END, CASE WHEN single_parent THEN 'single_parent' END,
                            CASE WHEN poor THEN 'poor' END, CASE WHEN learning_difficulty THEN 'learning_difficulty' END,
                            CASE WHEN disability THEN 'disability' END, CASE WHEN home_taught THEN 'home_taught' END,
                            CASE WHEN migrant THEN 'migrant' END)
           FROM zd.student s JOIN zd.school sc ON sc.id = s.school_id JOIN zd.class c ON c.id = s.class_id
           WHERE s.student_id LIKE 'G4300%' ORDER BY s.student_id" | tr '|' ',' >"$CORE_TMP/db.csv"
tail -n +2 "$CORE_TMP/reg.csv" | sort >"$CORE_TMP/file.sorted"
sort "$CORE_TMP/db.csv" | cmp -s - "$CORE_TMP/file.sorted" || core_fail "database rows differ from the file"
core_eq "$(core_psql "SELECT count(*) FROM zd.enrollment e JOIN zd.student s ON s.id = e.student_id
                      WHERE s.student_id LIKE 'G4300%' AND e.to_date IS NULL AND e.from_reason = 'enrolled'")" "10000" "enrollments"

# The same file again changes nothing.
out=$(zc import-register "$CORE_TMP/reg.csv")
core_eq "$out" "$CORE_TMP/reg.csv: applied, 10000 rows: 0 new, 0 changed, 10000 unchanged" "repeated import"
core_eq "$(core_psql "SELECT count(*) FROM zd.enrollment")" "10006" "no new enrollment rows"

# Acting as the login kept in the home (zerodrop login), as a new user would: the session survives
# one import and serves the next (a second Login with the kept token used to end it).
"$ZERODROP" --home "$hc" login chief --password-file "$CORE_TMP/admin.pw" >/dev/null || core_fail "login"
for round in 1 2; do
    out=$("$ZERODROP" --home "$hc" admin import-register "$CORE_TMP/reg.csv" 2>&1) || core_fail "session import $round: $out"
    core_eq "$out" "$CORE_TMP/reg.csv: applied, 10000 rows: 0 new, 0 changed, 10000 unchanged" "session import $round"
done

# Bad shape and bad encoding, as row/column problems (JSON for machines).
{ printf 'student_id,name,birth_date,sex,school_code,grade,klass,household_id,flags\n'; sed -n 2,4p "$CORE_TMP/reg.csv"; } >"$CORE_TMP/header.csv"
if out=$(zc import-register "$CORE_TMP/header.csv" --json 2>/dev/null); then core_fail "wrong header applied"; fi
core_eq "$out" '{"applied":false,"rows":0,"inserted":0,"changed":0,"unchanged":0,"problems_total":1,"problems":[{"row":1,"column":"class_name","reason":"the header says \"klass\" here, expected \"class_name\""}]}' "wrong header"
{ head -n 3 "$CORE_TMP/reg.csv"; printf 'G430000000000999999,"王五,2014-01-01,M\n'; } >"$CORE_TMP/shape.csv"
if out=$(zc import-register "$CORE_TMP/shape.csv" 2>/dev/null); then core_fail "bad shape applied"; fi
core_eq "$out" "row 4, column name: a quoted field is not closed (a \" is missing)
row 4, column birth_date: the row has 2 columns, expected 9" "open quote"
{ head -n 2 "$CORE_TMP/reg.csv"; sed -n 3p "$CORE_TMP/reg.csv" | cut -d, -f1-8; sed -n 4p "$CORE_TMP/reg.csv" | sed 's/,S43010201,/,S4301\xff0201,/'; } >"$CORE_TMP/enc.csv"
if out=$(zc import-register "$CORE_TMP/enc.csv" 2>/dev/null); then core_fail "bad encoding applied"; fi
core_eq "$out" "row 3, column flags: the row has 8 columns, expected 9" "column count"
{ head -n 2 "$CORE_TMP/reg.csv"; sed -n 4p "$CORE_TMP/reg.csv" | sed 's/,S43010201,/,S4301\xff0201,/'; } >"$CORE_TMP/enc.csv"
if out=$(zc import-register "$CORE_TMP/enc.csv" 2>/dev/null); then core_fail "bad encoding applied"; fi
core_eq "$out" "row 3, column school_code: is not valid UTF-8 text (bad encoding)" "bad UTF-8"
core_eq "$(students)" "10006" "nothing applied by the bad files"

# Household extract: applied, equal to the file.
python3 "$gen" household 50 "$CORE_TMP/hh.csv"
out=$("$ZERODROP" --home "$hc" admin import-household "$CORE_TMP/hh.csv" --json "${as_admin[@]}")
core_eq "$out" '{"applied":true,"rows":50,"inserted":50,"changed":0,"unchanged":0,"problems_total":0,"problems":[]}' "household"
core_psql "SELECT hp.person_id, hp.name, hp.birth_date, hp.sex, t.code FROM zd.household_person hp
           JOIN zd.township t ON t.id = hp.township_id WHERE hp.birth_date >= '2012-01-01'" | tr '|' ',' | sort >"$CORE_TMP/hdb"
tail -n +2 "$CORE_TMP/hh.csv" | sort | cmp -s - "$CORE_TMP/hdb" || core_fail "household rows differ from the file"

# A school's clerk on the school's device may not import.
if "$ZERODROP" --home "$h1" admin import-register "$CORE_TMP/reg.csv" --as clerk1 --as-password-file "$CORE_TMP/clerk.pw" \
    >/dev/null 2>"$CORE_TMP/err"; then core_fail "clerk imported"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: import-register: your role may not do this from this institution" "clerk refused"
core_eq "$(core_psql "SELECT count(*) FROM zd.import_batch")" "7" "batches: one per import that reached the database"
echo ok
