#!/usr/bin/env bash
# sync-submit.sh — the school's records reach the county once, with the real zerodropd, PostgreSQL and TLS:
# capture while the server is down ("saved, will be sent"), start it, one `sync` delivers each record exactly
# once (rows counted), a second sync sends nothing; then the rejections, each with its reason and nothing
# stored: a date outside the term, a class of another school, a student not in the class, a forged signature;
# the same UUID with other bytes is CONFLICT; 50 concurrent submissions of one record leave one row.
source "$(dirname "$0")/core-lib.sh"

core_start
H=$(core_home S43010101 >/dev/null; echo "$CORE_TMP/homes/S43010101")
core_enroll "$H"
echo 'clerk-password-1' >"$CORE_TMP/pw"
"$ZERODROPD" enroll --config "$CORE_INI" --user clerk1 --role clerk --institution S43010101 \
    --password-file "$CORE_TMP/pw" >/dev/null
zd() { "$ZERODROP" --home "$H" "$@"; }
offline() { sed -i "s/^port = .*/port = 1/" "$H/settings.ini"; }    # nobody listens there
online() { sed -i "s/^port = .*/port = $CORE_PORT/" "$H/settings.ini"; }
S1=G430101010000000001
S2=G430101010000000002

# --- offline capture: the server is not running (settings point at a port nobody listens on)
offline
out=$(zd absent --class 7-1 --date 2026-09-07 $S2 --reason sick)
echo "$out" | grep -q '^saved roll call of S43010101-7-1 on 2026-09-07 (1 absent)' || core_fail "absent: $out"
echo "$out" | grep -q '^saved, will be sent when the server can be reached' || core_fail "offline: $out"
zd absent --class 7-1 --date 2026-09-08 $S1 $S2 --reason family >/dev/null
zd report zero --date 2026-09-07 >/dev/null
zd present --class 7-1 --date 2026-09-08 $S1 >/dev/null
core_eq "$(zd status --csv | sed -n 2p | cut -d, -f1-5)" "4,0,0,0,0" "outbox before sync (pending..rejected)"

# --- the server comes: one sync delivers each record once
core_server_start
out=$(zd sync --user clerk1 --password-file "$CORE_TMP/pw")
echo "$out" | grep -q '^sent 4: 4 accepted, 0 duplicate, 0 rejected' || core_fail "first sync: $out"
out=$(zd sync)
echo "$out" | grep -q '^sent 0: ' || core_fail "second sync (session token): $out"
q() { core_psql "$1"; }
core_eq "$(q "SELECT count(*) FROM zd.roll_call WHERE body IS NOT NULL")" 3 "roll calls stored"
core_eq "$(q "SELECT count(*) FROM zd.daily_report WHERE body IS NOT NULL")" 1 "reports stored"
core_eq "$(q "SELECT string_agg(st.student_id || ':' || a.reason, ' ' ORDER BY rc.id, st.student_id)
              FROM zd.absence a JOIN zd.roll_call rc ON rc.id = a.roll_call_id JOIN zd.student st ON st.id = a.student_id
              WHERE rc.body IS NOT NULL")" "$S2:sick $S1:family $S2:family $S2:family" "absences stored"
core_eq "$(q "SELECT count(*) FROM zd.roll_call c JOIN zd.roll_call o ON o.uuid = c.corrects WHERE c.day = '2026-09-08'")" 1 \
    "the correction names the roll call it corrects"
core_eq "$(q "SELECT count(*) FROM zd.audit_entry WHERE record_uuid IS NOT NULL")" 4 "audit entries"
core_eq "$(q "SELECT count(*) FROM zd.audit_entry e JOIN zd.roll_call r ON r.uuid = e.record_uuid
              WHERE e.canonical = r.body AND e.device_id IS NOT NULL")" 3 "chain holds the bytes as signed"
core_eq "$(zd status --csv | sed -n 2p | cut -d, -f1-5)" "0,0,4,0,0" "outbox after sync"
core_eq "$(sqlite3 "$H/store.sqlite" "SELECT count(*) FROM receipt")" 4 "receipts kept"

