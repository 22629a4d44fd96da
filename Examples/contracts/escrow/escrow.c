/*
 * escrow — a machine pays a service into escrow.
 *
 *   instantiate  {"buyer":"DID","seller":"DID","deadline_height":N}
 *                signed by the buyer, with the escrowed amount attached as funds
 *   execute      {"confirm":{}}   the buyer only (the buyer's signed transaction
 *                                 is the confirmation): pays the whole balance to
 *                                 the seller
 *                {"refund":{}}    anyone, once height > deadline_height and not
 *                                 settled: pays the whole balance back to the buyer
 *   query        {"state":{}}     {"buyer":"..","seller":"..","deadline_height":N,
 *                                  "amount":A,"settled":"no"|"released"|"refunded"}
 *
 * execute takes no funds (they would be paid out with the escrow by surprise).
 * State: "buyer", "seller" (DIDs), "deadline", "amount", "settled" (u64:
 * 0 no, 1 released, 2 refunded).
 */
#include "../include/mesh.h"

#define KEY_BUYER span_c("buyer")
#define KEY_SELLER span_c("seller")
#define KEY_DEADLINE span_c("deadline")
#define KEY_AMOUNT span_c("amount")
#define KEY_SETTLED span_c("settled")

enum { OPEN = 0, RELEASED = 1, REFUNDED = 2 };

MESH_EXPORT(instantiate) int instantiate(void) {
    static const char *const keys[] = {"buyer", "seller", "deadline_height"};
    char who[DID_CAP];
    span msg = msg_object();
    json_only(msg, keys, 3);
    span buyer = json_did(json_need(msg, "buyer"), "buyer");
    span seller = json_did(json_need(msg, "seller"), "seller");
    u64 deadline = json_u64(json_need(msg, "deadline_height"), "deadline_height");
    u64 amount = funds_u64();

    if (!span_eq(caller_did(who), buyer)) fail("not the buyer: the buyer instantiates the escrow");
    if (span_eq(buyer, seller)) fail("the seller is the buyer");
    if (amount == 0) fail("no funds: attach the escrowed amount");
    if (deadline <= height_u64()) fail("deadline_height is not after the current height");

    state_set_str(KEY_BUYER, buyer);
    state_set_str(KEY_SELLER, seller);
    state_set_u64(KEY_DEADLINE, deadline);
    state_set_u64(KEY_AMOUNT, amount);
    state_set_u64(KEY_SETTLED, OPEN);
    emit_ku("escrowed", amount);
    return 0;
}

/* Pays the whole balance to `to` and records how the escrow ended. */
static void settle(span to, u64 how) {
    u64 all = balance_u64();
    if (all > 0) pay(to, all);
    state_set_u64(KEY_SETTLED, how);
    emit_kv(how == RELEASED ? "released_to" : "refunded_to", to);
    emit_ku("amount", all);
}

MESH_EXPORT(execute) int execute(void) {
    char buyer_b[DID_CAP], seller_b[DID_CAP], who[DID_CAP];
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (!span_is(cmd, "confirm") && !span_is(cmd, "refund")) fail_unknown(cmd);
    json_no_args(arg, span_is(cmd, "confirm") ? "confirm" : "refund");
    if (funds_u64() != 0) fail("escrow takes no funds after instantiate");

    u64 settled = state_need_u64(KEY_SETTLED);
    if (settled != OPEN) fail(settled == RELEASED ? "already settled (released)" : "already settled (refunded)");
    span buyer = state_need_str(KEY_BUYER, buyer_b, sizeof buyer_b);

    if (span_is(cmd, "confirm")) {
        if (!span_eq(caller_did(who), buyer)) fail("not the buyer");
        settle(state_need_str(KEY_SELLER, seller_b, sizeof seller_b), RELEASED);
    } else {
        u64 h = height_u64(), deadline = state_need_u64(KEY_DEADLINE);
        if (h <= deadline) {
            char b[96];
            out o = {b, 0, sizeof b};
            out_lit(&o, "deadline not reached (height ");
            out_u64(&o, h);
            out_lit(&o, " <= ");
            out_u64(&o, deadline);
            out_lit(&o, ")");
            mesh_abort(o.p, o.n);
        }
        settle(buyer, REFUNDED);
    }
    return 0;
}

MESH_EXPORT(query) int query(void) {
    static const char *const how[] = {"no", "released", "refunded"};
    char buyer_b[DID_CAP], seller_b[DID_CAP], b[512];
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (!span_is(cmd, "state")) fail_unknown(cmd);
    json_no_args(arg, "state");
    u64 settled = state_need_u64(KEY_SETTLED);
    if (settled > REFUNDED) fail("corrupt state: settled");

    out o = {b, 0, sizeof b};
    out_lit(&o, "{\"buyer\":");
    out_str(&o, state_need_str(KEY_BUYER, buyer_b, sizeof buyer_b));
    out_lit(&o, ",\"seller\":");
    out_str(&o, state_need_str(KEY_SELLER, seller_b, sizeof seller_b));
    out_lit(&o, ",\"deadline_height\":");
    out_u64(&o, state_need_u64(KEY_DEADLINE));
    out_lit(&o, ",\"amount\":");
    out_u64(&o, state_need_u64(KEY_AMOUNT));
    out_lit(&o, ",\"settled\":\"");
    out_lit(&o, how[settled]);
    out_lit(&o, "\"}");
    out_result(&o);
    return 0;
}
