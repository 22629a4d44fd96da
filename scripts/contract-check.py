#!/usr/bin/env python3
"""WASM contracts end to end through the CLI, on one devnet of 1 validator (aim: under 90 s).

Accounts are keystore keys made here (`keys new --insecure-plaintext`, did:key) and funded by the devnet's
`owner` (`tx transfer`); balances are read from GET /accounts/<did> and fees from GET /txs/<hash> (`feePaid`), so
every balance change is checked to the base unit. Every contract command is `meshwork contract … --output json`.

1. store: escrow, multisig and counter from Examples/contracts; the JSON carries `codeId`, the CIDv1 (raw,
   sha2-256, base32) of the file's bytes computed here; storing the same code again fails with contracts/3 and
   `contract show` lists no new code.
2. counter: instantiate, `{"increment":{}}` twice, `{"get":{}}` answers exactly {"count":2}, also with
   `--verify` (the light client reruns the query on proven state).
3. escrow released: the buyer escrows 5000 for the seller (deadline = height + 1000); a non-buyer's
   `{"confirm":{}}` fails with contracts/10 and changes nothing; the buyer confirms; the seller's balance rose by
   exactly 5000, the contract holds 0, the query says "released".
4. escrow refunded: deadline = height + 8 (a transaction moves the height by ~3); a refund before it fails
   with contracts/10; after it a third account's `{"refund":{}}` pays the buyer back exactly the amount (the
   buyer pays no fee meanwhile); the query says "refunded".
5. multisig 2-of-3 (owners O1, O2, O3, funds attached): O1 proposes a transfer to R; executing it with 1
   approval fails (contracts/10), R unchanged; a non-owner's approve fails (contracts/10); O2 approves; O3
   executes: R's balance rose by exactly the amount; executing again fails (contracts/10).
6. bad input, each with its code and no state change (code list, contract state, balances, nonces):
   - malformed, noexport and float modules: refused by the CLI's own check (contracts/1, "invalid code",
     "missing export", "floats"), and ALSO by the ledger: the same store transactions built and signed here
     (format of Sources/MeshLedger/README.md, "Transactions"; checked byte for byte against `tx transfer
     --sign-only`) and posted to POST /txs, since the CLI has no flag to skip its check;
   - a module of 2 MiB + 1 byte (a valid header and a custom section): the CLI refuses it naming the 2 MiB cap;
     posted raw, the node refuses it naming a limit; a 100 KiB module (under the cap) hits the ledger's
     64 KiB transaction limit (tx/1, the limit named);
   - loop.wasm: execute with --fuel 100000 fails with contracts/8, the signer pays the fee (as the CLI's help and
     the error message say), the contract holds nothing of the funds sent;
   - grow.wasm: contracts/11; trap.wasm: contracts/9; the contract holds nothing of the funds sent (the fee the
     signer paid, 0 or the fee, is printed);
   - too little fee: the CLI raises `--fee 2` to buy `--fuel 50000000` (feePaid checked); a transaction built
     here with fee 2 for 50,000,000 fuel fails with contracts/7 and changes nothing.

Prints one line per check (`ok   …` / `FAIL …`) and exits 1 at the first failure with the command's output
(`--keep-going`: run every check, then exit 1 if any failed).

usage: python3 scripts/contract-check.py path/to/meshwork [--keep-going]
"""
import base64, hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, traceback
import urllib.error, urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ARGS = [arg for arg in sys.argv[1:] if arg != "--keep-going"]
KEEP_GOING = "--keep-going" in sys.argv[1:]
if len(ARGS) != 1:
    raise SystemExit(__doc__)
