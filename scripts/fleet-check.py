#!/usr/bin/env python3
"""The fleet workflow from the README, run as a new user would, plus the light client's tamper test
(issue 5 acceptance).

On a real 3-validator devnet, with the CLI only:
  create a fleet owner key and fund it, register three devices, grant one mqtt.publish on a topic,
  rotate another's key, revoke the third; after each step `device list --output json` shows it.
  `query account --verify` and `policy check --verify` are proven by the light client.
Then stop the devnet, edit the owner's balance inside node-1's SQLite state file, start it again:
  `query account --verify` against node-1 is rejected (NOT PROVEN) while the unverified answer shows
  the edited value, and the same query against node-0 is still proven.

usage: scripts/fleet-check.py path/to/meshwork
"""
import json, os, signal, sqlite3, subprocess, sys, tempfile, time, urllib.request

MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-fleet-")
API, P2P, N = 19380, 29856, 3  # fixed ports below the ephemeral range (32768-60999)
ENV = dict(os.environ, MESHWORK_PASSPHRASE="fleet-check-passphrase")
failures = []


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def height(port):
    try:
        return get(port, "/status")["height"]
    except Exception:
        return None


def wait_height(port, target, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        current = height(port)
        if current is not None and current >= target:
            return current
        time.sleep(0.2)
    log_path = os.path.join(HOME, "devnet.log")
    tail = open(log_path, errors="replace").read()[-4000:] if os.path.exists(log_path) else "(no devnet log)"
    raise SystemExit(f"FAIL: node on port {port} did not reach height {target} in {seconds}s; devnet log:\n{tail}")


def cli(*args, port=API, expect_ok=True):
    command = [MESHWORK, *args, "--home", HOME]
    if args[0] != "keys":
        command += ["--node", f"http://127.0.0.1:{port}"]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def cli_json(*args, port=API):
    return json.loads(cli(*args, "--output", "json", port=port).stdout)


def start_devnet():
    process = subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", str(N), "--mqtt-port", "0", "--api-port", str(API), "--p2p-port", str(P2P)],
        stdout=open(os.path.join(HOME, "devnet.log"), "a"), stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    for index in range(N):
        wait_height(API + index, (height(API + index) or 0) + 2, seconds=90)
    return process


def stop_devnet(process):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def device_list():
    return {row["device"]["did"]: row for row in cli_json("device", "list", "--controller", "acme")}


devnet = start_devnet()
try:
    log(f"devnet of {N} validators in {HOME}")
    # A new user's own key, funded by the devnet's owner account.
    acme = cli_json("keys", "new", "--name", "acme")["did"]
    cli("tx", "transfer", "--from", "owner", "--to", "acme", "--amount", "50000000")
    check(cli_json("query", "account", "acme")["balance"] == 50_000_000, "fleet owner 'acme' funded")

    devices = {}
    for name, model, region in [("sensor-1", "th-10", "eu"), ("sensor-2", "th-10", "eu"), ("cam-3", "c-2", "us")]:
        registered = cli_json("device", "register", "--controller", "acme", "--name", name, "--model", model,
                              "--region", region)
        devices[name] = registered["did"]
    listed = device_list()
    check(set(listed) == set(devices.values()) and all(not row["device"]["deactivated"] for row in listed.values()),
          "device list shows the three registered devices, active")

    topic = f"mesh/{acme}/alerts/#"
    granted = cli_json("policy", "grant", "--from", "acme", "--subject", devices["sensor-1"], "--action",
                       "mqtt.publish", "--resource", topic)
    listed = device_list()
    grants = listed[devices["sensor-1"]]["grants"]
    check(len(grants) == 1 and grants[0]["id"] == granted["id"] and grants[0]["resource"] == topic,
          "device list shows sensor-1's mqtt.publish grant")
    decision = cli_json("policy", "check", "--subject", devices["sensor-1"], "--action", "mqtt.publish",
                        "--resource", f"mesh/{acme}/alerts/overheat", "--verify")
    check(decision["allowed"] and decision["chain"] == [granted["id"]] and decision["verification"]["proven"],
          "policy check allows sensor-1 through the grant, proven by the light client")
    denied = cli_json("policy", "check", "--subject", devices["sensor-2"], "--action", "mqtt.publish",
                      "--resource", f"mesh/{acme}/alerts/overheat", "--verify")
    check(not denied["allowed"], "policy check denies sensor-2 (no grant), proven")

    before = listed[devices["sensor-2"]]["device"]["keys"]
    rotated = cli_json("device", "rotate-key", devices["sensor-2"], "--controller", "acme")
    after = device_list()[devices["sensor-2"]]["device"]["keys"]
    check(before == [rotated["oldKey"]] and after == [rotated["newKey"]] and before != after,
          "device list shows sensor-2's rotated key")

    cli_json("device", "revoke", devices["cam-3"], "--controller", "acme")
    listed = device_list()
    check(listed[devices["cam-3"]]["device"]["deactivated"] and not listed[devices["sensor-1"]]["device"]["deactivated"],
          "device list shows cam-3 revoked (deactivated), the others active")

    proven = cli_json("query", "account", "acme", "--verify", port=API + 1)
    check(proven["verification"]["proven"], "query account --verify against node-1 is proven (before tampering)")
    balance = proven["balance"]
finally:
    stop_devnet(devnet)

# Tamper: change the acme balance in every stored version of its leaf in node-1's state file.
state = sqlite3.connect(os.path.join(HOME, "node-1", "data", "state.sqlite"))
key = None
bundle_key = json.loads(subprocess.run([MESHWORK, "keys", "show", "acme", "--home", HOME, "--output", "json"],
                                       capture_output=True, text=True).stdout)["publicKey"]
old_value = balance.to_bytes(8, "big")
new_value = (balance + 1_000_000).to_bytes(8, "big")
changed = 0
for row_id, data in state.execute("SELECT id, data FROM nodes").fetchall():
    if bytes.fromhex(bundle_key) in data and old_value in data:
        state.execute("UPDATE nodes SET data = ? WHERE id = ?", (data.replace(old_value, new_value), row_id))
        changed += 1
for row_key, value in state.execute("SELECT key, value FROM latest").fetchall():
    if bytes.fromhex(bundle_key) in row_key and value == old_value:
        state.execute("UPDATE latest SET value = ? WHERE key = ?", (new_value, row_key))
        changed += 1
state.commit()
state.close()
check(changed > 0, f"edited {changed} row(s) of node-1's state.sqlite (acme's balance {balance} -> {balance + 1_000_000})")

devnet = start_devnet()
try:
    told = cli_json("query", "account", "acme", port=API + 1)
    check(told["balance"] == balance + 1_000_000, "the tampered node answers with the edited balance when not verified")
    refused = cli("query", "account", "acme", "--verify", port=API + 1, expect_ok=False)
    check(refused.returncode != 0 and "NOT PROVEN" in refused.stderr,
          f"query account --verify against the tampered node is rejected: {refused.stderr.strip()[:160]}")
    honest = cli_json("query", "account", "acme", "--verify", port=API)
    check(honest["verification"]["proven"] and honest["balance"] == balance,
          "the same query against an untouched node is proven")
finally:
    stop_devnet(devnet)

if failures:
    print(f"fleet check: {len(failures)} failure(s)")
    sys.exit(1)
print("fleet check: all passed")
