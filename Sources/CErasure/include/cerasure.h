#ifndef CERASURE_H
#define CERASURE_H

#include <stddef.h>
#include <stdint.h>

/* GF(2^8) arithmetic for Reed-Solomon erasure coding, field polynomial
 * x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2. Portable path; the SIMD
 * paths (SSSE3/AVX2/GFNI) arrive with the storage issue and must match it bit for bit. */

/* Product of a and b in GF(2^8). */
uint8_t cerasure_gf_mul(uint8_t a, uint8_t b);

/* Multiplicative inverse of a; a must not be zero (returns 0 for 0). */
uint8_t cerasure_gf_inv(uint8_t a);

/* dst[i] ^= c * src[i] for i < len: the inner loop of encoding and decoding. */
void cerasure_gf_mul_add_region(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len);

#endif
