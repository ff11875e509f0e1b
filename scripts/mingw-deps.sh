#!/usr/bin/env bash
# Build the Windows (x86_64-w64-mingw32) third-party dependencies of yubin:
# static OpenSSL 3 and static CMocka, both from Debian's *source* packages
# (neither is packaged for mingw in Debian).
#
# Result: an install prefix $CACHE/mingw/<key> with include/ and lib/ holding
#   lib/libssl.a lib/libcrypto.a include/openssl/*.h lib/pkgconfig/*.pc
#   lib/libcmocka.a (= libcmocka-static.a) include/cmocka.h
#   lib/cmake/cmocka/cmocka-config.cmake
# <key> encodes the Debian source versions of openssl and cmocka, the mingw
# gcc and mingw-w64 runtime versions and RECIPE below, so any change rebuilds
# into a new directory and a warm run only checks $prefix/.complete.
#
# Usage:  prefix=$(scripts/mingw-deps.sh | tail -1)
#         cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#               -DYUBIN_MINGW_PREFIX="$prefix"
# stdout: only the prefix (last line). Everything else goes to stderr.
#
# Environment:
#   YUBIN_CACHE       cache root (default $HOME/.cache/yubin)
#   YUBIN_JOBS        parallel make jobs (default: nproc)
#   YUBIN_SKIP_WINE=1 do not install wine / initialise the wine prefix
#   YUBIN_KEEP_BUILD=1 keep the source/build trees after a successful build
set -euo pipefail
shopt -s inherit_errexit
set -E
trap 'printf "[mingw-deps] ERROR: line %s: %s failed\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

# Bump when the build recipe (configure flags, patches...) changes.
RECIPE=1
HOST=x86_64-w64-mingw32

# Keep stdout clean for the final prefix line.
exec 3>&1 1>&2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${YUBIN_CACHE:-${HOME:-/tmp}/.cache/yubin}
JOBS=${YUBIN_JOBS:-$(nproc 2>/dev/null || echo 2)}
SKIP_WINE=${YUBIN_SKIP_WINE:-0}