MESHWORK = os.path.abspath(ARGS[0])
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "Examples", "contracts")
HOME = tempfile.mkdtemp(prefix="meshwork-contract-")
ENV = dict(os.environ, MESHWORK_PASSPHRASE="contract-check-passphrase")
EMPTY_BLOCKS_MS = 1000   # idle pacing; a transaction gets a block at once
CODE_BYTES_MAX = 2 << 20  # ContractRules.codeBytesMax
TX_BYTES_MAX = 65_536     # ledger.transactionBytesMax (genesis default)
DEADLINE_MARGIN = 8       # blocks between the refund escrow's instantiation and its deadline (see section 4)
STORE, EXECUTE = 100, 102  # message types contract.store, contract.execute
TRANSFER = 1               # bank.transfer
failures = []


def free_port(preferred, low, high):
    """`preferred` if nothing listens there, else the first free port of low..high (below the ephemeral range)."""
    for port in [preferred] + list(range(low, high)):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds (TIME_WAIT is fine)
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit(f"contract-check: no free port in {low}-{high}")


API = free_port(18780, 18700, 18799)   # apart from the other checks' ports
P2P = free_port(28956, 28900, 28999)
NODE = f"http://127.0.0.1:{API}"


# ---- output ----

class Fatal(Exception):
    pass


def shown(done):
    """A command and what it printed, for a failure report."""
    if done is None:
        return ""
    if isinstance(done, subprocess.CompletedProcess):
        command = " ".join(str(part) for part in done.args)
        return (f"  $ {command}\n  exit {done.returncode}\n  stdout: {done.stdout.strip()[-1500:] or '(none)'}\n"
                f"  stderr: {done.stderr.strip()[-1500:] or '(none)'}")
    return f"  {done}"


def check(condition, line, *evidence):
    """One line per check; a failure prints the commands' output and stops (unless --keep-going)."""
    print(("ok   " if condition else "FAIL ") + line, flush=True)
    if not condition:
        failures.append(line)
        for item in evidence:
            print(shown(item), flush=True)
        if not KEEP_GOING:
            raise Fatal(line)
    return condition


def fatal(line, *evidence):
    """A step the rest depends on failed: stop even with --keep-going."""
    print("FAIL " + line, flush=True)
    for item in evidence:
        print(shown(item), flush=True)
    failures.append(line)
    raise Fatal(line)


# ---- the devnet, the API and the CLI ----

def get(path):
    with urllib.request.urlopen(NODE + path, timeout=5) as response:
        return json.load(response)


def height():
    try:
        return get("/status")["height"]
    except (OSError, ValueError, KeyError):
        return None


def wait_until(predicate, seconds, step=0.1):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def account(did):
    return get(f"/accounts/{did}")


def balance(did):
    return account(did)["balance"]


def fee_paid(tx_hash):
    return get(f"/txs/{tx_hash}")["feePaid"]


def cli(*args, node=True, timeout=60):
    command = [MESHWORK, *args, "--home", HOME] + (["--node", NODE] if node else [])
    try:
        return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(command, -1, error.stdout or "", f"timed out after {timeout} s")


def must(*args, node=True):
    """Runs a CLI command that must succeed with `--output json`; its JSON and the finished process."""
    done = cli(*args, "--output", "json", node=node)
    if done.returncode != 0:
        fatal(f"`meshwork {' '.join(args[:3])} …` exited {done.returncode}", done)
    try:
        return json.loads(done.stdout), done
    except ValueError:
        fatal(f"`meshwork {' '.join(args[:3])} …` printed no JSON", done)


def error_of(done):
    """(`module/N` of a failed command's error, its error line)."""
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    line = next((line for line in reversed(lines) if line.startswith("Error")), lines[-1] if lines else "")
    found = re.search(r"\[([a-z]+/\d+)\]\s*$", line) or re.search(r"\b([a-z]+/\d+)\b", line)
    return (found.group(1) if found else None), line


def refused(done, code, *words):
    """The command failed with `code` and its error line holds every one of `words`."""
    got, line = error_of(done)
    return done.returncode != 0 and got == code and all(word in line for word in words)


