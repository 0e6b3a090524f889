#!/bin/sh
# test_single_header.sh -- dist/interformer.h as a user gets it (`make
# test-single-header`, which first regenerates it from the sources).
#
#   tests/test_single_header.sh OUTDIR LIBRARY.a
#
# tests/single_header_app.c (encode a synthetic image, six clicks) built
# on dist/interformer.h alone (-I dist, no -m flag, no -D but the app's):
#   - gcc and clang, C11 with -pedantic -Wall -Wextra -Werror, and plain `cc -O2`
#     (GNU C: the compiler's own floating-point defaults);
#   - SH_CXX="g++ clang++" (when set): C++11, 17 and 20 too;
#   - nm: the API (if_*) and main are its only global symbols; main alone
#     with INTERFORMER_STATIC;
#   - system headers first, in ISO C mode (the implementation then asks
#     glibc for POSIX again);
#   - INTERFORMER_MALLOC / INTERFORMER_FREE (tests/counting_alloc.c): no
#     libc allocator left in the object (nm), every block given back;
#   - run: every build's masks equal, byte for byte, those of the same
#     program linked with the library; it runs the kernels the library
#     chooses ("isa avx2" on an AVX2 machine); each C compiler's median time per click
#     is at most 1.4 times the library's (the best of five runs each,
#     interleaved).
set -e
out=$1
lib=$2
app=tests/single_header_app.c
model="models/demo.encoder.ifg models/demo.decoder.ifg"
mkdir -p "$out"
rm -f "$out"/out-* "$out"/mask-* # a build that fails to run must not pass on an old run's output
: "${SH_CC:=gcc clang}"
: "${SH_CXX:=}"

warn="-Wall -Wextra -Werror"
for cc in $SH_CC; do
    echo "== $cc -std=c11 -pedantic $warn -O2 -I dist"
    $cc -std=c11 -pedantic $warn -O2 -Idist -DSINGLE_HEADER $app -o "$out/app-$cc" -lm -lpthread
    echo "== $cc -O2 -I dist"
    $cc -O2 -Idist -DSINGLE_HEADER $app -o "$out/app-$cc-gnu" -lm -lpthread
    for mode in api static; do
        def=; [ $mode = api ] || def=-DINTERFORMER_STATIC
        $cc -std=c11 $warn -O2 -Idist -DSINGLE_HEADER $def -c $app -o "$out/app-$cc-$mode.o"
        other=$(nm -g --defined-only "$out/app-$cc-$mode.o" | awk '{print $3}' | grep -v '^main$' |
            { if [ $mode = api ]; then grep -v '^if_[a-z]'; else cat; fi; } || true)
        if [ -n "$other" ]; then
            echo "nm $cc ($mode): global symbols beyond the API:" $other
            exit 1
        fi
        echo "nm $cc ($mode): $(nm -g --defined-only "$out/app-$cc-$mode.o" | wc -l) global symbols" \
            "($(nm -g --defined-only "$out/app-$cc-$mode.o" | grep -c ' if_[a-z]' || true) of them if_*)," \
            "$(nm --defined-only "$out/app-$cc-$mode.o" | grep -c ' [tT] ') functions"
    done
done
for cxx in $SH_CXX; do
    for std in c++11 c++17 c++20; do
        echo "== $cxx -std=$std $warn -O2 -I dist"
        $cxx -x c++ -std=$std $warn -O2 -Idist -DSINGLE_HEADER $app -o "$out/app-$cxx-$std" -lm -lpthread
    done
done

# system headers before the implementation (the usual order in a program):
# glibc has then fixed its feature set, in ISO C mode without POSIX; the
# implementation must still build, with the POSIX it needs (every POSIX and
# C header it includes comes first here)
cat >"$out/order.c" <<'EOF_ORDER'
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#ifndef __cplusplus /* C's atomics: C++ has <atomic> (which the implementation includes) */
#include <stdatomic.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#define INTERFORMER_IMPLEMENTATION
#include "interformer.h"
int main(void) { return if_status_str(IF_OK) == NULL; }
EOF_ORDER
for cc in $SH_CC; do
    for def in "" -D_POSIX_C_SOURCE=200809L; do
        echo "== $cc -std=c11 $def $warn: system headers first"
        $cc -std=c11 $def $warn -O1 -Idist "$out/order.c" -o "$out/order" -lm -lpthread
        "$out/order"
    done