log() { printf '[mingw-deps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update() {
    log "apt-get update"
    "${SUDO[@]}" apt-get update -qq >&2
    apt_updated=1
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# ---------------------------------------------------------------- packages
ensure_packages() {
    local pkgs=(mingw-w64 dpkg-dev cmake make perl xz-utils)
    if [ "$SKIP_WINE" != 1 ]; then
        pkgs+=(wine)
        # wine64 is an amd64 package; on Debian it provides /usr/lib/wine/wine64.
        [ "$(dpkg --print-architecture)" = amd64 ] && pkgs+=(wine64)
    fi
    local missing=() p
    for p in "${pkgs[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    [ "$apt_updated" = 1 ] || apt_update
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ----------------------------------------------------------- version / key
# "BINPKG SRCVERSION" for the candidates of the given binary packages (one
# apt-cache call: loading apt's cache is most of a warm run's time). For a
# binNMU the Source: field carries the source version in parentheses.
src_versions() {
    apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
        function out() { if (p != "") print p, (sv != "" ? sv : v); p = v = sv = "" }
        /^Package:/ { out(); p = $2 }
        /^Source:/ { if (match($0, /\(.*\)/)) sv = substr($0, RSTART + 1, RLENGTH - 2) }
        /^Version:/ { v = $2 }
        END { out() }'
}

owner_version() {  # version of the installed package owning file $1
    local pkg
    pkg=$(dpkg-query -S "$1" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] && dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null
}

ensure_packages

get_versions() {
    local vers
    vers=$(src_versions openssl libcmocka-dev)
    ossl_ver=$(awk '$1 == "openssl" { print $2 }' <<<"$vers")
    cmocka_ver=$(awk '$1 == "libcmocka-dev" { print $2 }' <<<"$vers")
}
get_versions
if [ -z "$ossl_ver" ] || [ -z "$cmocka_ver" ]; then
    [ "$apt_updated" = 1 ] || apt_update
    get_versions
fi
[ -n "$ossl_ver" ] || die "cannot determine the Debian version of openssl"
[ -n "$cmocka_ver" ] || die "cannot determine the Debian version of cmocka"

cc_path=$(readlink -f "$(command -v $HOST-gcc)") || die "$HOST-gcc not found"
gcc_ver=$(owner_version "$cc_path" || true)
[ -n "$gcc_ver" ] || gcc_ver=$($HOST-gcc -dumpfullversion)
crt_ver=$(dpkg-query -W -f='${Version}' mingw-w64-x86-64-dev 2>/dev/null || echo unknown)

key="openssl-${ossl_ver}_cmocka-${cmocka_ver}_gcc-${gcc_ver}_crt-${crt_ver}_r${RECIPE}"
key=$(printf '%s' "$key" | sed 's/[^A-Za-z0-9._-]/_/g')
prefix="$CACHE/mingw/$key"

init_wine() {
    [ "$SKIP_WINE" = 1 ] && return 0
    # fds 3 (our stdout) and 9 (build lock) must not leak into wineserver.
    "$here/wine-run.sh" --init 3>&- 9>&- || die "wine prefix initialisation failed"
}

finish() {
    init_wine
    echo "$prefix" >&3
    exit 0
}

[ -f "$prefix/.complete" ] && finish

# ------------------------------------------------------------ cold build
mkdir -p "$CACHE/mingw"
exec 9>"$CACHE/mingw/$key.lock"
log "waiting for build lock"
flock 9
[ -f "$prefix/.complete" ] && finish   # built by a concurrent run

log "building mingw dependencies into $prefix"
t0=$(date +%s)
work="$CACHE/mingw/build/$key"
logs="$CACHE/mingw/logs/$key"
rm -rf "$work" "$prefix" "$logs"
mkdir -p "$work" "$logs" "$prefix"

run_logged() {  # run_logged NAME cmd...   (output to $logs/NAME.log)
    local name=$1; shift
    log "  $name: $*"
    if ! "$@" >"$logs/$name.log" 2>&1; then
        log "FAILED: $name (log: $logs/$name.log), last lines:"
        tail -n 60 "$logs/$name.log" >&2
        exit 1
    fi
}

# --- deb-src entries ------------------------------------------------------
have_source() {  # have_source SRCPKG VERSION
    # (awk reads everything: grep -q would SIGPIPE apt-cache under pipefail)
    apt-cache showsrc --only-source "$1" 2>/dev/null |
        awk -v v="$2" '$1 == "Version:" && (v == "" || $2 == v) { f = 1 } END { exit !f }'
}

# Write /etc/apt/sources.list.d/yubin-src.sources with a deb-src stanza for
# every enabled "deb" source (deb822 *.sources and one-line sources.list).
add_deb_src() {
    local out=/etc/apt/sources.list.d/yubin-src.sources tmp
    tmp=$(mktemp)
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        [ "$f" = "$out" ] && continue
        awk '
            function flush() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && uris != "") {
                    print "Types: deb-src"
                    print "URIs: " uris
                    print "Suites: " suites
                    if (comps != "") print "Components: " comps
                    if (signed != "") print "Signed-By:" signed
                    print ""
                }
                types = uris = suites = comps = signed = enabled = ""; field = ""
            }
            /^#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (field == "signed-by") signed = signed "\n" $0; next }
            {
                i = index($0, ":"); k = tolower(substr($0, 1, i - 1)); v = substr($0, i + 1)
                field = k; sub(/^[ \t]+/, "", v)
                if (k == "types") types = v
                else if (k == "uris") uris = v
                else if (k == "suites") suites = v
                else if (k == "components") comps = v
                else if (k == "enabled") enabled = v
                else if (k == "signed-by") signed = (v == "" ? "" : " " v)
            }
            END { flush() }' "$f" >>"$tmp"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -e "$f" ] || continue
        # deb [opt=val ...] URI SUITE COMPONENT...
        awk '
            $1 != "deb" { next }
            {
                signed = ""; n = 2
                if ($2 ~ /^\[/) {
                    while (n <= NF) {
                        o = $n; gsub(/[\[\]]/, "", o)
                        if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); signed = o }
                        if ($n ~ /\]$/) { n++; break }
                        n++
                    }
                }
                uri = $n; suite = $(n + 1); comps = ""
                for (j = n + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
                print "Types: deb-src"; print "URIs: " uri; print "Suites: " suite
                if (comps != "") print "Components: " comps
                if (signed != "") print "Signed-By: " signed
                print ""
            }' "$f" >>"$tmp"
    done
    [ -s "$tmp" ] || { rm -f "$tmp"; die "no 'deb' apt sources found to derive deb-src from"; }
    log "writing $out"
    "${SUDO[@]}" install -m 0644 "$tmp" "$out"
    rm -f "$tmp"
}

