/* ukernel_epilogue.h -- the end of a vector micro-kernel, written once:
 * what kernels/ukernel.h's contract asks after the k loop (C added when
 * LOAD; bias, activation and residual when FINAL; the store of the
 * mr x nr tile), for kernels that hold a row of the tile in two vectors
 * c0[i] (columns [0, NR/2)) and c1[i] (columns [NR/2, NR)).
 *
 * The including file (one per instruction set, XNNPACK-style templating as
 * kernels/winograd_tx.h) defines first:
 *
 *   UK_V                 its vector type (NR/2 floats)
 *   UK_ADD(a, b)         a + b
 *   UK_ACT(v, act)       the activation act (IFK_ACT_*) of v
 *   uk_cols              a type: what a load or store of the nr valid
 *                        columns needs (masks, the count), made once per tile
 *   uk_ld(p, h, g)       UK_V of half h (0 or 1) of the C-shaped row at p
 *   uk_st(p, h, v, g)    the store of it; neither touches columns >= nr
 *
 * and calls uk_epilogue(M, c0, c1, c, ldc, e, g) at the end of its tile
 * function, M a constant there (the loops unroll and c0, c1 stay in
 * registers). kernels/ukernel_rows.h makes the micro-kernel of that tile. */

/* Everything after the k loop for rows i < M of the tile at c. */
static inline __attribute__((always_inline)) void uk_epilogue(const int M, UK_V *c0, UK_V *c1,
                                                              float *c, size_t ldc,
                                                              const ifk_epi *e, const uk_cols g) {
    if (e->flags & IFK_EPI_LOAD) {
        IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const float *ci = c + (size_t)i * ldc;
            c0[i] = UK_ADD(uk_ld(ci, 0, g), c0[i]);
            c1[i] = UK_ADD(uk_ld(ci, 1, g), c1[i]);
        }
    }
    if (e->flags & IFK_EPI_FINAL) {
        if (e->bias) {
            const UK_V s0 = uk_ld(e->bias, 0, g), s1 = uk_ld(e->bias, 1, g);
            IF_UNROLL_FULL
            for (int i = 0; i < M; i++) {
                c0[i] = UK_ADD(c0[i], s0);
                c1[i] = UK_ADD(c1[i], s1);
            }
        }
        if (e->act != IFK_ACT_NONE) IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            c0[i] = UK_ACT(c0[i], e->act);
            c1[i] = UK_ACT(c1[i], e->act);
        }
        if (e->res) IF_UNROLL_FULL
        for (int i = 0; i < M; i++) {
            const float *ri = e->res + (size_t)i * e->ldr;
            c0[i] = UK_ADD(c0[i], uk_ld(ri, 0, g));
            c1[i] = UK_ADD(c1[i], uk_ld(ri, 1, g));
        }
    }
    IF_UNROLL_FULL
    for (int i = 0; i < M; i++) {
        float *ci = c + (size_t)i * ldc;
        uk_st(ci, 0, c0[i], g);
        uk_st(ci, 1, c1[i], g);
    }
}
