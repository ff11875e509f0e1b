#!/usr/bin/env bash
# The Windows service life cycle under wine, through tests/service/service_probe.exe.
#
#   test_service_wine.sh /path/to/service_probe.exe
#
# Builds nothing. Uses scripts/wine-run.sh (same WINEPREFIX and wineserver -p300
# as the Windows ctest run; YUBIN_WINE_RUN overrides its path). Checks:
#   1. "--service" run by hand: told it was not started by the service manager;
#   2. install (arguments that need quoting), a second install is refused;
#   3. "sc start": the service writes its first marker, "sc query" says
#      RUNNING, the arguments arrive unchanged;
#   4. "sc stop": the service sees the shutdown event, writes its second
#      marker, "sc query" says STOPPED with exit code 0;
#   5. remove; "sc query" then fails;
#   6. remove while running: the service is stopped first, then deleted.
# Every wait is bounded (30 s). The service name is unique per run and the
# service is removed on any exit, so a failed run leaves no auto-start
# service behind in the shared prefix. Exit 0 = pass.
set -uo pipefail

exe=${1:?usage: test_service_wine.sh /path/to/service_probe.exe}
[ -f "$exe" ] || { echo "test_service_wine.sh: $exe not found" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
winerun=${YUBIN_WINE_RUN:-$here/../../scripts/wine-run.sh}
"$winerun" --init || { echo "test_service_wine.sh: wine is not usable" >&2; exit 2; }

name=yubin-probe-$$-$RANDOM
tmp=$(mktemp -d "${YB_TEST_TMP:-${TMPDIR:-/tmp}}/svcwine.XXXXXX") || exit 2
tmp=$(cd "$tmp" && pwd)
installed=0
failures=0

w() { "$winerun" "$@" 2>/dev/null | tr -d '\r'; }
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

cleanup() {
    if [ "$installed" = 1 ]; then
        timeout 60 "$winerun" "$exe" --remove "$name" >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# Waits up to 30 s for the command "$@" to succeed.
wait_for() {
    for ((i = 0; i < 300; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
has_file() { [ -s "$1" ]; }
# The STATE word of "sc query NAME" (RUNNING, STOPPED, ...), empty if it failed.
state() { w sc.exe query "$name" | sed -n 's/^ *STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'; }
state_is() { [ "$(state)" = "$1" ]; }

marks=$tmp/marks
mkdir -p "$marks"
wmarks=$(w winepath.exe -w "$marks")
[ -n "$wmarks" ] || { echo "test_service_wine.sh: winepath failed" >&2; exit 2; }
# Arguments the install must quote so the service gets them back unchanged.
args=("sp ace" 'qu"ote' 'back\slash\' '' 'a\\"b' 'plain')

# ---- 1. not started by the SCM ----
out=$(timeout 60 "$winerun" "$exe" --service "$name" "$wmarks" 2>&1 | tr -d '\r')
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 3 ] && [[ $out == *"not started by the service manager"* ]]; then
    pass "--service by hand: $out"
else
    fail "--service by hand: exit $rc, output '$out'"
fi
[ ! -e "$marks/started" ] || fail "main_fn ran outside the service manager"

# ---- 2. install ----
if out=$("$winerun" "$exe" --install "$name" "$wmarks" "${args[@]}" 2>&1); then
    installed=1
    pass "installed $name"
else
    fail "install: $out"
    exit 1
fi
image=$(w reg.exe query "HKLM\\System\\CurrentControlSet\\Services\\$name" /v ImagePath |
    sed -n 's/^ *ImagePath *REG_[A-Z_]* *//p')
echo "   ImagePath: $image"
[[ $image == \"*service_probe.exe\"\ --service\ * ]] || fail "ImagePath '$image'"
start_type=$(w reg.exe query "HKLM\\System\\CurrentControlSet\\Services\\$name" /v Start |
    sed -n 's/^ *Start *REG_DWORD *//p')
[ "$start_type" = 0x2 ] && pass "automatic start" || fail "Start is '$start_type', want 0x2"
out=$("$winerun" "$exe" --install "$name" "$wmarks" 2>&1 | tr -d '\r')
[[ $out == *"already exists"* ]] && pass "second install refused: $out" ||
    fail "second install: '$out'"

# ---- 3. start ----
w sc.exe start "$name" >/dev/null
if wait_for has_file "$marks/started"; then
    pass "service main_fn started"
else
    fail "no start marker within 30 s (state: $(state))"
    exit 1
fi
wait_for state_is RUNNING && pass "sc query: RUNNING" || fail "sc query: '$(state)', want RUNNING"
want=$(printf '[%s]\n' "${args[@]}")
got=$(tail -n +2 "$marks/started")
[ "$got" = "$want" ] && pass "arguments arrived unchanged" ||
    fail "arguments: got '$got', want '$want'"

# ---- 4. stop ----
w sc.exe stop "$name" >/dev/null
if wait_for has_file "$marks/stopped"; then
    [ "$(cat "$marks/stopped")" = stopped ] && pass "main_fn saw the shutdown event" ||
        fail "stop marker says '$(cat "$marks/stopped")'"
else
    fail "no stop marker within 30 s (state: $(state))"
fi
wait_for state_is STOPPED && pass "sc query: STOPPED" || fail "sc query: '$(state)', want STOPPED"
code=$(w sc.exe query "$name" | sed -n 's/^ *WIN32_EXIT_CODE *: *\([0-9]*\).*/\1/p')
[ "$code" = 0 ] && pass "exit code 0" || fail "WIN32_EXIT_CODE '$code'"

# ---- 5. remove ----
if out=$(timeout 60 "$winerun" "$exe" --remove "$name" 2>&1); then
    installed=0
    pass "removed"
else
    fail "remove: $out"
fi
if w sc.exe query "$name" >/dev/null; then
    fail "sc query still finds $name after remove"
else
    pass "sc query fails after remove"
fi

# ---- 6. remove while running ----
rm -f "$marks/started" "$marks/stopped"
if "$winerun" "$exe" --install "$name" "$wmarks" >/dev/null 2>&1; then
    installed=1
    w sc.exe start "$name" >/dev/null
    if wait_for has_file "$marks/started" && wait_for state_is RUNNING; then
        if out=$(timeout 60 "$winerun" "$exe" --remove "$name" 2>&1); then
            installed=0
            [ "$(cat "$marks/stopped" 2>/dev/null)" = stopped ] &&
                pass "remove stopped the running service first" ||
                fail "remove returned before the service had stopped"
            w sc.exe query "$name" >/dev/null && fail "still there after remove" ||
                pass "removed while running"
        else
            fail "remove while running: $out"
        fi
    else
        fail "second start: no marker or not RUNNING (state: $(state))"
    fi
else
    fail "second install failed"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_service_wine.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "test_service_wine.sh: all checks passed"
