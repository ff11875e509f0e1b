# CMake toolchain file: cross-compile yubin for 64-bit Windows with Debian's
# mingw-w64 (x86_64-w64-mingw32), fully static, tests run under wine.
#
#   prefix=$(scripts/mingw-deps.sh | tail -1)
#   cmake -S . -B build-win \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#         -DYUBIN_MINGW_PREFIX="$prefix"
#   cmake --build build-win -j2 && ctest --test-dir build-win --output-on-failure
#
# YUBIN_MINGW_PREFIX (cache variable, or environment variable of the same
# name) is the install prefix made by scripts/mingw-deps.sh: static OpenSSL
# (libssl.a, libcrypto.a) and static CMocka (libcmocka.a, cmocka-config).
#
# Consumers:
#   find_package(OpenSSL REQUIRED)        -> OpenSSL::SSL / OpenSSL::Crypto
#     FindOpenSSL adds ws2_32 (and crypt32) itself for static Windows libs;
#     YUBIN_MINGW_OPENSSL_SYSLIBS (below) lists all system libs needed.
#   find_package(cmocka CONFIG REQUIRED)  -> cmocka::cmocka (added by
#     mingw-deps.sh), or ${CMOCKA_INCLUDE_DIR} / ${CMOCKA_LIBRARIES}
#   add_test() commands run through CMAKE_CROSSCOMPILING_EMULATOR
#     (scripts/wine-run.sh), so ctest works unchanged.

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(YUBIN_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER   ${YUBIN_MINGW_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${YUBIN_MINGW_TRIPLET}-g++)
set(CMAKE_RC_COMPILER  ${YUBIN_MINGW_TRIPLET}-windres)

# --- dependency prefix ------------------------------------------------------
# try_compile() projects re-read this file without the main project's cache,
# so the value is also passed on through the environment and
# CMAKE_TRY_COMPILE_PLATFORM_VARIABLES.
if(NOT YUBIN_MINGW_PREFIX AND DEFINED ENV{YUBIN_MINGW_PREFIX})
  set(YUBIN_MINGW_PREFIX "$ENV{YUBIN_MINGW_PREFIX}")
endif()
set(YUBIN_MINGW_PREFIX "${YUBIN_MINGW_PREFIX}" CACHE PATH
    "Prefix with static mingw OpenSSL/CMocka (output of scripts/mingw-deps.sh)")
if(YUBIN_MINGW_PREFIX)
  set(ENV{YUBIN_MINGW_PREFIX} "${YUBIN_MINGW_PREFIX}")
  if(NOT EXISTS "${YUBIN_MINGW_PREFIX}/.complete")
    message(WARNING "YUBIN_MINGW_PREFIX=${YUBIN_MINGW_PREFIX} is not a complete "
                    "scripts/mingw-deps.sh prefix")
  endif()
elseif(NOT CMAKE_IN_TRY_COMPILE)
  message(WARNING "YUBIN_MINGW_PREFIX is not set: OpenSSL/CMocka for mingw "
                  "will not be found. Run: prefix=$(scripts/mingw-deps.sh | tail -1) "
                  "and configure with -DYUBIN_MINGW_PREFIX=\"$prefix\"")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES YUBIN_MINGW_PREFIX)

# --- search paths -------------------------------------------------------------
set(CMAKE_FIND_ROOT_PATH /usr/${YUBIN_MINGW_TRIPLET} ${YUBIN_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
if(YUBIN_MINGW_PREFIX)
  list(APPEND CMAKE_PREFIX_PATH "${YUBIN_MINGW_PREFIX}")
  # pkg-config (if used) must only see the mingw prefix, never the host's .pc.
  set(ENV{PKG_CONFIG_LIBDIR} "${YUBIN_MINGW_PREFIX}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
endif()

# --- static OpenSSL -----------------------------------------------------------
# Plain variables (not cache entries), so they follow YUBIN_MINGW_PREFIX.
# FindOpenSSL caches what it found (OPENSSL_*_LIBRARY): configure a fresh
# build directory when the prefix changes.
if(YUBIN_MINGW_PREFIX)
  set(OPENSSL_ROOT_DIR "${YUBIN_MINGW_PREFIX}")
endif()
set(OPENSSL_USE_STATIC_LIBS TRUE)
# Windows import libraries the static libcrypto/libssl of mingw-deps.sh need,
# verified by linking and by `nm -u` against the mingw import libraries:
#   ws2_32    sockets (BIO, getaddrinfo)        - FindOpenSSL adds it
#   advapi32  CryptGenRandom (RAND seeding), event log
#   user32    GetProcessWindowStation, MessageBoxW
# advapi32 and user32 are on gcc's and CMake's default mingw link line
# anyway. crypt32 (FindOpenSSL adds it; only the disabled capi engine uses
# it) and bcrypt (OpenSSL 3.0 uses BCryptGenRandom only with MSVC) are not
# needed. For a plain link line:  -lssl -lcrypto -lws2_32 -ladvapi32 -luser32
#   target_link_libraries(app PRIVATE OpenSSL::SSL ${YUBIN_MINGW_OPENSSL_SYSLIBS})
set(YUBIN_MINGW_OPENSSL_SYSLIBS ws2_32 advapi32 user32)

# --- static executables -------------------------------------------------------
# No libgcc_s / libwinpthread / libssl DLLs next to the .exe: only Windows
# system DLLs (KERNEL32, msvcrt, WS2_32, ...) remain.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static-libgcc")

# --- running the test programs ----------------------------------------------
get_filename_component(_yubin_wine_run
  "${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-run.sh" ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR "${_yubin_wine_run}" CACHE FILEPATH
    "Runs Windows test programs under wine")
unset(_yubin_wine_run)
