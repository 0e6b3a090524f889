#!/usr/bin/env bash
# test_install.sh -- `make install` into temporary prefixes, then use the
# installed files the way a user would: run by `make test-install` (which
# builds the library, the CLI and the default model first).
#
#   1. install with PREFIX=<tmp>/usr, and with DESTDIR=<tmp>/stage PREFIX=/opt/...:
#      the expected files, symlinks, soname, pkg-config file, exported symbols;
#   2. tests/cpp/static_link.cpp: g++ -std=c++17, fully static link through
#      `pkg-config --static --cflags --libs interformer`, run on the
#      installed default model;
#   3. tests/cpp/shared_link.c: cc -std=c11 against the shared library
#      through `pkg-config --cflags --libs interformer`;
#   4. the installed CLI finds its installed default model.
#
# Environment: MAKE, CC, CXX (defaults make, cc, g++). Exit status 0 when
# everything passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
MAKE=${MAKE:-make}
CC=${CC:-cc}
CXX=${CXX:-g++}
tmp=$(mktemp -d /tmp/interformer-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
step() { echo "== test-install: $*"; }

command -v pkg-config >/dev/null || fail "pkg-config not found (apt-get install pkg-config)"

step "make install PREFIX=$tmp/usr"
"$MAKE" --no-print-directory install PREFIX="$tmp/usr" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "make install"; }
P=$tmp/usr
for f in include/interformer.h lib/libinterformer.a lib/libinterformer.so.0.1.0 \
         lib/pkgconfig/interformer.pc bin/interformer \
         share/interformer/models/default.encoder.ifg share/interformer/models/default.decoder.ifg; do
    [ -f "$P/$f" ] || fail "$f not installed"
done
[ "$(readlink "$P/lib/libinterformer.so")" = libinterformer.so.0 ] || fail "libinterformer.so -> libinterformer.so.0"
[ "$(readlink "$P/lib/libinterformer.so.0")" = libinterformer.so.0.1.0 ] || fail "libinterformer.so.0 -> libinterformer.so.0.1.0"
readelf -d "$P/lib/libinterformer.so.0.1.0" | grep -q 'SONAME.*\[libinterformer\.so\.0\]' || fail "soname"

step "exported symbols = the functions of interformer.h"
grep -o '\bif_[a-z0-9_]*(' interformer.h | tr -d '(' | sort -u >"$tmp/api.txt"
nm -D --defined-only "$P/lib/libinterformer.so" | awk '{print $3}' | grep -v '^$' | sort -u >"$tmp/exported.txt"
diff -u "$tmp/api.txt" "$tmp/exported.txt" >"$tmp/sym.diff" ||
    { cat "$tmp/sym.diff" >&2; fail "the shared library's exports differ from interformer.h (- header only, + exported only)"; }

step "make install DESTDIR=$tmp/stage PREFIX=/opt/interformer"
"$MAKE" --no-print-directory install DESTDIR="$tmp/stage" PREFIX=/opt/interformer >"$tmp/stage.log" 2>&1 ||
    { cat "$tmp/stage.log" >&2; fail "make install DESTDIR"; }
S=$tmp/stage/opt/interformer
for f in include/interformer.h lib/libinterformer.a lib/libinterformer.so lib/pkgconfig/interformer.pc \
         bin/interformer share/interformer/models/default.decoder.ifg; do
    [ -e "$S/$f" ] || fail "DESTDIR: $f not staged"
done
grep -q '^prefix=/opt/interformer$' "$S/lib/pkgconfig/interformer.pc" || fail "DESTDIR leaked into the .pc file"
"$S/bin/interformer" --help | grep -q '/opt/interformer/share/interformer/models/default' ||
    fail "the staged CLI's default model is not under /opt/interformer"

export PKG_CONFIG_PATH=$P/lib/pkgconfig
unset PKG_CONFIG_LIBDIR || true
[ "$(pkg-config --modversion interformer)" = 0.1.0 ] || fail "pkg-config --modversion"
pkg-config --static --libs interformer | grep -q -- '-lm' || fail "Libs.private lacks -lm"
M=$P/share/interformer/models/default

step "C++17, static: $CXX -static \$(pkg-config --static --cflags --libs interformer)"
cd "$tmp"   # nothing from the source tree on the include path
# shellcheck disable=SC2046
"$CXX" -std=c++17 -Wall -Wextra -Werror -O1 "$SRC/tests/cpp/static_link.cpp" -o static_link \
    -static $(pkg-config --static --cflags --libs interformer)
if readelf -d static_link 2>/dev/null | grep -q NEEDED; then
    readelf -d static_link | grep NEEDED >&2
    fail "static_link is not statically linked"
fi
./static_link "$M.encoder.ifg" "$M.decoder.ifg"

step "C11, shared: $CC \$(pkg-config --cflags --libs interformer)"
# shellcheck disable=SC2046
"$CC" -std=c11 -Wall -Wextra -Werror -O1 "$SRC/tests/cpp/shared_link.c" -o shared_link \
    $(pkg-config --cflags --libs interformer) -Wl,-rpath,"$P/lib"
readelf -d shared_link | grep -q 'NEEDED.*\[libinterformer\.so\.0\]' || fail "shared_link does not use libinterformer.so.0"
./shared_link "$M.decoder.ifg"

step "installed CLI on its installed default model"
env -u IF_MODEL "$P/bin/interformer" --help | grep -q "$M" || fail "installed CLI: default model path"
env -u IF_MODEL "$P/bin/interformer" segment "$SRC/examples/data/shapes.png" \
    --click 100,120,+ --click 235,79,- -o "$tmp/mask.png" --overlay "$tmp/overlay.png"
[ -s "$tmp/mask.png" ] || fail "installed CLI wrote no mask"
[ -s "$tmp/overlay.png" ] || fail "installed CLI wrote no overlay"
env -u IF_MODEL "$P/bin/interformer" info "$M.encoder.ifg" >/dev/null

step "make uninstall"
cd "$SRC"
"$MAKE" --no-print-directory uninstall PREFIX="$P" >/dev/null
left=$(find "$P" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "test-install: pass"
