/* polygon.c -- the polygons of a mask (interformer.h, if_mask_polygons):
 * every boundary traced along pixel edges into rings of pixel corners,
 * each ring simplified (Douglas-Peucker), holes linked to their outer ring.
 *
 * The grid. Vertex (X, Y), 0 <= X <= width, 0 <= Y <= height, is the
 * top-left corner of pixel (X, Y). A boundary edge is a pixel side between
 * an object pixel and a background one (or the outside), directed so that
 * the object is on its right as seen on the image (y down): a pixel's top
 * side runs east, its right side south, its bottom side west, its left
 * side north. At every vertex as many boundary edges leave as arrive: one,
 * or two at a saddle (two object pixels meeting diagonally, the other two
 * background). Following edges from vertex to vertex closes a ring; at a
 * saddle the ring turns left, around the background pixel, so the two
 * object pixels stay in one ring (8-connected object) and the two
 * background pixels in two (4-connected background).
 *
 * Rings are found by scanning the vertices row by row for an edge not yet
 * followed: the first edge met of a ring starts at its top-left vertex and
 * runs east on an outer ring (the top of the component's first pixel) and
 * south on a hole's ring (the hole's left side). The outer ring of a hole
 * is found by walking up from the object pixel above the hole's first
 * pixel to the top of that column's run of object: the top side there
 * belongs to a ring met earlier, of the same component: its outer ring,
 * or a hole whose outer ring is already known.
 *
 * Memory: one working block (5 bytes per vertex, 17 bytes per corner) and
 * the result, from platform/'s ifp_malloc (so INTERFORMER_MALLOC /
 * INTERFORMER_FREE override them, as every block of the library). */
#include <math.h>
#include <stdlib.h> /* abs */

#include "output/output.h"

struct if_polygons {
    int count;
    const int *start; /* ring i: points start[i] .. start[i + 1] - 1 */
    const int *parent;
    const float *xy;
};

/* Directions: a bit each in a vertex's byte (low nibble: the edges that
 * leave it; high nibble: those not followed yet). */
enum { EAST = 1, SOUTH = 2, WEST = 4, NORTH = 8 };

/* The left turn of a heading (east -> north -> west -> south -> east). */
static int left_of(int d) {
    return d == EAST ? NORTH : d == NORTH ? WEST : d == WEST ? SOUTH : EAST;
}

typedef struct {
    const uint8_t *mask;
    int w, h;
    size_t stride;
} grid;

static int obj(const grid *g, int x, int y) {
    return x >= 0 && y >= 0 && x < g->w && y < g->h && g->mask[(size_t)y * g->stride + x] != 0;
}

/* The edges leaving vertex (X, Y), from the four pixels around it, and
 * (corners not NULL) how many corners it adds to the rings: 1 where one or
 * three of the pixels are object, 2 at a saddle (two object pixels meeting
 * diagonally: the boundary turns there twice), else 0. */
static int vertex_edges(const grid *g, int X, int Y, int *corners) {
    int tl = obj(g, X - 1, Y - 1), tr = obj(g, X, Y - 1), bl = obj(g, X - 1, Y), br = obj(g, X, Y);
    int e = (br && !tr ? EAST : 0) | (bl && !br ? SOUTH : 0) | (tl && !bl ? WEST : 0) |
            (tr && !tl ? NORTH : 0);
    if (corners) {
        int n = tl + tr + bl + br;
        *corners = n == 1 || n == 3 ? 1 : n == 2 && tl == br ? 2 : 0;
    }
    return e;
}

/* Squared distance from p to the segment a-b, exact in its zero test: 0
 * only when p is on the segment. */
static double seg_dist2(const int32_t *p, const int32_t *a, const int32_t *b) {
    int64_t dx = (int64_t)b[0] - a[0], dy = (int64_t)b[1] - a[1];
    int64_t px = (int64_t)p[0] - a[0], py = (int64_t)p[1] - a[1];
    int64_t dot = px * dx + py * dy, len2 = dx * dx + dy * dy;
    if (len2 == 0 || dot <= 0) return (double)px * px + (double)py * py;
    if (dot >= len2) {
        int64_t qx = (int64_t)p[0] - b[0], qy = (int64_t)p[1] - b[1];
        return (double)qx * qx + (double)qy * qy;
    }
    double cross = (double)(px * dy - py * dx);
    return cross * cross / (double)len2;
}

