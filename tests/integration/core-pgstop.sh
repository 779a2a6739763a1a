#!/usr/bin/env bash
# PostgreSQL stopped with `pg_ctl stop -m immediate` while 50 clients send writes (admin device add, each
# with its own fingerprint): every write acknowledged has its row after the restart, every other one failed
# as UNAVAILABLE (the database is away; it may or may not have committed, which the client's retry makes
# safe), none failed otherwise; and once PostgreSQL is back the same 50 clients succeed without zerodropd
# being restarted.
set -euo pipefail
. "$(dirname "$0")/core-lib.sh"
core_start
# The harness runs the cluster with synchronous_commit=off; an acknowledgement must mean a durable commit.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER ROLE zerodrop_app SET synchronous_commit = on"
hc=$(core_home C4301 county)
core_enroll "$hc"
printf 'county-admin-secret\n' >"$CORE_TMP/admin.pw"
"$ZERODROPD" enroll --config "$CORE_INI" --user chief --role county_admin --institution C4301 \
    --password-file "$CORE_TMP/admin.pw" >/dev/null
clients=50 writes=2
# One county admin per client (the same password), so that 50 logins at once do not meet one user's throttle.
core_psql "INSERT INTO zd.app_user (username, password_hash, role, level, county_id)
           SELECT 'admin' || g, u.password_hash, 'county_admin', 'county', u.county_id
           FROM zd.app_user u, generate_series(1, $clients) g WHERE u.username = 'chief'"
core_server_start

mkdir -p "$CORE_TMP/w"
# One write: prints "FINGERPRINT ok|unavailable|other:<reason>".
write_one() {
    local fp=$1 user=$2 err rc attempt
    for attempt in $(seq 1 60); do
        rc=0
        err=$("$ZERODROP" --home "$hc" admin device add "$fp" --institution S43010101 \
              --as "$user" --as-password-file "$CORE_TMP/admin.pw" 2>&1 >/dev/null) || rc=$?
        # 50 logins at once meet the server's cap on password checks (OVERLOADED) and then the user's
        # throttle: the login is refused before the write is sent, so the client simply tries again.
        case $err in *"login refused: the server is busy"* | *"login refused: too many failed logins"*)
            sleep 0.2; continue ;; esac
        break
    done
    # 75: the login or the write was answered UNAVAILABLE; the Hello's device check says it in words.
    if [ "$rc" -eq 0 ]; then
        echo "$fp ok"
    elif [ "$rc" -eq 75 ] || [[ $err == *"server refused the session: the county database is not reachable right now"* ]]; then
        echo "$fp unavailable"
    else
        echo "$fp other:$err"
    fi
}
worker() {
    local w=$1 k
    for k in $(seq 1 "$writes"); do
        write_one "$(printf 'w%d-%d' "$w" "$k" | sha256sum | cut -c1-64)" "admin$w" >>"$CORE_TMP/w/$w"
    done
}
for w in $(seq 1 "$clients"); do
    worker "$w" &
    CORE_PIDS+=($!)
done
workers=("${CORE_PIDS[@]:1}")

# Stop PostgreSQL hard once some writes went through, while the rest are in flight.
for i in $(seq 1 300); do
    [ "$(cat "$CORE_TMP"/w/* 2>/dev/null | grep -c ' ok$')" -ge 20 ] && break
    sleep 0.1
done
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGDATA" stop -m immediate >/dev/null
# Let the workers meet the missing database for a moment (bounded), then bring it back on the same port.
for i in $(seq 1 100); do
    [ "$(cat "$CORE_TMP"/w/* 2>/dev/null | grep -c ' unavailable$')" -ge 5 ] && break
    sleep 0.1
done
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGDATA" -l "$CORE_PGDIR/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$CORE_PGDIR/sock -c fsync=off \
     -c max_connections=200" >/dev/null
for pid in "${workers[@]}"; do wait "$pid"; done

cat "$CORE_TMP"/w/* >"$CORE_TMP/results"
core_eq "$(wc -l <"$CORE_TMP/results")" "$((clients * writes))" "one result per write"
if grep -q ' other:' "$CORE_TMP/results"; then core_fail "failed otherwise: $(grep ' other:' "$CORE_TMP/results" | head -n 3)"; fi
acked=$(grep -c ' ok$' "$CORE_TMP/results" || true)
unavailable=$(grep -c ' unavailable$' "$CORE_TMP/results" || true)
[ "$acked" -ge 20 ] || core_fail "only $acked writes acknowledged"
[ "$unavailable" -ge 1 ] || core_fail "no write met the stopped database"
# Every acknowledged write has its row; every row is of a write that was sent.
core_psql "SELECT fingerprint FROM zd.device d JOIN zd.school s ON s.id = d.school_id WHERE s.code = 'S43010101'" \
    | sort >"$CORE_TMP/rows"
grep ' ok$' "$CORE_TMP/results" | cut -d' ' -f1 | sort >"$CORE_TMP/acked"
missing=$(comm -23 "$CORE_TMP/acked" "$CORE_TMP/rows" | wc -l)
core_eq "$missing" "0" "acknowledged writes missing after the restart"
cut -d' ' -f1 "$CORE_TMP/results" | sort >"$CORE_TMP/sent"
core_eq "$(comm -23 "$CORE_TMP/rows" "$CORE_TMP/sent" | wc -l)" "0" "rows nobody sent"

# The same server: wait (bounded) for the pool to reconnect, then every client's next write succeeds.
for i in $(seq 1 100); do
    [ "$(write_one "$(printf 'probe-%d' "$i" | sha256sum | cut -c1-64)" chief | cut -d' ' -f2)" = ok ] && break
    sleep 0.2
done
kill -0 "$CORE_SRV_PID" || core_fail "zerodropd died"
CORE_PIDS=("$CORE_SRV_PID")
for w in $(seq 1 "$clients"); do
    write_one "$(printf 'after-%d' "$w" | sha256sum | cut -c1-64)" "admin$w" >"$CORE_TMP/w/after-$w" &
    CORE_PIDS+=($!)
done
for pid in "${CORE_PIDS[@]:1}"; do wait "$pid"; done
core_eq "$(cat "$CORE_TMP"/w/after-* | grep -c ' ok$')" "$clients" "writes after PostgreSQL came back"
grep -q "db_conn_up" "$CORE_TMP/server.log" || core_fail "no reconnect logged"
echo "ok core-pgstop acked=$acked unavailable=$unavailable"
core_server_stop
