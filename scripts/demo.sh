#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds yubind,
# sets up a demo data root (./demo-root, domain demo.yubin.test) and starts
# the server in the foreground. Ctrl-C stops it.
#   YUBIN_DEMO_ROOT=/path   use another root
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DYUBIN_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" --target yubind >/dev/null

root=${YUBIN_DEMO_ROOT:-$PWD/demo-root}
if [[ ! -f "$root/server.tab" ]]; then
    mkdir -p "$root"
    cp tabs/*.tab "$root/"
    # Loopback and unprivileged ports, so the demo needs no root and exposes nothing.
    cat > "$root/server.tab" <<'TAB'
# demo server.tab: loopback only, unprivileged ports
"RootDomain"	"demo.yubin.test"
"ConfigCheckInterval"	"2s"
"SmtpListen"	"127.0.0.1:2525"
"SubmissionListen"	"127.0.0.1:2587"
"SmtpsListen"	"127.0.0.1:2465"
"Pop3Listen"	"127.0.0.1:2110"
"Pop3sListen"	"127.0.0.1:2995"
"ImapListen"	"127.0.0.1:2143"
"ImapsListen"	"127.0.0.1:2993"
"CtrlListen"	"127.0.0.1:6017"
"CtrlsListen"	"127.0.0.1:6018"
TAB
    printf '"demo.yubin.test"\n' >> "$root/domains.tab"
fi

build/release/yubind -r "$root" --check-config
cat <<EOF2

yubind is starting on the demo root $root
  - its configuration is the .tab files there; edit one (e.g. add a domain to
    domains.tab) and watch it reload within 2 s, or send SIGHUP;
  - logs are in $root/logs/;
  - Ctrl-C stops it.
Mail service (SMTP, POP3, IMAP, CTRL listeners) arrives with the next issues;
this build loads, validates and live-reloads the configuration.

EOF2
exec build/release/yubind -r "$root"
