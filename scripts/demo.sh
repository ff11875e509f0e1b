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
mkdir -p "${YUBIN_DEMO_ROOT:-$PWD/demo-root}" 2>/dev/null || true

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
    # A demo account (password "demo-password") and an alias to it.
    hash=$(printf 'demo-password\n' | build/release/yubind --hash-password)
    printf '"demo.yubin.test"\t"demo"\t"%s"\t1\t"demo"\t"U"\n' "$hash" >> "$root/mailusers.tab"
    printf '"demo.yubin.test"\t"postmaster"\t"demo"\n' >> "$root/aliases.tab"
fi

build/release/yubind -r "$root" --check-config
cat <<EOF2

yubind is starting on the demo root $root (loopback only).
Domain demo.yubin.test, account demo@demo.yubin.test, password demo-password.

Send a message (SMTP on 127.0.0.1:2525, submission with STARTTLS on 2587,
SMTPS on 2465), for example with swaks:
  swaks --server 127.0.0.1:2525 --to demo@demo.yubin.test
  swaks --server 127.0.0.1:2587 --tls --auth-user demo@demo.yubin.test \\
        --auth-password demo-password --from demo@demo.yubin.test --to demo@demo.yubin.test
or with Python:
  python3 -c 'import smtplib; smtplib.SMTP("127.0.0.1", 2525).sendmail("me@example.org",
      ["demo@demo.yubin.test"], b"Subject: hello\\r\\n\\r\\nIt works.\\r\\n")'
It lands in $root/domains/demo.yubin.test/demo/Maildir/new/.
Mail to other domains is refused unless you authenticate on 2587/2465; it
is then queued in $root/spool/ (outbound delivery comes with the next issue).
Configuration is the .tab files in $root (edits reload within 2 s; SIGHUP
too), logs are in $root/logs/, and Ctrl-C stops the server. IMAP and CTRL
are not part of this build yet.

Read it by POP3 over TLS (995-style on 2995, or STLS on 2110), e.g. with Python:
  python3 -c 'import poplib, ssl; c = poplib.POP3_SSL("127.0.0.1", 2995,
      context=ssl._create_unverified_context()); c.user("demo@demo.yubin.test"); [
      c.pass_("demo-password"), print(c.stat()), c.quit()]'

EOF2
exec build/release/yubind -r "$root"
