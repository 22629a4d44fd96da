/*
 * mesh.h — the Meshwork contract host ABI for C, plus the few helpers a
 * contract needs when there is no libc: memory functions, a small strict
 * JSON reader, a JSON writer, decimal formatting and state-key helpers.
 *
 * Every example contract is one C file compiled together with mesh.c:
 *
 *   clang --target=wasm32 -mcpu=mvp -nostdlib -O2 ... counter.c ../include/mesh.c
 *
 * (Examples/build.sh has the exact flags.) All pointers and lengths given to
 * the host point into the contract's own exported memory.
 *
 * Conventions of these examples (not of the ABI itself):
 *   - integers in state are 8-byte little-endian u64 values;
 *   - JSON strings that a contract reads (DIDs) may not contain escapes, so a
 *     string read from a message can be written back into JSON unchanged;
 *   - every malformed message ends the call with abort("bad message: ...").
 */
#ifndef MESH_H
#define MESH_H

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;

#define NULL ((void *)0)

/* ---------------------------------------------------------------------- */
/* Host imports (module "mesh").                                          */
/* ---------------------------------------------------------------------- */

#define MESH_IMPORT(name) __attribute__((import_module("mesh"), import_name(#name)))
/* An entry point the host calls: instantiate, execute, query. */
#define MESH_EXPORT(name) __attribute__((export_name(#name)))

MESH_IMPORT(msg_len) i32 mesh_msg_len(void);
MESH_IMPORT(msg_read) void mesh_msg_read(void *ptr);
MESH_IMPORT(result_write) void mesh_result_write(const void *ptr, u32 len);
/* -1 when the key is absent, else the value's full length (copies min(len, vcap)). */
MESH_IMPORT(state_get) i32 mesh_state_get(const void *kptr, u32 klen, void *vptr, u32 vcap);
MESH_IMPORT(state_set) void mesh_state_set(const void *kptr, u32 klen, const void *vptr, u32 vlen);
MESH_IMPORT(state_remove) void mesh_state_remove(const void *kptr, u32 klen);
/* The signer's DID; returns its length (0 in a query). */
MESH_IMPORT(caller) i32 mesh_caller(void *ptr, u32 cap);
MESH_IMPORT(self_address) i32 mesh_self_address(void *ptr, u32 cap);
MESH_IMPORT(funds) i64 mesh_funds(void);
MESH_IMPORT(balance) i64 mesh_balance(void);
MESH_IMPORT(height) i64 mesh_height(void);
MESH_IMPORT(time_ms) i64 mesh_time_ms(void);
/* 0 done, 1 not a valid DID, 2 insufficient balance, 3 not allowed. */
MESH_IMPORT(transfer) i32 mesh_transfer(const void *to, u32 to_len, i64 amount);
MESH_IMPORT(emit) void mesh_emit(const void *ptr, u32 len);
MESH_IMPORT(abort) __attribute__((noreturn)) void mesh_abort(const void *ptr, u32 len);

/* ---------------------------------------------------------------------- */
/* Memory and strings (no libc). memcpy/memset/memcmp are real symbols     */
/* because clang may emit calls to them on its own.                        */
/* ---------------------------------------------------------------------- */

