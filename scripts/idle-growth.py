#!/usr/bin/env python3
"""Idle growth of a devnet (issue 17): how much each node of an idle 3-validator devnet writes.

Creates a devnet with `meshwork devnet` (default pacing: one empty block per 10 s when idle),
runs its nodes as separate processes, lets them settle, then measures for --seconds (default
600) each node's bytes written to disk (/proc/<pid>/io write_bytes: everything the process
made the kernel write, WAL checkpoints included) and the growth of its data directory, plus
the blocks made. Prints one JSON object; exits 1 when a node's data grew by 1 MB or more. (Bytes written are
reported beside it: SQLite writes whole pages to its WAL and again at each checkpoint, so the
I/O is several times the growth.)

usage: scripts/idle-growth.py path/to/meshwork [--seconds 600] [--nodes 3]
"""
import argparse, json, os, shutil, signal, subprocess, tempfile, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("meshwork")
parser.add_argument("--seconds", type=int, default=600)
parser.add_argument("--nodes", type=int, default=3)
parser.add_argument("--settle", type=int, default=30)
args = parser.parse_args()
MESHWORK = os.path.abspath(args.meshwork)
HOME = tempfile.mkdtemp(prefix="meshwork-idle-")
API, P2P = 19480, 29956
LIMIT = 1_000_000


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as response:
        return json.load(response)


def written(pid):
    with open(f"/proc/{pid}/io") as io:
        for line in io:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def tree_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


creator = subprocess.Popen([MESHWORK, "devnet", "--home", HOME, "--nodes", str(args.nodes), "--mqtt-port", "0",
                            "--api-port", str(API), "--p2p-port", str(P2P)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in creator.stdout:
    if "devnet running" in line:
        break
creator.send_signal(signal.SIGTERM)
creator.communicate(timeout=60)

nodes = []
try:
    for index in range(args.nodes):
        home = os.path.join(HOME, f"node-{index}")
        log = open(os.path.join(home, "idle.log"), "a")
        nodes.append(subprocess.Popen([MESHWORK, "node", "start", "--home", home], stdout=log,
                                      stderr=subprocess.STDOUT))
    time.sleep(args.settle)
    start_height = status(API)["height"]
    before = [(written(node.pid), tree_bytes(os.path.join(HOME, f"node-{i}", "data"))) for i, node in enumerate(nodes)]
    time.sleep(args.seconds)
    end_height = status(API)["height"]
    after = [(written(node.pid), tree_bytes(os.path.join(HOME, f"node-{i}", "data"))) for i, node in enumerate(nodes)]
    disk = [json.loads(urllib.request.urlopen(f"http://127.0.0.1:{API + i}/status/disk", timeout=5).read())
            for i in range(args.nodes)]
finally:
    for node in nodes:
        node.send_signal(signal.SIGTERM)
    for node in nodes:
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()

report = {
    "seconds": args.seconds, "nodes": args.nodes, "blocks": end_height - start_height,
    "perNode": [{"writtenBytes": a[0] - b[0], "dataGrowthBytes": a[1] - b[1],
                 "stores": {store["name"]: store["bytes"] for store in d["stores"]}}
                for b, a, d in zip(before, after, disk)],
    "limitBytes": LIMIT,
}
print(json.dumps(report, indent=2))
shutil.rmtree(HOME, ignore_errors=True)
worst = max(node["dataGrowthBytes"] for node in report["perNode"])
raise SystemExit(0 if worst < LIMIT else f"FAIL: a node's data grew by {worst} bytes in {args.seconds} s of idling")
