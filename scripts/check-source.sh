#!/usr/bin/env bash
# The source check (STYLE.md): banned functions anywhere in our C, and no OS
# header or OS macro outside src/platform/. Prints each offence as
# file:line: text and exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."

files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' 2>/dev/null || find src ctl tests -name '*.[ch]')
bad=0

report() { # rule, grep output
    [[ -z "$2" ]] && return
    echo "check-source: $1:" >&2
    echo "$2" | sed 's/^/  /' >&2
    bad=1
}

# 1. Banned functions: unbounded copies and parsers that hide errors.
banned='(^|[^_[:alnum:]])(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|gets|scanf|sscanf|fscanf)[[:space:]]*\('
report "banned function (use bounded or checked forms)" \
    "$(grep -nE "$banned" $files | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true)"

# 2. OS headers outside the platform layer.
os_headers='#[[:space:]]*include[[:space:]]*<(unistd|windows|winsock2|ws2tcpip|mswsock|iphlpapi|pthread|fcntl|dirent|poll|netdb|dlfcn|io|direct|process|iconv|syslog|pwd|grp|termios|sys/[a-z_]+|netinet/[a-z_]+|arpa/[a-z_]+|mach/[a-z_]+)\.h>'
report "OS header outside src/platform/" \
    "$(echo "$files" | tr ' ' '\n' | grep -v '^src/platform/' | xargs -r grep -nE "$os_headers" || true)"

# 3. OS and compiler macros outside the platform layer.
os_macros='#[[:space:]]*(if|ifdef|ifndef|elif).*(_WIN32|_WIN64|__WIN32__|WIN32|__MINGW32__|__MINGW64__|__CYGWIN__|__linux__|__linux|__APPLE__|__MACH__|__unix__|__unix|__FreeBSD__|__OpenBSD__|__NetBSD__|__DragonFly__|__sun|_MSC_VER|__GNUC__|__clang__)'
report "OS or compiler macro outside src/platform/" \
    "$(echo "$files" | tr ' ' '\n' | grep -v '^src/platform/' | xargs -r grep -nE "$os_macros" || true)"

# 4. posix/ and win32/ implement the same files (nginx's rule).
if [[ -d src/platform/posix && -d src/platform/win32 ]]; then
    only=$( (cd src/platform/posix && ls *.c) | sort > /tmp/.yb-posix.$$; (cd src/platform/win32 && ls *.c) | sort > /tmp/.yb-win32.$$; comm -3 /tmp/.yb-posix.$$ /tmp/.yb-win32.$$ | tr -d '\t'; rm -f /tmp/.yb-posix.$$ /tmp/.yb-win32.$$)
    # Backend files that exist on one OS only are listed here on purpose.
    only=$(echo "$only" | grep -vE '^(pal_poll_epoll\.c|pal_poll_kqueue\.c)$' || true)
    report "file in only one of src/platform/posix and src/platform/win32" "$only"
fi

if [[ $bad -ne 0 ]]; then
    echo "check-source: FAILED" >&2
    exit 1
fi
echo "check-source: ok ($(echo $files | wc -w) files)"