void *memcpy(void *dst, const void *src, unsigned long n);
void *memset(void *dst, int c, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
u32 cstr_len(const char *s);

/* A run of bytes inside some buffer (not NUL-terminated). */
typedef struct {
    const char *p;
    u32 n;
} span;

span span_c(const char *s);                 /* a C string as a span */
int span_eq(span a, span b);
int span_is(span a, const char *lit);       /* a equals the C string lit */

/* abort() with a C string; never returns. */
__attribute__((noreturn)) void fail(const char *msg);

/* ---------------------------------------------------------------------- */
/* Amounts, heights and DIDs.                                              */
/* ---------------------------------------------------------------------- */

#define MAX_AMOUNT 0x7fffffffffffffffULL  /* amounts cross the ABI as i64 */
#define DID_CAP 128                       /* the longest DID the host gives */

u64 funds_u64(void);      /* funds() as u64 (aborts if negative) */
u64 balance_u64(void);
u64 height_u64(void);

/* Reads the signer into buf (DID_CAP bytes); aborts in a query. */
span caller_did(char *buf);

/* did:<method>:<id>, method = [a-z0-9]+, id = [A-Za-z0-9._:%-]+, ≤ DID_CAP bytes. */
int is_did(span s);

/* transfer() that aborts with a clear message unless it is done. */
void pay(span to, u64 amount);

/* ---------------------------------------------------------------------- */
/* Decimal and output.                                                     */
/* ---------------------------------------------------------------------- */

/* Writes v in decimal to dst (at most 20 bytes); returns the length. */
u32 fmt_u64(char *dst, u64 v);

/* A bounded output buffer; overflowing it aborts the call. */
typedef struct {
    char *p;
    u32 n;
    u32 cap;
} out;

void out_raw(out *o, const char *s, u32 n);
void out_lit(out *o, const char *s);       /* C string, as is */
void out_u64(out *o, u64 v);               /* decimal */
void out_str(out *o, span s);              /* "s" (s holds no escapes) */
void out_result(out *o);                   /* result_write the buffer */
void out_emit(out *o);                     /* emit the buffer as one event attribute */

/* emit "key=value" */
void emit_kv(const char *key, span value);
void emit_ku(const char *key, u64 value);

/* ---------------------------------------------------------------------- */
/* JSON reading. msg_object() loads the call's message and checks that it  */
/* is exactly one well-formed JSON object (nesting ≤ 32, ≤ MSG_CAP bytes). */
/* The other functions take spans of values inside it.                     */
/* ---------------------------------------------------------------------- */

#define MSG_CAP 16384

span msg_object(void);

/* Finds the value of a top-level key of an object; 1 if found, 0 if not.
 * Keys are compared as written (no escapes); a duplicate key aborts. */
int json_get(span obj, const char *key, span *val);
/* json_get or abort("bad message: missing \"key\"") */
span json_need(span obj, const char *key);
/* Number of keys of an object. */
u32 json_key_count(span obj);
/* Aborts unless obj has no key other than the listed ones (n of them). */
void json_only(span obj, const char *const *keys, u32 n);
/* For {"name":{...}}: the single key's name (returned) and its value (*arg). */
span json_command(span obj, span *arg);
/* Aborts unless v is the empty object {}. */
void json_no_args(span v, const char *what);
/* An unsigned decimal integer (no sign, fraction, exponent or leading 0). */
u64 json_u64(span v, const char *what);
/* A string without escapes; returns its content (without the quotes). */
span json_str(span v, const char *what);
/* A DID string (json_str + is_did). */
span json_did(span v, const char *what);
/* Walks an array: *pos starts at 0; returns 1 with *elem set, 0 at the end. */
int json_array_next(span arr, u32 *pos, span *elem);

/* "unknown message \"name\"" for an unexpected command name. */
__attribute__((noreturn)) void fail_unknown(span name);

/* ---------------------------------------------------------------------- */
/* State. Keys are short byte strings; u64 values are 8 bytes LE.          */
/* ---------------------------------------------------------------------- */

/* Returns 1 and sets *v if the key holds a u64, 0 if absent; aborts if the value is not 8 bytes. */
int state_get_u64(span key, u64 *v);
u64 state_need_u64(span key);              /* aborts if absent */
void state_set_u64(span key, u64 v);
/* A string value: returns its length (aborts if absent or longer than cap). */
span state_need_str(span key, char *buf, u32 cap);
void state_set_str(span key, span v);

/* key = prefix + suffix, written to buf (cap bytes); returns the key. */
span key_join(char *buf, u32 cap, const char *prefix, span suffix);
/* key = prefix + decimal(n) */
span key_num(char *buf, u32 cap, const char *prefix, u64 n);

#endif
