#ifndef CERASURE_H
#define CERASURE_H

#include <stddef.h>
#include <stdint.h>

/* GF(2^8) arithmetic and the matrix kernel of Reed-Solomon erasure coding, field polynomial
 * x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2.
 *
 * The kernel has one portable path and SIMD paths (SSSE3, AVX2, GFNI on 256-bit and 512-bit
 * vectors) chosen by the caller among those this CPU supports; every path gives the same bytes. */

/* The kernel paths. */
enum {
    CERASURE_PATH_PORTABLE = 0,
    CERASURE_PATH_SSSE3 = 1,
    CERASURE_PATH_AVX2 = 2,
    CERASURE_PATH_GFNI_AVX2 = 3,
    CERASURE_PATH_GFNI_AVX512 = 4,
    CERASURE_PATH_COUNT = 5
};

/* Most rows or columns of a coding matrix: k + m <= 255. */
#define CERASURE_SHARDS_MAX 255

/* Product of a and b in GF(2^8). */
uint8_t cerasure_gf_mul(uint8_t a, uint8_t b);

/* Multiplicative inverse of a; a must not be zero (returns 0 for 0). */
uint8_t cerasure_gf_inv(uint8_t a);

/* dst[i] ^= c * src[i] for i < len (portable). */
void cerasure_gf_mul_add_region(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);

/* 1 when this CPU and OS can run `path`, else 0 (the portable path always can). */
int cerasure_path_supported(int path);

/* A short name for `path` ("portable", "ssse3", "avx2", "gfni-avx2", "gfni-avx512"), or NULL. */
const char *cerasure_path_name(int path);

/* outputs[r][i] = sum over c < cols of matrix[r * cols + c] * inputs[c][i], for r < rows and
 * i < len, on `path`. Outputs are overwritten and must not overlap inputs. Returns 0, or -1 when
 * the path is unknown or unsupported here, rows or cols is outside 1...255, or memory runs out. */
int cerasure_matrix_apply(
    int path, const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t len);

#endif
