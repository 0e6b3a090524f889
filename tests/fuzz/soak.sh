#!/bin/sh
# tests/fuzz/soak.sh -- a long fuzzing run, one harness at a time (the
# machine's cores are shared), for the README's "Fuzzing" figures:
#
#   make BUILD=build-fz fuzz-build
#   sh tests/fuzz/soak.sh build-fz-fuzz "ifg:900 iff:420 npy:120 image:300 mask:420"
#
# Each harness HARNESS:SECONDS runs on FUZZ_BUILD/soak/HARNESS (kept, so a
# second soak continues the first), seeded from tests/fuzz/corpus/HARNESS;
# the binaries are copied to FUZZ_BUILD/soak/bin first, so rebuilding during
# a soak does not change what runs. Logs: FUZZ_BUILD/soak/HARNESS.log (the
# figures are libFuzzer's final stats at its end); inputs that crash, hang
# or blow the memory limits: FUZZ_BUILD/soak/crash-HARNESS-*.
set -u
B=${1:?usage: soak.sh FUZZ_BUILD "harness:seconds ..."}
S=$B/soak
mkdir -p "$S/bin"
cp "$B"/fuzz_* "$S/bin/"
for spec in ${2:?usage: soak.sh FUZZ_BUILD "harness:seconds ..."}; do
    h=${spec%%:*}
    t=${spec#*:}
    mkdir -p "$S/$h"
    # As in the Makefile: stb_image's transient PNG buffer may exceed the RSS limit.
    case $h in image | mask) extra=-malloc_limit_mb=4096 ;; *) extra= ;; esac
    echo "== $h $t s $(date -u +%T)"
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$S/bin/fuzz_$h" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $extra -max_total_time="$t" \
        -artifact_prefix="$S/crash-$h-" "$S/$h" "tests/fuzz/corpus/$h" > "$S/$h.log" 2>&1
    echo "   exit $? $(date -u +%T): $(grep -h 'stat::number_of_executed_units' "$S/$h.log")"
done
