# tests/sql/lib.sh — sourced by the database tests: a private cluster with the zerodrop database bootstrapped
# and (optionally) migrated by the real `zerodropd migrate`, and cleanup of exactly what the test started.
#
#   zd_db_start            start a cluster, run sql/bootstrap.sql; sets ZD_TMP, ZD_INI, ZD_KEY, ZD_OWNER, ZD_APP
#   zd_db_migrate [DIR]    zerodropd migrate with migrations_dir DIR (default: the source tree's sql/)
#   zd_psql_owner ARGS     psql as the owner in the zerodrop database (ON_ERROR_STOP)
#   zd_psql_app ARGS       psql as zerodrop_app
#   zd_fail MSG            print and exit 1
set -euo pipefail

ZD_SRC=${ZD_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
ZD_BUILD=${ZD_BUILD:-$ZD_SRC/build}
ZD_HARNESS=$ZD_SRC/tests/pg/harness
ZERODROPD=$ZD_BUILD/server/zerodropd

zd_fail() { echo "FAIL: $*" >&2; exit 1; }

zd__cleanup() {
    if [ -n "${ZD_PGDIR:-}" ] && [ -e "$ZD_PGDIR/.zd-pg-harness" ]; then
        "$ZD_HARNESS" stop "$ZD_PGDIR" >/dev/null 2>&1 || true
    fi
    [ -n "${ZD_TMP:-}" ] && rm -rf "$ZD_TMP"
    return 0
}

zd_db_start() {
    trap zd__cleanup EXIT
    ZD_TMP=$(mktemp -d /tmp/zd-sqltest.XXXXXX)
    chmod 0755 "$ZD_TMP"
    ZD_PGDIR=$ZD_TMP/pg
    eval "$("$ZD_HARNESS" start "$ZD_PGDIR")"
    psql -X -q -v ON_ERROR_STOP=1 -v db=zerodrop -d postgres -f "$ZD_SRC/sql/bootstrap.sql" >/dev/null
    ZD_OWNER="host=127.0.0.1 port=$PGPORT user=zerodrop_owner dbname=zerodrop"
    ZD_APP="host=127.0.0.1 port=$PGPORT user=zerodrop_app dbname=zerodrop"
    ZD_KEY=$ZD_TMP/scope.key
    ZD_INI=$ZD_TMP/zerodropd.ini
}

zd_db_migrate() {
    local dir=${1:-$ZD_SRC/sql}
    cat >"$ZD_INI" <<INI
[database]
conninfo = $ZD_APP
owner_conninfo = $ZD_OWNER
migrations_dir = $dir
scope_key_file = $ZD_KEY
INI
    "$ZERODROPD" migrate --config "$ZD_INI"
}

zd_psql_owner() { psql -X -q -v ON_ERROR_STOP=1 -d "$ZD_OWNER" "$@"; }
zd_psql_app() { psql -X -q -v ON_ERROR_STOP=1 -d "$ZD_APP" "$@"; }

# Runs a pgTAP script with psql and fails unless every test passed and the plan was met.
zd_pgtap() {
    local conn=$1 file=$2 out
    shift 2
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$conn" "$@" -f "$file" 2>&1) || { echo "$out"; zd_fail "$file: psql failed"; }
    echo "$out"
    if grep -q '^not ok' <<<"$out" || grep -q '# Looks like' <<<"$out"; then
        zd_fail "$file: some tests failed"
    fi
    grep -q '^1\.\.[0-9]' <<<"$out" || zd_fail "$file: no plan"
}
