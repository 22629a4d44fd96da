/*
 * counter — the smallest useful contract.
 *
 *   instantiate  {} or {"count":N}      count = N (0 by default); the signer becomes the owner
 *   execute      {"increment":{}}       count + 1, answers {"count":N}
 *                {"reset":{}}           count = 0, the owner only
 *   query        {"get":{}}             answers {"count":N}
 *
 * State: "count" (u64), "owner" (the instantiating signer's DID).
 */
#include "../include/mesh.h"

#define KEY_COUNT span_c("count")
#define KEY_OWNER span_c("owner")

static void answer_count(u64 count) {
    char b[32];
    out o = {b, 0, sizeof b};
    out_lit(&o, "{\"count\":");
    out_u64(&o, count);
    out_lit(&o, "}");
    out_result(&o);
}

MESH_EXPORT(instantiate) int instantiate(void) {
    static const char *const keys[] = {"count"};
    char who[DID_CAP];
    span msg = msg_object(), v;
    json_only(msg, keys, 1);
    u64 count = json_get(msg, "count", &v) ? json_u64(v, "count") : 0;
    state_set_u64(KEY_COUNT, count);
    state_set_str(KEY_OWNER, caller_did(who));
    return 0;
}

MESH_EXPORT(execute) int execute(void) {
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    u64 count = state_need_u64(KEY_COUNT);
    if (span_is(cmd, "increment")) {
        json_no_args(arg, "increment");
        if (count == 0xffffffffffffffffULL) fail("count overflow");
        count++;
    } else if (span_is(cmd, "reset")) {
        char who[DID_CAP], owner[DID_CAP];
        json_no_args(arg, "reset");
        span me = caller_did(who);
        if (!span_eq(me, state_need_str(KEY_OWNER, owner, sizeof owner))) fail("not the owner");
        count = 0;
        emit_kv("reset_by", me);
    } else {
        fail_unknown(cmd);
    }
    state_set_u64(KEY_COUNT, count);
    answer_count(count);
    return 0;
}

MESH_EXPORT(query) int query(void) {
    span arg, msg = msg_object();
    span cmd = json_command(msg, &arg);
    if (!span_is(cmd, "get")) fail_unknown(cmd);
    json_no_args(arg, "get");
    answer_count(state_need_u64(KEY_COUNT));
    return 0;
}
