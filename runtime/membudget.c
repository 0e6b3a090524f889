/* membudget.c -- the memory budget of one call.
 *
 * Linux overcommits: a 21 GB malloc on a 24 GB machine succeeds, and so do
 * the next blocks, until the pages are touched and the OOM killer ends the
 * process. So every call that allocates by the image size adds up what it
 * is about to allocate, compares the total with a budget before the first
 * block, and refuses with IF_ERR_NO_MEMORY and the figures instead.
 *
 * The automatic budget is what the machine can give now, not its physical
 * size: MemAvailable (free memory plus the page cache and other memory the
 * kernel can reclaim, its own estimate of what can be handed out without
 * swapping) plus SwapFree. A request over physical memory is over that too,
 * and a request under physical memory but over what is available is the one
 * that gets this process (or another one) killed, which is what the budget
 * is for. The price is that the answer depends on what else runs; a caller
 * who wants a fixed answer sets if_options.mem_limit. Containers: a cgroup
 * memory limit caps it, since the OOM killer acts at that limit, not at the
 * host's. On Windows (platform/platform.c) the figures are
 * GlobalMemoryStatusEx's commit charge still available (physical memory
 * and page file: Windows does not overcommit, an allocation over it fails)
 * and a job object's memory limit. Where neither exists the physical memory is the
 * budget; where that is unknown too there is no automatic budget (only an
 * explicit limit applies).
 *
 * The automatic figure keeps 1/8 back. A call counts its big blocks, not
 * the thread stacks, plan tables and page tables that come with them, nor
 * the code pages that MemAvailable counts as reclaimable but the process
 * keeps needing; and MemAvailable is a snapshot taken when the call starts,
 * while an encode of a large image runs for minutes, in which the rest of
 * the machine keeps allocating. A call that takes the last byte the kernel
 * can reclaim would thrash or be killed all the same. An explicit limit is
 * used as given. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "runtime/runtime.h"

uint64_t rt_mem_budget(size_t limit, const char **source) {
    const char *src = "if_options.mem_limit";
    uint64_t b = limit;
    if (!limit) {
        src = "7/8 of the memory available now";
        b = ifp_mem_available();
        if (!b) {
            src = "7/8 of the physical memory";
            b = ifp_mem_physical();
        }
        const char *what = "cgroup";
        uint64_t cg = ifp_mem_limit(&what);
        if (cg && (!b || cg < b)) {
            src = strcmp(what, "cgroup") ? "7/8 of the job object memory limit"
                                         : "7/8 of the cgroup memory limit";
            b = cg;
        }
        b -= b / 8;
    }
    if (source) *source = b ? src : "none";
    return b;
}

/* "21.0 GB", "350.2 MB", "12.0 kB", "800 bytes": decimal units (1 GB =
 * 10^9 bytes), so a reader can compare them with a mem_limit in bytes by
 * counting digits. */
static void fmt_bytes(char *dst, size_t cap, uint64_t n) {
    if (n >= 1000000000u)
        snprintf(dst, cap, "%.1f GB", (double)n / 1e9);
    else if (n >= 1000000u)
        snprintf(dst, cap, "%.1f MB", (double)n / 1e6);
    else if (n >= 1000u)
        snprintf(dst, cap, "%.1f kB", (double)n / 1e3);
    else
        snprintf(dst, cap, "%llu bytes", (unsigned long long)n);
}

if_status rt_mem_check(size_t limit, int has_option, const rt_mem_part *parts, int n, char *err,
                       size_t cap, const char *fmt, ...) {
    uint64_t need = 0;
    for (int i = 0; i < n; i++) /* saturating: the parts may come from absurd sizes */
        need = parts[i].bytes > UINT64_MAX - need ? UINT64_MAX : need + parts[i].bytes;
    const char *src;
    uint64_t budget = rt_mem_budget(limit, &src);
    /* Past SIZE_MAX (a 32-bit build) the sizes themselves would wrap. */
    int over_budget = budget && need > budget;
    if (!over_budget && need <= (uint64_t)SIZE_MAX) return IF_OK;
    if (!err || !cap) return IF_ERR_NO_MEMORY;
    char msg[RT_ERR_CAP], num[32];
    size_t len = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    len = strlen(msg);
    fmt_bytes(num, sizeof num, need);
    len += (size_t)snprintf(msg + len, sizeof msg - len, " needs %s (", num);
    for (int i = 0, first = 1; i < n && len < sizeof msg; i++) {
        if (!parts[i].bytes) continue;
        fmt_bytes(num, sizeof num, parts[i].bytes);
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s %s", first ? "" : ", ",
                                parts[i].what, num);
        first = 0;
    }
    if (len < sizeof msg) {
        if (over_budget) {
            fmt_bytes(num, sizeof num, budget);
            snprintf(msg + len, sizeof msg - len, "); the budget is %s (%s%s)", num, src,
                     has_option && !limit ? "; if_options.mem_limit sets another" : "");
        } else {
            snprintf(msg + len, sizeof msg - len, "), more than this platform can address");
        }
    }
    snprintf(err, cap, "%s", msg);
    return IF_ERR_NO_MEMORY;
}
