#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test job and
# prints one closing line "N passed, N failed".
#
#   1. native build (gcc, -Werror) and its ctest suite
#   2. ASan+UBSan build (clang, -Werror) and the same suite
#   3. the source check (banned functions, OS headers/macros outside src/platform)
#   4. Windows: cross-compiled with mingw-w64 against OpenSSL and CMocka built
#      from Debian's source packages (cached by scripts/mingw-deps.sh), the
#      same suite run under wine
#
# Build trees go to build/ in the clone; caches to ${YUBIN_CACHE:-~/.cache/yubin}.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
mkdir -p build

passed=0
failed=0
failures=()

step() { printf '\n=== %s (%ss)\n' "$*" $(($(date +%s) - start)); }

# Runs ctest in a build dir and adds its counts to the totals.
run_ctest() { # job-name build-dir
    local name=$1 dir=$2 log="$2/ctest.log"
    (cd "$dir" && ctest --output-on-failure --timeout 300 -j"$jobs") 2>&1 | tee "$log"
    local line total nfail
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    if [[ -z "$line" ]]; then
        echo "test.sh: $name: ctest printed no summary" >&2
        failed=$((failed + 1))
        failures+=("$name: no ctest summary")
        return
    fi
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    total=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    passed=$((passed + total - nfail))
    failed=$((failed + nfail))
    [[ $nfail -gt 0 ]] && failures+=("$name: $nfail of $total failed")
    return 0
}

build_failed() { # job-name
    failed=$((failed + 1))
    failures+=("$1: build failed")
}

step "dependencies"
if ! scripts/deps.sh --test; then
    echo "test.sh: installing dependencies failed" >&2
    exit 1
fi

step "native build (gcc)"
if cmake -S . -B build/native -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYUBIN_WERROR=ON -DCMAKE_C_COMPILER=gcc >build/native.configure.log 2>&1 ||
    { cat build/native.configure.log; false; }; then
    if cmake --build build/native -j"$jobs"; then
        step "native tests"
        run_ctest native build/native
    else
        build_failed native
    fi
else
    build_failed native
fi

step "ASan+UBSan build (clang)"
mkdir -p build
if cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DYUBIN_SANITIZE=ON -DYUBIN_WERROR=ON -DCMAKE_C_COMPILER=clang >build/sanitize.configure.log 2>&1 ||
    { cat build/sanitize.configure.log; false; }; then
    if cmake --build build/sanitize -j"$jobs"; then
        step "sanitizer tests"
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        run_ctest sanitize build/sanitize
        unset ASAN_OPTIONS UBSAN_OPTIONS
    else
        build_failed sanitize
    fi
else
    build_failed sanitize
fi

step "source check"
if scripts/check-source.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    failures+=("source check")
fi

step "Windows build (mingw-w64) and tests under wine"
if prefix=$(scripts/mingw-deps.sh | tail -1) && [[ -n "$prefix" && -f "$prefix/.complete" ]]; then
    if cmake -S . -B build/win -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
        -DYUBIN_MINGW_PREFIX="$prefix" -DYUBIN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/win.configure.log 2>&1 ||
        { cat build/win.configure.log; false; }; then
        if cmake --build build/win -j"$jobs"; then
            scripts/wine-run.sh --init
            run_ctest windows build/win
            step "Windows service under wine (SCM install/start/stop/remove)"
            if timeout 300 tests/service/test_service_wine.sh build/win/service_probe.exe; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                failures+=("windows service (wine)")
            fi
            step "yubind.exe as a Windows service under wine"
            if timeout 300 tests/service/test_yubind_service_wine.sh build/win/yubind.exe; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                failures+=("yubind service (wine)")
            fi
            step "Windows engine smoke test: echo_server.exe under wine, Linux clients"
            if ECHO_SERVER="$top/scripts/wine-run.sh $top/build/win/yb_echo_server.exe" \
                timeout 600 python3 tests/integration/test_engine.py -v WineSmoke; then
                passed=$((passed + 1))
            else
                failed=$((failed + 1))
                failures+=("windows engine smoke test (wine)")
            fi
        else
            build_failed windows
        fi
    else
        build_failed windows
    fi
else
    echo "test.sh: building the mingw dependencies failed" >&2
    build_failed windows-deps
fi

# wine's server would otherwise linger for YUBIN_WINE_PERSIST seconds after the run.
scripts/wine-run.sh --stop >/dev/null 2>&1 || true

step "done"
for f in "${failures[@]+"${failures[@]}"}"; do
    echo "FAILED: $f"
done
echo "total time: $(($(date +%s) - start))s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
