/*
 * multisig — k-of-n collective control of an account.
 *
 *   instantiate  {"owners":["DID",...],"threshold":K}
 *                1 <= K <= n <= 10, distinct owners; funds may be attached
 *   execute      {"propose":{"to":"DID","amount":N}}  owners: answers {"id":I};
 *                                                     the proposer's approval counts
 *                {"approve":{"id":I}}                 owners, once each
 *                {"execute":{"id":I}}                 owners: transfers when approvals >= K, once
 *                {"deposit":{}}                       anyone: adds the attached funds
 *   query        {"proposal":{"id":I}}  {"id":I,"to":"..","amount":N,"approvals":A,"executed":true|false}
 *                {"config":{}}          {"owners":[...],"threshold":K}
 *
 * State: "owners" (each owner as one length byte then the DID), "threshold"
 * and "next_id" (u64), and one record per proposal under "p/<id>":
 * amount (8 bytes LE) | approvals bitmask by owner index (2 bytes LE) |
 * executed (1 byte) | recipient DID.
 */
#include "../include/mesh.h"

#define MAX_OWNERS 10
#define KEY_OWNERS span_c("owners")
#define KEY_THRESHOLD span_c("threshold")
#define KEY_NEXT_ID span_c("next_id")
#define REC_HEAD 11 /* bytes before the DID in a proposal record */

typedef struct {
    u32 n;
    span did[MAX_OWNERS];
    char buf[MAX_OWNERS * (1 + DID_CAP)];
} owners_t;

typedef struct {
    u64 id;
    u64 amount;
    u32 approvals; /* bitmask by owner index */
    u32 executed;
    span to;
    char key[24];
    char buf[REC_HEAD + DID_CAP];
} proposal_t;

static void load_owners(owners_t *o) {
    span raw = state_need_str(KEY_OWNERS, o->buf, sizeof o->buf);
    u32 i = 0;
    o->n = 0;
    while (i < raw.n) {
        u32 len = (u8)raw.p[i++];
        if (o->n == MAX_OWNERS || len > raw.n - i) fail("corrupt state: owners");
        o->did[o->n].p = raw.p + i;
        o->did[o->n].n = len;
        o->n++;
        i += len;
    }
}

/* The index of the signer among the owners; aborts if it is not one. */
static u32 owner_index(const owners_t *o) {
    char who[DID_CAP];
    span me = caller_did(who);
    for (u32 i = 0; i < o->n; i++)
        if (span_eq(me, o->did[i])) return i;
    fail("not an owner");
}

