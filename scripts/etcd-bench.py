#!/usr/bin/env python3
"""Side-by-side peer for `meshwork bench consensus`: a 3-member etcd cluster on loopback
(crash-fault tolerant only, Raft), loaded open-loop with puts through its JSON gateway.

usage: scripts/etcd-bench.py [--rate R] [--seconds S] [--connections C]
Prints one JSON object: offered and acknowledged puts/s, latency p50/p99 (ms).
Needs Debian's etcd-server (apt-get install -y etcd-server etcd-client).
"""
import argparse, base64, http.client, json, os, shutil, subprocess, tempfile, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("--rate", type=int, default=2000)
parser.add_argument("--seconds", type=int, default=20)
parser.add_argument("--connections", type=int, default=16)
args = parser.parse_args()

root = tempfile.mkdtemp(prefix="etcd-bench-")
members = [(f"m{i}", 23791 + 10 * i, 24791 + 10 * i) for i in range(3)]
cluster = ",".join(f"{name}=http://127.0.0.1:{peer}" for name, _, peer in members)
processes = []
for name, client, peer in members:
    processes.append(subprocess.Popen([
        "etcd", "--name", name, "--data-dir", os.path.join(root, name),
        "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
        "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "bench",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def put(connection, key, value):
    body = json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()})
    connection.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


try:
    deadline = time.time() + 30
    while True:
        try:
            put(http.client.HTTPConnection("127.0.0.1", members[0][1], timeout=2), b"warmup", b"x")
            break
        except Exception:
            if time.time() > deadline:
                raise SystemExit("etcd cluster did not start")
            time.sleep(0.3)

    total = args.rate * args.seconds
    latencies = []
    lock = threading.Lock()
    start = time.time() + 0.5
    value = os.urandom(200)

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", members[index % 3][1], timeout=10)
        done = []
        for n in range(index, total, args.connections):
            due = start + n / args.rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            if put(connection, f"key-{n}".encode(), value) == 200:
                done.append(time.time() - due)
        with lock:
            latencies.extend(done)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - start
    latencies.sort()
    pick = lambda f: latencies[min(len(latencies) - 1, int(len(latencies) * f))] * 1000 if latencies else 0
    print(json.dumps({
        "peer": "etcd " + subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split()[2],
        "members": 3, "offeredPerSecond": args.rate, "seconds": args.seconds, "acknowledged": len(latencies),
        "acknowledgedPerSecond": len(latencies) / elapsed, "latencyP50Ms": pick(0.5), "latencyP99Ms": pick(0.99),
    }, indent=2))
finally:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()
    shutil.rmtree(root, ignore_errors=True)
