/* fuzz_npy.c -- libFuzzer harness: the examples' .npy reader
 * (examples/common/npy.c), on memory images. An accepted array must be
 * what its header says: its count the product of its shape, its data
 * readable to the end. */
#include <stdint.h>
#include <stdlib.h>

#include "common/npy.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npy_array a;
    char err[128];
    if (npy_parse(data, size, &a, err, sizeof err) != 0) {
        if (a.data || !err[0]) abort(); /* a failure leaves nothing behind and says why */
        return 0;
    }
    if (a.rank < 0 || a.rank > 8) abort();
    int64_t count = 1;
    for (int i = 0; i < a.rank; i++) {
        if (a.shape[i] < 0) abort();
        count *= a.shape[i]; /* bounded: the reader accepted the count */
    }
    if (count != a.count) abort();
    static const size_t esize[] = {[NPY_F32] = 4, [NPY_U8] = 1, [NPY_I32] = 4, [NPY_I64] = 8};
    if ((unsigned)a.dtype > NPY_I64 || !a.data) abort();
    fuzz_touch(a.data, (size_t)a.count * esize[a.dtype]);
    npy_free(&a);
    return 0;
}