/* Douglas-Peucker on the chain pts[i0 .. i1] (indices mod n, i1 may be n
 * for point 0), marking the points kept; the ends are kept by the caller.
 * stack: room for n index pairs. Among equally far points the one nearest
 * the middle splits, so a long staircase costs n log n, not n^2. */
static void simplify(const int32_t *pts, int n, int i0, int i1, double tol2, uint8_t *keep,
                     int32_t *stack) {
    int top = 0;
    stack[top++] = i0;
    stack[top++] = i1;
    while (top) {
        int b = stack[--top], a = stack[--top];
        if (b - a < 2) continue;
        const int32_t *pa = pts + 2 * (a % n), *pb = pts + 2 * (b % n);
        double best = -1;
        int at = -1, mid = a + (b - a) / 2;
        for (int i = a + 1; i < b; i++) {
            double d = seg_dist2(pts + 2 * i, pa, pb);
            if (d > best || (d == best && abs(i - mid) < abs(at - mid))) {
                best = d;
                at = i;
            }
        }
        if (best <= tol2) continue;
        keep[at] = 1;
        stack[top++] = a;
        stack[top++] = at;
        stack[top++] = at;
        stack[top++] = b;
    }
}

/* Whether the kept points of pts[0..n) enclose no area (shoelace; the
 * sum wraps in unsigned arithmetic, its true value is under 2^50). */
static int kept_area_is_zero(const int32_t *pts, int n, const uint8_t *keep) {
    uint64_t s = 0;
    int first = -1, prev = -1;
    for (int i = 0; i < n; i++) {
        if (!keep[i]) continue;
        if (prev < 0)
            first = i;
        else
            s += (uint64_t)((int64_t)pts[2 * prev] * pts[2 * i + 1]) -
                 (uint64_t)((int64_t)pts[2 * i] * pts[2 * prev + 1]);
        prev = i;
    }
    if (prev >= 0)
        s += (uint64_t)((int64_t)pts[2 * prev] * pts[2 * first + 1]) -
             (uint64_t)((int64_t)pts[2 * first] * pts[2 * prev + 1]);
    return s == 0;
}

/* The working block: per vertex, its edges and the ring of the east edge
 * leaving it; per corner, its point, the simplifier's stack and keep flag;
 * per ring, its first point, parent and index in the result. */
typedef struct {
    int C, R;         /* corners (points before simplifying), rings (at most) */
    int n_rings;      /* traced */
    uint8_t *edges;   /* (w + 1) x (h + 1) */
    int32_t *ring_of; /* (w + 1) x (h + 1) */
    int32_t *pts;     /* 2 C: x, y */
    int32_t *stack;   /* 2 C */
    uint8_t *keep;    /* C */
    int32_t *rstart;  /* R + 1 */
    int32_t *rparent; /* R: -1 outer, else the outer ring */
    int32_t *newidx;  /* R: index in the result, -1 dropped */
} work;

/* Follows every boundary into w's rings. 0, or -1 if the grid broke an
 * invariant (a ring longer than the corners counted, or an edge that is not
 * there: cannot happen, checked so that it cannot write out of bounds). */
