#!/usr/bin/env python3
"""WASM contracts and the compute market end to end through the CLI, on ONE devnet (aim: under 3 minutes).

The devnet is 1 validator (node-0) and 3 compute providers (node-1..node-3, also storage providers), made with
`devnet --nodes 1 --compute 3 --create-only`; each provider's `[compute]` section is then edited so the auction is
predictable (bid = price x ceil(fuel / 1e6), at least 1; the lowest bids win): node-1 price_per_megafuel 1 and
corrupt_output_for_tests = true (the liar), node-2 price 2, node-3 price 3; `devnet` again on that home starts it.
The contract checks (1-6) run first, before any storage deal exists; the compute checks (7-11) after them.

Accounts are keystore keys made here (`keys new --insecure-plaintext`, did:key) and funded by the devnet's
`owner` (`tx transfer`); balances are read from GET /accounts/<did> and fees from GET /txs/<hash> (`feePaid`), so
every balance change is checked to the base unit. Every contract command is `meshwork contract … --output json`.

1. store: escrow, multisig and counter from Examples/contracts; the JSON carries `codeId`, the CIDv1 (raw,
   sha2-256, base32) of the file's bytes computed here; storing the same code again fails with contracts/3 and
   `contract show` lists no new code.
2. counter: instantiate, `{"increment":{}}` twice, `{"get":{}}` answers exactly {"count":2}, also with
   `--verify` (the light client reruns the query on proven state: asked once the block after the last
   increment's is committed, as the state after height H is provable only then).
3. escrow released: the buyer escrows 5000 for the seller (deadline = height + 1000); a non-buyer's
   `{"confirm":{}}` fails with contracts/10 and changes nothing but the fee it pays in its block (the mempool
   does not run calls); the buyer confirms; the seller's balance rose by exactly 5000, the contract holds 0, the
   query says "released".
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

7. compute providers: `compute provider list --output json` shows node-1..node-3 (the did:key of each home's
   validator_key), each with stake 10,000,000 and the price its config.toml was given.
8. compute bad input, each refused with no state change (owner balance and nonce, the job list): a job whose
   input is a read capability (`<manifest CID>:<base64url key>`, made here from `meshwork cid` of random bytes)
   of an object that does not exist -> compute/4 naming that CID; redundancy 4 -> compute/1. The module is given
   as the capability of a `store put` made here, so the CLI stores nothing itself.
9. the liar: `compute submit Examples/jobs/sha256.wasm --input <known bytes> --redundancy 2 --fuel 10000000
   --price 100 --output json`: node-1 (bid 10) and node-2 (bid 20) win; their results disagree; the validator's
   verdict settles the job on the right output (sha256 of the lowercase hex sha256 of the input); node-1 loses
   10% of its stake and its jobsFailed is 1; node-2's lease is paid its bid (compute.pay event) and its jobsDone
   rises; the escrow is 0 and the owner got the rest back (compute.settle refund); `compute result` writes
   exactly the right bytes. Bids, dispute, verdict, slash, pay and settle are read from the blocks' events.
10. a killed provider: `compute submit ... --redundancy 1 --deadline-blocks 20` runs in the background; as soon
   as GET /compute/jobs/<id> shows the first lease, its holder (it must be node-1, the lowest bid) is SIGKILLed
   (its pid read from /proc); at the deadline its lease is slashed (stake -10%, jobsFailed +1), the job is
   auctioned again, the CLI seals to the new winner, the job settles: a later lease is paid, round >= 2, and
   `compute result` writes the right bytes.
11. figures: a plain redundancy-1 job after that (node-2, the cheapest live provider, should win, paid, right
   output): seconds from `compute submit` to settled (`plainSubmitToSettledSeconds`, the CLI's `seconds`: storing
   the module and input included) and blocks from submission to the first lease (`plainFirstLeaseBlocks`, <= 2).
   The last line is `figures: {...}` (JSON, for docs/benchmarks.md): those two, and per job (`liarJob`,
   `killedProviderJob`, `plainJob`) the blocks to the first lease, from lease to reveal and from submission to
   settled, the block-time seconds from the submission's block to the settling one, the seconds spent storing
   the files and submitting, and the CLI's seconds.

Prints one line per check (`ok   …` / `FAIL …`) and exits 1 at the first failure with the command's output
(`--keep-going`: run every check, then exit 1 if any failed).

usage: python3 scripts/contract-check.py path/to/meshwork [--keep-going]
"""
import base64, hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, traceback
import urllib.error, urllib.request

