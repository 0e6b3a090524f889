/* le.h -- little-endian fields of the file formats (every format of
 * InterFormer-C is little-endian), read and written byte by byte: no
 * alignment or host byte order assumed. */
#ifndef IF_FORMAT_LE_H
#define IF_FORMAT_LE_H

#include <stdint.h>

static inline uint32_t fmt_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t fmt_rd64(const uint8_t *p) {
    return (uint64_t)fmt_rd32(p) | (uint64_t)fmt_rd32(p + 4) << 32;
}
static inline void fmt_wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void fmt_wr64(uint8_t *p, uint64_t v) {
    fmt_wr32(p, (uint32_t)v);
    fmt_wr32(p + 4, (uint32_t)(v >> 32));
}

#endif