static int trace(const grid *g, work *w) {
    const int VW = g->w + 1, VH = g->h + 1;
    int nr = 0, np = 0;
    for (int Y = 0; Y < VH; Y++)
        for (int X = 0; X < VW; X++) {
            size_t v0 = (size_t)Y * VW + X;
            while (w->edges[v0] >> 4) {
                /* A ring's first edge runs east (outer) or south (hole). */
                int d0 = (w->edges[v0] >> 4) & EAST ? EAST : SOUTH, r = nr++;
                if (r >= w->R) return -1;
                w->rstart[r] = np;
                int x = X, y = Y, d = d0, corner = 1;
                size_t v = v0;
                for (;;) {
                    if (!(w->edges[v] & d)) return -1;
                    if (corner) {
                        if (np == w->C) return -1;
                        w->pts[2 * np] = x;
                        w->pts[2 * np + 1] = y;
                        np++;
                    }
                    w->edges[v] &= (uint8_t) ~(d << 4);
                    if (d == EAST) w->ring_of[v] = r;
                    x += d == EAST ? 1 : d == WEST ? -1 : 0;
                    y += d == SOUTH ? 1 : d == NORTH ? -1 : 0;
                    v = (size_t)y * VW + x;
                    int o = w->edges[v] & 15;
                    int nd = (o & (o - 1)) ? left_of(d) : o; /* a saddle: two leave */
                    if (v == v0 && nd == d0) break;
                    corner = nd != d;
                    d = nd;
                }
                if (d0 == EAST) {
                    w->rparent[r] = -1;
                } else {
                    /* Up from pixel (X, Y - 1), above the hole's first
                     * pixel, to the top of its run of object. */
                    int yt = Y - 1;
                    while (yt > 0 && obj(g, X, yt - 1)) yt--;
                    int above = w->ring_of[(size_t)yt * VW + X];
                    w->rparent[r] = w->rparent[above] < 0 ? above : w->rparent[above];
                }
            }
        }
    w->rstart[nr] = np;
    w->n_rings = nr;
    return 0;
}

/* Simplifies every ring from its first point and the point farthest from
 * it (both kept), drops the degenerate ones (and the holes of a dropped
 * outer ring) and numbers the rest (newidx). Returns the points kept;
 * *n_kept the rings. */
static int simplify_rings(work *w, double tol2, int *n_kept) {
    int kept_rings = 0, kept_pts = 0;
    for (int r = 0; r < w->n_rings; r++) {
        const int32_t *p = w->pts + 2 * (size_t)w->rstart[r];
        int n = w->rstart[r + 1] - w->rstart[r], far = 0;
        uint8_t *k = w->keep + w->rstart[r];
        double best = -1;
        for (int i = 0; i < n; i++) {
            double dx = (double)p[2 * i] - p[0], dy = (double)p[2 * i + 1] - p[1];
            if (dx * dx + dy * dy > best) {
                best = dx * dx + dy * dy;
                far = i;
            }
            k[i] = 0;
        }
        k[0] = k[far] = 1;
        simplify(p, n, 0, far, tol2, k, w->stack);
        simplify(p, n, far, n, tol2, k, w->stack);
        int m = 0;
        for (int i = 0; i < n; i++) m += k[i];
        int parent_gone = w->rparent[r] >= 0 && w->newidx[w->rparent[r]] < 0;
        if (m < 3 || kept_area_is_zero(p, n, k) || parent_gone) {
            w->newidx[r] = -1;
            continue;
        }
        w->newidx[r] = kept_rings++;
        kept_pts += m;
    }
    *n_kept = kept_rings;
    return kept_pts;
}

/* The result, one block: the struct, then ring starts and parents, then
 * the points as floats. NULL when out of memory. */
static if_polygons *make_result(const work *w, int n_rings, int n_pts) {
    size_t bytes = sizeof(if_polygons) + (size_t)(2 * n_rings + 1) * sizeof(int) +
                   (size_t)n_pts * 2 * sizeof(float);
    if_polygons *res = (if_polygons *)ifp_malloc(bytes);
    if (!res) return NULL;
    int *start = (int *)(res + 1), *parent = start + n_rings + 1;
    float *xy = (float *)(parent + n_rings);
    int q = 0;
    for (int r = 0; r < w->n_rings; r++) {
        int i = w->newidx[r];
        if (i < 0) continue;
        start[i] = q;
        parent[i] = w->rparent[r] < 0 ? -1 : w->newidx[w->rparent[r]];
        for (int j = w->rstart[r]; j < w->rstart[r + 1]; j++)
            if (w->keep[j]) {
                xy[2 * q] = (float)w->pts[2 * j];
                xy[2 * q + 1] = (float)w->pts[2 * j + 1];
                q++;
            }
    }
    start[n_rings] = q;
    res->count = n_rings;
    res->start = start;
    res->parent = parent;
    res->xy = xy;
    return res;
}

