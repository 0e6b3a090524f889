/* shape.c -- shape inference and operand validation for every op.
 *
 * Shapes follow format/FORMAT.md. This is where a graph that parsed fine but
 * does not fit the image size (or is inconsistent) is rejected, with the
 * node's name in the message. */
#include <math.h>
#include <string.h>

#include "../kernels/dispatch.h"
#include "../kernels/kernels.h"
#include "runtime.h"

/* Dimensions are bounded so that element counts of any tensor fit easily in
 * int64 and indices of a single axis fit in int. */
#define RT_MAX_DIM   (1 << 24)
#define RT_MAX_ELEMS ((int64_t)1 << 34)

typedef struct {
    const rt_model *m;
    const ifg_node *n;
    rt_shape *shape;
    char *err;
    size_t cap;
} ctx;

static if_status bad(const ctx *c, const char *what) {
    return rt_fail(c->err, c->cap, IF_ERR_BAD_SHAPE, "node '%.*s' (%s): %s", (int)c->n->name_len,
                   c->n->name, ifg_op_name(c->n->op), what);
}

static const rt_shape *in(const ctx *c, uint32_t i) {
    if (i >= c->n->n_in || c->n->in[i] == IFG_NO_TENSOR) return NULL;
    return &c->shape[c->n->in[i]];
}

static int64_t attr_i(const ifg_node *n, ifg_attr_key k, uint32_t idx, int64_t dflt) {
    const ifg_attr *a = ifg_node_attr(n, k);
    return (a && idx < a->count && a->type == IFG_ATTR_INT) ? a->v.i[idx] : dflt;
}

static void set3(rt_shape *s, int64_t a, int64_t b, int64_t c) {
    s->rank = 3;
    s->d[0] = a;
    s->d[1] = b;
    s->d[2] = c;
}

/* Python's round(): half to even, as the official pooled-size rule uses. */
static double round_half_even(double x) {
    double r = floor(x + 0.5);
    if (r - x == 0.5 && fmod(r, 2.0) != 0.0) r -= 1.0;
    return r;
}

static int64_t imsa_pool_size(int64_t n, double limit) {
    double p = limit < (double)n ? limit : (double)n;
    double k = round_half_even((double)n / p);
    if (k < 1) k = 1;
    return (int64_t)round_half_even((double)n / k);
}

/* The window a ROI selects on a map of stride s (whole map without ROI). */
static if_status roi_window(const ctx *c, const int32_t *roi, int64_t s, int64_t h, int64_t w,
                            int64_t win[4]) {
    if (!roi) {
        win[0] = 0;
        win[1] = 0;
        win[2] = h;
        win[3] = w;
        return IF_OK;
    }
    int64_t l = roi[0], u = roi[1], r = roi[2], b = roi[3];
    if (s <= 0 || l % s || u % s || r % s || b % s)
        return rt_fail(c->err, c->cap, IF_ERR_INVALID_ARG,
                       "roi [%lld,%lld,%lld,%lld] is not a multiple of stride %lld", (long long)l,
                       (long long)u, (long long)r, (long long)b, (long long)s);
    if (l < 0 || u < 0 || l >= r || u >= b || r / s > w || b / s > h)
        return rt_fail(
            c->err, c->cap, IF_ERR_INVALID_ARG,
            "roi [%lld,%lld,%lld,%lld] is empty or outside the %lldx%lld map of stride %lld",
            (long long)l, (long long)u, (long long)r, (long long)b, (long long)h, (long long)w,
            (long long)s);
    win[0] = u / s;
    win[1] = l / s;
    win[2] = b / s - u / s;
    win[3] = r / s - l / s;
    return IF_OK;
}

