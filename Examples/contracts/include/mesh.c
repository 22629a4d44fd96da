/*
 * mesh.c — helpers for the example contracts (see mesh.h). Linked into each
 * contract; wasm-ld drops whatever a contract does not use.
 */
#include "mesh.h"

/* ---------------------------------------------------------------------- */
/* Memory and strings                                                     */
/* ---------------------------------------------------------------------- */

/* no_builtin: keep clang from turning these loops back into calls to
 * themselves (or to strlen, which does not exist here). */
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

__attribute__((no_builtin)) int memcmp(const void *a, const void *b, unsigned long n) {
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

__attribute__((no_builtin)) u32 cstr_len(const char *s) {
    u32 n = 0;
    while (s[n]) n++;
    return n;
}

span span_c(const char *s) {
    span r = {s, cstr_len(s)};
    return r;
}

int span_eq(span a, span b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

int span_is(span a, const char *lit) { return span_eq(a, span_c(lit)); }

void fail(const char *msg) { mesh_abort(msg, cstr_len(msg)); }

/* Printable ASCII without quote or backslash: safe to put in a message. */
static int plain_ascii(span s) {
    for (u32 i = 0; i < s.n; i++) {
        u8 c = (u8)s.p[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Amounts, heights and DIDs                                              */
/* ---------------------------------------------------------------------- */

u64 funds_u64(void) {
    i64 f = mesh_funds();
    if (f < 0) fail("host gave negative funds");
    return (u64)f;
}

u64 balance_u64(void) {
    i64 b = mesh_balance();
    if (b < 0) fail("host gave a negative balance");
    return (u64)b;
}

u64 height_u64(void) {
    i64 h = mesh_height();
    if (h < 0) fail("host gave a negative height");
    return (u64)h;
}

span caller_did(char *buf) {
    i32 n = mesh_caller(buf, DID_CAP);
    if (n <= 0) fail("no caller (is this a query?)");
    if (n > DID_CAP) fail("caller DID longer than 128 bytes");
    span r = {buf, (u32)n};
    return r;
}

int is_did(span s) {
    if (s.n < 7 || s.n > DID_CAP || memcmp(s.p, "did:", 4) != 0) return 0;
    u32 i = 4, m = i;
    while (i < s.n && ((s.p[i] >= 'a' && s.p[i] <= 'z') || (s.p[i] >= '0' && s.p[i] <= '9'))) i++;
    if (i == m || i >= s.n || s.p[i] != ':') return 0; /* method name, then ':' */
    i++;
    if (i == s.n) return 0;                              /* empty id */
    for (; i < s.n; i++) {
        char c = s.p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_' || c == ':' || c == '%';
        if (!ok) return 0;
    }
    return 1;
}

void pay(span to, u64 amount) {
    if (amount > MAX_AMOUNT) fail("amount too large");
    switch (mesh_transfer(to.p, to.n, (i64)amount)) {
    case 0: return;
    case 1: fail("transfer: not a valid DID");
    case 2: fail("insufficient balance");
    case 3: fail("transfer not allowed here");
    default: fail("transfer failed");
    }
}

/* ---------------------------------------------------------------------- */
/* Decimal and output                                                     */
/* ---------------------------------------------------------------------- */

u32 fmt_u64(char *dst, u64 v) {
    char tmp[20];
    u32 n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (u32 i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    return n;
}

void out_raw(out *o, const char *s, u32 n) {
    if (n > o->cap - o->n) fail("output too long");
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

void out_lit(out *o, const char *s) { out_raw(o, s, cstr_len(s)); }

void out_u64(out *o, u64 v) {
    char d[20];
    out_raw(o, d, fmt_u64(d, v));
}

void out_str(out *o, span s) {
    out_raw(o, "\"", 1);
    out_raw(o, s.p, s.n);
    out_raw(o, "\"", 1);
}

void out_result(out *o) { mesh_result_write(o->p, o->n); }

void out_emit(out *o) { mesh_emit(o->p, o->n); }

void emit_kv(const char *key, span value) {
    char b[256];
    out o = {b, 0, sizeof b};
    out_lit(&o, key);
    out_raw(&o, "=", 1);
    out_raw(&o, value.p, value.n);
    out_emit(&o);
}

void emit_ku(const char *key, u64 value) {
    char d[20];
    span s = {d, fmt_u64(d, value)};
    emit_kv(key, s);
}

/* ---------------------------------------------------------------------- */
/* JSON reading                                                           */
/* ---------------------------------------------------------------------- */

#define JSON_DEPTH 32

static char msg_buf[MSG_CAP];

__attribute__((noreturn)) static void bad(const char *why) {
    char b[128];
    out o = {b, 0, sizeof b};
    out_lit(&o, "bad message: ");
    out_lit(&o, why);
    mesh_abort(o.p, o.n);
}

static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Each skip_* returns the position just after the value, or NULL if it is malformed. */
static const char *skip_string(const char *p, const char *e) {
    if (p >= e || *p != '"') return NULL;
    for (p++; p < e; p++) {
        u8 c = (u8)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= e) return NULL;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            case 'u':
                if (e - p < 5) return NULL;
                for (int i = 1; i <= 4; i++)
                    if (!is_hex(p[i])) return NULL;
                p += 4;
                break;
            default: return NULL;
            }
        }
    }
    return NULL;
}

static const char *skip_digits(const char *p, const char *e) {
    if (p >= e || !is_digit(*p)) return NULL;
    while (p < e && is_digit(*p)) p++;
    return p;
}

static const char *skip_number(const char *p, const char *e) {
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') p++;
    else if (!(p = skip_digits(p, e))) return NULL;
    if (p < e && *p == '.' && !(p = skip_digits(p + 1, e))) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!(p = skip_digits(p, e))) return NULL;
    }
    return p;
}

static const char *skip_word(const char *p, const char *e, const char *w) {
    u32 n = cstr_len(w);
    if ((u32)(e - p) < n || memcmp(p, w, n) != 0) return NULL;
    return p + n;
}

static const char *skip_value(const char *p, const char *e, int depth) {
    if (p >= e) return NULL;
    switch (*p) {
    case '"': return skip_string(p, e);
    case 't': return skip_word(p, e, "true");
    case 'f': return skip_word(p, e, "false");
    case 'n': return skip_word(p, e, "null");
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        if (depth >= JSON_DEPTH) return NULL;
        p = ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (object) {
                if (!(p = skip_string(p, e))) return NULL;
                p = ws(p, e);
                if (p >= e || *p != ':') return NULL;
                p = ws(p + 1, e);
            }
            if (!(p = skip_value(p, e, depth + 1))) return NULL;
            p = ws(p, e);
            if (p >= e) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p = ws(p + 1, e);
        }
    }
    default: return skip_number(p, e);
    }
}

