#!/usr/bin/env bash
# zerodrop ping against a real zerodropd over TLS with certificates from deploy/pki: the printed version,
# institution (school and township) and JSON; the test clock moves Welcome's date and SIGHUP re-reads it;
# refusals come back as one plain line (revoked, foreign CA, wrong server name, nothing listening); bad
# configuration names FILE:LINE; SIGTERM stops the server with status 0.
set -euo pipefail
src=${ZD_SRC:?ZD_SRC not set}
build=${ZD_BUILD:?ZD_BUILD not set}
zd="$build/server/zerodropd"
cli="$build/client/zerodrop"
pki="$src/deploy/pki"
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; [ -f log ] && tail -20 log >&2; exit 1; }
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

version=$("$zd" --version)
eq "$version" "zerodropd $("$cli" --version | cut -d' ' -f2)" "versions agree"

"$pki" --dir p init 2>/dev/null
"$pki" --dir p issue-server localhost 2>/dev/null
"$pki" --dir other init 2>/dev/null

# Bad configuration: exit 2, one line naming FILE:LINE.
printf '[server]\nport = 1\nprot = 2\n' > bad.ini
set +e; "$zd" --config bad.ini 2>err; rc=$?; set -e
eq "$rc" "2" "bad config status"
eq "$(cat err)" "zerodropd: bad.ini:3: unknown key 'prot' in [server]" "bad config message"

echo 259200 > clock   # three days ahead
cat > zd.ini <<INI
[server]
listen = 127.0.0.1
port = 0
cert = p/server.pem
key = p/server.key
ca = p/ca.pem
crl = p/crl.pem
test_clock_file = $work/clock
INI
: >log # made before the server starts: the port lookup below must never read a missing file
"$zd" --config zd.ini 2>>log &
server_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.* listening listen=127.0.0.1 port=\([0-9]*\).*/\1/p' log | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "server exited"
    sleep 0.1
done
[ -n "$port" ] || fail "server did not listen"

home() { # code level out [extra args]
    "$pki" --dir p issue-device "$1" --level "$2" --out "$3" --port "$port" "${@:4}" >/dev/null 2>&1
}
home S43010101 school good
home T430101 township twn
home S43010102 school rev
"$pki" --dir p revoke rev/cert.pem 2>/dev/null
"$pki" --dir other issue-device S43010101 --out foreign --port "$port" >/dev/null 2>&1
cp p/ca.pem foreign/ca.pem   # it trusts our server, but its own certificate is from another CA
home S43010103 school misnamed --server-name other.example
kill -HUP "$server_pid"
for _ in $(seq 1 50); do grep -q ' reloaded ' log && break; sleep 0.1; done
grep -q ' reloaded ' log || fail "no reload after SIGHUP"

out=$("$cli" --home good ping)
eq "$(sed -n 1p <<<"$out")" "server: $version" "ping server line"
eq "$(sed -n 2p <<<"$out")" "institution: school S43010101" "ping institution line"
[[ "$(sed -n 3p <<<"$out")" =~ ^round\ trip:\ [0-9]+\.[0-9]\ ms$ ]] || fail "ping rtt line: $(sed -n 3p <<<"$out")"
eq "$(wc -l <<<"$out")" "3" "ping prints three lines"

want_today=$(date -d '+3 days' +%Y%m%d)
"$cli" --home twn ping --json > ping.json
python3 - "$want_today" ping.json <<'PY'
import json, sys
want, path = sys.argv[1], sys.argv[2]
j = json.load(open(path))
assert set(j) == {"server_version", "institution", "today", "rtt_ms"}, j
assert j["server_version"] == "0.1.0", j
assert j["institution"] == {"level": "township", "code": "T430101"}, j
assert str(j["today"]) == want, (j["today"], want)
assert isinstance(j["rtt_ms"], float) and j["rtt_ms"] >= 0, j
PY

# The clock moves on SIGHUP: ten days back now.
echo -864000 > clock
kill -HUP "$server_pid"
for _ in $(seq 1 50); do [ "$(grep -c ' reloaded ' log)" = 2 ] && break; sleep 0.1; done
today=$("$cli" --home good ping --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["today"])')
eq "$today" "$(date -d '-10 days' +%Y%m%d)" "today after the clock moved"

refused() { # home want
    set +e; "$cli" --home "$1" ping >out 2>err; local rc=$?; set -e
    [ "$rc" != 0 ] || fail "$1: ping succeeded"
    eq "$(cat err)" "$2" "$1 message"
    eq "$(wc -c <out)" "0" "$1 prints nothing on stdout"
}
refused rev "zerodrop: server refused our certificate: revoked"
refused foreign "zerodrop: server refused our certificate: not issued by the county CA"
refused misnamed "zerodrop: cannot trust server 127.0.0.1:$port: its certificate is not for other.example"
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cp -r good closed
sed -i "s/^port = .*/port = $free_port/" closed/settings.ini
refused closed "zerodrop: cannot reach server 127.0.0.1:$free_port: connection refused"
refused nowhere "zerodrop: no client home at nowhere (make one with deploy/pki issue-device)"

# The server's log: one line per request, per connection event.
eq "$(grep -c ' request .*type=ping result=OK' log)" "3" "ping request lines"
eq "$(grep -c ' request .*type=hello result=OK' log)" "3" "hello request lines"
grep -q 'handshake_done conn=[0-9]* institution=township:T430101 fingerprint=[0-9a-f]\{64\}' log || fail "handshake line"
grep -q 'closed conn=[0-9]* institution=- reason=tls_handshake_failed detail="certificate verify failed: certificate revoked"' log \
    || fail "revoked close line"

kill -TERM "$server_pid"
set +e; wait "$server_pid"; rc=$?; set -e
server_pid=""
eq "$rc" "0" "exit status after SIGTERM"
grep -q ' stopped clean=yes' log || fail "no clean stop"
echo "ping: ok"