from mqtt_check_support import node_pid

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


COMPUTE_NODES = 3       # node-1..node-3: compute (and storage) providers after the validator node-0
NODES = 1 + COMPUTE_NODES
PRICES = {1: 1, 2: 2, 3: 3}  # price_per_megafuel of node-i; node-1 also lies (corrupt_output_for_tests)
STAKE = 10_000_000          # [compute] stake default, bonded by each provider node
SLASH_PERMILLE = 100        # compute param slashPermille
JOB_FUEL = 10_000_000       # so a bid is 10 x price
JOB_PRICE = 100
# Lease deadline of the killed-provider job (check 10). Once storage deals exist their proofs keep the devnet at
# ~9 blocks/s, and an honest provider needs ~7-8 blocks from lease to reveal (fetch, run, store the output, commit,
# reveal): with 6 the re-auctioned honest providers were slashed too and the job failed.
DEADLINE_BLOCKS = 20
JOBS = os.path.join(REPO, "Examples", "jobs")


def port_free(port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds (TIME_WAIT is fine)
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(preferred, low, high, count=1):
    """`preferred` if it and the `count - 1` ports after it are free, else the first such base of low..high
    (below the ephemeral range): node i of the devnet uses base + i."""
    for port in [preferred] + list(range(low, high - count + 1)):
        if all(port_free(port + offset) for offset in range(count)):
            return port
    raise SystemExit(f"contract-check: no {count} free ports in a row in {low}-{high}")


API = free_port(18780, 18700, 18799, NODES)   # apart from the other checks' ports
P2P = free_port(28956, 28900, 28999, NODES)
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


def cli(*args, node=True, home=True, timeout=60):
    command = [MESHWORK, *args] + (["--home", HOME] if home else []) + (["--node", NODE] if node else [])
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


def devnet_command(*extra):
    return [MESHWORK, "devnet", "--home", HOME, "--nodes", "1", "--compute", str(COMPUTE_NODES), "--api-port",
            str(API), "--p2p-port", str(P2P), "--mqtt-port", "0", *extra]


def set_compute_config(path, settings):
    """Sets `key = value` lines of the `[compute]` section of a config.toml (each key must be there already)."""
    lines = open(path).read().split("\n")
    section, left = None, dict(settings)
    for index, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]+)\]\s*$", line)
        if header:
            section = header.group(1).strip()
            continue
        key = re.match(r"\s*([A-Za-z0-9_]+)\s*=", line)
        if section == "compute" and key and key.group(1) in left:
            lines[index] = f"{key.group(1)} = {left.pop(key.group(1))}"
    if left:
        raise SystemExit(f"contract-check: {path} has no [compute] {', '.join(left)}")
    open(path, "w").write("\n".join(lines))


