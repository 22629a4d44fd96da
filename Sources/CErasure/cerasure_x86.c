/* SIMD kernels for x86-64, each compiled for its own instruction set with a target attribute and
 * chosen at run time (cerasure_x86_supported), so the library runs on any x86-64 CPU.
 *
 * SSSE3 and AVX2 multiply by a constant c with two 16-entry table lookups (pshufb): one for the
 * low nibble of each byte (c * x) and one for the high nibble (c * (x << 4)), XORed together.
 * GFNI multiplies with one affine transform (gf2p8affineqb): x -> c * x is linear over GF(2), so it
 * is an 8x8 bit matrix, which works for the 0x11d field (gf2p8mulb would fix the field to 0x11b). */

#include "cerasure.h"
#include "kernels.h"

#include <stdlib.h>

#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

/* ---------------------------------------------------------------- CPU features */

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

int cerasure_x86_supported(int path) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    int ssse3 = (ecx >> 9) & 1;
    int osxsave = (ecx >> 27) & 1;
    if (path == CERASURE_PATH_SSSE3) return ssse3;
    if (!osxsave) return 0;
    uint64_t xcr0 = read_xcr0();
    int ymm = (xcr0 & 0x6) == 0x6;      /* XMM and YMM state saved by the OS */
    int zmm = (xcr0 & 0xe6) == 0xe6;    /* plus opmask and ZMM state */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    int avx2 = (ebx >> 5) & 1;
    int avx512f = (ebx >> 16) & 1;
    int gfni = (ecx >> 8) & 1;
    switch (path) {
    case CERASURE_PATH_AVX2: return avx2 && ymm;
    case CERASURE_PATH_GFNI_AVX2: return gfni && avx2 && ymm;
    case CERASURE_PATH_GFNI_AVX512: return gfni && avx512f && zmm;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- tables */

/* For each coefficient: 16 products of the low nibble, then 16 of the high nibble. */
static void nibble_tables(const uint8_t *matrix, size_t count, uint8_t *tables) {
    for (size_t e = 0; e < count; e++) {
        const uint8_t *row = cerasure_mul_table[matrix[e]];
        for (int x = 0; x < 16; x++) {
            tables[e * 32 + x] = row[x];
            tables[e * 32 + 16 + x] = row[x << 4];
        }
    }
}

/* For each coefficient c, the 8x8 bit matrix of x -> c * x in gf2p8affineqb's layout: output bit i
 * is the parity of (byte 7 - i of the matrix) AND x. */
static void affine_tables(const uint8_t *matrix, size_t count, uint64_t *tables) {
    for (size_t e = 0; e < count; e++) {
        const uint8_t *row = cerasure_mul_table[matrix[e]];
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) {
            uint64_t mask = 0;
            for (int j = 0; j < 8; j++) mask |= (uint64_t)((row[1 << j] >> i) & 1) << j;
            bits |= mask << (8 * (7 - i));
        }
        tables[e] = bits;
    }
}

/* ---------------------------------------------------------------- kernels
 *
 * Each kernel computes `NR` output rows (a compile-time constant after inlining, so the
 * accumulators stay in registers) over bytes [start, end), a multiple of its vector width. */

#define ALWAYS_INLINE __attribute__((always_inline)) static inline

ALWAYS_INLINE __attribute__((target("ssse3"))) void ssse3_rows(
    const int NR, const uint8_t *tables, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t start, size_t end) {
    const __m128i low = _mm_set1_epi8(0x0f);
    for (size_t i = start; i < end; i += 16) {
        __m128i acc[CERASURE_ROW_GROUP];
        for (int r = 0; r < NR; r++) acc[r] = _mm_setzero_si128();
        for (int c = 0; c < cols; c++) {
            __m128i x = _mm_loadu_si128((const __m128i *)(inputs[c] + i));
            __m128i lo = _mm_and_si128(x, low);
            __m128i hi = _mm_and_si128(_mm_srli_epi64(x, 4), low);
            for (int r = 0; r < NR; r++) {
                const uint8_t *t = tables + ((size_t)r * cols + c) * 32;
                __m128i products = _mm_xor_si128(
                    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)t), lo),
                    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(t + 16)), hi));
                acc[r] = _mm_xor_si128(acc[r], products);
            }
        }
        for (int r = 0; r < NR; r++) _mm_storeu_si128((__m128i *)(outputs[r] + i), acc[r]);
    }
}

