/*
 * token — balances kept in contract state, for benchmarking a contract
 * transfer against a native one. execute does one caller(), two state_get
 * and two state_set (or a state_remove for a balance that reaches 0).
 *
 *   instantiate  {"supply":N}                           credits N to the signer
 *   execute      {"transfer":{"to":"DID","amount":N}}   moves N from the signer to "to"
 *   query        {"balance":{"of":"DID"}}               {"balance":N}
 *
 * State: "b/<DID>" (u64) for each nonzero balance.
 */
#include "../include/mesh.h"

#define KEY_CAP (2 + DID_CAP)

static span balance_key(char *buf, span did) { return key_join(buf, KEY_CAP, "b/", did); }

static u64 balance_of(span key) {
    u64 v = 0;
    state_get_u64(key, &v);
    return v;
}

static void set_balance(span key, u64 v) {
    if (v == 0) mesh_state_remove(key.p, key.n);
    else state_set_u64(key, v);
}

MESH_EXPORT(instantiate) int instantiate(void) {
    static const char *const keys[] = {"supply"};
    char who[DID_CAP], k[KEY_CAP];
    span msg = msg_object();
    json_only(msg, keys, 1);
    u64 supply = json_u64(json_need(msg, "supply"), "supply");
    set_balance(balance_key(k, caller_did(who)), supply);
    return 0;
}

MESH_EXPORT(execute) int execute(void) {
    static const char *const keys[] = {"to", "amount"};
    char who[DID_CAP], kf[KEY_CAP], kt[KEY_CAP];
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (!span_is(cmd, "transfer")) fail_unknown(cmd);
    json_only(arg, keys, 2);
    span to = json_did(json_need(arg, "to"), "to");
    u64 amount = json_u64(json_need(arg, "amount"), "amount");

    span from_key = balance_key(kf, caller_did(who)), to_key = balance_key(kt, to);
    u64 from_balance = balance_of(from_key);
    if (from_balance < amount) fail("insufficient balance");
    if (amount == 0 || span_eq(from_key, to_key)) return 0; /* nothing moves */
    u64 to_balance = balance_of(to_key);
    if (to_balance + amount < to_balance) fail("balance overflow");
    set_balance(from_key, from_balance - amount);
    set_balance(to_key, to_balance + amount);
    return 0;
}

MESH_EXPORT(query) int query(void) {
    static const char *const keys[] = {"of"};
    char k[KEY_CAP], b[40];
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (!span_is(cmd, "balance")) fail_unknown(cmd);
    json_only(arg, keys, 1);
    span of = json_did(json_need(arg, "of"), "of");
    out o = {b, 0, sizeof b};
    out_lit(&o, "{\"balance\":");
    out_u64(&o, balance_of(balance_key(k, of)));
    out_lit(&o, "}");
    out_result(&o);
    return 0;
}
