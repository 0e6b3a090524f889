/* compat.h -- the few spellings that differ between C11 and C++ (internal).
 *
 * The library is C11, and every library source also compiles as C++ (11 to
 * 20, g++ and clang++: `make test-cxx`), so that the single-header build
 * (INTERFORMER_IMPLEMENTATION) works in a C++ file too. The code stays the
 * common subset of the two languages; what has no common spelling is here,
 * once. It lives in kernels/, the lowest layer, as every layer uses it
 * (tests/test_layers.py: kernels/ include nothing above them).
 *
 *   IF_STATIC_ASSERT(cond, msg)  _Static_assert in C, static_assert in C++
 *   IF_RESTRICT                  restrict in C, __restrict in C++
 *   IF_THREAD_LOCAL              _Thread_local in C, thread_local in C++
 *   IF_ZERO_INIT                 a struct's initializer that zeroes it: {0}
 *                                in C, {} in C++ (where {0} warns of the
 *                                members it leaves out); then assign the
 *                                members that are not zero (C++ before 20
 *                                has no designated initializers)
 *   IF_ATOMIC(T)                 _Atomic(T) in C, std::atomic<T> in C++,
 *                                with the operations the library uses:
 *   if_atomic_load / _store / _fetch_add / _fetch_sub (sequentially
 *   consistent) and if_atomic_load_explicit / _fetch_add_explicit /
 *   _fetch_sub_explicit with IF_MO_ACQUIRE, IF_MO_RELEASE, IF_MO_ACQ_REL
 *   (<stdatomic.h> in C, unless the compiler has no C11 atomics; <atomic>
 *   in C++, which has no <stdatomic.h> before C++23). */
#ifndef IF_KERNELS_COMPAT_H
#define IF_KERNELS_COMPAT_H

/* Loop unrolling, spelled for each compiler. IF_UNROLL_FULL: before a loop
 * with a constant trip count of at most 16 whose arrays must live in
 * registers (a micro-kernel's accumulators). clang reads "GCC unroll 16"
 * as "by 16", not "fully", and left the 6x16 AVX2 tile's accumulators on
 * the stack: half the speed of gcc's build. IF_UNROLL(n): unroll by n. */
#define IF_PRAGMA(x) _Pragma(#x)
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
/* Sanitizer builds check correctness, which unrolling does not change; the
 * 14x32 AVX-512 tile unrolled under ASan took clang a minute to compile. */
#define IF__NO_UNROLL 1
#endif
#endif
#if defined(IF__NO_UNROLL)
#define IF_UNROLL_FULL
#define IF_UNROLL(n)
#elif defined(__clang__)
#define IF_UNROLL_FULL IF_PRAGMA(clang loop unroll(full))
#define IF_UNROLL(n)   IF_PRAGMA(clang loop unroll_count(n))
#elif defined(__GNUC__)
#define IF_UNROLL_FULL IF_PRAGMA(GCC unroll 16)
#define IF_UNROLL(n)   IF_PRAGMA(GCC unroll n)
#else
#define IF_UNROLL_FULL
#define IF_UNROLL(n)
#endif

#ifdef __cplusplus
#define IF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define IF_RESTRICT                 __restrict
#define IF_THREAD_LOCAL             thread_local
#define IF_ZERO_INIT                                                                               \
    {}
#else
#define IF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define IF_RESTRICT                 restrict
#define IF_THREAD_LOCAL             _Thread_local
#define IF_ZERO_INIT                                                                               \
    { 0 }
#endif

#ifdef __cplusplus
#include <atomic>
#define IF_ATOMIC(T)                           std::atomic<T>
#define IF_MO_ACQUIRE                          std::memory_order_acquire
#define IF_MO_RELEASE                          std::memory_order_release
#define IF_MO_ACQ_REL                          std::memory_order_acq_rel
#define if_atomic_load(p)                      std::atomic_load(p)
#define if_atomic_store(p, v)                  std::atomic_store((p), (v))
#define if_atomic_fetch_add(p, v)              std::atomic_fetch_add((p), (v))
#define if_atomic_fetch_sub(p, v)              std::atomic_fetch_sub((p), (v))
#define if_atomic_load_explicit(p, mo)         std::atomic_load_explicit((p), (mo))
#define if_atomic_fetch_add_explicit(p, v, mo) std::atomic_fetch_add_explicit((p), (v), (mo))
#define if_atomic_fetch_sub_explicit(p, v, mo) std::atomic_fetch_sub_explicit((p), (v), (mo))
#elif !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#define IF_ATOMIC(T)                           _Atomic(T)
#define IF_MO_ACQUIRE                          memory_order_acquire
#define IF_MO_RELEASE                          memory_order_release
#define IF_MO_ACQ_REL                          memory_order_acq_rel
#define if_atomic_load(p)                      atomic_load(p)
#define if_atomic_store(p, v)                  atomic_store((p), (v))
#define if_atomic_fetch_add(p, v)              atomic_fetch_add((p), (v))
#define if_atomic_fetch_sub(p, v)              atomic_fetch_sub((p), (v))
#define if_atomic_load_explicit(p, mo)         atomic_load_explicit((p), (mo))
#define if_atomic_fetch_add_explicit(p, v, mo) atomic_fetch_add_explicit((p), (v), (mo))
#define if_atomic_fetch_sub_explicit(p, v, mo) atomic_fetch_sub_explicit((p), (v), (mo))
#endif

#endif /* IF_KERNELS_COMPAT_H */
