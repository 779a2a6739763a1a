#!/usr/bin/env bash
# The PKI itself: deploy/pki builds the county CA, a server certificate with the agreed SANs, a client
# home with the agreed subject layout and file modes, an expired certificate on request, and a revocation
# that lands in the CRL. Asserts exact subjects, serials and verify results; no server needed.
set -euo pipefail
src=${ZD_SRC:?ZD_SRC not set}
pki="$src/deploy/pki"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

"$pki" --dir p init 2>/dev/null
eq "$(openssl x509 -in p/ca.pem -noout -subject)" "subject=C = CN, O = zerodrop, CN = zerodrop county CA" "CA subject"
openssl x509 -in p/ca.pem -noout -text | grep -q 'CA:TRUE' || fail "CA lacks CA:TRUE"
openssl x509 -in p/ca.pem -noout -text | grep -q 'ASN1 OID: prime256v1' || fail "CA key is not P-256"
# 10 years: the CA must still be valid in 9.9 years and expire before 10.1.
openssl x509 -in p/ca.pem -noout -checkend $((3615 * 86400)) >/dev/null || fail "CA expires too early"
! openssl x509 -in p/ca.pem -noout -checkend $((3690 * 86400)) >/dev/null || fail "CA lives too long"
ca_before=$(openssl x509 -in p/ca.pem -noout -fingerprint -sha256)
"$pki" --dir p init 2>/dev/null
eq "$(openssl x509 -in p/ca.pem -noout -fingerprint -sha256)" "$ca_before" "init again keeps the CA"

"$pki" --dir p issue-server zd.example 2>/dev/null
eq "$(openssl x509 -in p/server.pem -noout -subject)" "subject=CN = zd.example" "server subject"
san=$(openssl x509 -in p/server.pem -noout -ext subjectAltName | tail -n 1 | sed 's/^ *//')
eq "$san" "DNS:zd.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" "server SAN"
eq "$(openssl verify -CAfile p/ca.pem -purpose sslserver p/server.pem)" "p/server.pem: OK" "server verify"

home=$("$pki" --dir p issue-device S43010101 --out h1 2>/dev/null)
eq "$home" "$work/h1" "issue-device prints the home"
eq "$(openssl x509 -in h1/cert.pem -noout -subject)" "subject=C = CN, O = zerodrop, OU = school, CN = S43010101" "device subject"
eq "$(stat -c %a h1/key.pem)" "600" "key.pem mode"
cmp -s h1/ca.pem p/ca.pem || fail "home ca.pem differs from the CA"
eq "$(openssl verify -CAfile p/ca.pem -purpose sslclient h1/cert.pem)" "h1/cert.pem: OK" "device verify"
grep -qx 'host = 127.0.0.1' h1/settings.ini || fail "settings host"
grep -qx 'port = 7443' h1/settings.ini || fail "settings port"
grep -qx 'server_name = localhost' h1/settings.ini || fail "settings server_name"
grep -qx 'institution = S43010101' h1/settings.ini || fail "settings institution"
grep -qx 'level = school' h1/settings.ini || fail "settings level"
serial=$(openssl x509 -in h1/cert.pem -noout -serial)
"$pki" --dir p issue-device S43010101 --out h1 --port 17443 2>/dev/null >/dev/null
eq "$(openssl x509 -in h1/cert.pem -noout -serial)" "$serial" "issue-device again keeps a good certificate"
grep -qx 'port = 17443' h1/settings.ini || fail "settings port not updated"
eq "$(grep -c '^port' h1/settings.ini)" "1" "one port key"

"$pki" --dir p issue-device T430101 --level township --out h2 2>/dev/null >/dev/null
eq "$(openssl x509 -in h2/cert.pem -noout -subject)" "subject=C = CN, O = zerodrop, OU = township, CN = T430101" "township subject"
grep -qx 'level = township' h2/settings.ini || fail "township level"

"$pki" --dir p issue-device S43010102 --out h3 --expired 2>/dev/null >/dev/null
out=$(openssl verify -CAfile p/ca.pem h3/cert.pem 2>&1 || true)
case "$out" in *"certificate has expired"*) ;; *) fail "expired certificate verifies: $out" ;; esac

"$pki" --dir p issue-device S43010103 --out h4 --days 3 2>/dev/null >/dev/null
! openssl x509 -in h4/cert.pem -noout -checkend $((4 * 86400)) >/dev/null || fail "--days 3 lasts too long"

# Bad input gets a clear error and changes nothing.
! "$pki" --dir p issue-device 'no spaces' 2>err || fail "bad code accepted"
grep -q 'institution code must match' err || fail "bad code message: $(cat err)"
! "$pki" --dir p issue-device S1 --level province 2>err || fail "bad level accepted"
! "$pki" --dir nowhere issue-device S1 2>err || fail "missing CA accepted"
grep -q 'no CA in' err || fail "missing CA message: $(cat err)"

# Revoke: the serial appears in the regenerated CRL, and verification with the CRL fails.
"$pki" --dir p revoke h1/cert.pem 2>/dev/null
hex=${serial#serial=}
openssl crl -in p/crl.pem -noout -text | grep -q "Serial Number: $hex" || fail "serial $hex not in the CRL"
eq "$(openssl crl -in p/crl.pem -noout -text | grep -c 'Serial Number:')" "1" "one revoked serial"
out=$(openssl verify -CAfile p/ca.pem -CRLfile p/crl.pem -crl_check h1/cert.pem 2>&1 || true)
case "$out" in *"certificate revoked"*) ;; *) fail "revoked certificate verifies: $out" ;; esac
eq "$(openssl verify -CAfile p/ca.pem -CRLfile p/crl.pem -crl_check h2/cert.pem)" "h2/cert.pem: OK" "others stay good"
"$pki" --dir p revoke h1/cert.pem 2>/dev/null   # revoking twice is fine
"$pki" --dir p crl 2>/dev/null
eq "$(openssl crl -in p/crl.pem -noout -text | grep -c 'Serial Number:')" "1" "still one revoked serial"
# A revoked home is re-issued by issue-device.
"$pki" --dir p issue-device S43010101 --out h1 2>/dev/null >/dev/null
[ "$(openssl x509 -in h1/cert.pem -noout -serial)" != "$serial" ] || fail "revoked certificate kept"
echo "pki: ok"