if ! have_source openssl "$ossl_ver" || ! have_source cmocka "$cmocka_ver"; then
    # shellcheck disable=SC2016 # $(CREATED_BY) is apt's format, not shell
    src_targets=$(apt-get indextargets --format '$(CREATED_BY)' 'Created-By: Sources' 2>/dev/null || true)
    if [ ! -e /etc/apt/sources.list.d/yubin-src.sources ] && [ -z "$src_targets" ]; then
        add_deb_src
    fi
    apt_update
    for p in openssl cmocka; do
        have_source "$p" "" || die "no source package '$p' available from apt (deb-src missing?)"
    done
fi

# --- fetch and unpack -----------------------------------------------------
# Downloads are verified by apt (signed Sources index); no signature check of
# the .dsc itself is needed afterwards.
dl="$CACHE/mingw/sources"
mkdir -p "$dl"
# fetch_src SRCPKG VERSION: sets SRC_DIR (extracted tree) and SRC_VER.
# The wanted version is the candidate of the binary package (what the key
# says). If the archive cannot deliver it (seen: a superseded security
# upload whose .dsc is already gone from the pool while the index still
# lists it), fall back to the newest other version apt knows, with a
# warning; the version actually built is recorded in $prefix/.complete.
fetch_src() {
    local pkg=$1 want=$2 v upver dsc dir got=""
    local versions
    versions=$( { echo "$want"
                  apt-cache showsrc --only-source "$pkg" 2>/dev/null |
                      awk -v w="$want" '/^Version:/ && $2 != w { print $2 }' | sort -u -V -r
                } )
    for v in $versions; do
        dsc="$dl/${pkg}_${v#*:}.dsc"
        if [ -f "$dsc" ] || (cd "$dl" && apt-get source --download-only "$pkg=$v" \
                >>"$logs/fetch-$pkg.log" 2>&1); then
            got=$v; break
        fi
        log "WARNING: could not download source $pkg=$v (see $logs/fetch-$pkg.log)"
        rm -f "$dsc"
    done
    [ -n "$got" ] || die "no source version of $pkg could be downloaded"
    [ "$got" = "$want" ] || log "WARNING: building $pkg $got instead of $want"
    upver=${got#*:}; upver=${upver%-*}
    dir="$work/$pkg-$upver"
    # dpkg-source -x applies debian/patches (3.0 quilt); see the notes below.
    run_logged "extract-$pkg" dpkg-source --no-check -x "$dsc" "$dir"
    SRC_DIR=$dir SRC_VER=$got
}

fetch_src openssl "$ossl_ver"; ossl_src=$SRC_DIR ossl_built=$SRC_VER
fetch_src cmocka "$cmocka_ver"; cmocka_src=$SRC_DIR cmocka_built=$SRC_VER

# Do not let the host's compiler settings leak into the cross build.
unset CC CXX CPP CFLAGS CXXFLAGS CPPFLAGS LDFLAGS LIBS AR RANLIB RC CROSS_COMPILE \
      PKG_CONFIG_PATH PKG_CONFIG_LIBDIR OPENSSL_CONF MAKEFLAGS MFLAGS

# --- OpenSSL ----------------------------------------------------------------
# Debian's patches ARE applied (dpkg-source -x default): they are packaging
# tweaks (debian-* Configure targets, man sections, system-wide openssl.cnf
# defaults) that do not affect the mingw64 target, plus any security fixes
# backported in a stable update, which we want. Only the libraries and
# headers are built (build_libs / install_dev); no apps, tests or docs.
#
# Disabled: shared libs, tests, engines (deprecated in 3.x; also drops the
# capi engine), the legacy provider (MD4/RC4/DES-based legacy algs; not
# needed for TLS), compression, SSLv3 and weak ciphers, SRP and a few
# obsolete ciphers. Kept: TLS 1.2/1.3, EC incl. X25519/Ed25519, DH, RSA,
# PBKDF2, SHA-2/3, AES-GCM, ChaCha20-Poly1305, the DRBG/RAND (which uses
# BCryptGenRandom on Windows), and the asm code paths.
# --openssldir is only the compiled-in default location of openssl.cnf and
# the CA store; a Windows program must configure CA paths itself.
(
    cd "$ossl_src"
    run_logged openssl-configure ./Configure mingw64 \
        --cross-compile-prefix="$HOST-" \
        --prefix="$prefix" --libdir=lib --openssldir="$prefix/ssl" \
        no-shared no-module no-tests no-engine no-legacy no-comp no-ssl3 \
        no-weak-ssl-ciphers no-srp no-idea no-mdc2 no-rc5 no-seed no-whirlpool \
        no-rmd160 no-camellia no-aria no-sm2 no-sm3 no-sm4 no-gost
    run_logged openssl-build make -j"$JOBS" build_libs
    run_logged openssl-install make install_dev
)
rm -rf "$prefix/ssl"  # empty on install_dev; nothing uses it

# --- CMocka -----------------------------------------------------------------
# Debian's cmocka patches are applied too (doc build tweak + one upstream
# fix, nothing Linux-specific).
# cmocka 1.1.5 options: WITH_STATIC_LIB, WITH_EXAMPLES, UNIT_TESTING,
# WITH_CMOCKERY_SUPPORT, PICKY_DEVELOPER. It has no BUILD_SHARED_LIBS: the
# DLL is always built, and WITH_STATIC_LIB adds libcmocka-static.a.
cmocka_build="$work/cmocka-build"
run_logged cmocka-configure cmake -S "$cmocka_src" -B "$cmocka_build" \
    -DCMAKE_SYSTEM_NAME=Windows \
    -DCMAKE_SYSTEM_PROCESSOR=x86_64 \
    -DCMAKE_C_COMPILER="$HOST-gcc" \
    -DCMAKE_RC_COMPILER="$HOST-windres" \
    -DCMAKE_FIND_ROOT_PATH="/usr/$HOST" \
    -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DWITH_STATIC_LIB=ON \
    -DWITH_EXAMPLES=OFF \
    -DUNIT_TESTING=OFF \
    -DPICKY_DEVELOPER=OFF
run_logged cmocka-build cmake --build "$cmocka_build" -j "$JOBS"
run_logged cmocka-install cmake --install "$cmocka_build"

# Make the static library the only one a consumer can pick up:
#  - drop the DLL and its import library,
#  - libcmocka.a = libcmocka-static.a, so -lcmocka and cmocka.pc link static,
#  - cmocka-config.cmake (1.1.5 has no imported target; it sets
#    CMOCKA_INCLUDE_DIR / CMOCKA_LIBRARY / CMOCKA_LIBRARIES pointing at
#    lib/cmocka.dll.a, an import library it does not even install) is pointed at libcmocka.a and gains a cmocka::cmocka
#    imported target (the name newer cmocka releases export).
rm -f "$prefix"/bin/*cmocka*.dll "$prefix"/lib/*cmocka*.dll.a
rmdir "$prefix/bin" 2>/dev/null || true
cp "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"
cmcfg="$prefix/lib/cmake/cmocka/cmocka-config.cmake"
[ -f "$cmcfg" ] || die "missing $cmcfg"
sed -i 's#/[A-Za-z]*cmocka\.dll\.a#/libcmocka.a#g' "$cmcfg"
grep -q 'libcmocka\.a' "$cmcfg" || die "unexpected $cmcfg layout"
cat >>"$cmcfg" <<'EOF'

# Added by yubin scripts/mingw-deps.sh: static-only mingw build.
if (NOT TARGET cmocka::cmocka)
    add_library(cmocka::cmocka STATIC IMPORTED)
    set_target_properties(cmocka::cmocka PROPERTIES
        IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
endif()
EOF

# --- sanity checks ----------------------------------------------------------
for f in include/openssl/ssl.h include/openssl/evp.h lib/libssl.a lib/libcrypto.a \
         include/cmocka.h lib/libcmocka.a lib/pkgconfig/openssl.pc; do
    [ -f "$prefix/$f" ] || die "missing $prefix/$f after install"
done

[ "${YUBIN_KEEP_BUILD:-0}" = 1 ] || rm -rf "$work"
{
    echo "openssl=$ossl_built (apt candidate $ossl_ver)"
    echo "cmocka=$cmocka_built (apt candidate $cmocka_ver)"
    echo "gcc=$gcc_ver"
    echo "mingw-w64-crt=$crt_ver"
    echo "recipe=$RECIPE"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) in $(( $(date +%s) - t0 ))s"
} >"$prefix/.complete"
log "done in $(( $(date +%s) - t0 ))s"
finish
