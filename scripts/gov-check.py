#!/usr/bin/env python3
"""Governance and firmware rollouts end to end (issue 21 acceptance), on one devnet of 4 validators.

`meshwork devnet --nodes 4 --empty-blocks-interval-ms 1000` (the devnet genesis: 30 s voting periods, minimum
deposit 1,000,000; each validator has 10,000,000 bonded). Every command is the CLI with --home/--node (node 0);
the API is read directly to poll and to read past heights.

1. Keys: `validator-0..3` and `owner` are in the devnet home's keystore (`keys list`), unencrypted, and
   validator-i is the operator of node-i in GET /validators. The genesis has the devnet's gov parameters.
2. A parameter change passes and takes effect: `gov submit --set-param ledger.feeMin=2` from owner,
   validators 0..2 vote yes; it ends `passed`; GET /params?height=endHeight-1 has ledger.feeMin 1 and
   ?height=endHeight has 2 (`query params` agrees); then a transfer with --fee 1 is refused (tx/11) and one
   with --fee 2 is committed.
3. A vetoed text proposal (deposit 2,000,000) is rejected with burned true and its deposit is not returned:
   the proposer's balance at endHeight equals that at endHeight-1 (the proposer is a key of its own, funded
   by owner, that does nothing else, so balances are exact; the supply is not exposed by the API).
4. A proposal setting gov.quorumPermille=400 and spending more than the community pool passes the vote but
   ends `failed` with gov/10 in its outcome; gov.quorumPermille stays 334 (at endHeight and now); the
   deposit comes back exactly.
5. Bad input, each refused with its code: a parameter out of bounds (gov/3), an unknown parameter (gov/2), a
   vote by a funded key with no stake (gov/7), a vote after the period (gov/6); voting twice counts the later
   vote (validator-3: no, then yes: the live tally moves its power from no to yes).
6. Upgrade: a proposal `--upgrade test-upgrade --upgrade-height H` (H = height at submission + 60), all 4
   vote yes; it passes before H; GET /gov/upgrade shows the plan; every node stops (the devnet prints
   `node-i exited with status 3`, the last height seen is H-1), each node.log holds
   `upgrade "test-upgrade" needed at height H: run a binary with sha256 <hex>`. Restarted (same home) with
   MESHWORK_UPGRADE_HANDLERS=test-upgrade, the chain commits past H on every node (same block hash at H) and
   GET /gov/upgrade lists test-upgrade applied at H, plan null.
7. OTA: owner publishes sim-1 firmware 2.0 (a random 64 KiB file); `device simulate` runs 200 devices of
   sim-1 over MQTT at node 0; a rollout in stages 5:100:20:200 and 100:90:20:400 completes, its canary stage
   had 10 devices, stage 1 the other 190, no failure; the ledger counted at least 181 successes (stage 1 ends at
   90 %, so receipts after that block are not counted); the simulator says every device got this job only
   and all 200 installed it, none refused by the gateway. A second simulator (sim-2, 200 devices, --fail-rate 0.3) and sim-2 firmware:
   the same stages abort in stage 0 (stage 1 assigned 0), and in the simulator's final JSON only the 10
   canary devices ever received a job.
8. OTA bad input, each refused with its code: a rollout by a key that is not the firmware's controller
   (ota/4); a receipt for a canary device signed by validator-1's key (ota/11); with a device registered here
   (its key in the keystore, model sim-3) and a rollout to just that device: its receipt with a wrong
   sha256 (ota/12), then the right one is taken and the rollout completes.

Order (one devnet, about 5 minutes): 1; 3 and 4 submitted and voted; 7 and 8 while they vote; 3 and 4 checked;
2 and 5; 6 last (it stops and restarts the chain). Each section runs even if an earlier one failed.

On any failure: the failures, the tail of every node.log and of the devnet and simulator logs; exit 1.

usage: python3 scripts/gov-check.py path/to/meshwork
"""
import base64, hashlib, json, os, re, secrets, signal, socket, subprocess, sys, tempfile, threading, time
import traceback, urllib.error, urllib.request
from http.client import HTTPException
from concurrent.futures import ThreadPoolExecutor

if len(sys.argv) != 2:
    raise SystemExit(__doc__)
MESHWORK = os.path.abspath(sys.argv[1])
if not os.access(MESHWORK, os.X_OK):
    raise SystemExit(f"gov-check: {MESHWORK} is not an executable file (build it first)")
HOME = tempfile.mkdtemp(prefix="meshwork-gov-")
N = 4                       # validators
EMPTY_BLOCKS_MS = 1000      # an empty block at most every second, so BFT time advances when idle
FEE = 1_000                 # ClientOptions' default --fee
STAKE = 10_000_000          # each devnet validator's self-bond
VOTING_SECONDS = 30         # gov.votingPeriodSeconds of the devnet genesis
UPGRADE_MARGIN = 60         # blocks between the upgrade's submission and its height
UPGRADE_NAME = "test-upgrade"
SIM_COUNT = 200
STAGES = ["5:100:20:200", "100:90:20:400"]
ENV = dict(os.environ, MESHWORK_PASSPHRASE="gov-check-passphrase")
ENV.pop("MESHWORK_UPGRADE_HANDLERS", None)
ENV.pop("MESHWORK_HOME", None)

checks, failures = [], []
STATE = {}                  # what one section leaves for a later one
SIMULATORS = []             # every simulator started, stopped in `finally`
began = time.time()


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    condition = bool(condition)
    checks.append(what)
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


class StepFailed(Exception):
    """A step the rest of its section needs did not work; the section stops, the others run."""


class Fatal(Exception):
    """The devnet is unusable; every later section is skipped."""


# ---- ports ----

def block_free(base, count, taken):
    for port in range(base, base + count):
        if port in taken:
            return False
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base(preferred, low, high, taken):
    """A base port with base..base+N-1 all free now, below the ephemeral range (32768-60999)."""
    for base in [preferred] + list(range(low, high - N, 10)):
        if block_free(base, N, taken):
            taken.update(range(base, base + N))
            return base
    raise SystemExit(f"gov-check: no {N} consecutive free ports in {low}-{high}")


_taken = set()
API = free_base(18380, 18000, 18999, _taken)    # node i: API + i; apart from the other checks' ports
MQTT = free_base(18396, 18000, 18999, _taken)
P2P = free_base(28556, 28000, 28999, _taken)
NODE = f"http://127.0.0.1:{API}"


# ---- the API ----

