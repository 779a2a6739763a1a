# tests/integration/lib.sh — what every integration test needs, sourced (not run).
#
# A private work folder, a PKI made by deploy/pki, the real zerodropd on a free port (port = 0, read back
# from its `listening` log line), an honest client that keeps pinging while a test does something hostile,
# and bounded waits for log lines. Everything started here is stopped by its pid on exit, and the server
# log is shown when a test fails, so a red test explains itself.
set -euo pipefail

src=${ZD_SRC:?ZD_SRC not set (run through meson test)}
bld=${ZD_BUILD:?ZD_BUILD not set (run through meson test)}
ZERODROPD="$bld/server/zerodropd"
ZERODROP="$bld/client/zerodrop"
PEER="$bld/tests/integration/zd-peer"
PKI="$src/deploy/pki"

work=$(mktemp -d /tmp/zd-it.XXXXXX)
server_pid=""
honest_pid=""
server_port=""
started_pids=()
test_failed=1

cleanup() {
    local pid i
    for pid in "${started_pids[@]+"${started_pids[@]}"}"; do
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # ZD_IT_KEEP=DIR keeps the server log and transcripts of a run for reading.
    [ -z "${ZD_IT_KEEP:-}" ] || { mkdir -p "$ZD_IT_KEEP" && cp -r "$work"/*.log "$work"/*.out "$ZD_IT_KEEP"/ 2>/dev/null || true; }
    if [ "$test_failed" = 1 ]; then
        [ ! -s "$work/server.log" ] || { echo "--- server log (last 40 lines)"; tail -n 40 "$work/server.log"; }
        [ ! -s "$work/honest.log" ] || { echo "--- honest client (last 10 lines)"; tail -n 10 "$work/honest.log"; }
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { test_failed=0; echo "ok: $*"; }

# Asserts that file $1 holds exactly the lines $2... (the peer's transcript, say).
expect_lines() {
    local file=$1; shift
    local want got
    want=$(printf '%s\n' "$@")
    got=$(cat "$file")
    [ "$got" = "$want" ] || fail "$(printf 'transcript %s:\n--- got\n%s\n--- want\n%s' "$file" "$got" "$want")"
}

# Waits (at most $2 seconds, default 10) for a line of the server log matching the ERE $1.
wait_log() {
    local pattern=$1 secs=${2:-10} i
    for i in $(seq 1 $((secs * 10))); do
        grep -Eq -- "$pattern" "$work/server.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no server log line matching /$pattern/ within ${secs}s"
}

# The county PKI of this test and the honest client's home (S43010101).
pki_setup() {
    "$PKI" --dir "$work/pki" init 2>/dev/null
    "$PKI" --dir "$work/pki" issue-server localhost 2>/dev/null
    "$PKI" --dir "$work/pki" issue-device S43010101 --out "$work/honest" >/dev/null 2>&1
}

# Issues a device home $2 for code $1 (extra deploy/pki options after), pointing at the running server.
device() {
    local code=$1 home=$2; shift 2
    "$PKI" --dir "$work/pki" issue-device "$code" --out "$home" --port "${server_port:-7443}" "$@" >/dev/null 2>&1
}

# Starts zerodropd with short timers; any argument is an extra "[limits]" line. Sets server_pid, server_port.
server_start() {
    {
        echo "[server]"
        echo "listen = 127.0.0.1"
        echo "port = 0"
        echo "cert = $work/pki/server.pem"
        echo "key = $work/pki/server.key"
        echo "ca = $work/pki/ca.pem"
        echo "crl = $work/pki/crl.pem"
        echo "log_level = debug"
        echo "[limits]"
        echo "handshake_timeout_ms = 10000"
        echo "frame_timeout_ms = 10000"
        local line
        for line in "$@"; do echo "$line"; done
    } >"$work/zerodropd.ini"
    # Created before the server starts, so the port lookup below never reads a file that is not there yet
    # (under `set -o pipefail` a sed on a missing file ends the whole test).
    : >"$work/server.log"
    "$ZERODROPD" --config "$work/zerodropd.ini" 2>>"$work/server.log" &
    server_pid=$!
    started_pids+=("$server_pid")
    local i
    for i in $(seq 1 100); do
        server_port=$(sed -nE 's/.* listening .*port=([0-9]+).*/\1/p' "$work/server.log" | head -n 1)
        [ -z "$server_port" ] || break
        kill -0 "$server_pid" 2>/dev/null || fail "zerodropd exited at start"
        sleep 0.1
    done
    [ -n "$server_port" ] || fail "zerodropd did not log 'listening ... port=N' within 10s"
    device S43010101 "$work/honest"
}

# One honest ping: the real client when it knows `ping`, else zd-peer with the same home.
honest_ping() {
    if [ "${honest_use_client:-}" = 1 ]; then
        "$ZERODROP" --home "$work/honest" ping
    else
        local out
        out=$("$PEER" --port "$server_port" --home "$work/honest" hello ping 2>&1) || { echo "$out"; return 1; }
        echo "$out"
        grep -q '^pong ' <<<"$out"
    fi
}

# Starts the honest client: pings, one connection each, until honest_finish (at most 400 pings).
honest_start() {
    honest_use_client=0
    if [ -x "$ZERODROP" ] && "$ZERODROP" --help 2>&1 | grep -qw ping; then honest_use_client=1; fi
    : >"$work/honest.results"
    (
        for n in $(seq 1 400); do
            if honest_ping >>"$work/honest.log" 2>&1; then echo ok; else echo fail; fi >>"$work/honest.results"
            [ ! -e "$work/honest.stop" ] || break
            sleep 0.05
        done
    ) &
    honest_pid=$!
    started_pids+=("$honest_pid")
    # The hostile part starts once the honest client is known to get through.
    honest_wait_more 1
}

# Waits until $1 more honest pings have finished (at most 20 s).
honest_wait_more() {
    local more=$1 base i
    base=$(wc -l <"$work/honest.results")
    for i in $(seq 1 200); do
        [ "$(wc -l <"$work/honest.results")" -lt $((base + more)) ] || return 0
        kill -0 "$honest_pid" 2>/dev/null || break
        sleep 0.1
    done
    fail "the honest client made no progress"
}

# Lets two more honest pings through after the hostile part, stops the client and asserts every ping
# succeeded. Prints the count.
honest_finish() {
    honest_wait_more 2
    touch "$work/honest.stop"
    wait "$honest_pid" || true
    local ok bad
    ok=$(grep -c '^ok$' "$work/honest.results" || true)
    bad=$(grep -c '^fail$' "$work/honest.results" || true)
    [ "$bad" -eq 0 ] || fail "$bad of $((ok + bad)) honest pings failed"
    [ "$ok" -ge 3 ] || fail "only $ok honest pings"
    echo "honest pings: $ok, all succeeded"
}
