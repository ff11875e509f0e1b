#!/usr/bin/env bash
# Installs the Debian packages yubin needs that are missing on this machine.
#   scripts/deps.sh          what building and running yubind needs
#   scripts/deps.sh --test   plus what the test command needs (mingw-w64, wine ...)
# Nothing is installed when everything is present, so a warm run is instant.
set -euo pipefail

pkgs=(gcc make cmake pkg-config libc6-dev libssl-dev libcmocka-dev openssl python3)
if [[ "${1:-}" == "--test" ]]; then
    # The Windows job: cross compiler, wine to run the tests, and the tools
    # scripts/mingw-deps.sh uses to build OpenSSL and CMocka from Debian source;
    # python3-aiosmtpd plays the remote SMTP servers of the queue tests, fetchmail
    # the POP3 client of the POP3 tests.
    pkgs+=(clang mingw-w64 wine wine64 dpkg-dev perl swaks libnet-ssleay-perl fetchmail
           python3-aiosmtpd)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
