/* table.c -- rt_op_table: every op of format/ifg.h's IFG_OP_LIST, by code.
 * Each rt_op_<name> is declared in runtime/op.h and defined in
 * runtime/ops/<name>.c (ADAPTIVE_AVG_POOL and ADAPTIVE_MAX_POOL share
 * adaptive_pool.c); an op listed there without both is a compile or link
 * error, so the table cannot miss an entry. The engine
 * (shape.c, exec.c) and the tools reach ops only through here. */
#include "runtime/op.h"

/* By code: the list is in code order from 1 (format/ifg.h checks it). */
const rt_op *const rt_op_table[IFG_OP_COUNT_] = {
#define RT_OP_ENTRY_(NAME, CODE, name) &rt_op_##name,
    NULL, /* IFG_OP_NONE_ */
    IFG_OP_LIST(RT_OP_ENTRY_)
#undef RT_OP_ENTRY_
};

const rt_op *rt_op_of(uint32_t op) { return op < IFG_OP_COUNT_ ? rt_op_table[op] : NULL; }

double rt_node_flops(const ifg_node *n, const rt_shape *shape) {
    const rt_op *op = rt_op_of(n->op);
    return op && op->flops ? op->flops(n, shape) : 0.0;
}
