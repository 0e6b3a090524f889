/* table.c -- rt_op_table: every op of format/ifg.h's IFG_OP_LIST, by code.
 * Each rt_op_<name> is defined in runtime/ops/<name>.c (ADAPTIVE_AVG_POOL
 * and ADAPTIVE_MAX_POOL share adaptive_pool.c); an op listed there without
 * one is a link error, so the table cannot miss an entry. */
#include "runtime/op.h"

#define RT_OP_DECLARE_(NAME, CODE, name) extern const rt_op rt_op_##name;
IFG_OP_LIST(RT_OP_DECLARE_)
#undef RT_OP_DECLARE_

const rt_op *const rt_op_table[IFG_OP_COUNT_] = {
#define RT_OP_ENTRY_(NAME, CODE, name) [IFG_OP_##NAME] = &rt_op_##name,
    IFG_OP_LIST(RT_OP_ENTRY_)
#undef RT_OP_ENTRY_
};