# --- rejections, each with its reason, nothing stored
before=$(q "SELECT count(*) FROM zd.roll_call")
offline
zd absent --class 7-1 --date 2027-03-01 $S1 --reason sick >/dev/null
zd absent --class S43010201-7-1 --date 2026-09-09 G430102010000000001 --reason sick >/dev/null
zd absent --class 7-1 --date 2026-09-10 G430101020000000001 --reason sick >/dev/null
online
out=$(zd sync)
echo "$out" | grep -q '^sent 3: 0 accepted, 0 duplicate, 3 rejected' || core_fail "rejections: $out"
echo "$out" | grep -q 'S43010101-7-1: 2027-03-01 is not inside a school term' || core_fail "term reason: $out"
echo "$out" | grep -q 'class S43010201-7-1 belongs to another school, not to S43010101' || core_fail "school: $out"
echo "$out" | grep -q 'student G430101020000000001 is not in class 7-1 on 2026-09-10' || core_fail "student: $out"
core_eq "$(q "SELECT count(*) FROM zd.roll_call")" "$before" "nothing stored for rejected records"

# A forged signature: the record's bytes altered after signing.
offline
zd absent --class 7-1 --date 2026-09-11 $S1 --reason sick >/dev/null
online
sqlite3 "$H/store.sqlite" "UPDATE outbox SET signature = X'3006020101020101' WHERE state = 0"
out=$(zd sync)
echo "$out" | grep -q "rejected .*: the record is not signed by this device's key" || core_fail "forged: $out"
core_eq "$(q "SELECT count(*) FROM zd.roll_call WHERE day = '2026-09-11'")" 0 "forged record not stored"

# --- same UUID, other bytes: a copy of the home resends an accepted record with one byte changed, re-signed
cp -a "$H" "$CORE_TMP/h2"
H2=$CORE_TMP/h2
uuid=$(sqlite3 "$H2/store.sqlite" "SELECT hex(uuid) FROM outbox WHERE day = 20260907 AND kind = 1")
body=$(sqlite3 "$H2/store.sqlite" "SELECT hex(body) FROM outbox WHERE hex(uuid) = '$uuid'")
sick=$(printf sick | xxd -p); sicx=$(printf sicK | xxd -p)
newbody=$(echo "$body" | tr 'A-F' 'a-f' | sed "s/$sick/$sicx/")
[ "$newbody" != "$(echo "$body" | tr 'A-F' 'a-f')" ] || core_fail "could not alter the body"
echo "$newbody" | xxd -r -p >"$CORE_TMP/body.bin"
sig=$(openssl dgst -sha256 -sign "$H2/key.pem" "$CORE_TMP/body.bin" | xxd -p | tr -d '\n')
sqlite3 "$H2/store.sqlite" "UPDATE outbox SET body = X'$newbody', signature = X'$sig', state = 0 WHERE hex(uuid) = '$uuid'"
out=$("$ZERODROP" --home "$H2" sync)
echo "$out" | grep -q '^sent 1: 0 accepted, 0 duplicate, 1 rejected' || core_fail "conflict: $out"
core_eq "$(sqlite3 "$H2/store.sqlite" "SELECT code FROM outbox WHERE hex(uuid) = '$uuid'")" 7 "CONFLICT code kept"
core_eq "$(q "SELECT count(*) FROM zd.roll_call WHERE day = '2026-09-07'")" 1 "conflicting record not stored"

# --- 50 concurrent submissions of one record: one row, every answer a success
offline      # captured offline, so all 50 race to store it
zd absent --class 7-1 --date 2026-09-14 $S2 --reason sick >/dev/null
online
cp -a "$H" "$CORE_TMP/base"
pids=()
for i in $(seq 1 50); do
    cp -a "$CORE_TMP/base" "$CORE_TMP/c$i"
done
for i in $(seq 1 50); do
    "$ZERODROP" --home "$CORE_TMP/c$i" sync >"$CORE_TMP/c$i.out" 2>&1 &
    pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
core_eq "$fails" 0 "concurrent syncs that failed"
core_eq "$(cat "$CORE_TMP"/c*.out | grep -c '^sent 1: 1 accepted, 0 duplicate, 0 rejected')" 1 "accepted answers"
core_eq "$(cat "$CORE_TMP"/c*.out | grep -c '^sent 1: 0 accepted, 1 duplicate, 0 rejected')" 49 "duplicate answers"
core_eq "$(q "SELECT count(*) FROM zd.roll_call WHERE day = '2026-09-14'")" 1 "rows of the record"
core_eq "$(q "SELECT count(*) FROM zd.audit_entry e JOIN zd.roll_call r ON r.uuid = e.record_uuid WHERE r.day = '2026-09-14'")" 1 \
    "audit entries of the record"
echo "sync-submit: ok"
