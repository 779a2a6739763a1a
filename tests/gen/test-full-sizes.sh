#!/bin/bash
# The full county at its sizes, cheaply (wc/awk, no Python): this is the full-size run the sanitizer build
# keeps, so AddressSanitizer and LeakSanitizer see the whole generator on the real volume.
# usage: test-full-sizes.sh PATH/gen-county
set -euo pipefail
gen=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" --seed 3 --out "$tmp/c"
cd "$tmp/c"
rows() { echo $(( $(wc -l < "$1") - 1 )); }
truth() { awk -F, -v m="$1" -v k="$2" '$1 == m && $2 == k { print $3 }' truth.csv; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(rows townships.csv)" -eq 20 ] || fail "townships: $(rows townships.csv)"
[ "$(rows schools.csv)" -eq 300 ] || fail "schools: $(rows schools.csv)"
n=$(rows register.csv)
[ "$n" -ge 140000 ] && [ "$n" -le 160000 ] || fail "students: $n"
[ "$(truth enrolled C4301)" = "$n" ] || fail "truth enrolled $(truth enrolled C4301) != $n"
[ "$(rows responsibility.csv)" -eq $((3 * n)) ] || fail "responsibility rows"
bad=$(awk -F, 'NR > 1 { s[$1] += $4 } END { for (k in s) if (s[k] != 100) c++; print c + 0 }' responsibility.csv)
[ "$bad" -eq 0 ] || fail "$bad students whose shares do not sum to 100"
[ "$(truth school_days C4301)" -eq 93 ] || fail "school days"
nowhere=$(truth enrolled_nowhere_count C4301)
[ "$nowhere" -ge $((n / 250)) ] && [ "$nowhere" -le $((n * 6 / 1000)) ] || fail "enrolled nowhere: $nowhere"
[ "$(rows household.csv)" -eq $((n + nowhere)) ] || fail "household rows"
for len in 1 2 3 4 6 25; do
    awk -F, -v l="$len" '$1 == "streak" && $6 == l { f = 1 } END { exit !f }' planted.csv || fail "planted length $len"
done
echo "ok: $n students, $nowhere enrolled nowhere"