ALWAYS_INLINE __attribute__((target("avx2"))) void avx2_rows(
    const int NR, const uint8_t *tables, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t start, size_t end) {
    const __m256i low = _mm256_set1_epi8(0x0f);
    for (size_t i = start; i < end; i += 32) {
        __m256i acc[CERASURE_ROW_GROUP];
        for (int r = 0; r < NR; r++) acc[r] = _mm256_setzero_si256();
        for (int c = 0; c < cols; c++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(inputs[c] + i));
            __m256i lo = _mm256_and_si256(x, low);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi64(x, 4), low);
            for (int r = 0; r < NR; r++) {
                const uint8_t *t = tables + ((size_t)r * cols + c) * 32;
                __m256i table_lo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
                __m256i table_hi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(t + 16)));
                __m256i products =
                    _mm256_xor_si256(_mm256_shuffle_epi8(table_lo, lo), _mm256_shuffle_epi8(table_hi, hi));
                acc[r] = _mm256_xor_si256(acc[r], products);
            }
        }
        for (int r = 0; r < NR; r++) _mm256_storeu_si256((__m256i *)(outputs[r] + i), acc[r]);
    }
}

ALWAYS_INLINE __attribute__((target("avx2,gfni"))) void gfni_avx2_rows(
    const int NR, const uint64_t *tables, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t start, size_t end) {
    for (size_t i = start; i < end; i += 32) {
        __m256i acc[CERASURE_ROW_GROUP];
        for (int r = 0; r < NR; r++) acc[r] = _mm256_setzero_si256();
        for (int c = 0; c < cols; c++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(inputs[c] + i));
            for (int r = 0; r < NR; r++) {
                __m256i affine = _mm256_set1_epi64x((long long)tables[(size_t)r * cols + c]);
                acc[r] = _mm256_xor_si256(acc[r], _mm256_gf2p8affine_epi64_epi8(x, affine, 0));
            }
        }
        for (int r = 0; r < NR; r++) _mm256_storeu_si256((__m256i *)(outputs[r] + i), acc[r]);
    }
}

ALWAYS_INLINE __attribute__((target("avx512f,gfni"))) void gfni_avx512_rows(
    const int NR, const uint64_t *tables, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t start, size_t end) {
    for (size_t i = start; i < end; i += 64) {
        __m512i acc[CERASURE_ROW_GROUP];
        for (int r = 0; r < NR; r++) acc[r] = _mm512_setzero_si512();
        for (int c = 0; c < cols; c++) {
            __m512i x = _mm512_loadu_si512((const void *)(inputs[c] + i));
            for (int r = 0; r < NR; r++) {
                __m512i affine = _mm512_set1_epi64((long long)tables[(size_t)r * cols + c]);
                acc[r] = _mm512_xor_si512(acc[r], _mm512_gf2p8affine_epi64_epi8(x, affine, 0));
            }
        }
        for (int r = 0; r < NR; r++) _mm512_storeu_si512((void *)(outputs[r] + i), acc[r]);
    }
}

/* One group of 1...4 rows: a switch so each call site sees a constant row count. */
#define GROUP_DISPATCH(kernel, nr, ...)                                                                               \
    switch (nr) {                                                                                                      \
    case 1: kernel(1, __VA_ARGS__); break;                                                                             \
    case 2: kernel(2, __VA_ARGS__); break;                                                                             \
    case 3: kernel(3, __VA_ARGS__); break;                                                                             \
    default: kernel(4, __VA_ARGS__); break;                                                                            \
    }

