#include "cerasure.h"

/* Log and antilog tables, built once; exp has 512 entries so log[a] + log[b] needs no modulo. */
static uint8_t gf_exp[512];
static uint8_t gf_log[256];
static int gf_ready = 0;

static void gf_init(void) {
    if (gf_ready) return;
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
        gf_exp[i] = (uint8_t)x;
        gf_log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
    }
    for (int i = 255; i < 512; i++) gf_exp[i] = gf_exp[i - 255];
    gf_ready = 1;
}

uint8_t cerasure_gf_mul(uint8_t a, uint8_t b) {
    gf_init();
    if (a == 0 || b == 0) return 0;
    return gf_exp[gf_log[a] + gf_log[b]];
}

uint8_t cerasure_gf_inv(uint8_t a) {
    gf_init();
    if (a == 0) return 0;
    return gf_exp[255 - gf_log[a]];
}

void cerasure_gf_mul_add_region(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len) {
    gf_init();
    if (c == 0) return;
    /* One 256-entry row of the multiplication table for c. */
    uint8_t row[256];
    row[0] = 0;
    for (int v = 1; v < 256; v++) row[v] = gf_exp[gf_log[v] + gf_log[c]];
    for (size_t i = 0; i < len; i++) dst[i] ^= row[src[i]];
}