def start_devnet():
    """Creates the homes (`--create-only`), gives each compute provider its price (node-1 also lies), starts them."""
    # Blocks 0.5 s apart at the least: a bidding window is 2 blocks, and at the devnet's default
    # 0.1 s a provider polling every 0.1 s may bid a window late (its bid then counts in the next
    # one), which would make the winners, and so this check, a matter of timing.
    created = subprocess.run(devnet_command("--empty-blocks-interval-ms", str(EMPTY_BLOCKS_MS), "--create-only",
                                            "--set", "consensus.timeout_commit_ms=500"),
                             env=ENV, capture_output=True, text=True, timeout=60)
    if created.returncode != 0:
        raise SystemExit(f"contract-check: creating the devnet failed:\n{shown(created)}")
    for index, price in PRICES.items():
        set_compute_config(os.path.join(HOME, f"node-{index}", "config.toml"),
                           {"price_per_megafuel": price, "corrupt_output_for_tests": str(index == 1).lower()})
    return subprocess.Popen(devnet_command(), stdout=open(os.path.join(HOME, "devnet.log"), "w"),
                            stderr=subprocess.STDOUT, start_new_session=True, env=ENV)


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
    for index in range(NODES):
        leftover = node_pid(os.path.join(HOME, f"node-{index}"))
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
    print(f"..   devnet of 1 validator and {COMPUTE_NODES} compute providers ({CHAIN_ID}) at {NODE}, home {HOME}; "
          f"ready in {time.time() - began:.1f} s", flush=True)

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
        incremented, _ = executed(counter, "owner", '{"increment":{}}')
    answer, done = query(counter, '{"get":{}}')
    raw = json.loads(done.stdout)["result"] if done.returncode == 0 else None
    check(raw == '{"count":2}', f"counter: instantiate, increment x2, query get answers {raw}", done)
    # A proven query answers from the state after the latest block but one (the state after height H is
    # provable once block H + 1 is committed: its header carries that app hash), so wait for that block.
    if not wait_until(lambda: (height() or 0) >= incremented["height"] + 1, 30):
        fatal(f"the devnet did not pass height {incremented['height']} in 30 s")
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
    # The mempool check does not run calls: a call that fails does so in its block and pays its fee there
    # (Sources/MeshLedger/Modules/Contracts/README.md, "In the mempool").
    third_after = account(DID["third"])
    charged = third_before["balance"] - third_after["balance"]
    check(refused(done, "contracts/10", "not the buyer") and after["settled"] == "no"
          and balance(DID["seller"]) == seller_before and contract_view(escrow).get("balance") == amount
          and charged == 1000 and third_after["nonce"] == third_before["nonce"] + 1,
          f"escrow: a non-buyer's confirm is refused ({error_of(done)[1]!r}); still settled \"no\", nothing moved "
          f"but the fee it paid in its block ({charged}, want the CLI's 1000; nonce {third_before['nonce']} -> "
          f"{third_after['nonce']})", done)
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


# ---- the compute market (checks 7-11) ----

def b58encode(data):
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def home_did(index):
    """The did:key of node-<index>'s validator_key (a hex seed): the key its compute duties sign with."""
    seed = bytes.fromhex(open(os.path.join(HOME, f"node-{index}", "validator_key")).read().strip())
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "did:key:z" + b58encode(b"\xed\x01" + public)


def compute_providers():
    return {item["did"]: item for item in get("/compute/providers")["providers"]}


def job_view(job_id):
    """GET /compute/jobs/<id>, None while there is no such job."""
    try:
        return get(f"/compute/jobs/{job_id}")
    except (OSError, ValueError):
        return None


def job_ids():
    return sorted(job["id"] for job in get("/compute/jobs")["jobs"])


def compute_events(job_id, low, high):
    """(height, type, attributes) of job `job_id`'s compute.* events in the transactions of blocks low..high.
    (Timers run at the end of a block and leave no transaction event: lease, rebid, a deadline's slash.)"""
    found = []
    for at in range(low, high + 1):
        for tx in get(f"/blocks/{at}")["transactionHashes"]:
            for event in get(f"/txs/{tx}")["events"]:
                attributes = {item["key"]: item["value"] for item in event["attributes"]}
                if event["type"].startswith("compute.") and attributes.get("job") == str(job_id):
                    found.append((at, event["type"], attributes))
    return found