def start_devnet():
    return subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", "1", "--api-port", str(API), "--p2p-port", str(P2P),
         "--mqtt-port", "0", "--empty-blocks-interval-ms", str(EMPTY_BLOCKS_MS)],
        stdout=open(os.path.join(HOME, "devnet.log"), "w"), stderr=subprocess.STDOUT, start_new_session=True,
        env=ENV)


def node_pid(node_home):
    """Pid of a `meshwork node start --home node_home` left behind, None when there is none."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and argv[1:5] == [b"node", b"start", b"--home", node_home.encode()]:
            return int(entry)
    return None


def stop_devnet(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    leftover = node_pid(os.path.join(HOME, "node-0"))
    if leftover:
        os.kill(leftover, signal.SIGKILL)


def devnet_tail():
    path = os.path.join(HOME, "devnet.log")
    return open(path, errors="replace").read()[-2000:] if os.path.exists(path) else "(no devnet log)"


# ---- transactions built here (Sources/MeshLedger/README.md, "Transactions"), for what the CLI will not send ----

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
TX_DOMAIN = b"meshwork/tx/v1"


def uvarint(value):
    """Unsigned LEB128, shortest form."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_prefixed(data):
    return uvarint(len(data)) + data


def b58decode(text):
    number = 0
    for char in text:
        number = number * 58 + B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def did_bytes(did):
    """0x01 ‖ id(16) for did:mesh, 0x00 ‖ key(32) for did:key (multicodec 0xed01)."""
    if did.startswith("did:mesh:"):
        raw = b58decode(did[len("did:mesh:"):])
        assert len(raw) == 16, did
        return b"\x01" + raw
    raw = b58decode(did[len("did:key:z"):])
    assert did.startswith("did:key:z") and raw[:2] == b"\xed\x01" and len(raw) == 34, did
    return b"\x00" + raw[2:]


def signed_transaction(private, chain_id, signer, nonce, fee, messages):
    """bytes(Transaction) ‖ key(32) ‖ signature(64), signed over varint(14) ‖ meshwork/tx/v1 ‖ Transaction."""
    body = (length_prefixed(chain_id.encode()) + did_bytes(signer) + uvarint(nonce) + uvarint(fee)
            + uvarint(len(messages)) + b"".join(uvarint(kind) + length_prefixed(data) for kind, data in messages))
    key = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return length_prefixed(body) + key + private.sign(length_prefixed(TX_DOMAIN) + body)


def post_transaction(raw):
    """POST /txs?wait=commit: (HTTP status, JSON answer)."""
    request = urllib.request.Request(NODE + "/txs?wait=commit", data=raw, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body or b"{}")
        except ValueError:
            return error.code, {"raw": body[:300].decode(errors="replace")}


def posted_code(answer):
    """`module/N` of a POST /txs answer (a SubmitResult, or an API error body)."""
    if isinstance(answer.get("code"), str):
        return answer["code"]
    return f"{answer.get('module')}/{answer.get('code')}" if answer.get("code") else None


def cid_of(data):
    """CIDv1, raw codec, sha2-256, base32 lower-case multibase: the code id."""
    raw = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def custom_section_module(prefix, total):
    """`prefix` (a module) followed by one custom section, `total` bytes in all."""
    for width in range(1, 6):
        size = total - len(prefix) - 1 - width
        if len(uvarint(size)) == width:
            name = length_prefixed(b"padding")
            module = prefix + b"\x00" + uvarint(size) + name + b"\0" * (size - len(name))
            assert len(module) == total
            return module
    raise ValueError(total)


# ---- contracts ----

def example(*parts):
    return os.path.join(EXAMPLES, *parts)


def store(path, key):
    """A `contract store` that must succeed: (its JSON, the process)."""
    return must("contract", "store", path, "--from", key)


def instantiate(code_id, key, msg="{}", label="", funds=0):
    result, done = must("contract", "instantiate", code_id, "--msg", msg, "--label", label, "--funds", str(funds),
                        "--from", key)
    return result["contract"], result, done


