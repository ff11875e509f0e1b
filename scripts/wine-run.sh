#!/usr/bin/env bash
# Run a Windows (PE32+) program under wine, headless; used as
# CMAKE_CROSSCOMPILING_EMULATOR by cmake/mingw-w64-x86_64.cmake, so ctest
# calls it as:  wine-run.sh /path/to/test.exe args...
# The program's exit code is passed through (Windows exit codes are
# truncated to 8 bits by the Unix wait status; a crash exits non-zero).
#
#   wine-run.sh --init    only create the wine prefix / start wineserver
#   wine-run.sh --stop    stop the wineserver (and wine system processes)
#
# Environment:
#   YUBIN_CACHE      cache root (default $HOME/.cache/yubin)
#   YUBIN_WINEPREFIX wine prefix (default $YUBIN_CACHE/wineprefix)
#   YUBIN_WINE       wine loader to use (default: Debian's wine64)
#   YUBIN_WINE_PERSIST  seconds the wineserver outlives its last program (300)
set -euo pipefail

cache=${YUBIN_CACHE:-${HOME:-/tmp}/.cache/yubin}
export WINEPREFIX=${YUBIN_WINEPREFIX:-$cache/wineprefix}
export WINEARCH=win64
export WINEDEBUG=-all
# No Mono/Gecko install prompts, and no crash-debugger dialog.
export WINEDLLOVERRIDES="mscoree=;mshtml=;winemenubuilder.exe=d"

# Pick the 64-bit loader. On Debian 12 /usr/bin/wine is a shell wrapper that
# prefers the 32-bit loader (wine32:i386) and otherwise falls back to
# /usr/lib/wine/wine64; there is no wine64 in PATH. Use the 64-bit loader
# directly so PE32+ programs run whether or not wine32 is installed.
if [ -n "${YUBIN_WINE:-}" ]; then
    wine=$YUBIN_WINE
elif [ -x /usr/lib/wine/wine64 ]; then
    wine=/usr/lib/wine/wine64
elif command -v wine64 >/dev/null 2>&1; then
    wine=$(command -v wine64)
elif command -v wine >/dev/null 2>&1; then
    wine=$(command -v wine)
else
    echo "wine-run.sh: wine is not installed (apt-get install wine wine64)" >&2
    exit 127
fi
# Debian's /usr/lib/wine/wineserver wrapper forces -p0; call the real one.
if [ -x /usr/lib/wine/wineserver64 ]; then
    wineserver=/usr/lib/wine/wineserver64
elif [ -x /usr/lib/wine/wineserver32 ]; then
    wineserver=/usr/lib/wine/wineserver32
else
    wineserver=$(command -v wineserver)
fi
export WINELOADER=$wine WINESERVER=$wineserver

# Run a wine helper command with stdio on /dev/null and no other inherited
# descriptors. The wineserver and wine's system processes (services.exe,
# winedevice.exe, ...) outlive the command that started them and keep every
# descriptor it had: ctest's output pipe, a caller's `| tail -1` pipe or a
# flock fd would then stay open (ctest / the pipe reader hangs until the
# server exits). Only the program under test gets the caller's stdio.
detached() {
    (
        for fd in /proc/"$BASHPID"/fd/*; do
            fd=${fd##*/}
            case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" ;; esac
        done
        exec "$@"
    ) </dev/null >/dev/null 2>&1
}

case "${1:-}" in
    --stop)  # end this prefix's wineserver and its system processes
        detached "$wineserver" -k || true
        exit 0 ;;
esac

# Prefix settings (re-applied to an existing prefix when PREFIX_REV grows):
# - no crash debugger: with AeDebug\Debugger missing, wine runs its default
#   "winedbg --auto", which dumps to the console and starts explorer.exe and
#   rpcss.exe; those would inherit (and hold open) ctest's output pipe. A
#   debugger that cannot start makes an unhandled exception simply end the
#   process (exit code = exception code & 0xff, e.g. 5 for an access
#   violation).
PREFIX_REV=2
configure_prefix() {
    local aedebug='HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug'
    detached "$wine" reg.exe add "$aedebug" /v Debugger /t REG_SZ /d yubin-no-debugger /f &&
    detached "$wine" reg.exe add "$aedebug" /v Auto /t REG_SZ /d 1 /f &&
    detached "$wine" reg.exe add 'HKCU\Software\Wine\WineDbg' /v ShowCrashDialog /t REG_DWORD /d 0 /f
}

# Create the prefix once (wineboot -i takes ~15-20 s). Concurrent callers
# (ctest -j) serialise on a lock; a half-made prefix (no marker) is made again.
marker=$WINEPREFIX/.yubin-ready
mkdir -p "$(dirname "$WINEPREFIX")"
if [ "$(cat "$marker" 2>/dev/null)" != "$PREFIX_REV" ]; then
    exec 9>"$WINEPREFIX.lock"
    flock 9
    if [ "$(cat "$marker" 2>/dev/null)" != "$PREFIX_REV" ]; then
        if [ ! -f "$marker" ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
            echo "wine-run.sh: creating wine prefix $WINEPREFIX (once)" >&2
            rm -rf "$WINEPREFIX"
            detached "$wine" wineboot.exe -i || true
            configure_prefix || { echo "wine-run.sh: configuring $WINEPREFIX failed" >&2; exit 1; }
            # Let this short-lived server exit (and save the registry); the
            # persistent one is started below.
            detached "$wineserver" -w || true
            [ -f "$WINEPREFIX/system.reg" ] || { echo "wine-run.sh: wineboot failed" >&2; exit 1; }
        else
            # Older prefix: only apply the settings (a server may be running).
            configure_prefix || { echo "wine-run.sh: configuring $WINEPREFIX failed" >&2; exit 1; }
        fi
        echo "$PREFIX_REV" >"$marker"
    fi
    exec 9>&-
fi

persist=${YUBIN_WINE_PERSIST:-300}

# Keep one wineserver alive for $persist s after the last program exits, so
# consecutive tests do not each pay the server and prefix start-up. Fails
# harmlessly when one is already running.
detached "$wineserver" -p"$persist" || true
# The first wine program of a server session boots the prefix: wineboot
# starts services.exe, winedevice.exe, plugplay.exe, svchost.exe, which
# inherit that program's stdout/stderr and live as long as the server. If a
# test started them, they would hold ctest's output pipe open and ctest
# would wait until the server exits. So boot with a throw-away program
# whose stdio is /dev/null (about 0.2 s when the server already runs).
detached "$wine" cmd.exe /c exit 0 || true

[ "${1:-}" = --init ] && exit 0
[ $# -ge 1 ] || { echo "usage: wine-run.sh program.exe [args...] | --init | --stop" >&2; exit 2; }
exec "$wine" "$@"
