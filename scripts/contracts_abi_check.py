#!/usr/bin/env python3
"""The example contracts and the sha256 job, run against the host ABI as written, not as Meshwork implements it.

An independent check: wasmtime (pip) runs each Examples/ module under a host written here in Python from the ABI
spec (Examples/README.md): a state dict per contract, a balances dict, the signer, the height, fuel and memory
limits, funds credited before a call and everything reverted when a call aborts, traps or returns nonzero.

1. Every module is read by a small MVP parser of its own that checks the determinism profile: no f32/f64 type or
   instruction, nothing past MVP (SIMD, threads, bulk memory, sign-ext, multivalue, reference types), one memory
   exported as "memory" with a maximum within the cap, imports only from "mesh"/"mesh_job" with the ABI's
   signatures, and the entry points exported as () -> i32.
2. Each example goes through its scenarios (counter, escrow, multisig, token, the sha256 job).
3. Each module of Examples/contracts/bad/ shows the fault it was made for.

One line per check; exit 1 if any check failed.

usage: scripts/contracts_abi_check.py [Examples directory]     (needs: pip install wasmtime)
"""
import hashlib
import json
import os
import random
import re
import sys

try:
    import wasmtime
except ImportError:
    sys.exit("contracts_abi_check: needs wasmtime (python3 -m pip install wasmtime)")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EXAMPLES = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Examples"))