def execute(contract, key, msg, funds=0, fuel=None, fee=None):
    """A `contract execute` (its process; the caller checks it)."""
    extra = (["--fuel", str(fuel)] if fuel else []) + (["--fee", str(fee)] if fee else [])
    return cli("contract", "execute", contract, "--msg", msg, "--funds", str(funds), "--from", key, *extra,
               "--output", "json")


def executed(contract, key, msg, funds=0):
    """A `contract execute` that must succeed: its JSON (with the fee paid, from GET /txs)."""
    done = execute(contract, key, msg, funds)
    if done.returncode != 0:
        fatal(f"`contract execute {msg}` by {key} exited {done.returncode}", done)
    result = json.loads(done.stdout)
    result["feePaid"] = fee_paid(result["tx"])
    return result, done


def query(contract, msg, *more):
    """(the answer's JSON object or None, the process)."""
    done = cli("contract", "query", contract, "--msg", msg, "--output", "json", *more)
    if done.returncode != 0:
        return None, done
    try:
        return json.loads(json.loads(done.stdout)["result"]), done
    except (ValueError, KeyError, TypeError):
        return None, done


def must_query(contract, msg):
    answer, done = query(contract, msg)
    if answer is None:
        fatal(f"`contract query {msg}` failed", done)
    return answer


def listing():
    """Every stored code id and contract (`contract show`)."""
    shown_json, _ = must("contract", "show")
    return (sorted(code["codeId"] for code in shown_json["codes"]),
            sorted(item["contract"] for item in shown_json["contracts"]))


def contract_view(contract):
    shown_json, _ = must("contract", "show", contract)
    return shown_json


# ---- the scenario ----

