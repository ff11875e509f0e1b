#!/usr/bin/env bash
# Run a Windows (PE32+) program under wine, headless; used as
# CMAKE_CROSSCOMPILING_EMULATOR by cmake/mingw-w64-x86_64.cmake, so ctest
# calls it as:  wine-run.sh /path/to/test.exe args...
# The program's exit code is passed through (Windows exit codes are
# truncated to 8 bits by the Unix wait status; a crash exits non-zero).
#
#   wine-run.sh --init    only create the wine prefix / start wineserver
#
# Environment:
#   YUBIN_CACHE      cache root (default $HOME/.cache/yubin)
#   YUBIN_WINEPREFIX wine prefix (default $YUBIN_CACHE/wineprefix)
#   YUBIN_WINE       wine loader to use (default: Debian's wine64)
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

# Create the prefix once. Concurrent callers (ctest -j) serialise on a lock;
# a half-made prefix (no marker) is discarded and made again.
mkdir -p "$(dirname "$WINEPREFIX")"
if [ ! -f "$WINEPREFIX/.yubin-ready" ]; then
    exec 9>"$WINEPREFIX.lock"
    flock 9
    if [ ! -f "$WINEPREFIX/.yubin-ready" ]; then
        echo "wine-run.sh: creating wine prefix $WINEPREFIX (once)" >&2
        rm -rf "$WINEPREFIX"
        "$wine" wineboot.exe -i >/dev/null 2>&1 || true
        "$wineserver" -w
        # No crash dialog / winedbg on an unhandled exception: the process
        # just dies with the exception code.
        "$wine" reg.exe delete 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' \
            /v Debugger /f >/dev/null 2>&1 || true
        "$wineserver" -w
        [ -f "$WINEPREFIX/system.reg" ] || { echo "wine-run.sh: wineboot failed" >&2; exit 1; }
        touch "$WINEPREFIX/.yubin-ready"
    fi
    exec 9>&-
fi

# Keep one wineserver alive for 300 s after the last client, so consecutive
# tests do not each pay the server start-up. Fails harmlessly if it runs.
"$wineserver" -p300 >/dev/null 2>&1 || true

[ "${1:-}" = --init ] && exit 0
[ $# -ge 1 ] || { echo "usage: wine-run.sh program.exe [args...]" >&2; exit 2; }
exec "$wine" "$@"
