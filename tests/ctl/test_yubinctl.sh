#!/usr/bin/env bash
# yubinctl against a real yubind, both run through an optional launcher:
# natively, or both .exe files under wine for the Windows build.
#
#   test_yubinctl.sh YUBIND YUBINCTL [LAUNCHER]
#
# Checks the exit-status contract (0, the CTRL error number, 90 cannot
# connect, 92 usage), list output as TAB-separated lines, -f sessions, TLS
# with -L and -S, and a refused path. Every wait is bounded. Exit 0 = pass.
set -uo pipefail

yubind=${1:?usage: test_yubinctl.sh YUBIND YUBINCTL [LAUNCHER]}
yubinctl=${2:?usage: test_yubinctl.sh YUBIND YUBINCTL [LAUNCHER]}
launch=${3:-}
root=$(mktemp -d "${YB_TEST_TMP:-${TMPDIR:-/tmp}}/yubinctl.XXXXXX") || exit 2
root=$(cd "$root" && pwd)
failures=0
pid=

run() { if [ -n "$launch" ]; then "$launch" "$@"; else "$@"; fi; }
# The program's name for a path (under wine: Z:\...).
wpath() { if [ -n "$launch" ]; then "$launch" winepath.exe -w "$1" 2>/dev/null | tr -d '\r'; else echo "$1"; fi; }
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$root"
}
trap cleanup EXIT

hash=$(printf 'sh-secret\n' | run "$yubind" --hash-password --iterations 4096 | tr -d '\r')
case "$hash" in "{SCRAM-SHA-256}"*) ;; *) echo "no hash from yubind --hash-password" >&2; exit 2 ;; esac
printf '"admin"\t"%s"\t"admin"\n' "$hash" >"$root/ctrlaccounts.tab"
{
    for v in SmtpListen SubmissionListen SmtpsListen Pop3Listen Pop3sListen ImapListen ImapsListen; do
        printf '"%s"\t""\n' "$v"
    done
    printf '"CtrlListen"\t"127.0.0.1:0"\n"CtrlsListen"\t"127.0.0.1:0"\n"CtrlHashIterations"\t"4096"\n'
} >"$root/server.tab"

wroot=$(wpath "$root")
[ -n "$wroot" ] || { echo "no path for $root" >&2; exit 2; }
# exec, so $! is the server itself (or its launcher) and cleanup stops it,
# not a subshell that would leave it running after its root is removed.
{ if [ -n "$launch" ]; then exec "$launch" "$yubind" -r "$wroot"; else exec "$yubind" -r "$wroot"; fi; } \
    >"$root/yubind.out" 2>&1 &
pid=$!
for ((i = 0; i < 300; i++)); do
    grep -q '"CtrlsListen"' "$root/run/ports.tab" 2>/dev/null && break
    sleep 0.1
done
port() { grep "\"$1\"" "$root/run/ports.tab" | cut -f3 | tr -d '"\r'; }
plain=$(port CtrlListen)
tls=$(port CtrlsListen)
[ -n "$plain" ] && [ -n "$tls" ] || { echo "yubind did not start:"; cat "$root/yubind.out"; exit 1; }

ctl() { run "$yubinctl" -s 127.0.0.1 -n "$plain" -u admin -p sh-secret -t 20 "$@" 2>"$root/err" | tr -d '\r'; return "${PIPESTATUS[0]}"; }
expect() { # want-status description command...
    local want=$1 what=$2
    shift 2
    "$@" >/dev/null
    local got=$?
    [ "$got" = "$want" ] && pass "$what (exit $got)" || fail "$what: exit $got, want $want: $(cat "$root/err")"
}

out=$(run "$yubinctl" --version | tr -d '\r')
case "$out" in "yubinctl "*) pass "--version" ;; *) fail "--version printed '$out'" ;; esac
expect 92 "no command" run "$yubinctl" -u admin -p x
expect 92 "bad port" run "$yubinctl" -n 70000 -u admin -p x noop
expect 90 "nothing listening" run "$yubinctl" -s 127.0.0.1 -n 1 -u admin -p x -t 5 noop
expect 4 "wrong password" run "$yubinctl" -s 127.0.0.1 -n "$plain" -u admin -p wrong noop
expect 0 "domainadd" ctl domainadd win.test
expect 0 "useradd" ctl useradd win.test alice alice-pw U
expect 13 "useradd twice" ctl useradd win.test alice alice-pw U
expect 17 "path outside the root" ctl cfgfileget '..\server.tab'
expect 0 "queuelist (an empty queue)" ctl queuelist
expect 32 "frozdel of no such message" ctl frozdel NoSuchId1
out=$(ctl userlist win.test)
[ "$out" = "$(printf 'win.test\talice\t1\tU')" ] && pass "userlist prints TAB-separated fields" ||
    fail "userlist printed '$out'"
printf 'useradd\twin.test\tbob\tbob-pw\nuserpasswd\twin.test\talice\tnew-pw\nuserlist\twin.test\n' >"$root/cmds"
out=$(ctl -f "$(wpath "$root/cmds")")
[ "$(echo "$out" | grep -c '^win.test')" = 2 ] && pass "-f runs a session" || fail "-f printed '$out'"
out=$(run "$yubinctl" -s 127.0.0.1 -n "$tls" -L -u admin -p sh-secret -t 20 domainlist 2>"$root/err" | tr -d '\r')
[ "$out" = "win.test" ] && pass "-L (implicit TLS)" || fail "-L printed '$out': $(cat "$root/err")"
out=$(run "$yubinctl" -s 127.0.0.1 -n "$plain" -S -u admin -p sh-secret -t 20 domainlist 2>"$root/err" | tr -d '\r')
[ "$out" = "win.test" ] && pass "-S (#!TLS)" || fail "-S printed '$out': $(cat "$root/err")"
grep -q "logged in (admin) over TLS" "$root/logs/ctrl.log" && pass "server saw TLS logins" ||
    fail "no TLS login in the log"

[ "$failures" = 0 ] && echo "all passed" || echo "$failures failed"
[ "$failures" = 0 ]
