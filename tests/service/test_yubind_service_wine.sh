#!/usr/bin/env bash
# yubind.exe itself as a Windows service under wine's service manager:
# --install-service, sc start, a live configuration reload, sc stop,
# --remove-service.
#
#   test_yubind_service_wine.sh /path/to/yubind.exe
#
# Every wait is bounded (30 s); the service is removed on any exit. Exit 0 = pass.
set -uo pipefail

exe=${1:?usage: test_yubind_service_wine.sh /path/to/yubind.exe}
[ -f "$exe" ] || { echo "test_yubind_service_wine.sh: $exe not found" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
winerun=${YUBIN_WINE_RUN:-$here/../../scripts/wine-run.sh}
"$winerun" --init || { echo "test_yubind_service_wine.sh: wine is not usable" >&2; exit 2; }

name=yubind
root=$(mktemp -d "${YB_TEST_TMP:-${TMPDIR:-/tmp}}/yubind-svc.XXXXXX") || exit 2
root=$(cd "$root" && pwd)
installed=0
failures=0

w() { "$winerun" "$@" 2>/dev/null | tr -d '\r'; }
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
cleanup() {
    [ "$installed" = 1 ] && timeout 60 "$winerun" "$exe" --remove-service >/dev/null 2>&1
    rm -rf "$root"
}
trap cleanup EXIT
wait_for() {
    for ((i = 0; i < 300; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
log_has() { grep -q "$2" "$root/logs/$1.log" 2>/dev/null; }
state() { w sc.exe query "$name" | sed -n 's/^ *STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'; }
state_is() { [ "$(state)" = "$1" ]; }

printf '"ConfigCheckInterval"\t"1s"\n"RootDomain"\t"svc.example.test"\n' >"$root/server.tab"
wroot=$(w winepath.exe -w "$root")
[ -n "$wroot" ] || { echo "winepath failed" >&2; exit 2; }

# A leftover from an interrupted run would make the install fail.
timeout 60 "$winerun" "$exe" --remove-service >/dev/null 2>&1

if out=$(timeout 60 "$winerun" "$exe" -r "$wroot" --install-service 2>&1 | tr -d '\r'); then
    installed=1
    pass "install: $out"
else
    fail "install: $out"
    exit 1
fi

w sc.exe start "$name" >/dev/null
if wait_for log_has yubind "started on"; then
    pass "yubind started by the service manager"
else
    fail "no start in the log within 30 s (state: $(state))"
    exit 1
fi
wait_for state_is RUNNING && pass "sc query: RUNNING" || fail "sc query: '$(state)', want RUNNING"
[ -s "$root/tls/chain.pem" ] && pass "certificate generated on first start" ||
    fail "no tls/chain.pem"

printf '"svc.example.test"\n' >"$root/domains.tab.new" && mv "$root/domains.tab.new" "$root/domains.tab"
wait_for log_has config "configuration reloaded" && pass "live reload under the service" ||
    fail "the edit of domains.tab was not picked up"

w sc.exe stop "$name" >/dev/null
wait_for log_has yubind "shutting down" && pass "stopped cleanly on STOP" ||
    fail "no clean shutdown in the log (state: $(state))"
wait_for state_is STOPPED && pass "sc query: STOPPED" || fail "sc query: '$(state)', want STOPPED"

if out=$(timeout 60 "$winerun" "$exe" --remove-service 2>&1 | tr -d '\r'); then
    installed=0
    pass "remove: $out"
else
    fail "remove: $out"
fi
w sc.exe query "$name" >/dev/null && fail "sc query still finds $name" || pass "gone after remove"

[ "$failures" -eq 0 ] && echo "test_yubind_service_wine.sh: all passed" ||
    echo "test_yubind_service_wine.sh: $failures failed" >&2
exit $((failures > 0))
