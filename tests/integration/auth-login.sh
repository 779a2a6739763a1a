#!/usr/bin/env bash
# `zerodrop login` end to end: the real client and server over real TLS with PostgreSQL. Right and wrong
# password, unknown and disabled users, a user of another school, the session file (mode 0600) that later
# commands act with, logout, and the growing delay counted in attempts refused: the server's test clock is
# stepped past each wait, so what is refused does not depend on how fast this machine runs.
set -euo pipefail
CORE_EXTRA_SERVER="test_clock_file = /tmp/zd-auth-clock-$$"
. "$(dirname "$0")/core-lib.sh"
CLOCK=/tmp/zd-auth-clock-$$
echo 0 >"$CLOCK"
core_start
trap 'rm -f "$CLOCK"; core__cleanup' EXIT
h1=$(core_home S43010101)
h2=$(core_home S43010102)
core_enroll "$h1"
core_enroll "$h2"
printf 'clerk-secret-1\n' >"$CORE_TMP/clerk.pw"
printf 'not-the-password\n' >"$CORE_TMP/wrong.pw"
"$ZERODROPD" enroll --config "$CORE_INI" --user clerk1 --role clerk --institution S43010101 \
    --password-file "$CORE_TMP/clerk.pw" >/dev/null
"$ZERODROPD" enroll --config "$CORE_INI" --user clerk2 --role clerk --institution S43010102 \
    --password-file "$CORE_TMP/clerk.pw" >/dev/null
"$ZERODROPD" enroll --config "$CORE_INI" --user gone --role clerk --institution S43010101 \
    --password-file "$CORE_TMP/clerk.pw" >/dev/null
core_psql "UPDATE zd.app_user SET disabled = true WHERE username = 'gone'"
core_server_start

offset=0
# Moves the server's clock forward by $1 seconds (test clock file + SIGHUP, then its reload line).
step_clock() {
    local before
    before=$(grep -c ' reloaded ' "$CORE_TMP/server.log" || true)
    offset=$((offset + $1))
    echo "$offset" >"$CLOCK"
    kill -HUP "$CORE_SRV_PID"
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c ' reloaded ' "$CORE_TMP/server.log" || true)" -gt "$before" ] && return 0
        sleep 0.05
    done
    core_fail "the server did not reload its clock"
}
login() { "$ZERODROP" --home "$h1" login "$@" 2>"$CORE_TMP/err"; }
refused() { if login "$@" >/dev/null; then core_fail "login $* got in"; fi; cat "$CORE_TMP/err"; }

wrong="zerodrop: login refused: wrong user name or password"
core_eq "$(refused clerk1 --password-file "$CORE_TMP/wrong.pw")" "$wrong" "wrong password"
core_eq "$(refused nobody --password-file "$CORE_TMP/clerk.pw")" "$wrong" "unknown user"
core_eq "$(refused gone --password-file "$CORE_TMP/clerk.pw")" \
    "zerodrop: login refused: this user is disabled; ask the county admin" "disabled user"
core_eq "$(refused clerk2 --password-file "$CORE_TMP/clerk.pw")" "$wrong" "another school's user"
[ ! -e "$h1/session" ] || core_fail "a refused login left a session file"

out=$(login clerk1 --password-file "$CORE_TMP/clerk.pw") || core_fail "login: $(cat "$CORE_TMP/err")"
case "$out" in "logged in as clerk1 (clerk at school S43010101) until "*) ;; *) core_fail "login said: $out" ;; esac
core_eq "$(stat -c %a "$h1/session")" "600" "session file mode"
grep -q '^user=clerk1$' "$h1/session" || core_fail "session file names no user"
core_eq "$(core_psql "SELECT count(*) FROM zd.app_session WHERE ended_at IS NULL")" "1" "one open session"
# The database keeps the token's digest, never the token.
token=$(sed -n 's/^token=//p' "$h1/session")
core_eq "$(core_psql "SELECT count(*) FROM zd.app_session WHERE token_sha256 = sha256('\\x$token'::bytea)")" "1" "digest stored"
core_eq "$(core_psql "SELECT count(*) FROM zd.app_session WHERE token_sha256 = '\\x$token'::bytea")" "0" "token not stored"

# Later commands act as clerk1 (the matrix answers FORBIDDEN, not "log in first").
if "$ZERODROP" --home "$h1" admin stats 2>"$CORE_TMP/err"; then core_fail "clerk read stats"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin stats: your role may not do this from this institution" "acts as clerk1"
# The same file copied to another school's device is worth nothing there.
cp "$h1/session" "$h2/session"
if "$ZERODROP" --home "$h2" admin stats 2>"$CORE_TMP/err"; then core_fail "stats on h2"; fi
core_eq "$(cat "$CORE_TMP/err")" "zerodrop: admin stats: log in first (zerodrop login USER)" "copied session"

out=$("$ZERODROP" --home "$h1" logout) || core_fail "logout: $(cat "$CORE_TMP/err")"
core_eq "$out" "logged out" "logout"
[ ! -e "$h1/session" ] || core_fail "logout left the session file"
core_eq "$(core_psql "SELECT count(*) FROM zd.app_session WHERE ended_at IS NULL")" "0" "session ended"
if "$ZERODROP" --home "$h1" admin stats 2>"$CORE_TMP/err"; then core_fail "stats after logout"; fi
core_eq "$(cat "$CORE_TMP/err")" \
    "zerodrop: admin stats: log in first (zerodrop login USER), or pass --as USER --as-password-file F" "after logout"

# The growing delay. Nine wrong passwords, each after the wait the previous ones earned (0, 0, 1, 2, 4, 8,
# 16, 32 s, stepped on the server's clock): all nine are checked and answered "wrong".
waits=(0 0 0 1 2 4 8 16 32)
for i in $(seq 0 8); do
    [ "${waits[$i]}" -gt 0 ] && step_clock $((waits[$i] + 1))
    core_eq "$(refused clerk1 --password-file "$CORE_TMP/wrong.pw")" "$wrong" "wrong password $((i + 1))"
done
# Now the wait is 60 s: three attempts at once, the right password among them, are all refused unchecked.
for pw in wrong clerk wrong; do
    msg=$(refused clerk1 --password-file "$CORE_TMP/$pw.pw")
    case "$msg" in "zerodrop: login refused: too many failed logins for this user; try again in "[56][0-9]" s") ;;
        *) core_fail "not throttled: $msg" ;; esac
done
core_eq "$(grep -c 'type=login result=UNAUTHENTICATED' "$CORE_TMP/server.log")" "16" "refusals in the log"
# Another user is not slowed down.
"$ZERODROPD" enroll --config "$CORE_INI" --user clerk3 --role clerk --institution S43010101 \
    --password-file "$CORE_TMP/clerk.pw" >/dev/null
login clerk3 --password-file "$CORE_TMP/clerk.pw" >/dev/null || core_fail "clerk3: $(cat "$CORE_TMP/err")"
# After the wait the right password gets in, and the count starts again.
step_clock 61
login clerk1 --password-file "$CORE_TMP/clerk.pw" >/dev/null || core_fail "after the wait: $(cat "$CORE_TMP/err")"
core_eq "$(refused clerk1 --password-file "$CORE_TMP/wrong.pw")" "$wrong" "count starts again"

core_server_stop
grep -q "stopped clean=yes" "$CORE_TMP/server.log" || core_fail "server did not stop cleanly"
echo "ok auth-login"