span msg_object(void) {
    i32 n = mesh_msg_len();
    if (n < 0 || n > MSG_CAP) bad("longer than 16384 bytes");
    mesh_msg_read(msg_buf);
    const char *e = msg_buf + n;
    const char *p = ws(msg_buf, e);
    if (p >= e || *p != '{') bad("not a JSON object");
    const char *q = skip_value(p, e, 0);
    if (!q) bad("not well-formed JSON");
    if (ws(q, e) != e) bad("trailing bytes after the object");
    span r = {p, (u32)(q - p)};
    return r;
}

/* Walks an object's members: *pos starts at 0. The message was checked by
 * msg_object, so a failure here means a span was misused. */
static int obj_next(span obj, u32 *pos, span *key, span *val) {
    const char *p = obj.p + *pos, *e = obj.p + obj.n;
    if (*pos == 0) {
        if (obj.n == 0 || *p != '{') bad("expected an object");
        p++;
    }
    p = ws(p, e);
    if (p < e && *p == ',') p = ws(p + 1, e);
    if (p < e && *p == '}') return 0;
    const char *k = p;
    if (!(p = skip_string(p, e))) bad("expected a key");
    key->p = k + 1;
    key->n = (u32)(p - k - 2);
    p = ws(p, e);
    if (p >= e || *p != ':') bad("expected ':'");
    p = ws(p + 1, e);
    const char *v = p;
    if (!(p = skip_value(p, e, 0))) bad("not well-formed JSON");
    val->p = v;
    val->n = (u32)(p - v);
    *pos = (u32)(p - obj.p);
    return 1;
}

int json_get(span obj, const char *key, span *val) {
    span k, v, want = span_c(key);
    u32 pos = 0;
    int found = 0;
    while (obj_next(obj, &pos, &k, &v)) {
        if (!span_eq(k, want)) continue;
        if (found) bad("duplicate key");
        *val = v;
        found = 1;
    }
    return found;
}

span json_need(span obj, const char *key) {
    span v;
    if (!json_get(obj, key, &v)) {
        char b[96];
        out o = {b, 0, sizeof b};
        out_lit(&o, "missing \"");
        out_raw(&o, key, cstr_len(key) > 64 ? 64 : cstr_len(key));
        out_lit(&o, "\"");
        out_raw(&o, "", 1); /* NUL for bad() */
        bad(b);
    }
    return v;
}

u32 json_key_count(span obj) {
    span k, v;
    u32 pos = 0, n = 0;
    while (obj_next(obj, &pos, &k, &v)) n++;
    return n;
}

void json_only(span obj, const char *const *keys, u32 n) {
    span k, v;
    u32 pos = 0;
    while (obj_next(obj, &pos, &k, &v)) {
        u32 i = 0;
        while (i < n && !span_is(k, keys[i])) i++;
        if (i == n) bad("unexpected key");
    }
}

span json_command(span obj, span *arg) {
    span k, v;
    u32 pos = 0;
    if (!obj_next(obj, &pos, &k, &v) || obj_next(obj, &pos, &k, arg))
        bad("expected exactly one key, like {\"name\":{...}}");
    *arg = v;
    if (v.n == 0 || *v.p != '{') bad("the command's value must be an object");
    return k;
}

