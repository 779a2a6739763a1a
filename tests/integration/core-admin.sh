#!/usr/bin/env bash
# The admin family end to end: `zerodropd enroll` makes the first county admin, who then adds, re-keys and
# disables users and registers, lists and revokes devices with the real client over real TLS, against the
# real server and PostgreSQL. Asserts the exact lines printed, the exit codes, the rows in the database, the
# authorization matrix on the way (a clerk may not read stats), and that revoking drops an open session.
set -euo pipefail
. "$(dirname "$0")/core-lib.sh"
core_start
hc=$(core_home C4301 county)
h1=$(core_home S43010101)
h2=$(core_home S43010102)
core_enroll "$hc"
core_enroll "$h1"
printf 'county-admin-secret\n' >"$CORE_TMP/admin.pw"
printf 'clerk-secret-1\n' >"$CORE_TMP/clerk.pw"
printf 'clerk-secret-2\n' >"$CORE_TMP/clerk2.pw"

out=$("$ZERODROPD" enroll --config "$CORE_INI" --user chief --role county_admin --institution C4301 \
      --password-file "$CORE_TMP/admin.pw")
core_eq "$out" "user chief (county_admin at C4301) created" "enroll --user"
if "$ZERODROPD" enroll --config "$CORE_INI" --user chief --role county_admin --institution C4301 \
      --password-file "$CORE_TMP/admin.pw" 2>"$CORE_TMP/err"; then core_fail "second admin created"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodropd enroll: a user called chief already exists" "enroll --user again"
core_server_start

as_admin=(--as chief --as-password-file "$CORE_TMP/admin.pw")
zc() { "$ZERODROP" --home "$hc" "$@"; }

# Users.
out=$(zc admin user add clerk1 --role clerk --institution S43010101 --password-file "$CORE_TMP/clerk.pw" \
      --display-name "Clerk One" "${as_admin[@]}")
core_eq "$out" "user clerk1 added (clerk at S43010101)" "user add"
core_eq "$(core_psql "SELECT u.role, u.level, s.code, u.display_name, u.disabled FROM zd.app_user u JOIN zd.school s ON s.id = u.school_id WHERE username = 'clerk1'")" \
    "clerk|school|S43010101|Clerk One|f" "clerk1 row"
if zc admin user add clerk1 --role clerk --institution S43010101 --password-file "$CORE_TMP/clerk.pw" \
      "${as_admin[@]}" 2>"$CORE_TMP/err"; then core_fail "duplicate user added"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin user add: a user called clerk1 already exists (field user)" "dup user"
if zc admin user add boss --role county_admin --institution S43010101 --password-file "$CORE_TMP/clerk.pw" \
      "${as_admin[@]}" 2>"$CORE_TMP/err"; then core_fail "county admin at a school added"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin user add: a county_admin cannot belong to S43010101 (field role)" "role/level"
if zc admin user add ghost --role clerk --institution S00000000 --password-file "$CORE_TMP/clerk.pw" \
      "${as_admin[@]}" 2>"$CORE_TMP/err"; then core_fail "user of no school added"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin user add: no school, township or county has the code S00000000 (field institution_code)" "unknown institution"
core_eq "$(core_psql "SELECT count(*) FROM zd.app_user WHERE username IN ('boss', 'ghost')")" "0" "nothing added on error"

# The clerk logs in on its school's device, but may not read the county's stats (authorization matrix).
if "$ZERODROP" --home "$h1" admin stats --as clerk1 --as-password-file "$CORE_TMP/clerk.pw" 2>"$CORE_TMP/err"; then
    core_fail "clerk read stats"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin stats: your role may not do this from this institution" "clerk stats"

# A wrong admin password is a refused login, one line, exit 1.
if zc admin stats --as chief --as-password-file "$CORE_TMP/clerk.pw" 2>"$CORE_TMP/err"; then core_fail "wrong password"; fi
case "$(cat "$CORE_TMP/err")" in "zerodrop: admin stats: login refused: "*) ;; *) core_fail "wrong password: $(cat "$CORE_TMP/err")" ;; esac

out=$(zc admin user passwd clerk1 --password-file "$CORE_TMP/clerk2.pw" "${as_admin[@]}")
core_eq "$out" "password of clerk1 changed" "passwd"
if "$ZERODROP" --home "$h1" admin stats --as clerk1 --as-password-file "$CORE_TMP/clerk.pw" 2>"$CORE_TMP/err"; then
    core_fail "old password works"; fi
case "$(cat "$CORE_TMP/err")" in "zerodrop: admin stats: login refused: "*) ;; *) core_fail "old password: $(cat "$CORE_TMP/err")" ;; esac
if "$ZERODROP" --home "$h1" admin stats --as clerk1 --as-password-file "$CORE_TMP/clerk2.pw" 2>"$CORE_TMP/err"; then
    core_fail "clerk read stats"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin stats: your role may not do this from this institution" "new password logs in"
out=$(zc admin user disable clerk1 --json "${as_admin[@]}")
core_eq "$out" '{"done":"user clerk1 disabled"}' "disable"
core_eq "$(core_psql "SELECT disabled FROM zd.app_user WHERE username = 'clerk1'")" "t" "disabled row"
if "$ZERODROP" --home "$h1" admin stats --as clerk1 --as-password-file "$CORE_TMP/clerk2.pw" 2>"$CORE_TMP/err"; then
    core_fail "disabled clerk"; fi
