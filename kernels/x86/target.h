/* target.h -- the instruction set of the x86 kernels, set in the code
 * (internal to kernels/x86/).
 *
 * No file needs -m flags: the functions defined between a BEGIN and
 * IFK_TARGET_END are compiled for that instruction set, everything else for
 * the build's baseline (x86-64), and kernels/dispatch.c calls them only on
 * CPUs that have it. So the library's build and the single header
 * (dist/interformer.h, where every file is one translation unit) are one
 * code path; `cc app.c` gets the AVX2 and AVX-512 kernels.
 *
 *   IFK_TARGET_AVX2_BEGIN    AVX2 + FMA + F16C          (files *_avx2.c, vmath_avx2.h)
 *   IFK_TARGET_AVX512_BEGIN  AVX-512F on top of that    (files *_avx512.c, vmath_avx512.h)
 *
 * F16C (half <-> float conversion, kernels/x86/f16_avx2.c) came with Ivy
 * Bridge and Piledriver, before AVX2: every AVX2 CPU has it, and
 * kernels/dispatch.c checks its cpuid bit all the same.
 *   IFK_TARGET_END           back to the baseline
 *
 * gcc: #pragma GCC push_options / target / pop_options (its <immintrin.h>
 * declares every intrinsic whatever the flags). clang: #pragma clang
 * attribute push(target(...), apply_to = function), which marks every
 * function defined in the region, static inline helpers included. Both are
 * valid in C and C++. Regions do not nest: include the headers before
 * BEGIN (a header with target code, vmath_*.h, opens its own region), and
 * put only the file's own code and the kernel templates (ukernel_*.h,
 * winograd_tx.h) inside. MSVC needs nothing (its intrinsics need no flags). */
#ifndef IF_KERNELS_X86_TARGET_H
#define IF_KERNELS_X86_TARGET_H

/* A _Pragma takes one string literal: kept unsplit. */
/* clang-format off */
#if defined(__clang__)
#define IFK_TARGET_AVX2_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c\"))), apply_to = function)")
#define IFK_TARGET_AVX512_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx2,fma,f16c\"))), apply_to = function)")
#define IFK_TARGET_END _Pragma("clang attribute pop")
#elif defined(__GNUC__)
/* g++ before 13 warns, at -O1 and up, of the self-initialised variable
 * (__Y = __Y) of _mm512_undefined_ps() in every AVX-512 intrinsic that
 * uses it (GCC bug 105593; C++'s -Wall has -Winit-self): not ours to fix,
 * so not warned of in the AVX-512 regions of a C++ build (C builds keep
 * the warning). Each BEGIN pushes the diagnostic state, END pops it. */
#if defined(__cplusplus) && __GNUC__ < 13
#define IFK_TARGET_NO_INIT_SELF_                                                                   \
    _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                                          \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#else
#define IFK_TARGET_NO_INIT_SELF_
#endif
#define IFK_TARGET_AVX2_BEGIN                                                                      \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,f16c\")") _Pragma("GCC diagnostic push")
#define IFK_TARGET_AVX512_BEGIN                                                                    \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx2,fma,f16c\")")                        \
        _Pragma("GCC diagnostic push") IFK_TARGET_NO_INIT_SELF_
#define IFK_TARGET_END _Pragma("GCC diagnostic pop") _Pragma("GCC pop_options")
#else
#define IFK_TARGET_AVX2_BEGIN
#define IFK_TARGET_AVX512_BEGIN
#define IFK_TARGET_END
#endif
/* clang-format on */

#endif