static u32 popcount(u32 x) {
    u32 n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static span proposal_key(proposal_t *p) { return key_num(p->key, sizeof p->key, "p/", p->id); }

static void load_proposal(proposal_t *p, u64 id) {
    p->id = id;
    span key = proposal_key(p);
    i32 n = mesh_state_get(key.p, key.n, p->buf, sizeof p->buf);
    if (n < 0) {
        char b[48];
        out o = {b, 0, sizeof b};
        out_lit(&o, "no proposal ");
        out_u64(&o, id);
        mesh_abort(o.p, o.n);
    }
    if (n <= REC_HEAD || (u32)n > sizeof p->buf) fail("corrupt state: proposal");
    const u8 *b = (const u8 *)p->buf;
    p->amount = 0;
    for (int i = 7; i >= 0; i--) p->amount = (p->amount << 8) | b[i];
    p->approvals = (u32)b[8] | ((u32)b[9] << 8);
    p->executed = b[10];
    p->to.p = p->buf + REC_HEAD;
    p->to.n = (u32)n - REC_HEAD;
}

static void store_proposal(proposal_t *p) {
    char rec[REC_HEAD + DID_CAP];
    for (int i = 0; i < 8; i++) rec[i] = (char)(p->amount >> (8 * i));
    rec[8] = (char)p->approvals;
    rec[9] = (char)(p->approvals >> 8);
    rec[10] = (char)p->executed;
    memcpy(rec + REC_HEAD, p->to.p, p->to.n);
    span key = proposal_key(p);
    mesh_state_set(key.p, key.n, rec, REC_HEAD + p->to.n);
}

static u64 arg_id(span arg) {
    static const char *const keys[] = {"id"};
    json_only(arg, keys, 1);
    return json_u64(json_need(arg, "id"), "id");
}

/* Answers {"id":I,"approvals":A} or, with `executed`, {"id":I,"executed":true}. */
static void answer(const proposal_t *p, int executed) {
    char b[96];
    out o = {b, 0, sizeof b};
    out_lit(&o, "{\"id\":");
    out_u64(&o, p->id);
    if (executed) {
        out_lit(&o, ",\"executed\":true}");
    } else {
        out_lit(&o, ",\"approvals\":");
        out_u64(&o, popcount(p->approvals));
        out_lit(&o, "}");
    }
    out_result(&o);
}

MESH_EXPORT(instantiate) int instantiate(void) {
    static const char *const keys[] = {"owners", "threshold"};
    span msg = msg_object(), owners = json_need(msg, "owners"), elem;
    span list[MAX_OWNERS];
    char buf[MAX_OWNERS * (1 + DID_CAP)];
    u32 n = 0, pos = 0, len = 0;
    json_only(msg, keys, 2);
    if (owners.n == 0 || owners.p[0] != '[') fail("bad message: owners must be an array of DIDs");
    while (json_array_next(owners, &pos, &elem)) {
        if (n == MAX_OWNERS) fail("more than 10 owners");
        span did = json_did(elem, "each owner");
        for (u32 i = 0; i < n; i++)
            if (span_eq(list[i], did)) fail("owners are not distinct");
        list[n++] = did;
        buf[len++] = (char)did.n;
        memcpy(buf + len, did.p, did.n);
        len += did.n;
    }
    if (n == 0) fail("no owners");
    u64 k = json_u64(json_need(msg, "threshold"), "threshold");
    if (k < 1 || k > n) fail("threshold must be between 1 and the number of owners");

    span raw = {buf, len};
    state_set_str(KEY_OWNERS, raw);
    state_set_u64(KEY_THRESHOLD, k);
    state_set_u64(KEY_NEXT_ID, 1);
    return 0;
}

static void propose(span arg, const owners_t *o) {
    static const char *const keys[] = {"to", "amount"};
    u32 me = owner_index(o);
    json_only(arg, keys, 2);
    proposal_t p;
    p.to = json_did(json_need(arg, "to"), "to");
    p.amount = json_u64(json_need(arg, "amount"), "amount");
    if (p.amount == 0) fail("amount must be above 0");
    if (p.amount > MAX_AMOUNT) fail("amount too large");
    p.id = state_need_u64(KEY_NEXT_ID);
    p.approvals = 1u << me;
    p.executed = 0;
    store_proposal(&p);
    state_set_u64(KEY_NEXT_ID, p.id + 1);
    emit_ku("proposed", p.id);
    char b[32];
    out r = {b, 0, sizeof b};
    out_lit(&r, "{\"id\":");
    out_u64(&r, p.id);
    out_lit(&r, "}");
    out_result(&r);
}

static void approve(span arg, const owners_t *o) {
    u32 me = owner_index(o);
    proposal_t p;
    load_proposal(&p, arg_id(arg));
    if (p.executed) fail("already executed");
    if (p.approvals & (1u << me)) fail("already approved");
    p.approvals |= 1u << me;
    store_proposal(&p);
    emit_ku("approved", p.id);
    answer(&p, 0);
}

static void run(span arg, const owners_t *o) {
    owner_index(o);
    proposal_t p;
    load_proposal(&p, arg_id(arg));
    if (p.executed) fail("already executed");
    u64 k = state_need_u64(KEY_THRESHOLD), have = popcount(p.approvals);
    if (have < k) {
        char b[64];
        out m = {b, 0, sizeof b};
        out_lit(&m, "not enough approvals (");
        out_u64(&m, have);
        out_lit(&m, " of ");
        out_u64(&m, k);
        out_lit(&m, ")");
        mesh_abort(m.p, m.n);
    }
    if (balance_u64() < p.amount) fail("insufficient balance");
    pay(p.to, p.amount);
    p.executed = 1;
    store_proposal(&p);
    emit_ku("executed", p.id);
    answer(&p, 1);
}

MESH_EXPORT(execute) int execute(void) {
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (span_is(cmd, "deposit")) {
        json_no_args(arg, "deposit");
        if (funds_u64() == 0) fail("no funds attached");
        char b[48];
        out r = {b, 0, sizeof b};
        out_lit(&r, "{\"balance\":");
        out_u64(&r, balance_u64());
        out_lit(&r, "}");
        out_result(&r);
        return 0;
    }
    owners_t o;
    load_owners(&o);
    if (span_is(cmd, "propose")) propose(arg, &o);
    else if (span_is(cmd, "approve")) approve(arg, &o);
    else if (span_is(cmd, "execute")) run(arg, &o);
    else fail_unknown(cmd);
    return 0;
}

MESH_EXPORT(query) int query(void) {
    char b[1600];
    out r = {b, 0, sizeof b};
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (span_is(cmd, "proposal")) {
        proposal_t p;
        load_proposal(&p, arg_id(arg));
        out_lit(&r, "{\"id\":");
        out_u64(&r, p.id);
        out_lit(&r, ",\"to\":");
        out_str(&r, p.to);
        out_lit(&r, ",\"amount\":");
        out_u64(&r, p.amount);
        out_lit(&r, ",\"approvals\":");
        out_u64(&r, popcount(p.approvals));
        out_lit(&r, p.executed ? ",\"executed\":true}" : ",\"executed\":false}");
    } else if (span_is(cmd, "config")) {
        owners_t o;
        json_no_args(arg, "config");
        load_owners(&o);
        out_lit(&r, "{\"owners\":[");
        for (u32 i = 0; i < o.n; i++) {
            if (i) out_lit(&r, ",");
            out_str(&r, o.did[i]);
        }
        out_lit(&r, "],\"threshold\":");
        out_u64(&r, state_need_u64(KEY_THRESHOLD));
        out_lit(&r, "}");
    } else {
        fail_unknown(cmd);
    }
    out_result(&r);
    return 0;
}
