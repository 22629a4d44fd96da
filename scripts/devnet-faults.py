#!/usr/bin/env python3
"""Real-process fault test for consensus (issue 4 acceptance).

A 4-validator devnet on loopback under a steady stream of transfers:
  kill -9 one validator  -> blocks keep being committed
  restart it             -> it catches up
  kill -9 two of four    -> no block is committed
  restart them           -> the chain resumes
At the end every node reports the same block hash at every height, and every transaction
acknowledged as committed is in a block. Before the faults, the node-core phases of
node_core_check.py run on the same devnet under the same load (nonce order; a 30 s flood of bad
signatures over HTTP and P2P at node 0).

usage: scripts/devnet-faults.py path/to/meshwork
"""
import atexit, json, os, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_core_check  # noqa: E402  (the node-core phases share this devnet)

MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-faults-")
API = 19280
P2P = 29756  # below the ephemeral range (32768-60999), so no outgoing connection holds it
N = 4


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return json.load(response)


def height(port):
    try:
        return get(port, "/status", timeout=2)["height"]
    except Exception:
        return None


def wait_until(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit(f"FAIL: {what} within {seconds}s")


# Create the devnet's homes (genesis, keys, config), then run the nodes ourselves.
creator = subprocess.Popen([MESHWORK, "devnet", "--home", HOME, "--nodes", str(N), "--mqtt-port", "0", "--api-port", str(API),
                            "--p2p-port", str(P2P)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in creator.stdout:
    if "devnet running" in line:
        break
creator.send_signal(signal.SIGTERM)
try:
    creator.communicate(timeout=60)
except subprocess.TimeoutExpired:
    raise SystemExit("FAIL: 'meshwork devnet' did not stop within 60 s of SIGTERM")

nodes = {}


@atexit.register
def cleanup():
    for process in nodes.values():
        if process.poll() is None:
            process.kill()


def start(index):
    log_file = open(os.path.join(HOME, f"node-{index}", "faults.log"), "a")
    nodes[index] = subprocess.Popen([MESHWORK, "node", "start", "--home", os.path.join(HOME, f"node-{index}")],
                                    stdout=log_file, stderr=subprocess.STDOUT)


def kill(index):
    nodes[index].send_signal(signal.SIGKILL)
    nodes[index].wait()


for index in range(N):
    start(index)
wait_until(lambda: all((height(API + i) or 0) >= 3 for i in range(N)), 60, "all nodes reach height 3")
log("devnet up: heights " + str([height(API + i) for i in range(N)]))

# A steady stream of transfers through node 0 and node 1, recording what was acknowledged.
acknowledged = []
stop_load = threading.Event()
owner_lock = threading.Lock()  # the nonce phase signs with the owner key too
owner_env = dict(os.environ)


def load():
    recipient = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    count = 0
    while not stop_load.is_set():
        port = API + (count % 2)
        count += 1
        with owner_lock:
            result = subprocess.run([MESHWORK, "tx", "transfer", "--home", HOME, "--from", "owner", "--to",
                                     recipient, "--amount", "1", "--node", f"http://127.0.0.1:{port}", "--output",
                                     "json"], capture_output=True, text=True, env=owner_env)
        if result.returncode == 0:
            body = json.loads(result.stdout)
            acknowledged.append((body["hash"], body["height"]))
        else:
            time.sleep(0.2)


loader = threading.Thread(target=load, daemon=True)
loader.start()
time.sleep(3)

with owner_lock:
    node_core_check.nonce_order(MESHWORK, HOME, API, owner_env, log)
owner_did = json.loads(subprocess.run([MESHWORK, "keys", "show", "owner", "--home", HOME, "--output", "json"],
                                      capture_output=True, text=True, check=True).stdout)["did"]
node_core_check.flood(MESHWORK, API, P2P, owner_did, log)

log("kill -9 node 3")
kill(3)
base = max(height(API + i) or 0 for i in range(3))
wait_until(lambda: (height(API) or 0) >= base + 5, 60, "blocks keep being committed with one validator down")
log(f"chain moved from {base} to {height(API)} with node 3 down")

log("restart node 3")
start(3)
wait_until(lambda: (height(API + 3) or 0) >= (height(API) or 0) - 1, 90, "node 3 catches up")
log(f"node 3 caught up at {height(API + 3)}")

log("kill -9 nodes 2 and 3")
kill(2)
kill(3)
time.sleep(3)
top_alive = lambda: max(height(API + i) or 0 for i in range(2))
stalled = top_alive()
time.sleep(6)
after = top_alive()
if after > stalled:
    raise SystemExit(f"FAIL: blocks were committed without a quorum ({stalled} -> {after})")
log(f"no block committed with two of four down (height {stalled} -> {after})")

log("restart nodes 2 and 3")
start(2)
start(3)
wait_until(lambda: (height(API) or 0) >= after + 5, 90, "the chain resumes")
log(f"chain resumed to {height(API)}")

stop_load.set()
loader.join(timeout=70)
time.sleep(2)
top = min(height(API + i) or 0 for i in range(N))
log(f"checking block hashes at heights 1..{top} on {N} nodes; {len(acknowledged)} acknowledged transfers")
by_height = {}
for h in range(1, top + 1):
    hashes = {get(API + i, f"/blocks/{h}")["blockHash"] for i in range(N)}
    if len(hashes) != 1:
        raise SystemExit(f"FAIL: nodes disagree at height {h}: {hashes}")
    by_height[h] = set(get(API, f"/blocks/{h}")["transactionHashes"])
for tx_hash, tx_height in acknowledged:
    if tx_height is None or tx_height > top or tx_hash not in by_height[tx_height]:
        raise SystemExit(f"FAIL: acknowledged transaction {tx_hash} is not in block {tx_height}")

for process in nodes.values():
    process.send_signal(signal.SIGTERM)
for process in nodes.values():
    process.wait(timeout=30)
shutil.rmtree(HOME, ignore_errors=True)
log(f"PASS: {top} heights agree on all nodes; all {len(acknowledged)} acknowledged transfers are in their blocks")
