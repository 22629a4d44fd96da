/*
 * sha256 — a compute job: its output is the lowercase hex SHA-256 of input 0
 * (64 bytes, no newline). run() returns 1 when there is no input 0 and 2 when
 * the input does not fit in memory (16 MiB less this module's own data).
 *
 * Host ABI (module "mesh_job"): input_count, input_len, input_read, output_write.
 * SHA-256 follows FIPS 180-4; integers only.
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define JOB_IMPORT(name) __attribute__((import_module("mesh_job"), import_name(#name)))

JOB_IMPORT(input_count) i32 job_input_count(void);
JOB_IMPORT(input_len) i32 job_input_len(i32 index);
JOB_IMPORT(input_read) i32 job_input_read(i32 index, void *ptr);
JOB_IMPORT(output_write) void job_output_write(const void *ptr, u32 len);

/* clang may emit calls to these; there is no libc. */
__attribute__((no_builtin)) void *memcpy(void *dst, const void *src, unsigned long n) {
    u8 *d = dst;
    const u8 *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

__attribute__((no_builtin)) void *memset(void *dst, int c, unsigned long n) {
    u8 *d = dst;
    while (n--) *d++ = (u8)c;
    return dst;
}

/* ---------------------------------------------------------------------- */
/* SHA-256                                                                */
/* ---------------------------------------------------------------------- */

static const u32 K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static u32 rotr(u32 x, u32 n) { return (x >> n) | (x << (32 - n)); }

/* Processes one 64-byte block into the state h. */
static void block(u32 h[8], const u8 *p) {
    u32 w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        u32 s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        u32 s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        u32 t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        u32 t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const u8 *data, u32 len, u8 out[32]) {
    u32 h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    u32 full = len & ~63u;
    for (u32 i = 0; i < full; i += 64) block(h, data + i);

    /* The tail: the last partial block, 0x80, zeros, the bit length (big-endian). */
    u8 tail[128];
    u32 rest = len - full, n = rest + 9 <= 64 ? 64 : 128;
    memset(tail, 0, sizeof tail);
    memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    u64 bits = (u64)len * 8;
    for (int i = 0; i < 8; i++) tail[n - 1 - i] = (u8)(bits >> (8 * i));
    for (u32 i = 0; i < n; i += 64) block(h, tail + i);

    for (int i = 0; i < 8; i++) {
        out[4 * i] = (u8)(h[i] >> 24);
        out[4 * i + 1] = (u8)(h[i] >> 16);
        out[4 * i + 2] = (u8)(h[i] >> 8);
        out[4 * i + 3] = (u8)h[i];
    }
}

/* ---------------------------------------------------------------------- */
/* The job                                                                */
/* ---------------------------------------------------------------------- */

extern u8 __heap_base; /* the first free byte, set by wasm-ld */

#define PAGE 65536u

__attribute__((export_name("run"))) int run(void) {
    i32 len = job_input_len(0);
    if (len < 0) return 1;

    /* Grow memory so that the input fits from __heap_base on. */
    u32 base = (u32)&__heap_base;
    u64 end = (u64)base + (u32)len;
    u32 have = (u32)__builtin_wasm_memory_size(0);
    u64 need = (end + PAGE - 1) / PAGE;
    if (need > have && __builtin_wasm_memory_grow(0, (unsigned long)(need - have)) == (unsigned long)-1)
        return 2;

    u8 *input = &__heap_base;
    if (job_input_read(0, input) != len) return 1;

    u8 digest[32];
    char hex[64];
    sha256(input, (u32)len, digest);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
    }
    job_output_write(hex, 64);
    return 0;
}
