#!/usr/bin/env bash
# The foundation's integration tests: `foundation.sh CASE`, one meson test per case.
#
# Each case runs the real zerodropd with certificates from deploy/pki and, while an honest client keeps
# pinging, plays one bad peer (a foreign CA, a revoked, expired or missing certificate, TLS 1.2, garbage,
# a 4 GiB frame, a silent or a trickling connection, a wrong protocol version). It asserts the bad peer's
# exact transcript, the server's log line for it, and that every honest ping succeeded. The sigterm case
# asserts that a request in flight is answered before a clean exit.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"

case_name=${1:?usage: foundation.sh CASE}

# A TLS peer with home $1 that the server must refuse: it may get as far as a TLS 1.3 "connected" (the
# client's side of the handshake ends before the server checks the certificate), but never a Welcome.
expect_refused() {
    local out=$1
    grep -q '^welcome' "$out" && fail "refused peer got a Welcome: $(cat "$out")"
    grep -Eq '^(tls-error|closed)' "$out" || fail "refused peer was not closed: $(cat "$out")"
    return 0
}

case "$case_name" in
foreign-ca)
    pki_setup
    server_start
    honest_start
    "$PKI" --dir "$work/foreign" init 2>/dev/null
    "$PKI" --dir "$work/foreign" issue-device S43010102 --out "$work/bad" >/dev/null 2>&1
    # The bad peer trusts the real server (so the failure is the server's refusal, not ours).
    "$PEER" --port "$server_port" --ca "$work/pki/ca.pem" --cert "$work/bad/cert.pem" --key "$work/bad/key.pem" \
        hello >"$work/peer.out" 2>&1
    expect_refused "$work/peer.out"
    grep -q 'unknown ca' "$work/peer.out" || fail "expected an 'unknown ca' alert: $(cat "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=- reason=tls_handshake_failed detail="certificate verify failed: unable to get local issuer certificate"'
    honest_finish
    ;;
revoked)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad"
    # A session of the device, open and idle while its certificate is revoked: SIGHUP must drop it.
    "$PEER" --port "$server_port" --home "$work/bad" hello idle 20 >"$work/open.out" 2>&1 &
    open_pid=$!
    started_pids+=("$open_pid")
    wait_log ' request conn=[0-9]+ id=1 institution=school:S43010102 .*type=hello result=OK'
    "$PKI" --dir "$work/pki" revoke "$work/bad/cert.pem" 2>/dev/null
    "$PKI" --dir "$work/pki" crl 2>/dev/null
    kill -HUP "$server_pid"
    wait_log ' reloaded crl=.* dropped=1$'
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=certificate_revoked '
    wait "$open_pid" || fail "zd-peer of the open session failed"
    expect_lines "$work/open.out" "connected" "tls version=TLSv1.3" \
        "welcome institution=S43010102 level=school protocol=1" "closed"
    # A new connection with the revoked certificate is refused at the handshake.
    "$PEER" --port "$server_port" --home "$work/bad" hello >"$work/peer.out" 2>&1
    expect_refused "$work/peer.out"
    grep -q 'certificate revoked' "$work/peer.out" || fail "expected a 'certificate revoked' alert: $(cat "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=- reason=tls_handshake_failed detail="certificate verify failed: certificate revoked"'
    honest_finish
    ;;
no-cert)
    pki_setup
    server_start
    honest_start
    "$PEER" --port "$server_port" --ca "$work/pki/ca.pem" hello >"$work/peer.out" 2>&1
    expect_refused "$work/peer.out"
    grep -q 'certificate required' "$work/peer.out" || fail "expected 'certificate required': $(cat "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=- reason=tls_handshake_failed detail="peer did not return a certificate"'
    honest_finish
    ;;
tls12)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad"
    # The stock openssl client, offering TLS 1.2 only, with a perfectly good certificate.
    if openssl s_client -tls1_2 -connect "127.0.0.1:$server_port" -servername localhost \
        -CAfile "$work/pki/ca.pem" -cert "$work/bad/cert.pem" -key "$work/bad/key.pem" \
        </dev/null >"$work/peer.out" 2>&1; then
        fail "openssl s_client -tls1_2 connected: $(tail -n 20 "$work/peer.out")"
    fi
    grep -q 'alert protocol version' "$work/peer.out" || fail "expected 'alert protocol version': $(tail -n 20 "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=- reason=tls_handshake_failed detail="unsupported protocol"'
    honest_finish
    ;;
expired)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad" --expired
    "$PEER" --port "$server_port" --home "$work/bad" hello >"$work/peer.out" 2>&1
    expect_refused "$work/peer.out"
    grep -q 'certificate expired' "$work/peer.out" || fail "expected 'certificate expired': $(cat "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=- reason=tls_handshake_failed detail="certificate verify failed: certificate has expired"'
    honest_finish
    ;;
