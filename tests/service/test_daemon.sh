#!/usr/bin/env bash
# Daemon mode end to end (POSIX): pal_daemonize through tests/service/daemon_probe.
#
#   test_daemon.sh /path/to/daemon_probe
#
# Builds nothing. Checks that the starting command returns 0 only once the
# pidfile exists, that the pid in it is a live, detached process other than
# the starter, that a second start is refused with "already running as pid N",
# that SIGTERM stops the daemon and removes its pidfile, that a stale pidfile
# is replaced, and that a failure in the daemon reaches the starter's exit
# status and stderr. Every wait is bounded. Exit 0 = pass.
set -uo pipefail

probe=${1:?usage: test_daemon.sh /path/to/daemon_probe}
[ -x "$probe" ] || { echo "test_daemon.sh: $probe is not executable" >&2; exit 2; }

tmp=$(mktemp -d "${YB_TEST_TMP:-${TMPDIR:-/tmp}}/daemon.XXXXXX") || exit 2
[ "${tmp#/}" != "$tmp" ] || tmp=$(cd "$tmp" && pwd) # the daemon needs an absolute path
pidfile=$tmp/probe.pid
daemons=()
failures=0

cleanup() {
    local p
    for p in "${daemons[@]+"${daemons[@]}"}"; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }

# Waits up to $1 tenths of a second for the command "$2..." to succeed.
wait_for() {
    local tenths=$1
    shift
    for ((i = 0; i < tenths; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}
# Gone, or a zombie waiting for a parent (pid 1 in a container) that never reaps.
gone() {
    ! kill -0 "$1" 2>/dev/null || [[ "$(ps -o stat= -p "$1" 2>/dev/null)" == Z* ]]
}
no_file() { [ ! -e "$1" ]; }

# Starts the probe in the background so we know the starter's pid, and waits
# (bounded) for the starter to return. Sets start_pid, start_rc, start_err.
start() {
    local errf=$tmp/start.err i
    "$probe" "$@" 2>"$errf" &
    start_pid=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$start_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$start_pid" 2>/dev/null; then
        kill -KILL "$start_pid"
        fail "the starting command did not return within 30 s"
    fi
    wait "$start_pid"
    start_rc=$?
    start_err=$(cat "$errf")
}

# ---- 1. a clean start ----
start "$pidfile"
if [ "$start_rc" -ne 0 ]; then
    fail "first start exited $start_rc: $start_err"
    exit 1
fi
# No waiting: the starter returns only after the daemon wrote its pidfile.
if [ ! -s "$pidfile" ]; then
    fail "the starter returned 0 before the pidfile existed"
    exit 1
fi
pass "starter returned 0 with the pidfile in place"
pid=$(tr -d '\n' <"$pidfile")
case $pid in
'' | *[!0-9]*) fail "pidfile holds '$pid', not a pid" && exit 1 ;;
esac
daemons+=("$pid")
[ "$(cat "$pidfile")" = "$pid" ] && [ "$(wc -l <"$pidfile")" -eq 1 ] || fail "pidfile is not one line"
kill -0 "$pid" 2>/dev/null && pass "daemon $pid is alive" || fail "daemon $pid is not alive"
[ "$pid" != "$start_pid" ] && pass "daemon is not the starter ($start_pid)" ||
    fail "the pidfile names the starter itself"
[ "$pid" != "$$" ] || fail "the pidfile names the test script"
mode=$(stat -c %a "$pidfile" 2>/dev/null || stat -f %Lp "$pidfile")
[ "$mode" = 644 ] && pass "pidfile mode 644" || fail "pidfile mode is $mode, want 644"
# Detached: its own session (not its leader), parent gone, in /, stdio on /dev/null.
if read -r sid ppid < <(ps -o sid=,ppid= -p "$pid"); then
    [ "$sid" != "$pid" ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ] &&
        pass "own session $sid, not its leader" || fail "session $sid (daemon $pid, test $$)"
    [ "$ppid" != "$start_pid" ] && pass "parent is $ppid, not the starter" ||
        fail "the starter is still the parent"
fi
if [ -d "/proc/$pid" ]; then
    [ "$(readlink "/proc/$pid/cwd")" = / ] && pass "cwd is /" || fail "cwd is $(readlink "/proc/$pid/cwd")"
    for fd in 0 1 2; do
        [ "$(readlink "/proc/$pid/fd/$fd")" = /dev/null ] ||
            fail "fd $fd is $(readlink "/proc/$pid/fd/$fd"), not /dev/null"
    done
    pass "stdio checked"
    umask_line=$(grep '^Umask:' "/proc/$pid/status" 2>/dev/null | tr -d ' \t')
    [ -z "$umask_line" ] || [ "$umask_line" = Umask:0027 ] && pass "umask 027" ||
        fail "umask: $umask_line"
fi

# ---- 2. a second start is refused ----
start "$pidfile"
if [ "$start_rc" -ne 0 ] && [[ $start_err == *"already running as pid $pid"* ]]; then
    pass "second start refused: $start_err"
else
    fail "second start: exit $start_rc, stderr '$start_err'"
fi
[ "$(cat "$pidfile")" = "$pid" ] || fail "the refused start changed the pidfile"
kill -0 "$pid" 2>/dev/null || fail "the refused start hurt the running daemon"

# ---- 3. SIGTERM stops it and removes the pidfile ----
kill -TERM "$pid"
if wait_for 300 gone "$pid"; then
    pass "daemon stopped on SIGTERM"
else
    fail "daemon $pid still alive 30 s after SIGTERM"
fi
wait_for 50 no_file "$pidfile" && pass "pidfile removed" || fail "pidfile left behind"

# ---- 4. a stale pidfile is replaced ----
echo 2000000000 >"$pidfile"
start "$pidfile"
if [ "$start_rc" -eq 0 ] && pid2=$(tr -d '\n' <"$pidfile") && [ "$pid2" != 2000000000 ]; then
    daemons+=("$pid2")
    kill -0 "$pid2" 2>/dev/null && pass "stale pidfile replaced, daemon $pid2" ||
        fail "daemon $pid2 from the replaced pidfile is not alive"
    kill -TERM "$pid2"
    wait_for 300 gone "$pid2" || fail "daemon $pid2 did not stop"
    wait_for 50 no_file "$pidfile" || fail "pidfile of $pid2 left behind"
else
    fail "start over a stale pidfile: exit $start_rc, stderr '$start_err'"
fi

# ---- 5. failures reach the starter ----
start "$tmp/no/such/dir/probe.pid"
if [ "$start_rc" -eq 1 ] && [[ $start_err == *"no/such/dir/probe.pid"* ]]; then
    pass "daemon's error reported by the starter (exit 1): $start_err"
else
    fail "pidfile in a missing directory: exit $start_rc, stderr '$start_err'"
fi
start relative.pid
if [ "$start_rc" -eq 2 ] && [[ $start_err == *absolute* ]]; then
    pass "relative pidfile refused before forking"
else
    fail "relative pidfile: exit $start_rc, stderr '$start_err'"
fi

if [ "$failures" -ne 0 ]; then
    echo "test_daemon.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "test_daemon.sh: all checks passed"
