/* test_isa_tables -- every instruction set's table of this build
 * (kernels/isa_tables.c) is complete: a name, sane blocks and every loop
 * filled in. A member left out of a designated initializer is a NULL that
 * would otherwise only show as a crash in the op that calls it. When
 * kernels/ukernel.h's ifk_isa gains a member, add it to MEMBERS below. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "kernels/isa.h"

#define MEMBERS(X)                                                                                 \
    X(ukr)                                                                                         \
    X(softmax_row)                                                                                 \
    X(gather)                                                                                      \
    X(dwconv)                                                                                      \
    X(dw3_row)                                                                                     \
    X(sum_d)                                                                                       \
    X(sumsq_d)                                                                                     \
    X(ln_apply)                                                                                    \
    X(gn_channel_sums)                                                                             \
    X(gn_apply)                                                                                    \
    X(activation)                                                                                  \
    X(add)                                                                                         \
    X(resize_bilinear)                                                                             \
    X(wino_in)                                                                                     \
    X(wino_out)

int main(void) {
    CHECK(ifk_n_isas >= 1, "no instruction set table in this build");
    for (int i = 0; i < ifk_n_isas; i++) {
        const ifk_isa *t = ifk_isas[i];
        const char *name = t->name ? t->name : "(unnamed)";
        CHECK(t->name && *t->name, "table %d has no name", i);
        CHECK(ifk__isa_named(name) == t, "%s: not found by its name", name);
        CHECK(t->mr >= 1 && t->nr >= 1 && t->kc >= 1 && t->mc >= t->mr && t->nc >= t->nr,
              "%s: blocks mr %d nr %d kc %d mc %d nc %d", name, t->mr, t->nr, t->kc, t->mc, t->nc);
        CHECK(t->mc % t->mr == 0, "%s: mc %d is not a multiple of mr %d", name, t->mc, t->mr);
#define CHECK_MEMBER_(m) CHECK(t->m != NULL, "%s: member %s is not filled in", name, #m);
        MEMBERS(CHECK_MEMBER_)
#undef CHECK_MEMBER_
    }
    return CHECK_SUMMARY();
}
