/* api.h -- the graph engine's objects behind interformer.h's opaque handles
 * (if_model, if_run) and the library's last-error helpers (internal).
 * The per-image and per-click objects (if_features, if_session) are in
 * session/session.h. */
#ifndef IF_RUNTIME_API_H
#define IF_RUNTIME_API_H

#include "interformer.h"
#include "runtime/runtime.h"

struct if_model {
    rt_model *rt;
    if_options opt;
    const struct ifk_ops *ops; /* kernels for runs of this model, chosen at load */
    if_model_info info;        /* from the metadata, at load */
};

struct if_run {
    const if_model *m;
    rt_plan *plan;
    rt_exec *exec;
    char err[RT_ERR_CAP];
};

/* Records a failure of a call without an object to keep it in (the
 * thread's if_last_error()) and returns s. */
if_status if__fail(if_status s, const char *fmt, ...) IFP_PRINTF(2, 3);

/* The thread's last-error buffer, for rt_* calls that format into one. */
char *if__last_error_buf(size_t *cap);

/* if_run_new that also counts `extra` (at most IF_RUN_EXTRA_PARTS parts):
 * what the caller will allocate beside the run for the same call, so the
 * budget check covers the whole call before any of it is allocated. `what`
 * starts the detail ("encoding a 30000x30000 image"). Details go to the
 * thread's if_last_error(). */
enum { IF_RUN_EXTRA_PARTS = 4 };
if_status if__run_new(const if_model *m, int padded_h, int padded_w, const rt_mem_part *extra,
                      int n_extra, const char *what, if_run **out);

#endif