def job_timeline(job_id, began=None):
    """(the job's view, its transaction events by type, its figures in blocks and block-time seconds; with
    `began`, the wall time `compute submit` started, also the seconds it took to store the files and submit)."""
    view = job_view(job_id) or {}
    if not view:
        return view, {}, {}
    by_type = {}
    for at, kind, attributes in compute_events(job_id, view["submittedAt"], height() or 0):
        by_type.setdefault(kind, []).append((at, attributes))
    settled_at = next((at for at, _ in by_type.get("compute.settle", [])), None)
    if settled_at is None and view["status"] == "settled":
        settled_at = view["phaseEnd"]  # settled by its challenge window's timer, at the end of that block
    leased = {lease["provider"]: lease["leasedAt"] for lease in view["leases"]}
    reveals = [at - leased[a["provider"]] for at, a in by_type.get("compute.reveal", []) if a["provider"] in leased]

    def block_ms(at):
        return get(f"/blocks/{at}")["header"]["timeMs"]

    figures = {
        "job": job_id, "status": view["status"], "round": view["round"],
        "firstLeaseBlocks": view["leases"][0]["leasedAt"] - view["submittedAt"] if view["leases"] else None,
        "leaseToRevealBlocks": max(reveals) if reveals else None,
        "submitToSettledBlocks": settled_at - view["submittedAt"] if settled_at else None,
        "submitToSettledBlockSeconds":
            round((block_ms(settled_at) - block_ms(view["submittedAt"])) / 1000, 2) if settled_at else None}
    if began is not None:
        figures["storeAndSubmitSeconds"] = round(block_ms(view["submittedAt"]) / 1000 - began, 2)
    return view, by_type, figures


def compute_logs():
    """The nodes' `compute:` log lines and own transactions that hung (the last few of each), for a failure report."""
    lines = []
    for index in range(NODES):
        path = os.path.join(HOME, f"node-{index}", "node.log")
        if os.path.exists(path):
            mine = [line for line in open(path, errors="replace").read().splitlines()
                    if line.startswith("compute:") or "not committed within" in line]
            lines += [f"node-{index}: {line}" for line in mine[-12:]]
    return "node log lines:\n    " + "\n    ".join(lines or ["(none)"])


def cli_json(*args, home=True, timeout=60):
    """A CLI command with `--output json`: (its JSON or None, the process). Failing is the caller's to judge."""
    done = cli(*args, "--output", "json", home=home, timeout=timeout)
    try:
        return json.loads(done.stdout), done
    except ValueError:
        return None, done


def submit_job(path, data, redundancy, *extra, timeout=120):
    """`compute submit sha256.wasm --input <path holding data> …`: (its JSON or None, the process, its start)."""
    open(path, "wb").write(data)
    began = time.time()
    result, done = cli_json("compute", "submit", os.path.join(JOBS, "sha256.wasm"), "--input", path,
                            "--redundancy", str(redundancy), "--fuel", str(JOB_FUEL), "--price", str(JOB_PRICE),
                            "--timeout", str(timeout - 20), *extra, timeout=timeout)
    return result, done, began


def submitted_job(result, done):
    """The job number: from the JSON, else from the CLI's `job N submitted` line."""
    if result and isinstance(result.get("job"), int):
        return result["job"]
    found = re.search(r"job (\d+) submitted", done.stderr or "")
    return int(found.group(1)) if found else None


def sha256_output(data):
    """What Examples/jobs/sha256.wasm outputs for `data` (lowercase hex, no newline) and that output's hash."""
    output = hashlib.sha256(data).hexdigest().encode()
    return output, hashlib.sha256(output).hexdigest()


def fetched_result(job_id, name):
    """`compute result JOB -o FILE`: (the bytes written or None, the process)."""
    path = os.path.join(HOME, name)
    if os.path.exists(path):
        os.remove(path)
    done = cli("compute", "result", str(job_id), "-o", path, "--output", "json")
    return (open(path, "rb").read() if done.returncode == 0 and os.path.exists(path) else None), done


def slashed_stake(stake):
    return stake - stake * SLASH_PERMILLE // 1000