__attribute__((target("ssse3"))) static void ssse3_group(
    int nr, const uint8_t *t, int cols, const uint8_t *const *in, uint8_t *const *out, size_t s, size_t e) {
    GROUP_DISPATCH(ssse3_rows, nr, t, cols, in, out, s, e)
}

__attribute__((target("avx2"))) static void avx2_group(
    int nr, const uint8_t *t, int cols, const uint8_t *const *in, uint8_t *const *out, size_t s, size_t e) {
    GROUP_DISPATCH(avx2_rows, nr, t, cols, in, out, s, e)
}

__attribute__((target("avx2,gfni"))) static void gfni_avx2_group(
    int nr, const uint64_t *t, int cols, const uint8_t *const *in, uint8_t *const *out, size_t s, size_t e) {
    GROUP_DISPATCH(gfni_avx2_rows, nr, t, cols, in, out, s, e)
}

__attribute__((target("avx512f,gfni"))) static void gfni_avx512_group(
    int nr, const uint64_t *t, int cols, const uint8_t *const *in, uint8_t *const *out, size_t s, size_t e) {
    GROUP_DISPATCH(gfni_avx512_rows, nr, t, cols, in, out, s, e)
}

static size_t vector_bytes(int path) {
    switch (path) {
    case CERASURE_PATH_SSSE3: return 16;
    case CERASURE_PATH_GFNI_AVX512: return 64;
    default: return 32;
    }
}

int cerasure_x86_apply(
    int path, const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t len) {
    size_t count = (size_t)rows * (size_t)cols;
    int affine = path == CERASURE_PATH_GFNI_AVX2 || path == CERASURE_PATH_GFNI_AVX512;
    void *tables = malloc(affine ? count * sizeof(uint64_t) : count * 32);
    if (tables == NULL) return -1;
    if (affine) {
        affine_tables(matrix, count, (uint64_t *)tables);
    } else {
        nibble_tables(matrix, count, (uint8_t *)tables);
    }
    size_t width = vector_bytes(path);
    size_t vector_end = len - len % width;
    for (size_t start = 0; start < vector_end; start += CERASURE_STRIP_BYTES) {
        size_t end = vector_end - start < CERASURE_STRIP_BYTES ? vector_end : start + CERASURE_STRIP_BYTES;
        for (int r0 = 0; r0 < rows; r0 += CERASURE_ROW_GROUP) {
            int nr = rows - r0 < CERASURE_ROW_GROUP ? rows - r0 : CERASURE_ROW_GROUP;
            uint8_t *const *out = outputs + r0;
            size_t first = (size_t)r0 * (size_t)cols;
            switch (path) {
            case CERASURE_PATH_SSSE3:
                ssse3_group(nr, (const uint8_t *)tables + first * 32, cols, inputs, out, start, end);
                break;
            case CERASURE_PATH_AVX2:
                avx2_group(nr, (const uint8_t *)tables + first * 32, cols, inputs, out, start, end);
                break;
            case CERASURE_PATH_GFNI_AVX2:
                gfni_avx2_group(nr, (const uint64_t *)tables + first, cols, inputs, out, start, end);
                break;
            default:
                gfni_avx512_group(nr, (const uint64_t *)tables + first, cols, inputs, out, start, end);
                break;
            }
        }
    }
    /* The last bytes that do not fill a vector. */
    if (vector_end < len) cerasure_portable_range(matrix, rows, cols, inputs, outputs, vector_end, len);
    free(tables);
    return 0;
}

#else

/* Not x86-64: only the portable path exists. */
int cerasure_x86_supported(int path) {
    (void)path;
    return 0;
}

int cerasure_x86_apply(
    int path, const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t len) {
    (void)path, (void)matrix, (void)rows, (void)cols, (void)inputs, (void)outputs, (void)len;
    return -1;
}

#endif