PAGE = 65536
CONTRACT_MAX_MEMORY = 16 * PAGE       # 1 MiB
JOB_MAX_MEMORY = 256 * PAGE           # 16 MiB
JOB_MAX_INITIAL = 16 * PAGE           # 1 MiB
FUEL = 50_000_000                     # per contract call
JOB_FUEL = 2_000_000_000
DID = re.compile(r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$")

I32, I64 = "i32", "i64"
ABI = {
    "mesh": {
        "msg_len": ([], [I32]),
        "msg_read": ([I32], []),
        "result_write": ([I32, I32], []),
        "state_get": ([I32, I32, I32, I32], [I32]),
        "state_set": ([I32, I32, I32, I32], []),
        "state_remove": ([I32, I32], []),
        "caller": ([I32, I32], [I32]),
        "self_address": ([I32, I32], [I32]),
        "funds": ([], [I64]),
        "balance": ([], [I64]),
        "height": ([], [I64]),
        "time_ms": ([], [I64]),
        "transfer": ([I32, I32, I64], [I32]),
        "emit": ([I32, I32], []),
        "abort": ([I32, I32], []),
    },
    "mesh_job": {
        "input_count": ([], [I32]),
        "input_len": ([I32], [I32]),
        "input_read": ([I32, I32], [I32]),
        "output_write": ([I32, I32], []),
    },
}

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


# ---------------------------------------------------------------------------------------------------------------
# The determinism profile, read from the binary by a parser of our own (MVP only).
# ---------------------------------------------------------------------------------------------------------------

VALTYPES = {0x7F: I32, 0x7E: I64, 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}
FLOAT_OPS = ({0x2A, 0x2B, 0x38, 0x39, 0x43, 0x44} | set(range(0x5B, 0x67)) | set(range(0x8B, 0xA7))
             | set(range(0xA8, 0xAC)) | set(range(0xAE, 0xC0)))


class Reader:
    def __init__(self, data, pos=0, end=None):
        self.data, self.pos, self.end = data, pos, len(data) if end is None else end

    def byte(self):
        if self.pos >= self.end:
            raise ValueError("unexpected end")
        self.pos += 1
        return self.data[self.pos - 1]

    def uleb(self, bits=32):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > bits + 6:
                raise ValueError("LEB128 too long")
        return result

    def sleb(self, bits):
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > bits + 6:
                raise ValueError("LEB128 too long")
        return result - (1 << shift) if b & 0x40 else result

    def take(self, n):
        if self.pos + n > self.end:
            raise ValueError("unexpected end")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def name(self):
        return self.take(self.uleb()).decode()


def valtype(r, problems, where):
    t = VALTYPES.get(r.byte(), "unknown")
    if t not in (I32, I64):
        problems.add(f"{t} value type in {where}")
    return t


def scan_expr(r, problems, where):
    """Walks instructions up to the matching end, noting float and post-MVP ones."""
    depth = 1
    while depth:
        op = r.byte()
        if op in FLOAT_OPS:
            problems.add(f"float instruction 0x{op:02x} in {where}")
        if op in (0x02, 0x03, 0x04):                       # block, loop, if
            bt = r.byte()
            if bt != 0x40:
                if bt not in VALTYPES:
                    problems.add(f"multivalue block type in {where}")
                    r.pos -= 1
                    r.sleb(33)
                elif VALTYPES[bt] not in (I32, I64):
                    problems.add(f"{VALTYPES[bt]} block type in {where}")
            depth += 1
        elif op == 0x0B:
            depth -= 1
        elif op in (0x00, 0x01, 0x05, 0x0F, 0x1A, 0x1B) or 0x45 <= op <= 0xBF and op not in (0x41, 0x42, 0x43, 0x44):
            pass                                               # no immediate
        elif op in (0x0C, 0x0D, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24):
            r.uleb()
        elif op == 0x0E:                                       # br_table
            for _ in range(r.uleb() + 1):
                r.uleb()
        elif op == 0x11:                                       # call_indirect
            r.uleb()
            if r.byte() != 0:
                problems.add(f"call_indirect on a table other than 0 in {where}")
        elif 0x28 <= op <= 0x3E:                               # loads, stores: align, offset
            r.uleb()
            r.uleb()
        elif op in (0x3F, 0x40):                               # memory.size, memory.grow
            if r.byte() != 0:
                problems.add(f"multi-memory in {where}")
        elif op == 0x41:
            r.sleb(32)
        elif op == 0x42:
            r.sleb(64)
        elif op == 0x43:
            r.take(4)
        elif op == 0x44:
            r.take(8)
        else:
            names = {0xC0: "sign-ext", 0xC1: "sign-ext", 0xC2: "sign-ext", 0xC3: "sign-ext", 0xC4: "sign-ext",
                     0xFC: "saturating/bulk-memory", 0xFD: "SIMD", 0xFE: "threads"}
            problems.add(f"{names.get(op, 'unknown')} instruction 0x{op:02x} in {where} (not MVP)")
            return  # cannot follow the immediates of an unknown instruction: stop here


def profile(data, import_module, entry_points, max_memory, max_initial):
    """The problems of a module against the determinism profile and the ABI's shape (an empty set if none)."""
    problems = set()
    r = Reader(data)
    if r.take(8) != b"\0asm\1\0\0\0":
        return {"not a wasm 1 module"}
    types, func_types, memories, exports = [], [], [], {}
    try:
        while r.pos < len(data):
            sid, size = r.byte(), r.uleb()
            s = Reader(data, r.pos, r.pos + size)
            r.pos += size
            if sid == 1:                                       # types
                for i in range(s.uleb()):
                    if s.byte() != 0x60:
                        raise ValueError("bad function type")
                    params = [valtype(s, problems, f"type {i}") for _ in range(s.uleb())]
                    results = [valtype(s, problems, f"type {i}") for _ in range(s.uleb())]
                    if len(results) > 1:
                        problems.add(f"multivalue result in type {i}")
                    types.append((params, results))
            elif sid == 2:                                     # imports
                for _ in range(s.uleb()):
                    module, name, kind = s.name(), s.name(), s.byte()
                    if kind != 0:
                        problems.add(f"imports a non-function {module}.{name}")
                        break
                    sig = types[s.uleb()]
                    func_types.append(sig)
                    want = ABI.get(import_module, {}).get(name)
                    if module != import_module or want is None:
                        problems.add(f"imports {module}.{name}, not in the {import_module} ABI")
                    elif tuple(sig) != want:
                        problems.add(f"imports {module}.{name} as {sig}, the ABI says {want}")
            elif sid == 3:                                     # functions
                func_types += [types[s.uleb()] for _ in range(s.uleb())]
            elif sid == 5:                                     # memories
                for _ in range(s.uleb()):
                    flags = s.byte()
                    if flags not in (0, 1):
                        problems.add("shared or 64-bit memory")
                    memories.append((s.uleb(), s.uleb() if flags & 1 else None))
            elif sid == 6:                                     # globals
                for i in range(s.uleb()):
                    valtype(s, problems, f"global {i}")
                    s.byte()
                    scan_expr(s, problems, f"global {i}")
            elif sid == 7:                                     # exports
                for _ in range(s.uleb()):
                    name, kind, index = s.name(), s.byte(), s.uleb()
                    exports[name] = (kind, index)
            elif sid == 10:                                    # code
                imported = len(func_types) - s.uleb()
                i = 0
                while s.pos < s.end:
                    body_size = s.uleb()
                    body = Reader(data, s.pos, s.pos + body_size)
                    s.pos += body_size
                    where = f"function {imported + i}"
                    for _ in range(body.uleb()):
                        body.uleb()
                        valtype(body, problems, f"locals of {where}")
                    scan_expr(body, problems, where)
                    i += 1
            elif sid == 12:
                problems.add("data count section (bulk memory)")
    except (ValueError, IndexError, UnicodeDecodeError) as error:
        problems.add(f"malformed: {error}")
        return problems

    if len(memories) != 1:
        problems.add(f"{len(memories)} memories defined, want exactly 1")
    else:
        initial, maximum = memories[0]
        if maximum is None:
            problems.add("memory declares no maximum")
        elif maximum * PAGE > max_memory:
            problems.add(f"memory maximum {maximum} pages, over {max_memory // PAGE}")
        if initial * PAGE > max_initial:
            problems.add(f"initial memory {initial} pages, over {max_initial // PAGE}")
    if exports.get("memory") != (2, 0):
        problems.add("memory 0 is not exported as \"memory\"")
    for name in entry_points:
        kind, index = exports.get(name, (None, None))
        if kind != 0:
            problems.add(f"no exported function {name}")
        elif tuple(func_types[index]) != ([], [I32]):
            problems.add(f"{name} is {func_types[index]}, want () -> i32")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# A host: the ledger's part of the ABI, in Python.
# ---------------------------------------------------------------------------------------------------------------

class Abort(Exception):
    """abort(ptr, len): the call ends with this contract error."""


class HostTrap(Exception):
    """The module misused the ABI (out-of-bounds pointer, a limit passed, a write in a query)."""


class Outcome:
    def __init__(self):
        self.ok, self.rc, self.error, self.trap = False, None, None, None
        self.result, self.events, self.state_ops = None, [], 0

    def __repr__(self):
        if self.ok:
            return f"ok result={self.result!r} events={self.events}"
        return f"error={self.error!r} trap={self.trap!r} rc={self.rc}"


class Ledger:
    def __init__(self):
        config = wasmtime.Config()
        config.consume_fuel = True
        self.engine = wasmtime.Engine(config)
        self.balances = {}
        self.height = 100
        self.time_ms = 1_700_000_000_000
        self.contracts = {}                                    # address -> {"module", "state"}

    def deploy(self, path, address):
        with open(path, "rb") as f:
            module = wasmtime.Module(self.engine, f.read())
        self.contracts[address] = {"module": module, "state": {}}
        self.balances.setdefault(address, 0)
        return address

    def instantiate(self, address, msg, sender, funds=0):
        return self.call(address, "instantiate", msg, sender, funds)

    def execute(self, address, msg, sender, funds=0):
        return self.call(address, "execute", msg, sender, funds)

    def query(self, address, msg):
        return self.call(address, "query", msg, None, 0)

    def call(self, address, entry, msg, sender, funds):
        contract = self.contracts[address]
        query = entry == "query"
        msg = msg if isinstance(msg, bytes) else json.dumps(msg, separators=(",", ":")).encode()
        saved = (dict(contract["state"]), dict(self.balances))
        out = Outcome()
        if funds:
            if self.balances.get(sender, 0) < funds:
                out.error = "sender cannot pay the funds"
                return out
            self.balances[sender] -= funds
            self.balances[address] += funds

        store = wasmtime.Store(self.engine)
        store.set_fuel(FUEL)
        store.set_limits(memory_size=CONTRACT_MAX_MEMORY)
        state = contract["state"]
        ledger = self

        def memory(caller):
            return caller.get("memory")

        def read(caller, ptr, n):
            mem = memory(caller)
            if ptr < 0 or n < 0 or ptr + n > mem.data_len(caller):
                raise HostTrap(f"read of {n} bytes at {ptr} is out of bounds")
            return bytes(mem.read(caller, ptr, ptr + n))

        def write(caller, ptr, data):
            mem = memory(caller)
            if ptr < 0 or ptr + len(data) > mem.data_len(caller):
                raise HostTrap(f"write of {len(data)} bytes at {ptr} is out of bounds")
            mem.write(caller, data, ptr)

        def no_writes(what):
            if query:
                raise HostTrap(f"{what} in a query")

        def key(caller, p, n):
            if not 1 <= n <= 256:
                raise HostTrap(f"key of {n} bytes")
            return read(caller, p, n)

        def msg_len(caller):
            return len(msg)

        def msg_read(caller, p):
            write(caller, p, msg)

        def result_write(caller, p, n):
            if n > 65536:
                raise HostTrap(f"result of {n} bytes")
            out.result = read(caller, p, n)

        def state_get(caller, kp, kn, vp, vcap):
            out.state_ops += 1
            value = state.get(key(caller, kp, kn))
            if value is None:
                return -1
            write(caller, vp, value[:max(vcap, 0)])
            return len(value)

        def state_set(caller, kp, kn, vp, vn):
            no_writes("state_set")
            out.state_ops += 1
            if not 0 <= vn <= 65536:
                raise HostTrap(f"value of {vn} bytes")
            state[key(caller, kp, kn)] = read(caller, vp, vn)

        def state_remove(caller, kp, kn):
            no_writes("state_remove")
            out.state_ops += 1
            state.pop(key(caller, kp, kn), None)

        def did_into(caller, did, p, cap):
            data = did.encode()
            write(caller, p, data[:max(cap, 0)])
            return len(data)

        def caller_(caller, p, cap):
            return 0 if query else did_into(caller, sender, p, cap)

        def self_address(caller, p, cap):
            return did_into(caller, address, p, cap)

        def transfer(caller, tp, tn, amount):
            no_writes("transfer")
            if amount < 0:
                raise HostTrap("negative transfer")
            try:
                to = read(caller, tp, tn).decode("ascii")
            except UnicodeDecodeError:
                return 1
            if len(to) > 128 or not DID.match(to):
                return 1
            if ledger.balances[address] < amount:
                return 2
            ledger.balances[address] -= amount
            ledger.balances[to] = ledger.balances.get(to, 0) + amount
            return 0

        def emit(caller, p, n):
            if n > 256 or len(out.events) >= 16:
                raise HostTrap("event attribute over 256 bytes or more than 16")
            out.events.append(read(caller, p, n).decode())

        def abort(caller, p, n):
            if n > 256:
                raise HostTrap(f"abort message of {n} bytes")
            raise Abort(read(caller, p, n).decode())

        host = {
            "msg_len": msg_len, "msg_read": msg_read, "result_write": result_write,
            "state_get": state_get, "state_set": state_set, "state_remove": state_remove,
            "caller": caller_, "self_address": self_address,
            "funds": lambda caller: 0 if query else funds,
            "balance": lambda caller: ledger.balances[address],
            "height": lambda caller: ledger.height, "time_ms": lambda caller: ledger.time_ms,
            "transfer": transfer, "emit": emit, "abort": abort,
        }
        try:
            instance = wasmtime.Instance(store, contract["module"], link(store, contract["module"], "mesh", host))
            out.rc = instance.exports(store)[entry](store)
            out.ok = out.rc == 0
            if not out.ok:
                out.error = f"returned {out.rc}"
        except Abort as error:
            out.error = str(error)
        except HostTrap as error:
            out.trap = f"host: {error}"
        except wasmtime.Trap as error:
            out.trap = trap_name(error)
        if not out.ok:
            contract["state"].clear()
            contract["state"].update(saved[0])
            self.balances = saved[1]
        return out


def trap_name(trap):
    """"unreachable", "out of fuel", ... from a wasmtime trap."""
    code = trap.trap_code
    return code.name.lower().replace("_", " ") if code is not None else trap.message.splitlines()[0]


def link(store, module, module_name, host):
    """Host functions for the module's imports, in import order."""
    types = {I32: wasmtime.ValType.i32(), I64: wasmtime.ValType.i64()}
    functions = []
    for imp in module.imports:
        if imp.module != module_name or imp.name not in host:
            raise HostTrap(f"unknown import {imp.module}.{imp.name}")
        params, results = ABI[module_name][imp.name]
        ty = wasmtime.FuncType([types[t] for t in params], [types[t] for t in results])
        functions.append(wasmtime.Func(store, ty, host[imp.name], access_caller=True))
    return functions


def run_job(engine, module, inputs):
    """Runs a job's run(); returns (rc, output bytes, trap)."""
    store = wasmtime.Store(engine)
    store.set_fuel(JOB_FUEL)
    store.set_limits(memory_size=JOB_MAX_MEMORY)
    output = bytearray()

    def memory(caller):
        return caller.get("memory")

    def input_read(caller, index, p):
        if not 0 <= index < len(inputs):
            return -1
        mem = memory(caller)
        if p < 0 or p + len(inputs[index]) > mem.data_len(caller):
            raise HostTrap("input_read out of bounds")
        mem.write(caller, inputs[index], p)
        return len(inputs[index])

    def output_write(caller, p, n):
        mem = memory(caller)
        if p < 0 or n < 0 or p + n > mem.data_len(caller) or len(output) + n > 16 * 1024 * 1024:
            raise HostTrap("output_write out of bounds or over 16 MiB")
        output.extend(mem.read(caller, p, p + n))

    host = {
        "input_count": lambda caller: len(inputs),
        "input_len": lambda caller, i: len(inputs[i]) if 0 <= i < len(inputs) else -1,
        "input_read": input_read,
        "output_write": output_write,
    }
    try:
        instance = wasmtime.Instance(store, module, link(store, module, "mesh_job", host))
        return instance.exports(store)["run"](store), bytes(output), None
    except HostTrap as error:
        return None, bytes(output), f"host: {error}"
    except wasmtime.Trap as error:
        return None, bytes(output), trap_name(error)


# ---------------------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------------------

ALICE = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
BOB = "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"
CAROL = "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf"
DAVE = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
EVE = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def path(*parts):
    return os.path.join(EXAMPLES, *parts)


def expect_ok(out, what, result=None):
    detail = repr(out)
    if out.ok and result is not None and out.result != result.encode():
        return check(False, what, f"answered {out.result!r}, want {result!r}")
    return check(out.ok, what, detail)


def expect_abort(out, what, contains):
    return check(not out.ok and out.error is not None and contains in out.error, what,
                 f"want an abort containing {contains!r}, got {out!r}")


def counter():
    ledger = Ledger()
    c = ledger.deploy(path("contracts", "counter", "counter.wasm"), "did:mesh:counter1")
    expect_ok(ledger.instantiate(c, {}, ALICE), "counter: instantiate {}")
    expect_ok(ledger.query(c, {"get": {}}), "counter: get after {} is 0", '{"count":0}')
    for i in range(1, 4):
        expect_ok(ledger.execute(c, {"increment": {}}, BOB), f"counter: increment #{i} answers the count",
                  f'{{"count":{i}}}')
    expect_ok(ledger.query(c, {"get": {}}), "counter: get after 3 increments", '{"count":3}')
    expect_abort(ledger.execute(c, {"reset": {}}, BOB), "counter: reset by someone else aborts", "not the owner")
    expect_ok(ledger.query(c, {"get": {}}), "counter: count unchanged by the failed reset", '{"count":3}')
    expect_ok(ledger.execute(c, {"reset": {}}, ALICE), "counter: reset by the owner", '{"count":0}')
    expect_abort(ledger.execute(c, b'{"increment":', BOB), "counter: truncated JSON aborts", "bad message:")
    expect_abort(ledger.execute(c, b'{"increment":{},"reset":{}}', BOB), "counter: two commands abort",
                 "bad message:")
    expect_abort(ledger.execute(c, {"decrement": {}}, BOB), "counter: unknown command aborts",
                 'unknown message "decrement"')
    out = ledger.execute(c, {"increment": {}}, BOB)
    check(out.ok and out.state_ops == 2, "counter: increment does one state_get and one state_set",
          f"{out.state_ops} state ops")

    c2 = ledger.deploy(path("contracts", "counter", "counter.wasm"), "did:mesh:counter2")
    expect_ok(ledger.instantiate(c2, {"count": 41}, ALICE), "counter: instantiate {\"count\":41}")
    expect_ok(ledger.execute(c2, {"increment": {}}, ALICE), "counter: 41 + 1", '{"count":42}')
    c3 = ledger.deploy(path("contracts", "counter", "counter.wasm"), "did:mesh:counter3")
    expect_abort(ledger.instantiate(c3, {"count": -1}, ALICE), "counter: negative count aborts", "bad message:")
    expect_abort(ledger.instantiate(c3, {"count": 18446744073709551616}, ALICE), "counter: count of 2^64 aborts",
                 "bad message:")
    expect_ok(ledger.instantiate(c3, {"count": 18446744073709551615}, ALICE), "counter: count of 2^64 - 1")
    expect_abort(ledger.execute(c3, {"increment": {}}, ALICE), "counter: increment past 2^64 - 1 aborts",
                 "count overflow")


def escrow():
    ledger = Ledger()
    ledger.balances.update({ALICE: 1000, BOB: 0, CAROL: 5})
    wasm = path("contracts", "escrow", "escrow.wasm")
    e = ledger.deploy(wasm, "did:mesh:escrow1")
    init = {"buyer": ALICE, "seller": BOB, "deadline_height": 110}
    expect_abort(ledger.instantiate(e, init, CAROL, funds=5), "escrow: instantiate by someone not the buyer aborts",
                 "not the buyer")
    check(ledger.balances[CAROL] == 5 and ledger.balances[e] == 0, "escrow: the aborted call's funds went back",
          str(ledger.balances))
    expect_abort(ledger.instantiate(e, init, ALICE), "escrow: instantiate without funds aborts", "no funds")
    expect_ok(ledger.instantiate(e, init, ALICE, funds=300), "escrow: instantiate by the buyer with 300")
    state = '{"buyer":"%s","seller":"%s","deadline_height":110,"amount":300,"settled":"%s"}'
    expect_ok(ledger.query(e, {"state": {}}), "escrow: state while open", state % (ALICE, BOB, "no"))
    expect_abort(ledger.execute(e, {"confirm": {}}, BOB), "escrow: confirm by the seller aborts", "not the buyer")
    expect_abort(ledger.execute(e, {"refund": {}}, CAROL), "escrow: refund before the deadline aborts",
                 "deadline not reached (height 100 <= 110)")
    ledger.height = 110
    expect_abort(ledger.execute(e, {"refund": {}}, CAROL), "escrow: refund at the deadline height aborts",
                 "deadline not reached (height 110 <= 110)")
    out = ledger.execute(e, {"confirm": {}}, ALICE)
    expect_ok(out, "escrow: confirm by the buyer")
    check(ledger.balances[BOB] == 300 and ledger.balances[e] == 0 and ledger.balances[ALICE] == 700,
          "escrow: confirm paid the seller the whole 300", str(ledger.balances))
    check(f"released_to={BOB}" in out.events, "escrow: confirm emits released_to", str(out.events))
    expect_ok(ledger.query(e, {"state": {}}), "escrow: state after confirm", state % (ALICE, BOB, "released"))
    expect_abort(ledger.execute(e, {"confirm": {}}, ALICE), "escrow: second confirm aborts", "already settled")
    ledger.height = 200
    expect_abort(ledger.execute(e, {"refund": {}}, CAROL), "escrow: refund after release aborts", "already settled")

    ledger.height = 100
    e2 = ledger.deploy(wasm, "did:mesh:escrow2")
    expect_ok(ledger.instantiate(e2, dict(init, deadline_height=105), ALICE, funds=200),
              "escrow: a second escrow of 200")
    ledger.height = 106
    expect_ok(ledger.execute(e2, {"refund": {}}, CAROL), "escrow: refund by anyone after the deadline")
    check(ledger.balances[ALICE] == 700 and ledger.balances[e2] == 0, "escrow: refund paid the buyer back",
          str(ledger.balances))
    expect_ok(ledger.query(e2, {"state": {}}), "escrow: state after refund",
              (state % (ALICE, BOB, "refunded")).replace("110", "105").replace("300", "200"))
    expect_abort(ledger.execute(e2, {"confirm": {}}, ALICE), "escrow: confirm after refund aborts", "already settled")
    e3 = ledger.deploy(wasm, "did:mesh:escrow3")
    expect_abort(ledger.instantiate(e3, dict(init, seller="not a did"), ALICE, funds=1),
                 "escrow: a seller that is not a DID aborts", "bad message:")


def multisig():
    ledger = Ledger()
    ledger.balances.update({ALICE: 2000})
    m = ledger.deploy(path("contracts", "multisig", "multisig.wasm"), "did:mesh:multisig1")
    bad = ledger.deploy(path("contracts", "multisig", "multisig.wasm"), "did:mesh:multisig0")
    expect_abort(ledger.instantiate(bad, {"owners": [ALICE, BOB, CAROL], "threshold": 4}, ALICE),
                 "multisig: threshold above n aborts", "threshold")
    expect_abort(ledger.instantiate(bad, {"owners": [ALICE, BOB, ALICE], "threshold": 2}, ALICE),
                 "multisig: repeated owner aborts", "not distinct")
    expect_abort(ledger.instantiate(bad, {"owners": [], "threshold": 1}, ALICE), "multisig: no owners aborts",
                 "no owners")
    expect_abort(ledger.instantiate(bad, {"owners": [f"did:key:z{i}" for i in range(11)], "threshold": 1}, ALICE),
                 "multisig: 11 owners abort", "more than 10 owners")
    expect_ok(ledger.instantiate(m, {"owners": [ALICE, BOB, CAROL], "threshold": 2}, ALICE, funds=500),
              "multisig: instantiate 2 of 3 with 500")
    expect_ok(ledger.query(m, {"config": {}}), "multisig: config",
              '{"owners":["%s","%s","%s"],"threshold":2}' % (ALICE, BOB, CAROL))
    expect_abort(ledger.execute(m, {"propose": {"to": DAVE, "amount": 200}}, EVE),
                 "multisig: propose by a non-owner aborts", "not an owner")
    expect_ok(ledger.execute(m, {"propose": {"to": DAVE, "amount": 200}}, ALICE), "multisig: propose answers its id",
              '{"id":1}')
    expect_ok(ledger.query(m, {"proposal": {"id": 1}}), "multisig: the proposer's approval counts",
              '{"id":1,"to":"%s","amount":200,"approvals":1,"executed":false}' % DAVE)
    expect_abort(ledger.execute(m, {"execute": {"id": 1}}, ALICE), "multisig: execute with 1 approval aborts",
                 "not enough approvals (1 of 2)")
    expect_abort(ledger.execute(m, {"approve": {"id": 1}}, ALICE), "multisig: double approve aborts",
                 "already approved")
    expect_abort(ledger.execute(m, {"approve": {"id": 1}}, EVE), "multisig: approve by a non-owner aborts",
                 "not an owner")
    expect_abort(ledger.execute(m, {"approve": {"id": 7}}, BOB), "multisig: approve of no proposal aborts",
                 "no proposal 7")
    expect_ok(ledger.execute(m, {"approve": {"id": 1}}, BOB), "multisig: second approval",
              '{"id":1,"approvals":2}')
    expect_abort(ledger.execute(m, {"execute": {"id": 1}}, EVE), "multisig: execute by a non-owner aborts",
                 "not an owner")
    expect_ok(ledger.execute(m, {"execute": {"id": 1}}, CAROL), "multisig: execute with 2 approvals",
              '{"id":1,"executed":true}')
    check(ledger.balances.get(DAVE) == 200 and ledger.balances[m] == 300, "multisig: 200 went to the recipient",
          str(ledger.balances))
    expect_abort(ledger.execute(m, {"execute": {"id": 1}}, CAROL), "multisig: second execute aborts",
                 "already executed")
    expect_ok(ledger.query(m, {"proposal": {"id": 1}}), "multisig: proposal executed",
              '{"id":1,"to":"%s","amount":200,"approvals":2,"executed":true}' % DAVE)
    expect_ok(ledger.execute(m, {"propose": {"to": EVE, "amount": 1000}}, BOB), "multisig: propose 1000",
              '{"id":2}')
    expect_ok(ledger.execute(m, {"approve": {"id": 2}}, CAROL), "multisig: approve 1000")
    expect_abort(ledger.execute(m, {"execute": {"id": 2}}, CAROL), "multisig: execute over the balance aborts",
                 "insufficient balance")
    expect_ok(ledger.query(m, {"proposal": {"id": 2}}), "multisig: the failed execute left the proposal open",
              '{"id":2,"to":"%s","amount":1000,"approvals":2,"executed":false}' % EVE)
    expect_ok(ledger.execute(m, {"deposit": {}}, ALICE, funds=700), "multisig: deposit 700", '{"balance":1000}')
    expect_ok(ledger.execute(m, {"execute": {"id": 2}}, ALICE), "multisig: execute once funded")
    check(ledger.balances.get(EVE) == 1000 and ledger.balances[m] == 0, "multisig: 1000 went to the recipient",
          str(ledger.balances))


def token():
    ledger = Ledger()
    t = ledger.deploy(path("contracts", "token", "token.wasm"), "did:mesh:token1")
    expect_ok(ledger.instantiate(t, {"supply": 1000}, ALICE), "token: instantiate a supply of 1000")
    out = ledger.execute(t, {"transfer": {"to": BOB, "amount": 250}}, ALICE)
    expect_ok(out, "token: transfer 250")
    check(out.state_ops == 4, "token: a transfer is 2 state_get + 2 state_set", f"{out.state_ops} state ops")
    expect_ok(ledger.query(t, {"balance": {"of": ALICE}}), "token: sender has 750", '{"balance":750}')
    expect_ok(ledger.query(t, {"balance": {"of": BOB}}), "token: recipient has 250", '{"balance":250}')
    expect_ok(ledger.query(t, {"balance": {"of": CAROL}}), "token: unknown account has 0", '{"balance":0}')
    expect_abort(ledger.execute(t, {"transfer": {"to": CAROL, "amount": 251}}, BOB),
                 "token: transfer over the balance aborts", "insufficient balance")
    expect_ok(ledger.execute(t, {"transfer": {"to": ALICE, "amount": 250}}, BOB), "token: transfer everything back")
    check(("b/" + BOB).encode() not in ledger.contracts[t]["state"], "token: an emptied balance leaves no state")
    expect_ok(ledger.execute(t, {"transfer": {"to": ALICE, "amount": 10}}, ALICE), "token: transfer to oneself")
    expect_ok(ledger.query(t, {"balance": {"of": ALICE}}), "token: all 1000 back", '{"balance":1000}')
    expect_abort(ledger.execute(t, {"transfer": {"to": BOB, "amount": 1}}, CAROL),
                 "token: transfer from an empty account aborts", "insufficient balance")


def sha256_job(engine):
    with open(path("jobs", "sha256.wasm"), "rb") as f:
        module = wasmtime.Module(engine, f.read())
    rng = random.Random(20240601)
    for name, data in [("empty", b""), ("abc", b"abc"), ("55 bytes", b"a" * 55), ("56 bytes", b"a" * 56),
                       ("1 MiB random", rng.randbytes(1 << 20)), ("5 MiB random", rng.randbytes(5 << 20))]:
        rc, output, trap = run_job(engine, module, [data])
        want = hashlib.sha256(data).hexdigest().encode()
        check(rc == 0 and output == want, f"sha256 job: {name} matches hashlib",
              f"rc={rc} trap={trap} output={output[:80]!r}")
    rc, output, trap = run_job(engine, module, [])
    check(rc == 1 and output == b"", "sha256 job: no input 0 fails with 1", f"rc={rc} trap={trap}")
    rc, output, trap = run_job(engine, module, [bytes(16 << 20)])
    check(rc == 2 and output == b"", "sha256 job: a 16 MiB input (over its memory) fails with 2",
          f"rc={rc} trap={trap}")


def bad_modules(engine):
    bad = path("contracts", "bad")

    def problems(name):
        with open(os.path.join(bad, name), "rb") as f:
            return profile(f.read(), "mesh", ["instantiate", "execute", "query"], CONTRACT_MAX_MEMORY, 2 * PAGE)

    def run(name):
        ledger = Ledger()
        c = ledger.deploy(os.path.join(bad, name), "did:mesh:bad")
        instantiated = ledger.instantiate(c, {}, ALICE)
        return instantiated, ledger.execute(c, {}, ALICE)

    with open(os.path.join(bad, "malformed.wasm"), "rb") as f:
        data = f.read()
    try:
        wasmtime.Module(engine, data)
        refused = False
    except wasmtime.WasmtimeError:
        refused = True
    check(len(data) == 16 and data[:4] == b"\0asm" and refused, "bad: malformed.wasm is 16 bytes wasmtime refuses")
    check(any("malformed" in p for p in problems("malformed.wasm")), "bad: malformed.wasm fails the profile parse")
    found = problems("float.wasm")
    check(any("float instruction" in p for p in found), "bad: float.wasm is caught using f32", str(found))
    found = problems("noexport.wasm")
    check({"no exported function execute", "no exported function query"} <= found,
          "bad: noexport.wasm lacks execute and query", str(found))
    found = problems("grow.wasm")
    check(found == {"memory declares no maximum"}, "bad: grow.wasm declares no maximum memory", str(found))
    init, out = run("grow.wasm")
    check(init.ok and out.trap is not None and "unreachable" in out.trap,
          "bad: grow.wasm traps when the 1 MiB cap refuses 256 pages", repr(out))
    for name in ("loop.wasm", "trap.wasm"):
        found = problems(name)
        check(not found, f"bad: {name} passes the static profile", str(found))
    init, out = run("loop.wasm")
    check(init.ok and out.trap is not None and "fuel" in out.trap, "bad: loop.wasm runs out of fuel", repr(out))
    init, out = run("trap.wasm")
    check(init.ok and out.trap is not None and "unreachable" in out.trap, "bad: trap.wasm traps", repr(out))


def main():
    print(f"examples: {EXAMPLES}")
    for name in ("counter", "escrow", "multisig", "token"):
        with open(path("contracts", name, f"{name}.wasm"), "rb") as f:
            data = f.read()
        found = profile(data, "mesh", ["instantiate", "execute", "query"], CONTRACT_MAX_MEMORY, 2 * PAGE)
        check(not found, f"profile: {name}.wasm ({len(data)} bytes)", "; ".join(sorted(found)))
    with open(path("jobs", "sha256.wasm"), "rb") as f:
        data = f.read()
    found = profile(data, "mesh_job", ["run"], JOB_MAX_MEMORY, JOB_MAX_INITIAL)
    check(not found, f"profile: sha256.wasm ({len(data)} bytes)", "; ".join(sorted(found)))

    counter()
    escrow()
    multisig()
    token()
    engine = Ledger().engine
    sha256_job(engine)
    bad_modules(engine)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