random)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad"
    "$PEER" --port "$server_port" --home "$work/bad" hello random 1048576 read-all >"$work/peer.out" 2>&1
    grep -q '^welcome institution=S43010102' "$work/peer.out" || fail "no Welcome: $(cat "$work/peer.out")"
    tail -n 1 "$work/peer.out" | grep -qx 'closed' || fail "connection not closed: $(cat "$work/peer.out")"
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=bad_frame '
    honest_finish
    ;;
huge-frame)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad"
    "$PEER" --port "$server_port" --home "$work/bad" hello header ffffffff read-all >"$work/peer.out" 2>&1
    expect_lines "$work/peer.out" "connected" "tls version=TLSv1.3" \
        "welcome institution=S43010102 level=school protocol=1" "sent header=ffffffff" \
        "error code=BAD_FRAME id=0" "closed"
    wait_log ' request conn=[0-9]+ id=0 institution=school:S43010102 .*result=BAD_FRAME'
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=bad_frame '
    honest_finish
    ;;
no-handshake)
    pki_setup
    server_start "handshake_timeout_ms = 1000"
    honest_start
    "$PEER" --port "$server_port" --no-tls idle 20 >"$work/peer.out" 2>&1
    expect_lines "$work/peer.out" "connected" "closed"
    wait_log ' closed conn=[0-9]+ institution=- reason=handshake_timeout '
    honest_finish
    ;;
trickle)
    pki_setup
    server_start "frame_timeout_ms = 1000"
    honest_start
    device S43010102 "$work/bad"
    "$PEER" --port "$server_port" --home "$work/bad" hello trickle 20 >"$work/peer.out" 2>&1
    grep -q '^welcome institution=S43010102' "$work/peer.out" || fail "no Welcome: $(cat "$work/peer.out")"
    grep -qx 'closed' "$work/peer.out" || fail "trickling peer not closed: $(cat "$work/peer.out")"
    grep -Eq '^trickled bytes=[0-9]+ of=[0-9]+$' "$work/peer.out" || fail "no trickle line: $(cat "$work/peer.out")"
    sent=$(sed -nE 's/^trickled bytes=([0-9]+) of=([0-9]+)$/\1/p' "$work/peer.out")
    total=$(sed -nE 's/^trickled bytes=([0-9]+) of=([0-9]+)$/\2/p' "$work/peer.out")
    [ "$sent" -lt "$total" ] || fail "the whole frame got through ($sent of $total bytes) before the close"
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=frame_timeout '
    honest_finish
    ;;
bad-version)
    pki_setup
    server_start
    honest_start
    device S43010102 "$work/bad"
    "$PEER" --port "$server_port" --home "$work/bad" hello 2 read-all >"$work/peer.out" 2>&1
    expect_lines "$work/peer.out" "connected" "tls version=TLSv1.3" "error code=UNSUPPORTED_VERSION id=1" "closed"
    wait_log ' request conn=[0-9]+ id=1 institution=school:S43010102 .*type=hello result=UNSUPPORTED_VERSION'
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=unsupported_version '
    honest_finish
    ;;
sigterm)
    pki_setup
    server_start
    honest_start
    honest_finish
    device S43010102 "$work/bad"
    mkfifo "$work/peer.fifo"
    # 50 Pings in one write, then SIGTERM at once: whatever the server has taken in must be answered,
    # every reply whole, before it closes the session and exits 0.
    "$PEER" --port "$server_port" --home "$work/bad" hello send-pings 50 mark sleep 500 read-all \
        >"$work/peer.fifo" 2>&1 &
    peer_pid=$!
    started_pids+=("$peer_pid")
    exec 3<"$work/peer.fifo"
    : >"$work/peer.out"
    # Read the transcript line by line; at "mark" the Pings are on their way and the server gets SIGTERM.
    while IFS= read -r -t 20 line <&3; do
        echo "$line" >>"$work/peer.out"
        [ "$line" != mark ] || kill -TERM "$server_pid"
    done
    exec 3<&-
    wait "$peer_pid" || fail "zd-peer failed"
    want=("connected" "tls version=TLSv1.3" "welcome institution=S43010102 level=school protocol=1"
          "sent pings=50" "mark")
    for id in $(seq 2 51); do want+=("pong id=$id"); done
    want+=("closed")
    expect_lines "$work/peer.out" "${want[@]}"
    rc=0
    wait "$server_pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "zerodropd exited $rc after SIGTERM"
    wait_log ' signal name=TERM'
    wait_log ' closed conn=[0-9]+ institution=school:S43010102 reason=shutdown .*requests=51'
    wait_log ' stopped clean=yes'
    answered=$(grep -Ec ' request conn=[0-9]+ id=[0-9]+ institution=school:S43010102 .*type=ping result=OK' "$work/server.log")
    [ "$answered" -eq 50 ] || fail "the server logged $answered answered Pings, want 50"
    ;;
*)
    fail "unknown case $case_name"
    ;;
esac
pass "$case_name"
