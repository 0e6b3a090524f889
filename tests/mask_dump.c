/* mask_dump -- the examples' mask reader (examples/common/mask.c) as a
 * command, for tests/test_mask.py: `mask_dump FILE` prints one line
 * "WIDTH HEIGHT N_OBJECTS N_IGNORE ENCODING" and then the label map's
 * WIDTH*HEIGHT bytes; on a bad file, the reader's reason on stderr and exit
 * status 1. */
#include <stdio.h>

#include "common/mask.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: mask_dump FILE\n");
        return 2;
    }
    mask_image m;
    char err[256];
    if (mask_read(argv[1], &m, err, sizeof err)) {
        fprintf(stderr, "mask_dump: %s: %s\n", argv[1], err);
        return 1;
    }
    printf("%d %d %d %zu %s\n", m.w, m.h, m.n_objects, m.n_ignore, m.encoding);
    size_t n = (size_t)m.w * (size_t)m.h;
    int ok = fwrite(m.label, 1, n, stdout) == n;
    mask_image_free(&m);
    return ok && fflush(stdout) == 0 ? 0 : 1;
}
