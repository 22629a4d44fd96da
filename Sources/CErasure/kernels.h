#ifndef CERASURE_KERNELS_H
#define CERASURE_KERNELS_H

/* Internal to CErasure: what the dispatch in cerasure.c shares with the SIMD kernels. */

#include <stddef.h>
#include <stdint.h>

/* Bytes of each shard one pass works on, so every output row of a pass finds its inputs in cache.
 * A multiple of every vector width. */
#define CERASURE_STRIP_BYTES 8192

/* Output rows computed together: each input vector is loaded once for this many rows. */
#define CERASURE_ROW_GROUP 4

/* cerasure_mul_table[a][b] = a * b; filled by cerasure_gf_init. */
extern uint8_t cerasure_mul_table[256][256];

/* Builds the tables once (thread-safe). */
void cerasure_gf_init(void);

/* The portable kernel over bytes [start, end) of every shard. */
void cerasure_portable_range(
    const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs, size_t start,
    size_t end);

/* 1 when this CPU and OS can run the x86 path `path`. */
int cerasure_x86_supported(int path);

/* cerasure_matrix_apply for a supported x86 path. */
int cerasure_x86_apply(
    int path, const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t len);

#endif