static if_status infer_node(const ctx *c, const int32_t *roi, rt_shape *o, size_t *scratch) {
    const ifg_node *n = c->n;
    const rt_shape *x = in(c, 0);
    *scratch = 0;
    memset(o, 0, sizeof *o);
    switch (n->op) {
    case IFG_OP_CONV2D: {
        const rt_shape *w = in(c, 1), *b = in(c, 2);
        int64_t g = attr_i(n, IFG_ATTR_GROUPS, 0, 1);
        int64_t kh = attr_i(n, IFG_ATTR_KERNEL, 0, 0), kw = attr_i(n, IFG_ATTR_KERNEL, 1, 0);
        int64_t sh = attr_i(n, IFG_ATTR_STRIDE, 0, 1), sw = attr_i(n, IFG_ATTR_STRIDE, 1, 1);
        int64_t pt = attr_i(n, IFG_ATTR_PAD, 0, 0), pl = attr_i(n, IFG_ATTR_PAD, 1, 0);
        int64_t pb = attr_i(n, IFG_ATTR_PAD, 2, 0), pr = attr_i(n, IFG_ATTR_PAD, 3, 0);
        if (x->rank != 3 || w->rank != 4) return bad(c, "expects a (H,W,C) input and OHWI weight");
        if (w->d[1] != kh || w->d[2] != kw) return bad(c, "weight does not match KERNEL");
        if (x->d[2] % g || w->d[0] % g || w->d[3] != x->d[2] / g)
            return bad(c, "channels do not match the weight and GROUPS");
        if (b && (b->rank != 1 || b->d[0] != w->d[0])) return bad(c, "bias size");
        if (x->d[0] + pt + pb < kh || x->d[1] + pl + pr < kw)
            return bad(c, "input smaller than kernel");
        set3(o, (x->d[0] + pt + pb - kh) / sh + 1, (x->d[1] + pl + pr - kw) / sw + 1, w->d[0]);
        const ifk_conv_params cp = {(int)x->d[0],
                                    (int)x->d[1],
                                    (int)x->d[2],
                                    (int)w->d[0],
                                    (int)kh,
                                    (int)kw,
                                    (int)sh,
                                    (int)sw,
                                    (int)pt,
                                    (int)pl,
                                    (int)pb,
                                    (int)pr,
                                    (int)g,
                                    0,
                                    0,
                                    0};
        *scratch = ifk_conv2d_scratch_bytes(&cp);
        break;
    }
    case IFG_OP_CONV_TRANSPOSE2D: {
        const rt_shape *w = in(c, 1), *b = in(c, 2);
        int64_t kh = attr_i(n, IFG_ATTR_KERNEL, 0, 0), kw = attr_i(n, IFG_ATTR_KERNEL, 1, 0);
        if (attr_i(n, IFG_ATTR_STRIDE, 0, 0) != kh || attr_i(n, IFG_ATTR_STRIDE, 1, 0) != kw)
            return bad(c, "only STRIDE == KERNEL is supported");
        if (x->rank != 3 || w->rank != 4 || w->d[0] != kh || w->d[1] != kw || w->d[3] != x->d[2])
            return bad(c, "weight (kh,kw,Co,Ci) does not match the input");
        if (b && (b->rank != 1 || b->d[0] != w->d[2])) return bad(c, "bias size");
        set3(o, x->d[0] * kh, x->d[1] * kw, w->d[2]);
        *scratch = ifk_conv_transpose2d_scratch_bytes((int)x->d[0], (int)x->d[1], (int)x->d[2],
                                                      (int)w->d[2], (int)kh, (int)kw);
        break;
    }
    case IFG_OP_LINEAR: {
        const rt_shape *w = in(c, 1), *b = in(c, 2);
        if (w->rank != 2 || x->d[x->rank - 1] != w->d[1])
            return bad(c, "weight (N,K) does not match input");
        if (b && (b->rank != 1 || b->d[0] != w->d[0])) return bad(c, "bias size");
        *o = *x;
        o->d[o->rank - 1] = w->d[0];
        *scratch = ifk_linear_scratch_bytes(rt_shape_elems(x) / w->d[1], w->d[1], w->d[0]);
        break;
    }
    case IFG_OP_LAYER_NORM:
    case IFG_OP_GROUP_NORM: {
        const rt_shape *w = in(c, 1), *b = in(c, 2);
        int64_t ch = x->d[x->rank - 1];
        if (w->rank != 1 || b->rank != 1 || w->d[0] != ch || b->d[0] != ch)
            return bad(c, "affine parameters do not match channels");
        if (n->op == IFG_OP_GROUP_NORM) {
            int64_t g = attr_i(n, IFG_ATTR_GROUPS, 0, 1);
            if (x->rank != 3 || g < 1 || ch % g)
                return bad(c, "expects (H,W,C) with C divisible by GROUPS");
            *scratch = rt_group_norm_scratch(x->d[0] * x->d[1], g);
        }
        *o = *x;
        break;
    }
    case IFG_OP_ACTIVATION: *o = *x; break;
    case IFG_OP_ADD: {
        const rt_shape *y = in(c, 1);
        if (x->rank != y->rank || memcmp(x->d, y->d, sizeof(int64_t) * (size_t)x->rank))
            return bad(c, "operands differ in shape");
        *o = *x;
        break;
    }
    case IFG_OP_CONCAT_CHANNELS: {
        int64_t sum = 0;
        for (uint32_t i = 0; i < n->n_in; i++) {
            const rt_shape *t = in(c, i);
            if (t->rank != 3 || t->d[0] != x->d[0] || t->d[1] != x->d[1])
                return bad(c, "inputs must be (H,W,C) maps of one size");
            sum += t->d[2];
        }
        set3(o, x->d[0], x->d[1], sum);
        break;
    }
    case IFG_OP_CONCAT_TOKENS: {
        int64_t sum = 0, ch = x->d[x->rank - 1];
        for (uint32_t i = 0; i < n->n_in; i++) {
            const rt_shape *t = in(c, i);
            if ((t->rank != 2 && t->rank != 3) || t->d[t->rank - 1] != ch)
                return bad(c, "inputs must be tokens or maps with one channel count");
            sum += rt_shape_elems(t) / ch;
        }
        o->rank = 2;
        o->d[0] = sum;
        o->d[1] = ch;
        break;
    }
    case IFG_OP_RESIZE_BILINEAR: {
        const rt_shape *like = in(c, 1);
        if (x->rank != 3 || like->rank < 2) return bad(c, "expects a map and a size reference");
        set3(o, like->d[0], like->d[1], x->d[2]);
        break;
    }
    case IFG_OP_ADAPTIVE_AVG_POOL:
    case IFG_OP_ADAPTIVE_MAX_POOL: {
        if (x->rank != 3) return bad(c, "expects a (H,W,C) map");
        const ifg_attr *lim = ifg_node_attr(n, IFG_ATTR_POOL_LIMIT);
        int64_t oh, ow;
        if (lim) {
            if (!(lim->v.f[0] > 0) || !(lim->v.f[1] > 0))
                return bad(c, "POOL_LIMIT must be positive");
            oh = imsa_pool_size(x->d[0], lim->v.f[0]);
            ow = imsa_pool_size(x->d[1], lim->v.f[1]);
        } else {
            oh = attr_i(n, IFG_ATTR_OUT_SIZE, 0, 0);
            ow = attr_i(n, IFG_ATTR_OUT_SIZE, 1, 0);
        }
        if (oh < 1 || ow < 1) return bad(c, "empty pooled size");
        set3(o, oh, ow, x->d[2]);
        break;
    }
    case IFG_OP_IM2COL: {
        int64_t kh = attr_i(n, IFG_ATTR_KERNEL, 0, 0), kw = attr_i(n, IFG_ATTR_KERNEL, 1, 0);
        int64_t sh = attr_i(n, IFG_ATTR_STRIDE, 0, 1), sw = attr_i(n, IFG_ATTR_STRIDE, 1, 1);
        int64_t pt = attr_i(n, IFG_ATTR_PAD, 0, 0), pl = attr_i(n, IFG_ATTR_PAD, 1, 0);
        int64_t pb = attr_i(n, IFG_ATTR_PAD, 2, 0), pr = attr_i(n, IFG_ATTR_PAD, 3, 0);
        if (x->rank != 3) return bad(c, "expects a (H,W,C) map");
        if (x->d[0] + pt + pb < kh || x->d[1] + pl + pr < kw)
            return bad(c, "input smaller than kernel");
        set3(o, (x->d[0] + pt + pb - kh) / sh + 1, (x->d[1] + pl + pr - kw) / sw + 1,
             x->d[2] * kh * kw);
        break;
    }
    case IFG_OP_ATTENTION: {
        const rt_shape *kv = in(c, 1);
        int64_t ch = x->d[x->rank - 1], heads = attr_i(n, IFG_ATTR_HEADS, 0, 1);
        if ((x->rank != 2 && x->rank != 3) || kv->rank != 2 || kv->d[1] != 2 * ch || ch % heads)
            return bad(c, "expects q (...,C) and kv (M,2C) with C divisible by HEADS");
        *o = *x;
        *scratch =
            ifk_attention_scratch_bytes(rt_shape_elems(x) / ch, kv->d[0], (int)ch, (int)heads);
        break;
    }
    case IFG_OP_VIT_ATTENTION: {
        const rt_shape *tab = in(c, 1), *grid = in(c, 2);
        int64_t heads = attr_i(n, IFG_ATTR_HEADS, 0, 1);
        int64_t gh = attr_i(n, IFG_ATTR_WINDOW, 0, 0), gw = attr_i(n, IFG_ATTR_WINDOW, 1, 0);
        if (x->rank != 2 || x->d[1] % 3 || (x->d[1] / 3) % heads)
            return bad(c, "qkv must be (N,3C)");
        if (grid->rank < 2 || x->d[0] != 1 + grid->d[0] * grid->d[1])
            return bad(c, "token count does not match the grid");
        if (tab->rank != 2 || tab->d[1] != heads || tab->d[0] != (2 * gh - 1) * (2 * gw - 1) + 3)
            return bad(c, "relative position table does not match WINDOW and HEADS");
        o->rank = 2;
        o->d[0] = x->d[0];
        o->d[1] = x->d[1] / 3;
        *scratch = ifk_vit_attention_scratch_bytes(
            (int)grid->d[0], (int)grid->d[1], (int)(x->d[1] / 3), (int)heads, (int)gh, (int)gw);
        break;
    }
    case IFG_OP_TOKENS_FROM_GRID: {
        const rt_shape *cls = in(c, 1), *pos = in(c, 2);
        int64_t gh = attr_i(n, IFG_ATTR_WINDOW, 0, 0), gw = attr_i(n, IFG_ATTR_WINDOW, 1, 0);
        if (x->rank != 3 || cls->rank != 2 || cls->d[0] != 1 || cls->d[1] != x->d[2] ||
            pos->rank != 2 || pos->d[0] != 1 + gh * gw || pos->d[1] != x->d[2])
            return bad(c, "grid, class token and position table do not match");
        o->rank = 2;
        o->d[0] = 1 + x->d[0] * x->d[1];
        o->d[1] = x->d[2];
        break;
    }
    case IFG_OP_TOKENS_TO_GRID: {
        const rt_shape *grid = in(c, 1);
        if (x->rank != 2 || grid->rank < 2 || x->d[0] != 1 + grid->d[0] * grid->d[1])
            return bad(c, "token count does not match the grid");
        set3(o, grid->d[0], grid->d[1], x->d[1]);
        break;
    }
    case IFG_OP_REF_EMBED: {
        const rt_shape *tab = in(c, 1), *like = in(c, 2);
        if (x->rank != 2 || tab->rank != 2 || like->rank < 2)
            return bad(c, "expects (H,W) labels and a (K,C) table");
        set3(o, like->d[0], like->d[1], tab->d[1]);
        break;
    }
    case IFG_OP_CROP: {
        int64_t win[4];
        if (x->rank != 3) return bad(c, "expects a (H,W,C) map");
        if_status s = roi_window(c, in(c, 1) ? roi : NULL, attr_i(n, IFG_ATTR_STRIDE, 0, 1),
                                 x->d[0], x->d[1], win);
        if (s != IF_OK) return s;
        set3(o, win[2], win[3], x->d[2]);
        break;
    }
    case IFG_OP_PASTE: {
        const rt_shape *patch = in(c, 1);
        int64_t win[4];
        if (x->rank != 3) return bad(c, "expects a (H,W,C) map");
        if_status s = roi_window(c, in(c, 2) ? roi : NULL, attr_i(n, IFG_ATTR_STRIDE, 0, 1),
                                 x->d[0], x->d[1], win);
        if (s != IF_OK) return s;
        if (patch->rank != 3 || patch->d[0] != win[2] || patch->d[1] != win[3] ||
            patch->d[2] != x->d[2])
            return bad(c, "patch does not match the ROI window");
        *o = *x;
        break;
    }
    default:
        return rt_fail(c->err, c->cap, IF_ERR_BAD_OP, "node '%.*s': op %u not supported",
                       (int)n->name_len, n->name, n->op);
    }
    for (int i = 0; i < o->rank; i++)
        if (o->d[i] < 1 || o->d[i] > RT_MAX_DIM) return bad(c, "output dimension out of range");
    if (rt_shape_elems(o) > RT_MAX_ELEMS) return bad(c, "output too large");
    return IF_OK;
}

