#!/usr/bin/env bash
# Devices: a certificate the county CA signed is not enough. The real server with its database refuses a
# device whose fingerprint is not registered, registered to another institution, or revoked; `zerodropd
# enroll --device` registers one (again: a no-op); each accepted Hello records the contact time; a device
# revoked in the database while its session is open is dropped by the server's sweep.
set -euo pipefail
. "$(dirname "$0")/core-lib.sh"
core_start
h1=$(core_home S43010101)
h2=$(core_home S43010102)
core_server_start

# 1. Not registered: refused with the agreed words, non-zero exit, one line.
if "$ZERODROP" --home "$h1" ping >"$CORE_TMP/out" 2>"$CORE_TMP/err"; then core_fail "unregistered device got in"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: server refused the session: this device is not registered with the county" "refusal"
out=$(core_peer --home "$h1" hello read-all)
core_eq "$out" $'error code=UNAUTHENTICATED id=1\nclosed' "peer sees UNAUTHENTICATED then close"

# 2. Enrolled: accepted; enrolling again changes nothing.
fp1=$(openssl x509 -in "$h1/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
out=$("$ZERODROPD" enroll --config "$CORE_INI" --device "$h1/cert.pem")
core_eq "$out" "device $fp1 registered to school S43010101" "enroll output"
out=$("$ZERODROPD" enroll --config "$CORE_INI" --device "$h1/cert.pem")
core_eq "$out" "device $fp1 (school S43010101) already registered" "enroll again"
core_eq "$(core_psql "SELECT count(*) FROM zd.device")" "1" "one device row"
core_eq "$(core_psql "SELECT last_contact_at IS NULL FROM zd.device")" "t" "no contact yet"
out=$("$ZERODROP" --home "$h1" ping --json) || core_fail "registered device refused"
case "$out" in *'"institution":{"level":"school","code":"S43010101"}'*) ;; *) core_fail "ping: $out" ;; esac
core_eq "$(core_psql "SELECT last_contact_at IS NOT NULL FROM zd.device")" "t" "contact recorded"

# 3. Registered to another institution (h2's certificate names S43010102): refused.
fp2=$(openssl x509 -in "$h2/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
core_psql "INSERT INTO zd.device (fingerprint, level, school_id) SELECT '$fp2', 'school', id FROM zd.school WHERE code = 'S43010101'"
out=$(core_peer --home "$h2" hello read-all)
core_eq "$out" $'error code=UNAUTHENTICATED id=1\nclosed' "device of another institution"

# 4. Bad enroll input: a clear error, exit 1, nothing changed.
if "$ZERODROPD" enroll --config "$CORE_INI" --device "$CORE_TMP/nothing.pem" 2>"$CORE_TMP/err"; then core_fail "missing cert enrolled"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodropd enroll: $CORE_TMP/nothing.pem: cannot open the certificate" "missing cert"
h9=$(core_home S99999999)
if "$ZERODROPD" enroll --config "$CORE_INI" --device "$h9/cert.pem" 2>"$CORE_TMP/err"; then core_fail "unknown school enrolled"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodropd enroll: no school, township or county has the code S99999999" "unknown school"
core_eq "$(core_psql "SELECT count(*) FROM zd.device")" "2" "still two device rows"

# 5. An open session of a device revoked in the database is dropped within a few seconds (bounded wait).
"$ZD_PEER" --port "$CORE_PORT" --home "$h1" --timeout-ms 20000 hello mark idle 20 >"$CORE_TMP/peer" 2>&1 &
peer=$!
CORE_PIDS+=("$peer")
core_wait_line "$CORE_TMP/peer" 100 mark || core_fail "peer never got its session: $(cat "$CORE_TMP/peer")"
core_psql "UPDATE zd.device SET revoked_at = now() WHERE fingerprint = '$fp1'"
core_wait_line "$CORE_TMP/peer" 150 closed || core_fail "revoked session still open: $(cat "$CORE_TMP/peer")"
wait "$peer" || true
core_eq "$(grep -c "^welcome" "$CORE_TMP/peer")" "1" "peer had a session"
grep -q "closed conn=.* reason=device_revoked" "$CORE_TMP/server.log" || core_fail "no device_revoked close in the log"
out=$(core_peer --home "$h1" hello read-all)
core_eq "$out" $'error code=UNAUTHENTICATED id=1\nclosed' "revoked device refused"
if "$ZERODROPD" enroll --config "$CORE_INI" --device "$h1/cert.pem" 2>"$CORE_TMP/err"; then core_fail "revoked re-enrolled"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodropd enroll: $h1/cert.pem: this certificate was revoked; issue a new one" "revoked enroll"

core_server_stop
grep -q "stopped clean=yes" "$CORE_TMP/server.log" || core_fail "server did not stop cleanly"
echo "ok core-devices"