case "$(cat "$CORE_TMP/err")" in "zerodrop: admin stats: login refused: "*) ;; *) core_fail "disabled: $(cat "$CORE_TMP/err")" ;; esac
if zc admin user disable nobody "${as_admin[@]}" 2>"$CORE_TMP/err"; then core_fail "disabled nobody"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin user disable: there is no user called nobody (field user)" "disable unknown"

# Devices: h2 is refused until added, then admitted; list shows all three; revoke drops its open session.
if "$ZERODROP" --home "$h2" ping 2>/dev/null >/dev/null; then core_fail "h2 admitted before add"; fi
fp2=$(openssl x509 -in "$h2/cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
out=$(zc admin device add "$fp2" --institution S43010102 --label "office PC" "${as_admin[@]}")
core_eq "$out" "device registered to S43010102" "device add"
"$ZERODROP" --home "$h2" ping >/dev/null || core_fail "h2 refused after add"
if zc admin device add --cert "$h2/cert.pem" --institution S43010102 "${as_admin[@]}" 2>"$CORE_TMP/err"; then
    core_fail "device added twice"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin device add: this device is already registered (field fingerprint)" "device twice"
if zc admin device add 1234 --institution S43010102 "${as_admin[@]}" 2>"$CORE_TMP/err"; then core_fail "bad fp"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin device add: the fingerprint must be the certificate's SHA-256: 64 hex digits (field fingerprint)" "bad fingerprint"
fp2=$(tr -d ':' <<<"$fp2" | tr 'A-F' 'a-f')
out=$(zc admin device list --csv "${as_admin[@]}" | cut -d, -f1-3,5)
want="fingerprint,institution,label,revoked"
for code in C4301 S43010101 S43010102; do
    want+=$'\n'"$(core_psql "SELECT d.fingerprint FROM zd.device d LEFT JOIN zd.school s ON s.id = d.school_id LEFT JOIN zd.county c ON c.id = d.county_id WHERE COALESCE(s.code, c.code) = '$code'"),$code,"
    [ "$code" = S43010102 ] && want+="office PC"
    want+=","
done
core_eq "$out" "$want" "device list --csv"
out=$(zc admin device list --institution S43010102 --json "${as_admin[@]}")
case "$out" in "[{\"fingerprint\":\"$fp2\",\"institution\":\"S43010102\",\"label\":\"office PC\",\"issued_ms\":"*",\"revoked_ms\":0,\"last_contact_ms\":"*"}]") ;;
    *) core_fail "device list --json: $out" ;; esac

core_peer --home "$h2" --timeout-ms 20000 hello mark idle 20 >"$CORE_TMP/peer" 2>&1 &
peer=$!
CORE_PIDS+=("$peer")
core_wait_line "$CORE_TMP/peer" 100 mark || core_fail "peer never got its session"
out=$(zc admin device revoke --cert "$h2/cert.pem" "${as_admin[@]}")
core_eq "$out" "device ${fp2:0:16}… revoked; 1 open session dropped" "revoke"
core_wait_line "$CORE_TMP/peer" 100 closed || core_fail "revoked session still open"
core_eq "$(core_psql "SELECT revoked_at IS NOT NULL FROM zd.device WHERE fingerprint = '$fp2'")" "t" "revoked row"
if "$ZERODROP" --home "$h2" ping 2>"$CORE_TMP/err" >/dev/null; then core_fail "revoked device admitted"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: server refused the session: this device is not registered with the county" "revoked refused"

# Stats: the figures exist and count what happened (each admin command is one login and one request).
out=$(zc admin stats --json "${as_admin[@]}")
case "$out" in '{"connections":'*',"handshakes_in_progress":'*'"db_connections_up":4,'*'"device_revoke/OK":1'*) ;;
    *) core_fail "stats --json: $out" ;; esac
case "$out" in *'"user_add/OK":1,"user_add/INVALID_ARGUMENT":1,"user_add/NOT_FOUND":1,"user_add/CONFLICT":1'*) ;;
    *) core_fail "stats counts: $out" ;; esac
zc admin stats --csv "${as_admin[@]}" >"$CORE_TMP/stats.csv"
head -n 2 "$CORE_TMP/stats.csv" | tr '\n' ' ' | grep -Eqx 'name,value connections,[0-9]+ ' || core_fail "stats --csv"
grep -qx 'requests device_revoke/OK,1' "$CORE_TMP/stats.csv" || core_fail "stats --csv counts"
zc admin user --help >"$CORE_TMP/help" || core_fail "admin --help exit"
for line in "user add NAME --role ROLE --institution CODE --password-file F" "user disable NAME" \
            "user passwd NAME --password-file F" "device add (FINGERPRINT | --cert CERT.pem) --institution CODE" \
            "device revoke (FINGERPRINT | --cert CERT.pem)" "device list [--institution CODE] [--json | --csv]" \
            "stats [--json | --csv]"; do
    grep -qF -- "$line" "$CORE_TMP/help" || core_fail "admin --help lacks '$line'"
done

core_server_stop
grep -q "stopped clean=yes" "$CORE_TMP/server.log" || core_fail "server did not stop cleanly"
echo "ok core-admin"