/* Evaluates a declared dimension for an H x W image; -1 when ANY. */
static int64_t eval_dim(const ifg_dim *d, int H, int W) {
    int64_t s;
    switch (d->sym) {
    case IFG_SYM_ONE: s = 1; break;
    case IFG_SYM_H: s = H; break;
    case IFG_SYM_W: s = W; break;
    default: return -1;
    }
    int64_t v = (int64_t)d->mul * s;
    if (d->div <= 0 || v % d->div) return -2;
    return v / d->div;
}

if_status rt_infer_shapes(const rt_model *m, int H, int W, const int32_t *roi, rt_shape *shape,
                          size_t *scratch_bytes, char *err, size_t cap) {
    const ifg_graph *g = &m->g;
    /* Constants and graph inputs come from their declarations. */
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const ifg_tensor *t = &g->tensors[i];
        shape[i].rank = (int)t->rank;
        for (uint32_t k = 0; k < t->rank; k++) {
            int64_t v = eval_dim(&t->dims[k], H, W);
            if (v == -2)
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                               "tensor '%.*s': dimension %u is not an integer for a %dx%d image",
                               (int)t->name_len, t->name, k, H, W);
            shape[i].d[k] = v;
        }
    }
    for (uint32_t i = 0; i < g->n_inputs; i++) {
        const rt_shape *s = &shape[g->inputs[i].tensor];
        const ifg_tensor *t = &g->tensors[g->inputs[i].tensor];
        int64_t elems = 1;
        for (int k = 0; k < s->rank; k++) {
            if (s->d[k] < 1)
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE, "input '%.*s' has an empty dimension",
                               (int)t->name_len, t->name);
            /* A declared size is bounded only by the file's 32-bit fields:
             * the limits of computed tensors apply, checked before the
             * dimensions multiply (four of them can overflow int64_t). */
            if (s->d[k] > RT_MAX_DIM || elems > RT_MAX_ELEMS / s->d[k])
                return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                               "input '%.*s' is too large for a %dx%d image", (int)t->name_len,
                               t->name, H, W);
            elems *= s->d[k];
        }
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        ctx c = {m, &g->nodes[i], shape, err, cap};
        rt_shape o;
        size_t sb;
        if_status s = infer_node(&c, roi, &o, &sb);
        if (s != IF_OK) return s;
        if (scratch_bytes) scratch_bytes[i] = sb;
        uint32_t tid = g->nodes[i].out[0];
        const ifg_tensor *t = &g->tensors[tid];
        /* Declared dimensions are checks, for the whole-image case (a ROI
         * legitimately shrinks the refined windows). */
        if (!roi) {
            if ((int)t->rank != o.rank)
                return bad(&c, "inferred rank differs from the declared one");
            for (int k = 0; k < o.rank; k++)
                if (shape[tid].d[k] >= 0 && shape[tid].d[k] != o.d[k])
                    return rt_fail(err, cap, IF_ERR_BAD_SHAPE,
                                   "tensor '%.*s': dimension %d is %lld, declared %lld",
                                   (int)t->name_len, t->name, k, (long long)o.d[k],
                                   (long long)shape[tid].d[k]);
        }
        shape[tid] = o;
    }
    return IF_OK;
}