done
for cxx in $SH_CXX; do
    echo "== $cxx -std=c++17 $warn: system headers first"
    $cxx -x c++ -std=c++17 $warn -O1 -Idist "$out/order.c" -o "$out/order" -lm -lpthread
done

# the allocator knob: with INTERFORMER_MALLOC / INTERFORMER_FREE defined, the
# implementation calls no allocator of libc's (nm), and every block it
# allocates goes back (checked after the run, below)
alloc_cc=${SH_CC%% *}
echo "== $alloc_cc -DAPP_ALLOCATOR (INTERFORMER_MALLOC, INTERFORMER_FREE)"
$alloc_cc -std=c11 $warn -O2 -Idist -DSINGLE_HEADER -DAPP_ALLOCATOR -c $app -o "$out/app-alloc.o"
libc=$(nm -u "$out/app-alloc.o" | awk '{print $2}' |
    grep -E '^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|strdup|strndup)$' || true)
if [ -n "$libc" ]; then
    echo "with INTERFORMER_MALLOC / INTERFORMER_FREE defined, the implementation still calls:" $libc
    exit 1
fi
$alloc_cc -std=c11 $warn -O2 "$out/app-alloc.o" tests/counting_alloc.c -o "$out/app-$alloc_cc-alloc" -lm -lpthread

# the library's build of the same program, and the runs
builds=$(cd "$out" && ls app-* | grep -v '\.o$')
ms() { sed -n 's/^ms_per_click //p' "$1"; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }'; }
t_lib=
for rep in 1 2 3 4 5; do
    "$out/lib-app" $model "$out/mask-lib" >"$out/out-lib"
    t_lib=$(min "$(ms "$out/out-lib")" "$t_lib")
    for cc in $SH_CC; do
        "$out/app-$cc" $model "$out/mask-app-$cc" >"$out/out-app-$cc"
        eval "t_$cc=\$(min \"\$(ms \"\$out/out-app-\$cc\")\" \"\${t_$cc:-}\")"
    done
done
isa=$(sed -n 's/^isa //p' "$out/out-lib")
for b in $builds; do
    [ -f "$out/out-$b" ] || "$out/$b" $model "$out/mask-$b" >"$out/out-$b"
    cmp "$out/mask-lib" "$out/mask-$b"
    got=$(sed -n 's/^isa //p' "$out/out-$b")
    if [ "$got" != "$isa" ]; then
        echo "$b runs the $got kernels, the library $isa"
        exit 1
    fi
    echo "$b: masks equal the library's, kernels $got, $(ms "$out/out-$b") ms per click"
done
alloc=$(sed -n 's/^allocator //p' "$out/out-app-$alloc_cc-alloc")
echo "app-$alloc_cc-alloc: through INTERFORMER_MALLOC / INTERFORMER_FREE: $alloc (bytes)"
echo "$alloc" | awk '{ exit !($2 > 0 && $4 == 0 && $6 > 0) }' || {
    echo "the allocator knob: expected blocks allocated through it and none left (live 0)"
    exit 1
}
for cc in $SH_CC; do
    eval "t_one=\$t_$cc"
    ratio=$(awk -v a="$t_one" -v b="$t_lib" 'BEGIN { printf "%.2f", a / b }')
    echo "ms per click (best of 5 medians): library $t_lib, single header ($cc) $t_one: ${ratio}x"
    awk -v r="$ratio" 'BEGIN { exit !(r <= 1.4) }' || {
        echo "the single header built by $cc is over 1.4x the library's time per click"
        exit 1
    }
done
[ -n "$SH_CXX" ] || echo "C++: not checked (SH_CXX is empty: the sources are not C++ yet)"
echo "test-single-header: dist/interformer.h builds alone (C: $SH_CC${SH_CXX:+; C++: $SH_CXX}), exports only the API, and gives the library's masks"
