#!/usr/bin/env python3
"""Issue 7 acceptance: storage on a real devnet of one validator and 9 storage provider nodes.

  1. put a random 64 MiB file (with a known marker inside) with code 4+2; get it back identical;
  2. kill -9 the providers of two shards; get it back identical while they are down;
  3. wait until both lost shards are rebuilt on other providers and `store status` is healthy;
  4. corrupt a shard file on a third provider's disk: its next challenge fails, the provider is
     slashed, the shard is rebuilt elsewhere, `store status` is healthy again, get is identical;
  5. no file on any provider's disk contains the marker (no plaintext);
  6. bad input: a capability with a wrong key, a malformed one, an unknown manifest: clear errors.

usage: scripts/storage-check.py path/to/meshwork
"""
import json, os, random, signal, subprocess, sys, tempfile, time, urllib.request

MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-storage-")
API, P2P, PROVIDERS = 19580, 29600, 9  # fixed ports below the ephemeral range (32768-60999)
NODE = f"http://127.0.0.1:{API}"
MARKER = b"MESHWORK-STORAGE-CHECK-PLAINTEXT-MARKER"
failures = []


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


def devnet_tail():
    path = os.path.join(HOME, "devnet.log")
    return open(path, errors="replace").read()[-3000:] if os.path.exists(path) else "(no devnet log)"


def node_logs():
    lines = []
    for index in range(1, PROVIDERS + 1):
        path = os.path.join(HOME, f"node-{index}", "node.log")
        if os.path.exists(path):
            lines += [f"node-{index}: {line}" for line in open(path, errors="replace") if line.startswith("storage:")]
    return "".join(lines[-40:])


def get(path):
    with urllib.request.urlopen(NODE + path, timeout=10) as response:
        return json.load(response)


def cli(*args, expect_ok=True):
    done = subprocess.run([MESHWORK, *args, "--home", HOME, "--node", NODE], capture_output=True, text=True, timeout=300)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def wait_for(what, condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.5)
    raise SystemExit(f"FAIL: {what} within {seconds}s\nstorage log lines:\n{node_logs()}\ndevnet log:\n{devnet_tail()}")


def status(capability):
    return json.loads(cli("store", "status", capability, "--output", "json").stdout)


def provider_node(endpoint):
    return int(endpoint.rsplit(":", 1)[1]) - API


def kill_node(index):
    pids = subprocess.run(["pgrep", "-f", f"node start --home {HOME}/node-{index}$"], capture_output=True, text=True).stdout.split()
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)
    return pids


def get_identical(capability, original, label):
    out = os.path.join(HOME, f"out-{label}.bin")
    done = cli("store", "get", capability, "-o", out, "--output", "json")
    report = json.loads(done.stdout)
    same = os.path.exists(out) and open(out, "rb").read() == original
    check(same, f"store get {label}: {len(original)} bytes back byte-identical (shards {report['fetchedShards']}, unusable {report['failedShards']})")
    return report


def provider_files():
    for index in range(1, PROVIDERS + 1):
        root = os.path.join(HOME, f"node-{index}", "data", "storage")
        for directory, _, files in os.walk(root):
            for name in files:
                yield os.path.join(directory, name)


