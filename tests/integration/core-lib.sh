# tests/integration/core-lib.sh — sourced by the core-* integration tests: a private PostgreSQL cluster with
# the zerodrop database migrated and the tiny county of tests/sql/fixture.sql loaded, a PKI from deploy/pki,
# the real zerodropd on a free port, and cleanup of exactly what the test started (by pid).
#
#   core_start                cluster, bootstrap, migrate, fixture, PKI (server certificate); sets CORE_TMP,
#                             CORE_INI, CORE_OWNER, CORE_APP
#   core_home CODE [LEVEL]    issue a device home $CORE_TMP/homes/CODE (not registered); prints its folder
#   core_enroll HOME          zerodropd enroll --device HOME/cert.pem
#   core_server_start         start zerodropd with CORE_INI; sets CORE_PORT, CORE_SRV_PID; points the homes at it
#   core_server_stop          SIGTERM and wait (bounded)
#   core_psql SQL             psql as the owner, unaligned tuples only
#   core_fail MSG, core_eq GOT WANT WHAT
set -euo pipefail

ZD_SRC=${ZD_SRC:?ZD_SRC not set}
ZD_BUILD=${ZD_BUILD:?ZD_BUILD not set}
ZERODROPD=$ZD_BUILD/server/zerodropd
ZERODROP=$ZD_BUILD/client/zerodrop
ZD_PEER=$ZD_BUILD/tests/integration/zd-peer
CORE_PIDS=()

core_fail() { echo "FAIL: $*" >&2; [ -n "${CORE_TMP:-}" ] && [ -f "$CORE_TMP/server.log" ] && tail -n 30 "$CORE_TMP/server.log" >&2; exit 1; }
core_eq() { [ "$1" = "$2" ] || core_fail "$3: got '$1', want '$2'"; }

core__cleanup() {
    local pid
    for pid in "${CORE_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${CORE_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${CORE_PGDIR:-}" ] && [ -e "$CORE_PGDIR/.zd-pg-harness" ]; then
        "$ZD_SRC/tests/pg/harness" stop "$CORE_PGDIR" >/dev/null 2>&1 || true
    fi
    [ -n "${CORE_TMP:-}" ] && rm -rf "$CORE_TMP"
    return 0
}

core_psql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$CORE_OWNER" -c "$1"; }

core_start() {
    trap core__cleanup EXIT
    CORE_TMP=$(mktemp -d /tmp/zd-core.XXXXXX)
    chmod 0755 "$CORE_TMP"
    CORE_PGDIR=$CORE_TMP/pg
    eval "$("$ZD_SRC/tests/pg/harness" start "$CORE_PGDIR")"
    psql -X -q -v ON_ERROR_STOP=1 -v db=zerodrop -d postgres -f "$ZD_SRC/sql/bootstrap.sql" >/dev/null
    CORE_OWNER="host=127.0.0.1 port=$PGPORT user=zerodrop_owner dbname=zerodrop"
    CORE_APP="host=127.0.0.1 port=$PGPORT user=zerodrop_app dbname=zerodrop"
    "$ZD_SRC/deploy/pki" --dir "$CORE_TMP/pki" init 2>/dev/null
    "$ZD_SRC/deploy/pki" --dir "$CORE_TMP/pki" issue-server localhost 2>/dev/null
    CORE_INI=$CORE_TMP/zerodropd.ini
    cat >"$CORE_INI" <<INI
[server]
listen = 127.0.0.1
port = 0
cert = $CORE_TMP/pki/server.pem
key = $CORE_TMP/pki/server.key
ca = $CORE_TMP/pki/ca.pem
crl = $CORE_TMP/pki/crl.pem
log_level = info
password_memory_kib = 1024
password_passes = 1
${CORE_EXTRA_SERVER:-}

[limits]
${CORE_EXTRA_LIMITS:-}

[database]
conninfo = $CORE_APP
owner_conninfo = $CORE_OWNER
scope_key_file = $CORE_TMP/scope.key
${CORE_EXTRA_DATABASE:-}
INI
    "$ZERODROPD" migrate --config "$CORE_INI" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$CORE_OWNER" -f "$ZD_SRC/tests/sql/fixture.sql" >/dev/null
}

core_home() {
    local code=$1 level=${2:-school}
    "$ZD_SRC/deploy/pki" --dir "$CORE_TMP/pki" issue-device "$code" --level "$level" \
        --out "$CORE_TMP/homes/$code" 2>/dev/null
}

core_enroll() { "$ZERODROPD" enroll --config "$CORE_INI" --device "$1/cert.pem" >/dev/null; }

core_server_start() {
    : >"$CORE_TMP/server.log"
    "$ZERODROPD" --config "$CORE_INI" 2>>"$CORE_TMP/server.log" &
    CORE_SRV_PID=$!
    CORE_PIDS+=("$CORE_SRV_PID")
    CORE_PORT=
    local i
    for i in $(seq 1 200); do
        CORE_PORT=$(sed -n 's/.* listening .*port=\([0-9]*\).*/\1/p' "$CORE_TMP/server.log" | head -n 1)
        [ -n "$CORE_PORT" ] && break
        kill -0 "$CORE_SRV_PID" 2>/dev/null || core_fail "zerodropd exited at start"
        sleep 0.05
    done
    [ -n "$CORE_PORT" ] || core_fail "zerodropd did not log its port"
    local h
    for h in "$CORE_TMP"/homes/*/settings.ini; do
        [ -f "$h" ] && sed -i "s/^port = .*/port = $CORE_PORT/" "$h"
    done
    return 0
}

core_server_stop() {
    kill -TERM "$CORE_SRV_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 200); do
        kill -0 "$CORE_SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    wait "$CORE_SRV_PID" 2>/dev/null || true
}

# Waits (at most $2 tenths of a second) until file $1 holds a line equal to $3.
core_wait_line() {
    local i
    for i in $(seq 1 "$2"); do
        grep -qx -- "$3" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# zd-peer against our server, without its connection chatter ("connected", "tls version=…").
core_peer() { "$ZD_PEER" --port "$CORE_PORT" "$@" | grep --line-buffered -v -e '^connected' -e '^tls version='; }