void json_no_args(span v, const char *what) {
    if (v.n == 0 || *v.p != '{' || json_key_count(v) != 0) {
        char b[96];
        out o = {b, 0, sizeof b - 1};
        out_lit(&o, what);
        out_lit(&o, " takes no arguments: {}");
        b[o.n] = 0;
        bad(b);
    }
}

static __attribute__((noreturn)) void bad_field(const char *what, const char *expected) {
    char b[112];
    out o = {b, 0, sizeof b - 1};
    out_raw(&o, what, cstr_len(what) > 48 ? 48 : cstr_len(what));
    out_lit(&o, " must be ");
    out_lit(&o, expected);
    b[o.n] = 0;
    bad(b);
}

u64 json_u64(span v, const char *what) {
    if (v.n == 0 || v.n > 20 || (v.n > 1 && v.p[0] == '0')) bad_field(what, "an unsigned integer");
    u64 r = 0;
    for (u32 i = 0; i < v.n; i++) {
        if (!is_digit(v.p[i])) bad_field(what, "an unsigned integer");
        u64 d = (u64)(v.p[i] - '0');
        if (r > (0xffffffffffffffffULL - d) / 10) bad_field(what, "below 2^64");
        r = r * 10 + d;
    }
    return r;
}

span json_str(span v, const char *what) {
    if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"') bad_field(what, "a string");
    span s = {v.p + 1, v.n - 2};
    for (u32 i = 0; i < s.n; i++)
        if (s.p[i] == '\\') bad_field(what, "a string without escapes");
    return s;
}

span json_did(span v, const char *what) {
    span s = json_str(v, what);
    if (!is_did(s)) bad_field(what, "a DID (did:method:id, at most 128 bytes)");
    return s;
}

int json_array_next(span arr, u32 *pos, span *elem) {
    const char *p = arr.p + *pos, *e = arr.p + arr.n;
    if (*pos == 0) {
        if (arr.n == 0 || *p != '[') bad("expected an array");
        p++;
    }
    p = ws(p, e);
    if (p < e && *p == ',') p = ws(p + 1, e);
    if (p < e && *p == ']') return 0;
    const char *v = p;
    if (!(p = skip_value(p, e, 0))) bad("not well-formed JSON");
    elem->p = v;
    elem->n = (u32)(p - v);
    *pos = (u32)(p - arr.p);
    return 1;
}

void fail_unknown(span name) {
    char b[96];
    out o = {b, 0, sizeof b};
    out_lit(&o, "unknown message");
    if (name.n <= 64 && plain_ascii(name)) {
        out_lit(&o, " \"");
        out_raw(&o, name.p, name.n);
        out_lit(&o, "\"");
    }
    mesh_abort(o.p, o.n);
}

/* ---------------------------------------------------------------------- */
/* State                                                                  */
/* ---------------------------------------------------------------------- */

__attribute__((noreturn)) static void bad_state(const char *why, span key) {
    char b[160];
    out o = {b, 0, sizeof b};
    out_lit(&o, why);
    if (key.n <= 128 && plain_ascii(key)) {
        out_lit(&o, " \"");
        out_raw(&o, key.p, key.n);
        out_lit(&o, "\"");
    }
    mesh_abort(o.p, o.n);
}

static u64 le64(const u8 *b) {
    u64 v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

int state_get_u64(span key, u64 *v) {
    u8 b[8];
    i32 n = mesh_state_get(key.p, key.n, b, 8);
    if (n < 0) return 0;
    if (n != 8) bad_state("corrupt state: not a u64 at", key);
    *v = le64(b);
    return 1;
}

u64 state_need_u64(span key) {
    u64 v;
    if (!state_get_u64(key, &v)) bad_state("state missing", key);
    return v;
}

void state_set_u64(span key, u64 v) {
    u8 b[8];
    for (int i = 0; i < 8; i++) b[i] = (u8)(v >> (8 * i));
    mesh_state_set(key.p, key.n, b, 8);
}

span state_need_str(span key, char *buf, u32 cap) {
    i32 n = mesh_state_get(key.p, key.n, buf, cap);
    if (n < 0) bad_state("state missing", key);
    if ((u32)n > cap) bad_state("corrupt state: value too long at", key);
    span r = {buf, (u32)n};
    return r;
}

void state_set_str(span key, span v) { mesh_state_set(key.p, key.n, v.p, v.n); }

span key_join(char *buf, u32 cap, const char *prefix, span suffix) {
    out o = {buf, 0, cap};
    out_lit(&o, prefix);
    out_raw(&o, suffix.p, suffix.n);
    span r = {buf, o.n};
    return r;
}

span key_num(char *buf, u32 cap, const char *prefix, u64 n) {
    char d[20];
    span s = {d, fmt_u64(d, n)};
    return key_join(buf, cap, prefix, s);
}
