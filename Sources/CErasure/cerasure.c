#include "cerasure.h"
#include "kernels.h"

#include <pthread.h>
#include <stdlib.h>

/* Log and antilog tables and the full multiplication table, built once. exp has 512 entries so
 * log[a] + log[b] needs no modulo. */
static uint8_t gf_exp[512];
static uint8_t gf_log[256];
uint8_t cerasure_mul_table[256][256];
static pthread_once_t gf_once = PTHREAD_ONCE_INIT;

static void gf_build(void) {
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
        gf_exp[i] = (uint8_t)x;
        gf_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
    }
    for (int i = 255; i < 512; i++) gf_exp[i] = gf_exp[i - 255];
    for (int a = 1; a < 256; a++) {
        for (int b = 1; b < 256; b++) cerasure_mul_table[a][b] = gf_exp[gf_log[a] + gf_log[b]];
    }
}

void cerasure_gf_init(void) { pthread_once(&gf_once, gf_build); }

uint8_t cerasure_gf_mul(uint8_t a, uint8_t b) {
    cerasure_gf_init();
    return cerasure_mul_table[a][b];
}

uint8_t cerasure_gf_inv(uint8_t a) {
    cerasure_gf_init();
    if (a == 0) return 0;
    return gf_exp[255 - gf_log[a]];
}

void cerasure_gf_mul_add_region(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len) {
    cerasure_gf_init();
    if (c == 0) return;
    const uint8_t *row = cerasure_mul_table[c];
    for (size_t i = 0; i < len; i++) dst[i] ^= row[src[i]];
}

void cerasure_portable_range(
    const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs, size_t start,
    size_t end) {
    for (int r = 0; r < rows; r++) {
        uint8_t *out = outputs[r];
        const uint8_t *first = cerasure_mul_table[matrix[r * cols]];
        const uint8_t *in = inputs[0];
        for (size_t i = start; i < end; i++) out[i] = first[in[i]];
        for (int c = 1; c < cols; c++) {
            const uint8_t *row = cerasure_mul_table[matrix[r * cols + c]];
            in = inputs[c];
            for (size_t i = start; i < end; i++) out[i] ^= row[in[i]];
        }
    }
}

int cerasure_path_supported(int path) {
    switch (path) {
    case CERASURE_PATH_PORTABLE: return 1;
    case CERASURE_PATH_SSSE3:
    case CERASURE_PATH_AVX2:
    case CERASURE_PATH_GFNI_AVX2:
    case CERASURE_PATH_GFNI_AVX512: return cerasure_x86_supported(path);
    default: return 0;
    }
}

const char *cerasure_path_name(int path) {
    static const char *names[CERASURE_PATH_COUNT] = {"portable", "ssse3", "avx2", "gfni-avx2", "gfni-avx512"};
    if (path < 0 || path >= CERASURE_PATH_COUNT) return NULL;
    return names[path];
}

int cerasure_matrix_apply(
    int path, const uint8_t *matrix, int rows, int cols, const uint8_t *const *inputs, uint8_t *const *outputs,
    size_t len) {
    if (rows < 1 || rows > CERASURE_SHARDS_MAX || cols < 1 || cols > CERASURE_SHARDS_MAX) return -1;
    if (!cerasure_path_supported(path)) return -1;
    cerasure_gf_init();
    if (path == CERASURE_PATH_PORTABLE) {
        /* Strips keep the inputs of one pass in cache while every output row reads them. */
        for (size_t start = 0; start < len; start += CERASURE_STRIP_BYTES) {
            size_t end = len - start < CERASURE_STRIP_BYTES ? len : start + CERASURE_STRIP_BYTES;
            cerasure_portable_range(matrix, rows, cols, inputs, outputs, start, end);
        }
        return 0;
    }
    return cerasure_x86_apply(path, matrix, rows, cols, inputs, outputs, len);
}