def main():
    global CHAIN_ID, DID
    began = time.time()
    if not wait_until(lambda: (height() or 0) >= 2, 60, step=0.1):
        fatal(f"the devnet did not reach height 2 in 60 s:\n{devnet_tail()}")
    CHAIN_ID = get("/status")["chainId"]
    print(f"..   devnet of 1 validator ({CHAIN_ID}) at {NODE}, home {HOME}; ready in {time.time() - began:.1f} s",
          flush=True)

    # Accounts: keystore keys (did:key), funded by the devnet's owner.
    names = ("buyer", "seller", "third", "o1", "o2", "o3", "recipient")
    DID = {"owner": must("keys", "show", "owner", node=False)[0]["did"]}
    for name in names:
        # Unencrypted (throwaway devnet keys): an encrypted one costs ~1.7 s of scrypt at every signature.
        DID[name] = must("keys", "new", "--name", name, "--insecure-plaintext", node=False)[0]["did"]
    for name, amount in (("buyer", 100_000), ("third", 100_000), ("o1", 100_000), ("o2", 20_000),
                         ("o3", 20_000)):
        must("tx", "transfer", "--from", "owner", "--to", DID[name], "--amount", str(amount))
    seeds = {name: must("keys", "export", name, node=False)[0]["seedHex"] for name in ("third",)}
    third_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seeds["third"]))

    # ---- 1. store ----
    codes = {}
    for name in ("escrow", "multisig", "counter"):
        path = example(name, f"{name}.wasm")
        stored, done = store(path, "owner")
        want = cid_of(open(path, "rb").read())
        check(stored.get("codeId") == want and stored.get("bytes") == os.path.getsize(path),
              f"store: {name}.wasm ({stored.get('bytes')} bytes) -> codeId {stored.get('codeId')} (the CID of its "
              f"bytes), block {stored.get('height')}", done)
        codes[name] = stored["codeId"]
    listed_codes, _ = listing()
    owner_before = account(DID["owner"])
    again = cli("contract", "store", example("counter", "counter.wasm"), "--from", "owner", "--output", "json")
    check(refused(again, "contracts/3", "stored already") and listing()[0] == listed_codes
          and account(DID["owner"])["nonce"] == owner_before["nonce"],
          f"store: the same code again is refused: {error_of(again)[1]!r}; the code list is unchanged", again)

    # ---- 2. counter ----
    counter, _, _ = instantiate(codes["counter"], "owner", label="counter")
    for _ in range(2):
        executed(counter, "owner", '{"increment":{}}')
    answer, done = query(counter, '{"get":{}}')
    raw = json.loads(done.stdout)["result"] if done.returncode == 0 else None
    check(raw == '{"count":2}', f"counter: instantiate, increment x2, query get answers {raw}", done)
    verified, done = query(counter, '{"get":{}}', "--verify")
    check(done.returncode == 0 and verified == {"count": 2},
          f"counter: `contract query --verify` (rerun on proven state) answers {verified}"
          + ("" if done.returncode == 0 else f": {error_of(done)[1]!r}"), done)

    # ---- 3. escrow: released to the seller ----
    amount = 5000
    deadline = height() + 1000
    init = json.dumps({"buyer": DID["buyer"], "seller": DID["seller"], "deadline_height": deadline})
    escrow, made, _ = instantiate(codes["escrow"], "buyer", msg=init, label="escrow-release", funds=amount)
    state = must_query(escrow, '{"state":{}}')
    check(state == {"buyer": DID["buyer"], "seller": DID["seller"], "deadline_height": deadline, "amount": amount,
                    "settled": "no"} and contract_view(escrow).get("balance") == amount,
          f"escrow: the buyer escrows {amount} for the seller until height {deadline}: state amount "
          f"{state.get('amount')}, settled {state.get('settled')!r}, buyer/seller/deadline as given; the contract "
          f"holds {contract_view(escrow).get('balance')}")
    seller_before, third_before = balance(DID["seller"]), account(DID["third"])
    done = execute(escrow, "third", '{"confirm":{}}')
    after = must_query(escrow, '{"state":{}}')
    check(refused(done, "contracts/10", "not the buyer") and after["settled"] == "no"
          and balance(DID["seller"]) == seller_before and contract_view(escrow).get("balance") == amount
          and account(DID["third"]) == dict(third_before, height=account(DID["third"])["height"]),
          f"escrow: a non-buyer's confirm is refused ({error_of(done)[1]!r}); still settled \"no\", nothing moved",
          done)
    confirmed, done = executed(escrow, "buyer", '{"confirm":{}}')
    gained = balance(DID["seller"]) - seller_before
    state = must_query(escrow, '{"state":{}}')
    check(gained == amount and state["settled"] == "released" and contract_view(escrow).get("balance") == 0,
          f"escrow: confirm paid seller {gained} (block {confirmed['height']}); settled {state['settled']!r}, "
          f"the contract holds {contract_view(escrow).get('balance')}", done)

    # ---- 4. escrow: refunded after the deadline ----
    # A transaction's block is followed by two empty ones within ~0.2 s (the app hash is committed in the next
    # header), so an instantiate alone moves the height by ~3: +3 would already be passed when the early refund
    # runs. DEADLINE_MARGIN blocks leave room for it; the wait afterwards is idle blocks (EMPTY_BLOCKS_MS).
    deadline = height() + DEADLINE_MARGIN
    init = json.dumps({"buyer": DID["buyer"], "seller": DID["seller"], "deadline_height": deadline})
    escrow2, made, _ = instantiate(codes["escrow"], "buyer", msg=init, label="escrow-refund", funds=amount)
    buyer_before, seller_before = balance(DID["buyer"]), balance(DID["seller"])
    early = execute(escrow2, "third", '{"refund":{}}')
    state = must_query(escrow2, '{"state":{}}')
    check(refused(early, "contracts/10", "deadline not reached") and state["settled"] == "no"
          and contract_view(escrow2).get("balance") == amount,
          f"escrow: refund before the deadline (height {deadline}, escrowed at {made['height']}) is refused: "
          f"{error_of(early)[1]!r}", early)
    if not wait_until(lambda: (height() or 0) > deadline, 30):
        fatal(f"the devnet did not pass height {deadline} in 30 s")
    refunded, done = executed(escrow2, "third", '{"refund":{}}')
    back = balance(DID["buyer"]) - buyer_before
    state = must_query(escrow2, '{"state":{}}')
    check(back == amount and state["settled"] == "refunded" and balance(DID["seller"]) == seller_before
          and contract_view(escrow2).get("balance") == 0,
          f"escrow: after the deadline a third account's refund (block {refunded['height']} > {deadline}) paid the "
          f"buyer back {back}; settled {state['settled']!r}", done)

    # ---- 5. multisig 2-of-3 ----
    fund, pay = 20_000, 7_000
    init = json.dumps({"owners": [DID["o1"], DID["o2"], DID["o3"]], "threshold": 2})
    multisig, _, _ = instantiate(codes["multisig"], "o1", msg=init, label="multisig", funds=fund)
    config = must_query(multisig, '{"config":{}}')
    check(config == {"owners": [DID["o1"], DID["o2"], DID["o3"]], "threshold": 2}
          and contract_view(multisig).get("balance") == fund,
          f"multisig: 2 of 3 owners, funded {fund}: config {config['threshold']} of {len(config['owners'])}")
    proposed, _ = executed(multisig, "o1", json.dumps({"propose": {"to": DID["recipient"], "amount": pay}}))
    result = next((a["value"] for e in get(f"/txs/{proposed['tx']}")["events"] for a in e["attributes"]
                   if a["key"] == "result"), None)
    pid = json.loads(result)["id"] if result else None
    proposal = must_query(multisig, json.dumps({"proposal": {"id": pid}})) if pid else None
    check(pid == 1 and proposal == {"id": 1, "to": DID["recipient"], "amount": pay, "approvals": 1,
                                    "executed": False},
          f"multisig: O1 proposes {pay} to R: answer {result}; proposal {pid}: approvals "
          f"{(proposal or {}).get('approvals')}, executed {(proposal or {}).get('executed')}")
    recipient_before = balance(DID["recipient"])
    done = execute(multisig, "o1", json.dumps({"execute": {"id": pid}}))
    check(refused(done, "contracts/10", "not enough approvals") and balance(DID["recipient"]) == recipient_before
          and contract_view(multisig).get("balance") == fund,
          f"multisig: execute with 1 approval is refused ({error_of(done)[1]!r}); R unchanged", done)
    done = execute(multisig, "third", json.dumps({"approve": {"id": pid}}))
    proposal = must_query(multisig, json.dumps({"proposal": {"id": pid}}))
    check(refused(done, "contracts/10", "not an owner") and proposal["approvals"] == 1,
          f"multisig: a non-owner's approve is refused ({error_of(done)[1]!r}); approvals still 1", done)
    approved, _ = executed(multisig, "o2", json.dumps({"approve": {"id": pid}}))
    went, done = executed(multisig, "o3", json.dumps({"execute": {"id": pid}}))
    gained = balance(DID["recipient"]) - recipient_before
    proposal = must_query(multisig, json.dumps({"proposal": {"id": pid}}))
    check(gained == pay and proposal["executed"] is True and proposal["approvals"] == 2
          and contract_view(multisig).get("balance") == fund - pay,
          f"multisig: O2 approves, O3 executes: R received {gained}, the contract holds "
          f"{contract_view(multisig).get('balance')}", done)
    done = execute(multisig, "o1", json.dumps({"execute": {"id": pid}}))
    check(refused(done, "contracts/10", "already executed") and balance(DID["recipient"]) == recipient_before + pay
          and contract_view(multisig).get("balance") == fund - pay,
          f"multisig: executing again is refused ({error_of(done)[1]!r}); nothing moved", done)

    # ---- 6. bad input ----
    # The transaction encoder used below, against the CLI's own signed bytes.
    third = account(DID["third"])
    ours = signed_transaction(third_key, CHAIN_ID, DID["third"], third["nonce"], 1000,
                              [(TRANSFER, b"\x00" + did_bytes(DID["recipient"]) + uvarint(5))]).hex()
    done = cli("tx", "transfer", "--from", "third", "--to", DID["recipient"], "--amount", "5", "--nonce",
               str(third["nonce"]), "--sign-only")
    check(done.returncode == 0 and done.stdout.strip() == ours,
          "transactions built here equal `tx transfer --sign-only` byte for byte (used to bypass the CLI below)",
          done)

    def unchanged(before_codes, before_third):
        now = account(DID["third"])
        return listing()[0] == before_codes and now["balance"] == before_third["balance"] \
            and now["nonce"] == before_third["nonce"]

    for name, words in (("malformed", ["invalid code"]), ("noexport", ["invalid code", "missing export"]),
                        ("float", ["invalid code", "floats"])):
        path = example("bad", f"{name}.wasm")
        before_codes, before_third = listing()[0], account(DID["third"])
        done = cli("contract", "store", path, "--from", "third", "--output", "json")
        check(refused(done, "contracts/1", *words) and unchanged(before_codes, before_third),
              f"bad: `contract store bad/{name}.wasm` refused by the CLI's check: {error_of(done)[1]!r}", done)
        status, answer = post_transaction(signed_transaction(
            third_key, CHAIN_ID, DID["third"], before_third["nonce"], 1000,
            [(STORE, length_prefixed(open(path, "rb").read()))]))
        check(status == 400 and posted_code(answer) == "contracts/1"
              and all(word in answer.get("message", "") for word in words) and unchanged(before_codes, before_third),
              f"bad: bad/{name}.wasm sent past the CLI (POST /txs) refused by the ledger: HTTP {status} "
              f"{posted_code(answer)} {answer.get('message')!r}", f"POST /txs answered {status} {answer}")

    header = open(example("bad", "trap.wasm"), "rb").read()[:8]
    big = os.path.join(HOME, "over-cap.wasm")
    open(big, "wb").write(custom_section_module(header, CODE_BYTES_MAX + 1))
    before_codes, before_third = listing()[0], account(DID["third"])
    done = cli("contract", "store", big, "--from", "third", "--output", "json")
    _, line = error_of(done)
    check(done.returncode != 0 and str(CODE_BYTES_MAX) in line and unchanged(before_codes, before_third),
          f"bad: a {CODE_BYTES_MAX + 1}-byte module is refused by the CLI naming the cap: {line!r}", done)
    status, answer = post_transaction(signed_transaction(
        third_key, CHAIN_ID, DID["third"], before_third["nonce"], 1000,
        [(STORE, length_prefixed(open(big, "rb").read()))]))
    said = answer.get("message", "")
    check(status in (400, 413) and posted_code(answer) in ("api/3", "tx/1", "contracts/2")
          and re.search(rf"\b({CODE_BYTES_MAX}|{TX_BYTES_MAX})\b", said) and unchanged(before_codes, before_third),
          f"bad: the same module sent past the CLI is refused by the node: HTTP {status} {posted_code(answer)} "
          f"{said!r}", f"POST /txs answered {status} {answer}")
    middle = os.path.join(HOME, "over-tx-limit.wasm")
    open(middle, "wb").write(custom_section_module(open(example("bad", "trap.wasm"), "rb").read(), 100 * 1024))
    done = cli("contract", "store", middle, "--from", "third", "--output", "json")
    check(refused(done, "tx/1", str(TX_BYTES_MAX)) and unchanged(before_codes, before_third),
          f"bad: a valid 100 KiB module (under the code cap) hits the transaction limit: {error_of(done)[1]!r}", done)

    bad = {name: store(example("bad", f"{name}.wasm"), "owner")[0]["codeId"] for name in ("loop", "grow", "trap")}
    for name, code, words, fuel in (("loop", "contracts/8", ["out of fuel"], 100_000),
                                    ("grow", "contracts/11", ["memory"], None),
                                    ("trap", "contracts/9", ["trapped"], None)):
        contract, _, _ = instantiate(bad[name], "owner", label=name)
        view_before, signer_before = contract_view(contract), account(DID["third"])
        done = execute(contract, "third", "{}", funds=100, fuel=fuel)
        signer_after, view_after = account(DID["third"]), contract_view(contract)
        charged = signer_before["balance"] - signer_after["balance"]
        same_contract = dict(view_after, height=0) == dict(view_before, height=0) and view_after.get("balance") == 0
        if name == "loop":
            fee = max(1000, 1 + 100_000 // 100_000 + 1)
            check(refused(done, code, *words) and same_contract and charged == fee
                  and signer_after["nonce"] == signer_before["nonce"] + 1,
                  f"bad: loop.wasm execute --fuel 100000 stops: {error_of(done)[1]!r}; the signer was charged "
                  f"{charged} (want the fee, {fee}; nonce {signer_before['nonce']} -> {signer_after['nonce']}); the "
                  f"contract holds {view_after.get('balance')} of the 100 sent", done)
        else:
            check(refused(done, code, *words) and same_contract and charged in (0, 1000),
                  f"bad: {name}.wasm execute is refused: {error_of(done)[1]!r}; the contract holds "
                  f"{view_after.get('balance')} of the 100 sent; the signer paid {charged}", done)

    # Too little fee: the CLI buys the fuel whatever --fee says; a transaction built here does not.
    fuel = 50_000_000
    raised, done = must("contract", "execute", counter, "--msg", '{"increment":{}}', "--fuel", str(fuel), "--fee", "2",
                        "--from", "third")
    paid = fee_paid(raised["tx"])
    count = must_query(counter, '{"get":{}}')["count"]
    check(paid == 1 + fuel // 100_000 + 1 and count == 3,
          f"fee: `contract execute --fuel {fuel} --fee 2` is raised by the CLI to buy the fuel: fee paid {paid}; "
          f"count {count}", done)
    before = account(DID["third"])
    status, answer = post_transaction(signed_transaction(
        third_key, CHAIN_ID, DID["third"], before["nonce"], 2,
        [(EXECUTE, did_bytes(counter) + length_prefixed(b'{"increment":{}}') + uvarint(0) + uvarint(fuel))]))
    after = account(DID["third"])
    count = must_query(counter, '{"get":{}}')["count"]
    check(status == 400 and posted_code(answer) == "contracts/7" and "raise the fee" in answer.get("message", "")
          and count == 3 and after["balance"] == before["balance"] and after["nonce"] == before["nonce"],
          f"fee: a transaction with fee 2 for {fuel} fuel (built here, POST /txs) is refused: {posted_code(answer)} "
          f"{answer.get('message')!r}; count still {count}, balance and nonce unchanged",
          f"POST /txs answered {status} {answer}")


began = time.time()
devnet = start_devnet()
try:
    main()
except Fatal:
    pass
except Exception as error:  # an unexpected answer: report it as a failure, with the devnet's last lines
    failures.append(repr(error))
    print(f"FAIL the check itself broke: {error!r}\n{traceback.format_exc()}--- devnet log tail:\n{devnet_tail()}",
          flush=True)
finally:
    stop_devnet(devnet)

took = time.time() - began
if failures:
    print(f"contract check: {len(failures)} failure(s) in {took:.0f} s; devnet home kept in {HOME}")
    sys.exit(1)
shutil.rmtree(HOME, ignore_errors=True)
print(f"contract check: all passed in {took:.0f} s")