if_status if_mask_polygons(const uint8_t *mask, int width, int height, size_t stride,
                           float tolerance, if_polygons **out) {
    if (!out) return if__fail(IF_ERR_INVALID_ARG, "if_mask_polygons: NULL out");
    *out = NULL;
    if_status st = ifo_check_mask("if_mask_polygons", mask, width, height, stride, 1 << 24, 0);
    if (st != IF_OK) return st;
    if (!(tolerance >= 0) || !isfinite(tolerance))
        return if__fail(IF_ERR_INVALID_ARG, "if_mask_polygons: tolerance %g (pixels, >= 0)",
                        (double)tolerance);
    const grid g = {mask, width, height, stride};
    const int VW = width + 1, VH = height + 1;

    /* Corners first, to size the working block in one go. */
    uint64_t nc = 0;
    for (int Y = 0; Y < VH; Y++)
        for (int X = 0; X < VW; X++) {
            int c;
            vertex_edges(&g, X, Y, &c);
            nc += (uint64_t)c;
        }
    if (nc > INT32_MAX / 2)
        return if__fail(IF_ERR_UNSUPPORTED,
                        "if_mask_polygons: %llu boundary corners (over 2^30) in a %dx%d mask",
                        (unsigned long long)nc, width, height);
    work w;
    w.C = (int)nc;
    w.R = w.C / 4 + 1; /* a ring has 4 corners at least */
    const uint64_t nv = (uint64_t)VW * (uint64_t)VH;
    /* Sides up to 2^24 and corners under 2^30: every term under 2^56. */
    const uint64_t need = nv * (1 + sizeof(int32_t)) + (uint64_t)w.C * (4 * sizeof(int32_t) + 1) +
                          (uint64_t)(3 * w.R + 1) * sizeof(int32_t);
    char *block = need <= SIZE_MAX ? (char *)ifp_malloc((size_t)need) : NULL;
    if (!block)
        return if__fail(IF_ERR_NO_MEMORY, "if_mask_polygons: %dx%d: %llu bytes of working memory",
                        width, height, (unsigned long long)need);
    w.ring_of = (int32_t *)block;
    w.pts = w.ring_of + nv;
    w.stack = w.pts + 2 * (size_t)w.C;
    w.rstart = w.stack + 2 * (size_t)w.C;
    w.rparent = w.rstart + w.R + 1;
    w.newidx = w.rparent + w.R;
    w.edges = (uint8_t *)(w.newidx + w.R);
    w.keep = w.edges + nv;
    for (int Y = 0; Y < VH; Y++)
        for (int X = 0; X < VW; X++) {
            int e = vertex_edges(&g, X, Y, NULL);
            w.edges[(size_t)Y * VW + X] = (uint8_t)(e | e << 4);
        }
    if (trace(&g, &w)) {
        ifp_free(block);
        return if__fail(IF_ERR_STATE, "if_mask_polygons: internal error: a boundary broke off");
    }
    int n_rings, n_pts = simplify_rings(&w, (double)tolerance * (double)tolerance, &n_rings);
    if_polygons *res = make_result(&w, n_rings, n_pts);
    ifp_free(block);
    if (!res)
        return if__fail(IF_ERR_NO_MEMORY, "if_mask_polygons: %d rings of %d points", n_rings,
                        n_pts);
    *out = res;
    return IF_OK;
}

int if_polygons_count(const if_polygons *p) { return p ? p->count : 0; }

const float *if_polygons_ring(const if_polygons *p, int i, int *n_points, int *parent) {
    if (n_points) *n_points = 0;
    if (parent) *parent = -1;
    if (!p || i < 0 || i >= p->count) return NULL;
    if (n_points) *n_points = p->start[i + 1] - p->start[i];
    if (parent) *parent = p->parent[i];
    return p->xy + 2 * (size_t)p->start[i];
}

void if_polygons_free(if_polygons *p) { ifp_free(p); }