def http(path, port=API, timeout=5):
    """(HTTP status, JSON body); errors answer with their status too; (None, {}) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (OSError, ValueError, HTTPException):
        return None, {}


def get(path, port=API):
    status, body = http(path, port)
    if status != 200:
        raise StepFailed(f"GET {path} on port {port} answered {status}: {json.dumps(body)[:300]}")
    return body


def height(port=API):
    status, body = http("/status", port, timeout=2)
    return body.get("height") if status == 200 else None


def heights():
    return [height(API + i) for i in range(N)]


def wait_until(predicate, seconds, step=0.25):
    deadline = time.time() + seconds
    while True:
        try:
            if predicate():
                return True
        except Exception:  # a node restarting, a half-written file: try again
            pass
        if time.time() >= deadline:
            return False
        time.sleep(step)


def balance(did, at=None):
    return get(f"/accounts/{did}" + (f"?height={at}" if at is not None else ""))["balance"]


def params(at=None):
    return get("/params" + (f"?height={at}" if at is not None else ""))


def param(shown, full_name):
    module, name = full_name.split(".", 1)
    return shown.get("params", {}).get(module, {}).get(name)


def proposal_api(pid):
    return get(f"/gov/proposals/{pid}")["proposal"]


def rollout_api(rid):
    return get(f"/ota/rollouts/{rid}")["rollout"]


# ---- the CLI ----

# Read-only commands take no --home; `keys` and `ota receipt` talk to no node (ArgumentParser refuses unknown options).
NO_HOME = {("gov", "show"), ("gov", "list"), ("ota", "status"), ("ota", "list"), ("query", "params")}
NO_NODE = {("ota", "receipt")}


def cli(args, node=None, home=None, timeout=120, env=None):
    """Runs `meshwork ARGS --home HOME --node NODE` (each flag only where the command has it)."""
    head = tuple(args[:2])
    home = (head not in NO_HOME) if home is None else home
    node = (head not in NO_NODE and args[0] != "keys") if node is None else node
    command = [MESHWORK, *args] + (["--home", HOME] if home else []) + (["--node", NODE] if node else [])
    try:
        return subprocess.run(command, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        out = error.stdout.decode(errors="replace") if isinstance(error.stdout, bytes) else (error.stdout or "")
        return subprocess.CompletedProcess(command, -9, out, f"(gov-check: timed out after {timeout} s)")


def said(done, limit=300):
    """The last line the command printed on standard error (else standard output)."""
    lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
    lines = lines or [line.strip() for line in (done.stdout or "").splitlines() if line.strip()]
    return (lines[-1] if lines else "(no output)")[:limit]


def parse_json(text):
    text = (text or "").strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    start = text.find("{")
    if start >= 0:
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            pass
    raise ValueError(f"no JSON in {text[:200]!r}")


def run_json(what, *args):
    """Runs a command with --output json that must succeed; its JSON."""
    done = cli([*args, "--output", "json"])
    if done.returncode != 0:
        raise StepFailed(f"{what}: `meshwork {' '.join(args)}` exited {done.returncode}: {said(done)}")
    try:
        return parse_json(done.stdout)
    except ValueError as error:
        raise StepFailed(f"{what}: `meshwork {' '.join(args)}` printed no JSON: {error}")


CODE_MODULES = r"(?:gov|ota|tx|bank|api|identity|policy|staking|ledger|cli)"


def codes_in(done):
    text = (done.stdout or "") + "\n" + (done.stderr or "")
    bracketed = re.findall(r"\[([a-z]+/\d+)\]", text)
    loose = re.findall(r"\b(" + CODE_MODULES + r"/\d+)\b", text)
    return list(dict.fromkeys(bracketed + loose))


def expect_refused(what, args, code):
    """A command that must exit non-zero and print `code` (e.g. gov/3)."""
    done = cli([*args, "--output", "json"])
    found = codes_in(done)
    return check(done.returncode != 0 and code in found,
                 f"{what}: exit {done.returncode}, codes {found or 'none'} (want {code}): {said(done)}")


def unwrap(shown, key):
    """`gov show`/`ota status` print the object itself; accept it wrapped in {key: ...} too."""
    return shown[key] if isinstance(shown, dict) and isinstance(shown.get(key), dict) else shown


def new_key(name):
    made = run_json(f"keys new {name}", "keys", "new", "--name", name, "--insecure-plaintext")
    return made["did"]


def transfer(to, amount, fee=None, sender="owner"):
    args = ["tx", "transfer", "--from", sender, "--to", to, "--amount", str(amount)]
    return run_json(f"transfer {amount} to {to[:24]}…", *args + (["--fee", str(fee)] if fee is not None else []))


def vote_all(votes):
    """Votes [(validator index, proposal, option)], the validators in parallel (one key's votes in order, as
    each waits for its block); a check per vote."""
    by_validator = {}
    for index, pid, option in votes:
        by_validator.setdefault(index, []).append((pid, option))

    def cast(index):
        results = []
        for pid, option in by_validator[index]:
            done = cli(["gov", "vote", str(pid), option, "--from", f"validator-{index}", "--output", "json"])
            results.append((index, pid, option, done))
        return results

    with ThreadPoolExecutor(max_workers=len(by_validator) or 1) as pool:
        outcomes = [result for batch in pool.map(cast, sorted(by_validator)) for result in batch]
    for index, pid, option, done in outcomes:
        try:
            shown = parse_json(done.stdout) if done.returncode == 0 else {}
        except ValueError:
            shown = {}
        check(done.returncode == 0 and str(shown.get("proposal")) == str(pid) and shown.get("height"),
              f"validator-{index} votes {option} on proposal {pid}: "
              + (f"committed in block {shown.get('height')}, option {shown.get('option')}" if done.returncode == 0
                 else f"exit {done.returncode}: {said(done)}"))


def submit(what, sender, deposit, title, *messages):
    shown = run_json(what, "gov", "submit", "--from", sender, *messages, "--deposit", str(deposit), "--title", title,
                     "--summary", f"gov-check: {what}")
    pid = shown.get("proposal")
    check(pid is not None and shown.get("status") == "voting" and shown.get("height"),
          f"{what}: `gov submit` -> proposal {pid}, status {shown.get('status')} (deposit {deposit:,} >= the "
          f"minimum: voting at once), block {shown.get('height')}")
    if pid is None:
        raise StepFailed(f"{what}: no proposal id in {shown}")
    return pid, shown.get("height")


def wait_decided(pids, what):
    """Waits until every proposal has left its voting period; {id: proposal (API)}."""
    shown = {pid: proposal_api(pid) for pid in pids}
    status = get("/status")
    ends = [p.get("votingEndMs") or 0 for p in shown.values()]
    left_s = max(0.0, (max(ends) - status.get("latestBlockTimeMs", 0)) / 1000) if ends else 0
    seconds = min(120, left_s + 45)
    log(f"waiting for {what} (proposals {pids}) to end: voting ends in ~{left_s:.0f} s of BFT time "
        f"(waiting at most {seconds:.0f} s)")

    def decided():
        for pid in pids:
            shown[pid] = proposal_api(pid)
        return all(p.get("status") not in ("deposit", "voting") for p in shown.values())

    if not wait_until(decided, seconds, step=0.5):
        raise StepFailed(f"{what}: still open after {seconds:.0f} s: "
                         + ", ".join(f"{pid} {p.get('status')}" for pid, p in shown.items()))
    return shown


def gov_show(pid):
    return unwrap(run_json(f"gov show {pid}", "gov", "show", str(pid)), "proposal")


def summary_of(proposal):
    tally = proposal.get("tally") or {}
    return (f"status {proposal.get('status')}, endHeight {proposal.get('endHeight')}, burned {proposal.get('burned')}, "
            f"tally yes {tally.get('yes')} no {tally.get('no')} veto {tally.get('noWithVeto')} abstain "
            f"{tally.get('abstain')} of bonded {tally.get('bonded')}, outcome '{proposal.get('outcome')}'")


# ---- processes ----

def node_pid(node_home):
    """Pid of a live `meshwork node start --home node_home` (this run's temp home), None when there is none."""
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


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Devnet:
    """`meshwork devnet --nodes 4` in its own session; its output in <home>/<log name>."""

    def __init__(self, log_name, extra_env=None):
        self.log_path = os.path.join(HOME, log_name)
        env = dict(ENV, **(extra_env or {}))
        self.process = subprocess.Popen(
            [MESHWORK, "devnet", "--home", HOME, "--nodes", str(N), "--api-port", str(API), "--p2p-port", str(P2P),
             "--mqtt-port", str(MQTT), "--empty-blocks-interval-ms", str(EMPTY_BLOCKS_MS)],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True, env=env)

    def output(self):
        try:
            with open(self.log_path, errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)  # NodeProcess.stopGraceSeconds + 5, and some
            except subprocess.TimeoutExpired:
                log("the devnet ignored SIGTERM for 30 s; killing its process group")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        for index in range(N):
            leftover = node_pid(os.path.join(HOME, f"node-{index}"))
            if leftover:
                log(f"node-{index} (pid {leftover}) outlived the devnet; killing it")
                try:
                    os.kill(leftover, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class Simulator:
    """`meshwork device simulate` in its own session; keeps every line it prints (and writes them to a log)."""

    def __init__(self, name, model, count, fail_rate=None):
        self.name = name
        self.log_path = os.path.join(HOME, f"{name}.log")
        self.lines, self.final, self.exit_code = [], None, None
        self.lock = threading.Lock()
        command = [MESHWORK, "device", "simulate", "--home", HOME, "--node", NODE, "--controller", "owner",
                   "--count", str(count), "--model", model, "--mqtt", f"127.0.0.1:{MQTT}"]
        if fail_rate is not None:
            command += ["--fail-rate", str(fail_rate)]
        log(f"starting {name}: meshwork {' '.join(command[1:])}")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        errors="replace", env=ENV, start_new_session=True)
        SIMULATORS.append(self)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w") as out:
            for line in self.process.stdout:
                out.write(line)
                out.flush()
                with self.lock:
                    self.lines.append(line.rstrip("\n"))

    def ready_line(self):
        """The progress line saying every device is connected and subscribed (`ready: 200 devices subscribed`)."""
        with self.lock:
            return next((line for line in self.lines
                         if re.search(r"\bready\b", line, re.I) and not re.search(r"\bnot ready\b", line, re.I)),
                        None)

    def wait_ready(self, seconds):
        started = time.time()
        if not wait_until(lambda: self.ready_line() is not None or self.process.poll() is not None, seconds, 0.5):
            raise StepFailed(f"{self.name} printed no 'ready' line in {seconds} s; last lines: {self.tail(5)}")
        if self.ready_line() is None:
            raise StepFailed(f"{self.name} exited ({self.process.poll()}) before 'ready': {self.tail(8)}")
        log(f"{self.name}: '{self.ready_line()}' after {time.time() - started:.1f} s")

    def tail(self, count):
        with self.lock:
            return self.lines[-count:]

    def stop(self, grace=30):
        """SIGTERM, then its final JSON line ({"devices", "dids", "jobs", "succeeded", "failed"}) or None."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not exit within {grace} s of SIGTERM; killing it")
                self.kill()
        self.exit_code = self.process.poll()
        self.reader.join(timeout=10)
        with self.lock:
            lines = list(self.lines)
        for line in reversed(lines):
            line = line.strip()
            if line.startswith("{"):
                try:
                    shown = json.loads(line)
                except ValueError:
                    continue
                if isinstance(shown, dict) and "jobs" in shown:
                    self.final = shown
                    break
        return self.final

    def kill(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# ---- files ----

def firmware_file(name):
    data = os.urandom(64 * 1024)
    path = os.path.join(HOME, f"{name}.bin")
    with open(path, "wb") as handle:
        handle.write(data)
    return path, hashlib.sha256(data).hexdigest(), len(data)


def cid_v1_raw(sha_hex):
    """CIDv1, raw codec, sha2-256, base32 (what `meshwork cid` prints)."""
    return "b" + base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + bytes.fromhex(sha_hex)).decode().lower().rstrip("=")


def publish(model, version):
    """`ota publish --file` a random 64 KiB image; (firmware id, sha256 hex). Should --file fail, the release is
    published with --cid/--sha256/--size so the rollouts can still be checked (the failure is recorded)."""
    path, sha, size = firmware_file(f"{model}-{version}")
    done = cli(["ota", "publish", "--from", "owner", "--model", model, "--version", version, "--file", path,
                "--output", "json"])
    try:
        shown = parse_json(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        shown = {}
    check(done.returncode == 0 and shown.get("firmware") is not None and shown.get("sha256") == sha
          and shown.get("cid") == cid_v1_raw(sha) and shown.get("height"),
          f"`ota publish --model {model} --version {version} --file` (64 KiB): firmware {shown.get('firmware')}, "
          f"sha256 {str(shown.get('sha256'))[:16]}… (want {sha[:16]}…), cid {shown.get('cid')} (want the file's raw "
          f"CIDv1 {cid_v1_raw(sha)[:16]}…), block "
          f"{shown.get('height')}" + ("" if done.returncode == 0 else f"; exit {done.returncode}: {said(done)}"))
    if done.returncode != 0 or shown.get("firmware") is None:
        log(f"NOTE: publishing {model} {version} again with --cid/--sha256/--size so the rollout can be checked")
        shown = run_json(f"publish {model} {version} by CID", "ota", "publish", "--from", "owner", "--model", model,
                         "--version", version, "--cid", cid_v1_raw(sha), "--sha256", sha, "--size", str(size))
    fid = shown["firmware"]
    listed = {f.get("id"): f for f in get("/ota/firmware").get("firmware", [])}
    release = listed.get(fid, {})
    check(release.get("model") == model and release.get("version") == version and release.get("sha256") == sha
          and release.get("size") == size and release.get("controller") == STATE.get("owner"),
          f"GET /ota/firmware lists firmware {fid}: model {release.get('model')}, version {release.get('version')}, "
          f"size {release.get('size')}, controller is owner: {release.get('controller') == STATE.get('owner')}")
    return fid, sha


def stage_line(rollout):
    stages = rollout.get("stages") or []
    return (f"status {rollout.get('status')}, stage {rollout.get('stage')}, devices {rollout.get('devices')}, "
            f"succeeded {rollout.get('succeeded')}, failed {rollout.get('failed')}, stages "
            + " | ".join(f"{s.get('percent')}%: assigned {s.get('assigned')} ok {s.get('succeeded')} failed "
                         f"{s.get('failed')}" for s in stages)
            + f", created {rollout.get('createdAt')}, ended {rollout.get('endedAt')}, reason '{rollout.get('reason')}'")


def poll_rollout(rid, seconds, on_poll=None):
    """Polls GET /ota/rollouts/{id} until it completes, aborts or pauses; the last rollout seen."""
    last = {}

    def ended():
        nonlocal last
        status, body = http(f"/ota/rollouts/{rid}")
        if status != 200:
            return False
        last = body["rollout"]
        if on_poll:
            on_poll(last, body.get("height"))
        return last.get("status") in ("completed", "aborted", "paused")

    started = time.time()
    finished = wait_until(ended, seconds, step=0.5)
    log(f"rollout {rid} after {time.time() - started:.1f} s: {stage_line(last) if last else 'never read'}"
        + ("" if finished else f" (still running after {seconds} s)"))
    return last


def ota_status(rid):
    return unwrap(run_json(f"ota status {rid}", "ota", "status", str(rid)), "rollout")


def job_devices(final):
    """DID -> rollout ids (as strings) of every device the simulator says received a job."""
    jobs = (final or {}).get("jobs") or {}
    return {did: [str(r) for r in ids] for did, ids in jobs.items() if ids}


def make_receipt(key, device, rollout, sha, version):
    done = cli(["ota", "receipt", "--key", key, "--device", device, "--rollout", str(rollout), "--sha256", sha,
                "--version", version])
    found = re.search(r"mwr1\.[A-Za-z0-9_-]+", done.stdout or "")
    if done.returncode != 0 or not found:
        raise StepFailed(f"`ota receipt --key {key} --device {device[:20]}…` exit {done.returncode}, no mwr1. text: "
                         f"{said(done)}")
    return found.group(0)


# ---- the sections ----

def section_start():
    log(f"devnet of {N} validators in {HOME}: API {API}+i, P2P {P2P}+i, MQTT {MQTT}+i, "
        f"empty blocks every {EMPTY_BLOCKS_MS} ms")
    STATE["devnet"] = Devnet("devnet.log")
    devnet = STATE["devnet"]
    wait_until(lambda: all((h or 0) >= 2 for h in heights()) or not devnet.alive(), 120, step=0.5)
    if not all((h or 0) >= 2 for h in heights()):
        why = "in 120 s" if devnet.alive() else f"(`meshwork devnet` exited with {devnet.process.poll()})"
        raise Fatal(f"the {N} nodes did not all reach height 2 {why}: heights {heights()}; devnet log:\n"
                    + devnet.output()[-3000:])
    if not wait_until(lambda: port_open(MQTT), 30):
        raise Fatal(f"node-0's MQTT port {MQTT} does not accept connections")
    log(f"devnet up in {time.time() - began:.1f} s: heights {heights()}, chain {get('/status').get('chainId')}")
    shown = params()
    want = {"gov.votingPeriodSeconds": VOTING_SECONDS, "gov.minDeposit": 1_000_000, "gov.quorumPermille": 334,
            "gov.vetoThresholdPermille": 334, "gov.thresholdPermille": 500, "ledger.feeMin": 1}
    seen = {name: param(shown, name) for name in want}
    check(seen == want, f"GET /params has the devnet's genesis values: {seen}")


def section_keys():
    listed = run_json("keys list", "keys", "list")
    entries = listed if isinstance(listed, list) else listed.get("keys", [])
    by_name = {entry.get("name"): entry for entry in entries}
    want = [f"validator-{i}" for i in range(N)] + ["owner"]
    missing = [name for name in want if name not in by_name]
    encrypted = [name for name in want if by_name.get(name, {}).get("encrypted")]
    check(not missing and not encrypted,
          f"`keys list` in the devnet home holds {', '.join(want)} unencrypted (missing {missing or 'none'}, "
          f"encrypted {encrypted or 'none'}; {len(entries)} keys)")
    STATE["owner"] = by_name.get("owner", {}).get("did") or run_json(
        "keys show owner", "keys", "show", "owner")["did"]
    validators = get("/validators").get("validators", [])
    operators = {v.get("moniker"): v.get("operatorDID") for v in validators}
    wrong = [(f"validator-{i}", by_name.get(f"validator-{i}", {}).get("did"), operators.get(f"node-{i}"))
             for i in range(N) if by_name.get(f"validator-{i}", {}).get("did") != operators.get(f"node-{i}")]
    check(len(validators) == N and not wrong,
          f"validator-i's DID is node-i's operator in GET /validators ({len(validators)} validators, power "
          f"{sorted({v.get('power') for v in validators})})" + (f"; differ: {wrong}" if wrong else ""))


def section_gov_open():
    """Proposals 3 and 4 of the acceptance (vetoed, failing), each from a key of its own, voted on now and
    checked once the OTA sections ran."""
    proposers = {}
    for role in ("veto", "fail"):
        did = new_key(f"proposer-{role}")
        transfer(did, 10_000_000)
        proposers[role] = did
    log(f"proposers funded with 10,000,000 each: {proposers}")
    before = {role: balance(did) for role, did in proposers.items()}
    veto_id, veto_at = submit("a text proposal to veto", "proposer-veto", 2_000_000, "Text proposal, vetoed")
    fail_id, fail_at = submit(
        "a proposal that passes but fails", "proposer-fail", 1_000_000, "Quorum 400 and a spend past the pool",
        "--set-param", "gov.quorumPermille=400", "--spend", f"{STATE['owner']}=999999999999999")
    held = {"veto": balance(proposers["veto"], veto_at), "fail": balance(proposers["fail"], fail_at)}
    check(held["veto"] == before["veto"] - FEE - 2_000_000 and held["fail"] == before["fail"] - FEE - 1_000_000,
          f"the deposits left the proposers at submission: {before['veto']:,} -> {held['veto']:,} (deposit "
          f"2,000,000 + fee {FEE:,}), {before['fail']:,} -> {held['fail']:,} (deposit 1,000,000 + fee {FEE:,})")
    shown = proposal_api(fail_id)
    check(len(shown.get("messages", [])) == 2 and "gov.quorumPermille" in " ".join(shown.get("messages", [])),
          f"proposal {fail_id} carries two messages: {shown.get('messages')}")
    vote_all([(i, veto_id, "veto") for i in range(3)] + [(i, fail_id, "yes") for i in range(3)])
    STATE["open"] = dict(veto=veto_id, fail=fail_id, proposers=proposers, held=held)


def section_gov_finish():
    opened = STATE.get("open")
    if not opened:
        raise StepFailed("no vetoed/failing proposals were opened")
    veto_id, fail_id, proposers = opened["veto"], opened["fail"], opened["proposers"]
    wait_decided([veto_id, fail_id], "the vetoed and the failing proposal")

    vetoed = gov_show(veto_id)
    log(f"proposal {veto_id} (`gov show`): {summary_of(vetoed)}")
    end = vetoed.get("endHeight") or 0
    check(vetoed.get("status") == "rejected" and vetoed.get("burned") is True
          and "veto" in (vetoed.get("outcome") or "").lower()
          and (vetoed.get("tally") or {}).get("noWithVeto") == 3 * STAKE and end > 0,
          f"3. the vetoed proposal {veto_id} is rejected, burned true, outcome '{vetoed.get('outcome')}', "
          f"noWithVeto {(vetoed.get('tally') or {}).get('noWithVeto')} (want {3 * STAKE:,}), endHeight {end}")
    if end:
        around = (balance(proposers["veto"], end - 1), balance(proposers["veto"], end), balance(proposers["veto"]))
        check(around[0] == around[1] == around[2] == opened["held"]["veto"],
              f"3. the burned deposit is not returned: the proposer's balance is {around[0]:,} at block {end - 1}, "
              f"{around[1]:,} at block {end} and {around[2]:,} now, as right after submitting (the supply is not in "
              f"the API; a refund would add 2,000,000)")

    failed = gov_show(fail_id)
    log(f"proposal {fail_id} (`gov show`): {summary_of(failed)}")
    end = failed.get("endHeight") or 0
    check(failed.get("status") == "failed" and "gov/10" in (failed.get("outcome") or "")
          and (failed.get("tally") or {}).get("yes") == 3 * STAKE and failed.get("burned") is False and end > 0,
          f"4. proposal {fail_id} passed the vote (yes {(failed.get('tally') or {}).get('yes')}) and ended failed "
          f"with gov/10 in its outcome: '{failed.get('outcome')}'")
    if end:
        at_end, now = param(params(end), "gov.quorumPermille"), param(params(), "gov.quorumPermille")
        check(at_end == 334 and now == 334,
              f"4. nothing changed: gov.quorumPermille is {at_end} at block {end} and {now} now (want 334, not 400)")
        around = (balance(proposers["fail"], end - 1), balance(proposers["fail"], end))
        check(around[1] - around[0] == 1_000_000,
              f"4. the deposit came back: the proposer's balance went {around[0]:,} -> {around[1]:,} in block {end} "
              f"(+{around[1] - around[0]:,}, want +1,000,000)")
    listed = run_json("gov list", "gov", "list")
    ids = [p.get("id") for p in listed.get("proposals", [])]
    check(veto_id in ids and fail_id in ids and isinstance(listed.get("communityPool"), int),
          f"`gov list` shows proposals {ids} and the community pool ({listed.get('communityPool')})")


def section_gov_params():
    """2 and 5: the parameter change, the bad input, the later of two votes."""
    expect_refused("5. `gov submit --set-param gov.quorumPermille=0` (outside 1…1000)",
                   ["gov", "submit", "--from", "owner", "--set-param", "gov.quorumPermille=0", "--deposit",
                    "1000000", "--title", "Out of bounds", "--summary", "gov-check"], "gov/3")
    expect_refused("5. `gov submit --set-param gov.noSuchParameter=1` (unknown)",
                   ["gov", "submit", "--from", "owner", "--set-param", "gov.noSuchParameter=1", "--deposit",
                    "1000000", "--title", "Unknown parameter", "--summary", "gov-check"], "gov/2")
    fee_id, _ = submit("2. feeMin 1 -> 2", "owner", 1_000_000, "Raise the minimum fee",
                       "--set-param", "ledger.feeMin=2")
    vote_all([(i, fee_id, "yes") for i in range(3)] + [(3, fee_id, "no")])
    first = (gov_show(fee_id).get("tally") or {})
    vote_all([(3, fee_id, "yes")])
    second = gov_show(fee_id)
    later = second.get("tally") or {}
    moved = (later.get("yes") or 0) - (first.get("yes") or 0)
    check(first.get("no") == STAKE and later.get("no") == 0 and moved == STAKE and second.get("voters") == 4
          and later.get("yes") == 4 * STAKE,
          f"5. validator-3 voted no then yes: the live tally went yes {first.get('yes')} / no {first.get('no')} -> "
          f"yes {later.get('yes')} / no {later.get('no')} (its {STAKE:,} moved from no to yes), voters "
          f"{second.get('voters')}")
    stranger = new_key("voter-no-stake")
    transfer(stranger, 1_000_000)
    expect_refused("5. a vote by a funded key with no stake", ["gov", "vote", str(fee_id), "yes", "--from",
                                                               "voter-no-stake"], "gov/7")

    decided = wait_decided([fee_id], "the feeMin proposal")[fee_id]
    shown = gov_show(fee_id)
    end = shown.get("endHeight") or 0
    same = all(shown.get(key) == decided.get(key) for key in ("status", "endHeight", "tally", "burned", "outcome"))
    check(shown.get("status") == "passed" and end > 0 and same and (shown.get("tally") or {}).get("yes") == 4 * STAKE,
          f"2. proposal {fee_id} passed: {summary_of(shown)}; `gov show` and GET /gov/proposals/{fee_id} agree: "
          f"{same}")
    if not end:
        raise StepFailed(f"proposal {fee_id} has no endHeight")
    before, after = param(params(end - 1), "ledger.feeMin"), param(params(end), "ledger.feeMin")
    check(before == 1 and after == 2,
          f"2. GET /params: ledger.feeMin is {before} at block {end - 1} and {after} at block {end} (endHeight)")
    queried_before = run_json("query params", "query", "params", "--height", str(end - 1))
    queried_now = run_json("query params", "query", "params")
    spec = next((s for s in queried_now.get("specs", []) if s.get("name") == "ledger.feeMin"), {})
    check(param(queried_before, "ledger.feeMin") == 1 and param(queried_now, "ledger.feeMin") == 2
          and spec.get("value") == 2 and spec.get("default") == 1,
          f"2. `query params --height {end - 1}` says feeMin {param(queried_before, 'ledger.feeMin')}, "
          f"`query params` says {param(queried_now, 'ledger.feeMin')} (spec {spec})")
    validator = get("/validators")["validators"][0]["operatorDID"]
    expect_refused("2. a transfer with --fee 1 below the new feeMin",
                   ["tx", "transfer", "--from", "owner", "--to", validator, "--amount", "1", "--fee", "1"], "tx/11")
    done = cli(["tx", "transfer", "--from", "owner", "--to", validator, "--amount", "1", "--fee", "2",
                "--output", "json"])
    check(done.returncode == 0, "2. a transfer with --fee 2 is committed: "
          + (f"block {parse_json(done.stdout).get('height')}" if done.returncode == 0 else said(done)))
    expect_refused(f"5. a vote on proposal {fee_id} after its period",
                   ["gov", "vote", str(fee_id), "yes", "--from", "validator-0"], "gov/6")


def section_ota_rollouts():
    """7: a rollout to 200 simulated devices completes; one whose canaries fail aborts in stage 0."""
    try:
        ota_rollouts()
    finally:
        for simulator in SIMULATORS:  # one left running by a step that failed
            if simulator.process.poll() is None:
                log(f"stopping {simulator.name}, still running")
                simulator.stop()


def ota_rollouts():
    fw1, sha1 = publish("sim-1", "2.0")
    STATE["ota"] = dict(fw1=fw1, sha1=sha1)
    sim1 = Simulator("simulator-1", "sim-1", SIM_COUNT)
    sim1.wait_ready(180)
    made = run_json("ota rollout sim-1", "ota", "rollout", "--from", "owner", "--firmware", str(fw1),
                    *[arg for stage in STAGES for arg in ("--stage", stage)])
    r1 = made.get("rollout")
    check(r1 is not None and made.get("devices") == SIM_COUNT and made.get("status") == "active",
          f"7. `ota rollout --firmware {fw1} --stage {' --stage '.join(STAGES)}` -> rollout {r1}, status "
          f"{made.get('status')}, {made.get('devices')} devices (want {SIM_COUNT}, active)")
    if r1 is None:
        raise StepFailed(f"no rollout id in {made}")
    polled = poll_rollout(r1, 120)
    time.sleep(3)  # the last receipts of devices answering after the end
    final1 = sim1.stop()
    shown = ota_status(r1)
    stages = shown.get("stages") or [{}, {}]
    canary = (SIM_COUNT * 5 + 99) // 100
    check(shown.get("status") == "completed" and stages[0].get("assigned") == canary
          and stages[1].get("assigned") == SIM_COUNT - canary and shown.get("failed") == 0
          and stages[0].get("succeeded") == canary,
          f"7. `ota status {r1}`: {stage_line(shown)} (want completed, canary {canary} all succeeded, stage 1 "
          f"{SIM_COUNT - canary}, no failure)")
    bar = canary + -(-90 * (SIM_COUNT - canary) // 100)
    check((shown.get("succeeded") or 0) >= bar and shown.get("status") == polled.get("status")
          and shown.get("succeeded") == polled.get("succeeded"),
          f"7. the ledger counted {shown.get('succeeded')} of {SIM_COUNT} successes (at least {bar}: stage 1 "
          f"completes at 90 %; receipts after the end are not counted) and `ota status` agrees with the API")
    jobs = job_devices(final1)
    dids = (final1 or {}).get("dids") or []
    check(final1 is not None and sim1.exit_code == 0 and final1.get("devices") == SIM_COUNT
          and len(dids) == SIM_COUNT and set(jobs) == set(dids)
          and all(set(ids) == {str(r1)} for ids in jobs.values())
          and final1.get("succeeded") == SIM_COUNT and final1.get("failed") == 0 and not final1.get("refused"),
          f"7. simulator 1's final JSON (exit {sim1.exit_code}): {(final1 or {}).get('devices')} devices, "
          f"{len(jobs)} received a job, all of rollout {r1} only: "
          f"{all(set(ids) == {str(r1)} for ids in jobs.values()) if jobs else '-'}; succeeded "
          f"{(final1 or {}).get('succeeded')}, failed {(final1 or {}).get('failed')} (want {SIM_COUNT} and 0), "
          f"receipts refused by the gateway {(final1 or {}).get('refused')}, disconnected "
          f"{(final1 or {}).get('disconnected')}")
    STATE["ota"].update(r1=r1)

    fw2, sha2 = publish("sim-2", "2.1")
    sim2 = Simulator("simulator-2", "sim-2", SIM_COUNT, fail_rate=0.3)
    sim2.wait_ready(180)
    made = run_json("ota rollout sim-2", "ota", "rollout", "--from", "owner", "--firmware", str(fw2),
                    *[arg for stage in STAGES for arg in ("--stage", stage)])
    r2 = made.get("rollout")
    check(r2 is not None and made.get("devices") == SIM_COUNT,
          f"7. rollout {r2} of sim-2 firmware {fw2} to {made.get('devices')} devices (fail rate 0.3)")
    if r2 is None:
        raise StepFailed(f"no rollout id in {made}")
    first_failure = {}

    def watch(rollout, at):
        if "height" not in first_failure and (rollout.get("failed") or 0) > 0 and rollout.get("status") == "active":
            first_failure["height"] = at  # the block a failure was first seen counted, the rollout still running

    polled = poll_rollout(r2, 60, on_poll=watch)
    time.sleep(3)  # long enough for a job to reach a device that should not get one
    final2 = sim2.stop()
    shown = ota_status(r2)
    stages = shown.get("stages") or [{}, {}]
    s0 = stages[0]
    check(shown.get("status") == "aborted" and shown.get("stage") == 0 and s0.get("assigned") == canary
          and (s0.get("failed") or 0) * 100 >= 20 * canary and stages[1].get("assigned") == 0
          and "stage 0" in (shown.get("reason") or ""),
          f"7. `ota status {r2}`: {stage_line(shown)} (want aborted in stage 0 with >= 20 % of its {canary} "
          f"failed, stage 1 assigned 0)")
    created, ended = shown.get("createdAt") or 0, shown.get("endedAt") or 0
    seen_at = first_failure.get("height")
    log(f"BENCH: rollout {r2} created at block {created}, aborted at block {ended}: {ended - created} block(s) from "
        f"creation to abort; "
        + (f"a failure was first seen counted at height {seen_at}, {ended - seen_at} block(s) before the abort"
           if seen_at else "no failure was seen counted before the abort (it aborted in the block that counted them)"))
    jobs = job_devices(final2)
    dids = (final2 or {}).get("dids") or []
    check(final2 is not None and sim2.exit_code == 0 and len(dids) == SIM_COUNT and len(jobs) == canary
          and set(jobs) <= set(dids) and all(set(ids) == {str(r2)} for ids in jobs.values()),
          f"7. simulator 2's final JSON (exit {sim2.exit_code}): of {len(dids)} devices only {len(jobs)} ever "
          f"received a job (want the {canary} canaries), each only rollout {r2}: "
          f"{sorted(set(tuple(ids) for ids in jobs.values()))}")
    check(final2 is not None and final2.get("failed") == 3 and final2.get("succeeded") == canary - 3,
          f"7. --fail-rate 0.3 failed exactly 3 of the {canary} jobs: the simulator says succeeded "
          f"{(final2 or {}).get('succeeded')}, failed {(final2 or {}).get('failed')}")
    listed = run_json("ota list", "ota", "list")
    ids = [r.get("id") for r in listed.get("rollouts", [])]
    check(r1 in ids and r2 in ids and polled.get("status") == shown.get("status"),
          f"`ota list` shows rollouts {ids}")
    STATE["ota"].update(fw2=fw2, sha2=sha2, r2=r2, canaries=sorted(jobs) or dids[:1])


def section_ota_bad_input():
    """8: not the controller (ota/4), not the device's key (ota/11), another firmware (ota/12)."""
    ota = STATE.get("ota") or {}
    if ota.get("fw1") is not None:
        expect_refused(f"8. a rollout of owner's firmware {ota['fw1']} by validator-0",
                       ["ota", "rollout", "--from", "validator-0", "--firmware", str(ota["fw1"]), "--stage",
                        "100:100:100:100"], "ota/4")
    else:
        check(False, "8. no firmware of section 7 to roll out as another key")

    # A device of our own, its key in the keystore: the only one the script can sign receipts for.
    device = run_json("device register sim-3", "device", "register", "--controller", "owner", "--name", "ota-sim3",
                      "--model", "sim-3", "--insecure-plaintext")
    did, key = device["did"], device.get("keyName") or "ota-sim3"
    fw3, sha3 = publish("sim-3", "3.0")

    canaries = ota.get("canaries") or []
    target, rollout, sha = (canaries[0], ota["r2"], ota["sha2"]) if canaries and ota.get("r2") else (did, None, sha3)
    made = run_json("ota rollout sim-3", "ota", "rollout", "--from", "owner", "--firmware", str(fw3), "--device", did,
                    "--stage", "100:100:100:100")
    r3 = made.get("rollout")
    check(r3 is not None and made.get("devices") == 1 and made.get("status") == "active",
          f"8. a rollout of firmware {fw3} to just {did[:28]}… (`--device`): rollout {r3}, {made.get('devices')} "
          f"device, {made.get('status')}")
    if rollout is None:
        rollout = r3
    text = make_receipt("validator-1", target, rollout, sha, "2.1")
    expect_refused(f"8. a receipt for {target[:28]}… signed by validator-1's key", ["ota", "report", text, "--from",
                                                                                      "owner"], "ota/11")
    if r3 is None:
        raise StepFailed(f"no rollout id in {made}")
    wrong = hashlib.sha256(b"not the firmware").hexdigest()
    text = make_receipt(key, did, r3, wrong, "3.0")
    expect_refused("8. a receipt signed by the device naming another firmware's sha256",
                   ["ota", "report", text, "--from", "owner"], "ota/12")
    text = make_receipt(key, did, r3, sha3, "3.0")
    done = cli(["ota", "report", text, "--from", "owner", "--output", "json"])
    check(done.returncode == 0, "8. the device's receipt for the right firmware is taken: "
          + (f"{done.stdout.strip()[:200]}" if done.returncode == 0 else f"exit {done.returncode}: {said(done)}"))
    polled = poll_rollout(r3, 30)
    shown = ota_status(r3)
    check(shown.get("status") == "completed" and shown.get("succeeded") == 1 and shown.get("failed") == 0
          and polled.get("status") == "completed",
          f"8. rollout {r3}: {stage_line(shown)} (want completed, 1 succeeded)")


def section_upgrade():
    """6: a passed upgrade stops every node at its height; restarted with a handler, the chain goes on."""
    devnet = STATE["devnet"]
    sha = secrets.token_hex(32)
    at = max(h or 0 for h in heights())
    target = at + UPGRADE_MARGIN
    pid, submitted = submit(f"an upgrade at height {target}", "owner", 1_000_000, "Upgrade to test-upgrade",
                            "--upgrade", UPGRADE_NAME, "--upgrade-height", str(target), "--upgrade-sha256", sha,
                            "--upgrade-info", "test")
    shown = proposal_api(pid)
    status = get("/status")
    seconds_left = (shown.get("votingEndMs", 0) - status.get("latestBlockTimeMs", 0)) / 1000
    log(f"upgrade proposal {pid} submitted at block {submitted} for height {target}; its vote ends in "
        f"~{seconds_left:.0f} s of BFT time, about {seconds_left * 1000 / EMPTY_BLOCKS_MS:.0f} idle blocks "
        f"(+ a few for the votes) before {target - (status.get('height') or at)} blocks run out")
    vote_all([(i, pid, "yes") for i in range(N)])
    decided = wait_decided([pid], "the upgrade proposal")[pid]
    check(decided.get("status") == "passed" and 0 < (decided.get("endHeight") or 0) < target,
          f"6. the upgrade proposal {pid} passed at block {decided.get('endHeight')}, before {target}: "
          f"{summary_of(decided)}")
    plan = get("/gov/upgrade")
    want_plan = {"name": UPGRADE_NAME, "height": target, "binarySHA256": sha, "info": "test"}
    check(plan.get("plan") == want_plan and not any(a.get("name") == UPGRADE_NAME for a in plan.get("applied", [])),
          f"6. GET /gov/upgrade shows the plan {plan.get('plan')} (want {want_plan}), applied {plan.get('applied')}")

    # Every node stops at the plan's height; the devnet parent reports each exit.
    seen = [0] * N

    def all_exited():
        for index in range(N):
            current = height(API + index)
            if current is not None:
                seen[index] = max(seen[index], current)
        exits = dict(re.findall(r"node-(\d+) exited with status (-?\d+)", devnet.output()))
        return len(exits) == N

    left = target - max(h or 0 for h in heights())
    budget = max(60, left * 3 + 30)
    log(f"waiting up to {budget} s for the {N} nodes to stop at height {target} ({left} blocks to go)")
    stopped = wait_until(all_exited, budget, step=0.2)
    exits = {int(i): int(s) for i, s in re.findall(r"node-(\d+) exited with status (-?\d+)", devnet.output())}
    check(stopped and exits == {i: 3 for i in range(N)},
          f"6. the devnet printed `node-i exited with status 3` for every node: {exits or 'none'}")
    alive = [i for i in range(N) if node_pid(os.path.join(HOME, f"node-{i}"))]
    check(not alive, f"6. no node process is left running (still running: {alive or 'none'})")
    check(max(seen) == target - 1,
          f"6. the last heights the nodes reported were {seen}: the chain stopped before executing block {target}")
    line = f'upgrade "{UPGRADE_NAME}" needed at height {target}: run a binary with sha256 {sha}'
    missing = []
    for index in range(N):
        path = os.path.join(HOME, f"node-{index}", "node.log")
        try:
            text = open(path, errors="replace").read()
        except OSError:
            text = ""
        with open(path + ".halt", "w") as copy:  # the restart truncates node.log
            copy.write(text)
        if not any(line in row for row in text.splitlines()):
            missing.append(index)
    check(not missing, f"6. every node.log holds '{line}' (missing in nodes {missing or 'none'}; copies in "
                       f"node-i/node.log.halt)")

    devnet.stop()
    log(f"the devnet parent stopped on SIGTERM (exit {devnet.process.poll()})")
    log(f"restarting the devnet with MESHWORK_UPGRADE_HANDLERS={UPGRADE_NAME}")
    devnet = STATE["devnet"] = Devnet("devnet-restart.log", {"MESHWORK_UPGRADE_HANDLERS": UPGRADE_NAME})
    moved = wait_until(lambda: all((h or 0) > target + 1 for h in heights()), 120, step=0.5)
    check(moved, f"6. restarted with the handler, every node commits past {target}: heights {heights()}")
    hashes = {}
    for index in range(N):
        status, block = http(f"/blocks/{target}", API + index)
        hashes[index] = block.get("blockHash") if status == 200 else None
    check(len(set(hashes.values())) == 1 and None not in hashes.values(),
          f"6. every node has the same block {target}: {set(hashes.values())}")
    views = {}
    for index in range(N):
        status, view = http("/gov/upgrade", API + index)
        views[index] = (view.get("plan"), view.get("applied")) if status == 200 else ("unanswered", None)
    good = {i: v for i, v in views.items() if v[0] is None
            and any(a.get("name") == UPGRADE_NAME and a.get("height") == target for a in (v[1] or []))}
    check(len(good) == N,
          f"6. GET /gov/upgrade on every node: plan null, applied lists {UPGRADE_NAME} at {target}: "
          + "; ".join(f"node-{i}: plan {p}, applied {a}" for i, (p, a) in views.items()))


# ---- the run ----

def section(name, function):
    if STATE.get("fatal"):
        log(f"== {name}: skipped (the devnet is unusable)")
        return
    log(f"== {name}")
    started = time.time()
    try:
        function()
    except Fatal as error:
        check(False, f"{name}: {error}")
        STATE["fatal"] = True
    except StepFailed as error:
        check(False, f"{name}: {error} (the rest of this section was skipped)")
    except Exception as error:  # a bug here or an answer of an unexpected shape: report it, go on
        traceback.print_exc()
        check(False, f"{name} crashed: {type(error).__name__}: {error}")
    devnet = STATE.get("devnet")
    if devnet is not None and not devnet.alive() and not STATE.get("fatal"):
        check(False, f"the devnet process exited ({devnet.process.poll()}) during {name}")
        STATE["fatal"] = True
    log(f"{name} took {time.time() - started:.1f} s")


def tail(path, count):
    try:
        with open(path, errors="replace") as handle:
            return [line.rstrip()[:400] + (" …" if len(line.rstrip()) > 400 else "") for line in handle][-count:]
    except OSError:
        return ["(none)"]


try:
    section("start", section_start)
    section("1. keys", section_keys)
    section("3/4. open a vetoed and a failing proposal", section_gov_open)
    section("7. OTA rollouts to simulated devices", section_ota_rollouts)
    section("8. OTA bad input", section_ota_bad_input)
    section("3/4. the vetoed and the failing proposal", section_gov_finish)
    section("2/5. a parameter change, bad input, a changed vote", section_gov_params)
    section("6. upgrade", section_upgrade)
finally:
    for simulator in SIMULATORS:
        simulator.kill()
    if STATE.get("devnet") is not None:
        STATE["devnet"].stop()

took = time.time() - began
if failures:
    for index in range(N):
        for name in ("node.log.halt", "node.log"):
            path = os.path.join(HOME, f"node-{index}", name)
            if os.path.exists(path):
                print(f"--- last lines of node-{index}/{name}:")
                print("\n".join(tail(path, 25)))
    for name in ("devnet.log", "devnet-restart.log", "simulator-1.log", "simulator-2.log"):
        path = os.path.join(HOME, name)
        if os.path.exists(path):
            print(f"--- last lines of {name}:")
            print("\n".join(tail(path, 15)))
    print(f"gov-check: {len(failures)} of {len(checks)} checks failed in {took:.0f} s; logs in {HOME}")
    for failure in failures:
        print(f"  FAIL: {failure}")
    sys.exit(1)
if took > 360:
    log(f"NOTE: the run took {took:.0f} s, over the 6-minute target")
print(f"gov-check: all {len(checks)} checks passed in {took:.0f} s ({HOME})")