def main():
    # The storage rules count blocks (a 60-block upload grace, 10-block proof windows); this devnet
    # makes a block after every commit pause even when idle, so they pass in seconds, not the
    # minutes of the default idle pacing (the module README gives both).
    devnet = subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", "1", "--providers", str(PROVIDERS), "--mqtt-port", "0",
         "--api-port", str(API), "--p2p-port", str(P2P), "--empty-blocks-interval-ms", "0"],
        stdout=open(os.path.join(HOME, "devnet.log"), "a"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        run()
    finally:
        os.killpg(devnet.pid, signal.SIGTERM)
        try:
            devnet.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(devnet.pid, signal.SIGKILL)


def run():
    providers = wait_for(f"{PROVIDERS} providers registered",
                         lambda: (lambda p: p if len(p) == PROVIDERS else None)(get("/storage/providers")["providers"]), 180)
    check(all(p["active"] for p in providers), f"{PROVIDERS} provider nodes registered themselves on start")

    # 1. Put and get.
    rng = random.Random(7)
    data = bytearray(rng.randbytes(64 << 20))
    for offset in (0, 12345, 30 << 20, (64 << 20) - len(MARKER)):
        data[offset:offset + len(MARKER)] = MARKER
    original = bytes(data)
    source = os.path.join(HOME, "in.bin")
    open(source, "wb").write(original)
    put = json.loads(cli("store", "put", source, "--code", "4+2", "--duration", "100000", "--output", "json").stdout)
    capability = put["capability"]
    check(put["shards"] == 6 and put["failedShards"] == [], f"store put: 64 MiB as deal {put['deal']}, 6 shards uploaded")
    deal = status(capability)["deal"]
    check(len({s["provider"] for s in deal["shards"]}) == 6, "the 6 shards sit on 6 distinct providers")
    get_identical(capability, original, "after put")

    # 2. Kill two providers.
    victims = [provider_node(deal["shards"][i]["endpoint"]) for i in (0, 1)]
    for index in victims:
        check(kill_node(index) != [], f"kill -9 node-{index} (holds a shard)")
    report = get_identical(capability, original, "with 2 providers down")
    check(0 in report["failedShards"] and 1 in report["failedShards"], "get read around the two dead providers")

    # 3. Their shards fail their challenges and are rebuilt elsewhere.
    dead = {deal["shards"][i]["provider"] for i in (0, 1)}
    repaired = wait_for("the two lost shards rebuilt on other providers", lambda: (lambda s: s if s["health"] == "healthy"
                        and not dead & {x["provider"] for x in s["deal"]["shards"]} else None)(status(capability)), 300)
    check(True, f"shards 0 and 1 repaired onto {[s['provider'][-8:] for s in repaired['deal']['shards'][:2]]}; status healthy")

    # 4. Corrupt a shard file on a third provider.
    target = repaired["deal"]["shards"][2]
    node = provider_node(target["endpoint"])
    path = os.path.join(HOME, f"node-{node}", "data", "storage", "shards", target["root"])
    blob = bytearray(open(path, "rb").read())
    for offset in range(0, len(blob), 16384):
        blob[offset] ^= 0xFF
    open(path, "wb").write(blob)
    stake_before = next(p for p in get("/storage/providers")["providers"] if p["did"] == target["provider"])["stake"]
    log(f"flipped one byte in every 16 KiB piece of shard 2 on node-{node}")
    lost = wait_for("the corrupted shard's challenge to fail", lambda: (lambda s: s if s["deal"]["shards"][2]["lostAt"]
                    or s["deal"]["shards"][2]["provider"] != target["provider"] else None)(status(capability)), 240)
    slashed = next(p for p in get("/storage/providers")["providers"] if p["did"] == target["provider"])
    check(slashed["stake"] < stake_before and slashed["proofsFailed"] >= 1,
          f"the provider was slashed: stake {stake_before} -> {slashed['stake']}, failed proofs {slashed['proofsFailed']}")
    healthy = wait_for("shard 2 rebuilt elsewhere", lambda: (lambda s: s if s["health"] == "healthy"
                       and s["deal"]["shards"][2]["provider"] != target["provider"] else None)(status(capability)), 300)
    check(True, f"shard 2 repaired onto {healthy['deal']['shards'][2]['provider'][-8:]}; status healthy")
    text = cli("store", "status", capability).stdout
    check(text.startswith(f"deal {put['deal']}  healthy  6/6"), "store status prints the object healthy")
    get_identical(capability, original, "after repair")

    # 5. No plaintext on provider disks.
    files = list(provider_files())
    check(len([f for f in files if "/shards/" in f]) >= 8, f"{len(files)} files on provider disks (shards and manifests)")
    check(not any(MARKER in open(f, "rb").read() for f in files), "no provider file contains the plaintext marker")

    # 6. Bad input.
    cid, key = capability.split(":")
    wrong_key = cid + ":" + ("A" if key[0] != "A" else "B") + key[1:]
    done = cli("store", "get", wrong_key, "-o", os.path.join(HOME, "x.bin"), expect_ok=False)
    check(done.returncode != 0 and "object/3" in done.stderr, f"a wrong key is refused: {done.stderr.strip()}")
    done = cli("store", "get", "not-a-capability", "-o", os.path.join(HOME, "x.bin"), expect_ok=False)
    check(done.returncode != 0 and "object/1" in done.stderr, f"a malformed capability is refused: {done.stderr.strip()}")
    other = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy:" + key
    done = cli("store", "get", other, "-o", os.path.join(HOME, "x.bin"), expect_ok=False)
    check(done.returncode != 0 and "api/19" in done.stderr, f"an unknown manifest is refused: {done.stderr.strip()}")
    check(not os.path.exists(os.path.join(HOME, "x.bin")), "a failed get leaves no output file")
    request = urllib.request.Request(f"{target['endpoint']}/storage/deals/{put['deal']}/shards/3", data=b"x" * 100, method="PUT")
    try:
        urllib.request.urlopen(request, timeout=10)
        check(False, "a shard upload the deal does not assign is refused")
    except urllib.error.HTTPError as error:
        body = json.load(error)
        check(error.code in (400, 403) and body["code"] in ("api/18", "shardstore/1"), f"an unassigned shard upload is refused: {body}")


if __name__ == "__main__":
    try:
        main()
    finally:
        log("storage log lines:\n" + node_logs())
    if failures:
        print(f"storage-check: {len(failures)} failed: {failures}")
        sys.exit(1)
    print("storage-check: all passed")