def compute_checks(figures):
    node_did = {index: home_did(index) for index in PRICES}
    names = {did: f"node-{index}" for index, did in node_did.items()}
    names[home_did(0)] = "node-0"

    def name(did):
        return names.get(did, did)

    def bid(index):
        return max(1, PRICES[index] * -(-JOB_FUEL // 1_000_000))

    def leases_text(view):
        return ", ".join(f"{name(lease['provider'])} {lease['state']} (bid {lease['price']}, leased at "
                         f"{lease['leasedAt']})" for lease in (view or {}).get("leases", [])) or "none"

    # ---- 7. providers ----
    wait_until(lambda: set(compute_providers()) >= set(node_did.values()), 30, step=0.2)
    listed, done = cli_json("compute", "provider", "list", home=False)
    providers = {item["did"]: item for item in (listed or {}).get("providers", [])}
    check(set(providers) == set(node_did.values())
          and all(providers[node_did[index]]["stake"] == STAKE
                  and providers[node_did[index]]["pricePerMegafuel"] == PRICES[index] for index in PRICES),
          f"compute providers: `compute provider list` shows {len(providers)}: "
          + ", ".join(f"{name(did)} stake {item['stake']} price {item['pricePerMegafuel']}/Mfuel"
                      for did, item in sorted(providers.items(), key=lambda pair: name(pair[0]))), done)
    if not providers:
        fatal("no compute provider registered: the compute checks cannot run", done, devnet_tail())

    # ---- 8. bad input ----
    module = os.path.join(JOBS, "sha256.wasm")
    put, done = cli_json("store", "put", module, "--code", "1+1")
    if not put or done.returncode != 0:
        fatal("`store put Examples/jobs/sha256.wasm --code 1+1` failed (the module's capability for check 8)", done)
    module_capability = put["capability"]
    absent_path = os.path.join(HOME, "absent.bin")
    open(absent_path, "wb").write(os.urandom(64))
    done = cli("cid", absent_path, node=False)
    absent_cid = done.stdout.split()[0] if done.returncode == 0 and done.stdout.split() else None
    if not absent_cid:
        fatal("`meshwork cid` printed no CID", done)
    absent_capability = f"{absent_cid}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"

    owner_did = must("keys", "show", "owner", node=False)[0]["did"]

    def ledger_snapshot():
        owner = account(owner_did)
        return owner["balance"], owner["nonce"], job_ids()

    for what, inputs, redundancy, code, words in (
            ("an input that does not exist", absent_capability, 1, "compute/4", [absent_cid]),
            ("redundancy 4", module_capability, 4, "compute/1", ["redundancy"])):
        before = ledger_snapshot()
        done = cli("compute", "submit", module_capability, "--input", inputs, "--redundancy", str(redundancy),
                   "--fuel", str(JOB_FUEL), "--price", str(JOB_PRICE), "--output", "json", timeout=60)
        after = ledger_snapshot()
        check(refused(done, code, *words) and after == before,
              f"compute bad input: {what} is refused: {error_of(done)[1]!r}; owner balance/nonce "
              f"{'unchanged' if after[:2] == before[:2] else f'{before[:2]} -> {after[:2]}'}, "
              f"jobs {'unchanged' if after[2] == before[2] else f'{before[2]} -> {after[2]}'}", done)

    # ---- 9. the liar is challenged by its disagreeing partner, the validator's verdict slashes it ----
    liar, honest = node_did[1], node_did[2]
    data = b"Meshwork compute acceptance: a liar is slashed, the truth is paid.\n"
    want_output, want_hash = sha256_output(data)
    before = compute_providers()
    result, done, began = submit_job(os.path.join(HOME, "liar-input.txt"), data, 2)
    wall = time.time() - began
    job = submitted_job(result, done)
    if job is None:
        fatal("the redundancy-2 job was not submitted", done, compute_logs())
    view, by_type, timeline = job_timeline(job, began)
    after = compute_providers()
    bids = ", ".join(f"{name(a['provider'])} {a['price']} at block {at}" for at, a in by_type.get("compute.bid", []))
    leases = {lease["provider"]: lease for lease in view.get("leases", [])}
    figures["liarJob"] = dict(timeline, cliSeconds=round((result or {}).get("seconds") or wall, 2))
    status = (result or {}).get("status") or view.get("status")
    check({provider: lease["price"] for provider, lease in leases.items()} == {liar: bid(1), honest: bid(2)}
          and view.get("round") == 1,
          f"compute liar: job {job} (redundancy 2): the two lowest bids win: leases {leases_text(view)}, round "
          f"{view.get('round')}; bids in transactions: {bids or 'none'} (window: blocks {view.get('submittedAt', 0) + 1}"
          f"-{view.get('submittedAt', 0) + 2})", done, compute_logs())
    disputes = by_type.get("compute.dispute", [])
    verdicts = by_type.get("compute.verdict", [])
    check(status == "settled" and (result or {}).get("outputHash") == want_hash and view.get("resolved") == want_hash
          and any(a.get("reason") == "results disagree" for _, a in disputes)
          and any(a.get("validator") == home_did(0) and a.get("outputHash") == want_hash for _, a in verdicts),
          f"compute liar: job {job} {status} on output hash {(result or {}).get('outputHash')} (want {want_hash}, "
          f"the hash of the hex sha256 of the input) after {len(disputes)} dispute(s) "
          f"({', '.join(a.get('reason', '') for _, a in disputes) or 'none'}) and verdict(s) by "
          f"{', '.join(name(a.get('validator', '')) for _, a in verdicts) or 'nobody'}", done, compute_logs())
    liar_lease = leases.get(liar)
    burned = [a for _, a in by_type.get("compute.slash", []) if a.get("provider") == liar]
    want_stake = slashed_stake(before.get(liar, {}).get("stake", 0))
    if liar_lease is None:
        check(False, f"compute liar: node-1 (the liar) held no lease on job {job} (leases: {leases_text(view)}), so "
                     f"it could not be slashed; its stake {after.get(liar, {}).get('stake')}, jobsFailed "
                     f"{after.get(liar, {}).get('jobsFailed')}", done, compute_logs())
    else:
        check(liar_lease["state"] == "slashed" and after[liar]["stake"] == want_stake
              and after[liar]["jobsFailed"] == before[liar]["jobsFailed"] + 1 == 1
              and [a.get("burned") for a in burned] == [str(before[liar]["stake"] - want_stake)],
              f"compute liar: node-1's lease {liar_lease['state']}; its stake {before[liar]['stake']} -> "
              f"{after[liar]['stake']} (want {want_stake}), jobsFailed {after[liar]['jobsFailed']}; burned "
              f"{[a.get('burned') for a in burned]}", done, compute_logs())
    # Settled by a verdict, the payments are events of the verdict's transaction. (A job whose results agreed is
    # settled by its timer at the end of a block: no event to read the amounts from, only the lease states.)
    paid = {a.get("provider"): int(a.get("amount", -1)) for _, a in by_type.get("compute.pay", [])}
    others = [lease for provider, lease in leases.items() if provider != liar]
    check(bool(others) and bool(by_type.get("compute.settle"))
          and all(lease["state"] == "paid" and paid.get(lease["provider"]) == lease["price"]
                  and after[lease["provider"]]["jobsDone"] == before[lease["provider"]]["jobsDone"] + 1
                  for lease in others),
          "compute liar: the honest winner(s) paid their bid by the verdict: " + (", ".join(
              f"{name(lease['provider'])} lease {lease['state']}, paid {paid.get(lease['provider'], '(no event)')} of "
              f"bid {lease['price']}, jobsDone {before.get(lease['provider'], {}).get('jobsDone')} -> "
              f"{after.get(lease['provider'], {}).get('jobsDone')}" for lease in others) or "no honest lease"),
          done, compute_logs())
    settles = [a for _, a in by_type.get("compute.settle", [])]
    escrow = JOB_PRICE * 2
    refund = escrow - sum(paid.values())
    check(view.get("escrow") == 0 and [a.get("refund") for a in settles] == [str(refund)],
          f"compute liar: the escrow ({escrow}) is {view.get('escrow')} after settling; the owner got back "
          f"{', '.join(a.get('refund', '?') for a in settles) or '(no settle event: no verdict)'} (want {refund}: the "
          f"escrow less what was paid)", done)
    got, done = fetched_result(job, "liar-output.txt")
    check(got == want_output,
          f"compute liar: `compute result {job} -o FILE` wrote {len(got) if got is not None else 'nothing'} bytes: "
          f"{'the right ones' if got == want_output else repr(got)}", done)

    # ---- 10. a provider killed in its lease: slashed at the deadline, the job auctioned again ----
    data = b"Meshwork compute acceptance: a provider dies in its lease.\n"
    want_output, want_hash = sha256_output(data)
    path = os.path.join(HOME, "kill-input.txt")
    open(path, "wb").write(data)
    job = (max(job_ids(), default=-1)) + 1
    before = compute_providers()
    out, err = open(os.path.join(HOME, "kill-submit.out"), "w+"), open(os.path.join(HOME, "kill-submit.err"), "w+")
    command = [MESHWORK, "compute", "submit", module, "--input", path, "--redundancy", "1", "--fuel", str(JOB_FUEL),
               "--price", str(JOB_PRICE), "--deadline-blocks", str(DEADLINE_BLOCKS), "--timeout", "100", "--output",
               "json", "--home", HOME, "--node", NODE]
    began = time.time()
    submitter = subprocess.Popen(command, env=ENV, stdout=out, stderr=err, text=True)
    first = None
    while time.time() - began < 60 and submitter.poll() is None:
        view = job_view(job)
        if view and view["leases"]:
            first = view["leases"][0]
            break
        time.sleep(0.02)
    victim, victim_state = None, None
    if first:
        victim = first["provider"]
        victim_state = (job_view(job) or {"leases": [first]})["leases"][0]["state"]
        index = next((i for i, did in node_did.items() if did == victim), None)
        pid = node_pid(os.path.join(HOME, f"node-{index}")) if index else None
        if pid:
            os.kill(pid, signal.SIGKILL)
            print(f"..   job {job}: killed {name(victim)} (pid {pid}) {time.time() - began:.1f} s after submitting, "
                  f"its lease {victim_state}", flush=True)
    try:
        submitter.wait(timeout=110)
    except subprocess.TimeoutExpired:
        submitter.kill()
        submitter.wait()
    out.seek(0), err.seek(0)
    done = subprocess.CompletedProcess(command, submitter.returncode, out.read(), err.read())
    wall = time.time() - began
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = None
    view, _, timeline = job_timeline(job, began)
    after = compute_providers()
    check(victim == liar and victim_state == "leased",
          f"compute kill: job {job} (redundancy 1, deadline {DEADLINE_BLOCKS} blocks): the first lease went to "
          f"{name(victim) if victim else 'nobody'} (want node-1, the lowest bid {bid(1)}) and it was SIGKILLed while "
          f"{victim_state}", done, compute_logs())
    later = [lease for lease in view.get("leases", [])[1:] if first and lease["leasedAt"] > first["leasedAt"]]
    status = (result or {}).get("status")
    check(status == "settled" and view.get("status") == "settled" and view.get("resolved") == want_hash
          and bool(first) and view["leases"][0]["state"] == "slashed"
          and any(lease["state"] == "paid" and lease["provider"] != victim for lease in later)
          and (view.get("round") or 0) >= 2,
          f"compute kill: the submitter ended {status} (exit {done.returncode}); the job view: {view.get('status')}, "
          f"round {view.get('round')}, leases {leases_text(view)}; output hash {view.get('resolved')} "
          f"(want {want_hash})", done, compute_logs())
    if victim in before:
        want_stake = slashed_stake(before[victim]["stake"])
        check(after[victim]["stake"] == want_stake and after[victim]["jobsFailed"] == before[victim]["jobsFailed"] + 1,
              f"compute kill: {name(victim)} was slashed for no result by the deadline: stake "
              f"{before[victim]['stake']} -> {after[victim]['stake']} (want {want_stake}), jobsFailed "
              f"{before[victim]['jobsFailed']} -> {after[victim]['jobsFailed']}", done)
    got, fetched = fetched_result(job, "kill-output.txt")
    check(got == want_output,
          f"compute kill: `compute result {job} -o FILE` wrote {len(got) if got is not None else 'nothing'} bytes: "
          f"{'the right ones' if got == want_output else repr(got)}", fetched)
    figures["killedProviderJob"] = dict(
        timeline, cliSeconds=round((result or {}).get("seconds") or wall, 2), deadlineBlocks=DEADLINE_BLOCKS,
        killed=name(victim) if victim else None,
        leaseToReleaseBlocks=(later[0]["leasedAt"] - first["leasedAt"]) if later and first else None)

    # ---- 11. figures: a plain redundancy-1 job with an honest winner ----
    data = b"Meshwork compute acceptance: a plain job.\n"
    want_output, want_hash = sha256_output(data)
    result, done, began = submit_job(os.path.join(HOME, "plain-input.txt"), data, 1)
    wall = time.time() - began
    job = submitted_job(result, done)
    view, _, timeline = job_timeline(job, began) if job is not None else ({}, {}, {})
    leases = view.get("leases", [])
    first_lease_blocks = timeline.get("firstLeaseBlocks")
    seconds = (result or {}).get("seconds")
    figures["plainJob"] = dict(timeline, cliSeconds=round(seconds, 2) if seconds else None, wallSeconds=round(wall, 2))
    figures["plainSubmitToSettledSeconds"] = figures["plainJob"]["cliSeconds"]
    figures["plainFirstLeaseBlocks"] = first_lease_blocks
    alive = [index for index in PRICES if node_pid(os.path.join(HOME, f"node-{index}"))]
    cheapest = node_did[min(alive, key=lambda index: PRICES[index])] if alive else None
    check((result or {}).get("status") == "settled" and view.get("resolved") == want_hash
          and [lease["provider"] for lease in leases] == [cheapest] and leases[0]["state"] == "paid",
          f"compute plain: job {job} {(result or {}).get('status')} in {seconds and round(seconds, 1)} s (CLI), "
          f"leases {leases_text(view)} (want {name(cheapest) if cheapest else '?'}, the cheapest live provider, "
          f"paid); output hash {view.get('resolved')} (want {want_hash})", done, compute_logs())
    check(first_lease_blocks is not None and first_lease_blocks <= 2,
          f"compute plain: blocks from submission (block {view.get('submittedAt')}) to the first lease: "
          f"{first_lease_blocks} (at most 2)", done)
    got, fetched = fetched_result(job, "plain-output.txt") if job is not None else (None, None)
    check(got == want_output,
          f"compute plain: `compute result {job} -o FILE` wrote {len(got) if got is not None else 'nothing'} bytes: "
          f"{'the right ones' if got == want_output else repr(got)}", fetched)


began = time.time()
devnet = start_devnet()
figures = {}
try:
    try:
        main()
    except Fatal:
        if not KEEP_GOING:
            raise
    compute_checks(figures)
except Fatal:
    pass
except Exception as error:  # an unexpected answer: report it as a failure, with the devnet's last lines
    failures.append(repr(error))
    print(f"FAIL the check itself broke: {error!r}\n{traceback.format_exc()}--- devnet log tail:\n{devnet_tail()}",
          flush=True)
finally:
    stop_devnet(devnet)

took = time.time() - began
figures["totalSeconds"] = round(took, 1)
if failures:
    print(f"contract check: {len(failures)} failure(s) in {took:.0f} s; devnet home kept in {HOME}")
else:
    shutil.rmtree(HOME, ignore_errors=True)
    print(f"contract check: all passed in {took:.0f} s")
print("figures: " + json.dumps(figures, sort_keys=True), flush=True)
sys.exit(1 if failures else 0)
