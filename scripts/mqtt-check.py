#!/usr/bin/env python3
"""The MQTT gateway on a real 3-validator devnet, as devices see it (issue 6 acceptance).

1. Cross-node relay: device A publishes with mosquitto_pub on node-0; device B (a subscribe grant on
   mesh/<A>/#) receives the exact payload with mosquitto_sub on node-2 and with paho-mqtt (MQTT 5) on node-1.
1b. A hostile P2P peer (`meshwork bench relay-forgery`: a fresh node key, a real Noise handshake, a
   relay key of its own) sends node-0 20 relay frames claiming device A published on mesh/<A>/forged/cmd:
   B, watching that topic on node-0, gets A's genuine publish from node-1 and none of the forged ones;
   node-0 does not accept the peer's key, sends it no device data, and counts the frames as relayDenied.
2. Persistent sessions: a 3.1.1 (clean session 0) and a 5.0 (clean start 0, session expiry) subscriber
   on node-2 subscribe at QoS 1 and go offline; 5 QoS 1 messages published on node-0 (relayed) and 5 on
   node-2 itself are queued; node-2 is killed with SIGKILL and started again; both clients resume their
   session and receive all 10 in order, and a later publish on node-0 still reaches them.
3. Refusals: no password, a garbage password, an expired token, a token of a rotated-out key (the live
   connection it opened is dropped, the new key's token works), a publish outside the device's grants
   (3.1.1: closed; 5.0 QoS 1: PUBACK 0x87), a subscribe outside them (SUBACK 0x80/0x87), a
   `policy grant mqtt.publish` outside the device's namespace that then works and is refused again
   within a couple of blocks of `policy revoke`, and a revoked (deactivated) device: refused (0x05/0x87)
   and its live connections dropped.
4. Bad input on raw sockets to node-1, MQTT 3.1.1 and 5.0: truncated packets, a remaining length of 5
   bytes, a topic that is not UTF-8, wildcards in a PUBLISH topic, QoS 3, reserved flag bits (SUBSCRIBE
   and PUBREL with flags 0), a 2 MiB packet (5.0: DISCONNECT 0x95), a second CONNECT, protocol level 3
   (CONNACK 1), a first packet that is not CONNECT, a CONNECT over 16 KiB: each connection is
   closed (5.0 with the spec's DISCONNECT reason) and node-1 stays up and serves a normal publish. A
   PUBLISH of exactly 1 MiB is accepted; the header of one a byte larger closes the connection.
5. Slowloris: 3 bytes of a CONNECT and nothing more, and a CONNECT trickled at one byte a second, are
   closed after the 10 s CONNECT timeout, while normal clients on the same node keep working.
7. Provenance: the payload of 1. is proven with `provenance prove` on node-0 and verified with
   `provenance verify` against node-0 and node-2 (light client from genesis); one byte changed in the
   payload file, or in the proof's payload, record, root, path, leaf index, size, batch or payload hash,
   makes verification fail. A device envelope (`device envelope`, published with mosquitto_pub -f on
   node-1) gives a device-signed proof that verifies (also with the envelope as --payload-file) and fails
   with its signature changed; envelopes changed after sealing, sealed for another topic, or truncated are
   refused with PUBACK 0x99.
8. MQTT over TLS (devnet --mqtt-tls-port, self-signed certificates): mosquitto_pub over TLS on node-0
   reaches mosquitto_sub over TLS on node-2; plain MQTT on the TLS port and a client that does not trust
   the certificate fail; a garbage handshake is closed and the node still serves TLS.
9. MQTT 5 (scripts/mqtt5_check.py): paho and raw-socket clients check, each against the statement of
   MQTT 5.0 it cites: forwarded properties (payload format, content type, response topic, correlation
   data, user properties in order) on the same node and relayed; message expiry in an offline session;
   subscription identifiers; No Local; Retain As Published; Retain Handling; shared subscriptions (3,000
   messages over 3 members on 2 nodes, each delivered once; malformed share names; no retained message);
   will delay; Server Keep Alive; topic aliases towards clients; Receive Maximum both ways; the client's
   Maximum Packet Size; session expiry; properties a client may not send (DISCONNECT 0x82, PUBACK 0x99).
6. 10,000 idle MQTT 3.1.1 connections to node-0 all get CONNACK 0; node-0's RSS growth per connection is
   printed (fails only above 64 KiB); publish/subscribe still works with them open and the node survives
   their closing. The open-file limit is raised to its hard limit first, so the nodes inherit it.

usage: scripts/mqtt-check.py path/to/meshwork   (MQTT_CHECK_ONLY=provenance runs sections 1, 7, 8 and 9 only;
       MQTT_CHECK_ONLY=mqtt5 runs sections 1 and 9 only)
"""
import base64, hashlib, json, os, resource, secrets, select, signal, socket, sqlite3, subprocess, sys, tempfile, time
import urllib.request
from types import SimpleNamespace

# Raised before the devnet is spawned: the nodes inherit it (10,000 connections need > 10,000 files).
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
except (ValueError, OSError) as error:
    print(f"cannot raise the open-file limit: {error}", flush=True)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
from mqtt_check_support import (  # noqa: E402
    HOST, STARTED, V311, V5, Lines, Paho, Raw, Slowloris, ack_code, alive, closed_as_expected, connect,
    gateway_log_tail, hexdump, mosquitto_pub, node_pid, open_files_limit, open_idle_connections, packet, port_open,
    probe_until_received, publish, publish_of_size, pubrel, raw_publish, raw_ready, raw_subscribe, rss_kib, subscribe,
    try_connect, varint, wait_until)
import mqtt5_check  # noqa: E402

MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-mqtt-")
API, P2P, MQTT, MQTT_TLS, N = 19480, 29956, 18930, 18960, 3  # below the ephemeral range
ENV = dict(os.environ, MESHWORK_PASSPHRASE="mqtt-check-passphrase")
IDLE_CONNECTIONS = 10_000
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


def cli(*args, expect_ok=True):
    command = [MESHWORK, *args, "--home", HOME, "--node", f"http://127.0.0.1:{API}"]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def cli_json(*args):
    return json.loads(cli(*args, "--output", "json").stdout)


def token(key, **options):
    flags = [item for name, value in options.items() for item in (f"--{name.replace('_', '-')}", str(value))]
    return cli("device", "token", "--key", key, *flags).stdout.strip()


def check_forged_relay(A, tok_a, B, tok_b):
    """A peer of the check's own (a fresh node key, a real Noise handshake, its own relay key, not a
    validator's) sends node-0 relay frames claiming device A published on mesh/<A>/forged/cmd. B watches
    that topic on node-0: it must receive the genuine publish A makes on node-1 and none of the forged
    ones; node-0 counts them as relayDenied and sends the hostile peer no device data."""
    base = f"mesh/{A}/forged"
    node0 = get(API, "/status").get("nodeId", "")
    chain_id = json.load(open(os.path.join(HOME, "node-0", "genesis.json"))).get("chainId", "meshwork-devnet")
    watcher = Lines(["mosquitto_sub", "-h", HOST, "-p", str(MQTT), "-u", B, "-P", tok_b, "-i", "forged-watch-b",
                     "-t", f"{base}/#", "-q", "1", "-v", "-W", "60"])
    genuine = raw_ready(MQTT + 1, V311, "forged-genuine-a", A, tok_a)
    check(probe_until_received(genuine, f"{base}/genuine", [lambda: any("/genuine probe-" in line for line in watcher.lines)]),
          "B on node-0 receives A's genuine publishes on node-1 (relayed by a validator)")
    genuine.close()
    denied_before = get(API, "/gateway").get("relayDenied", 0)
    forged = subprocess.run([MESHWORK, "bench", "relay-forgery", "--p2p", f"{node0}@127.0.0.1:{P2P}",
                             "--chain-id", chain_id, "--publisher", A, "--topic", f"{base}/cmd",
                             "--payload", "open-the-valve", "--count", "20", "--seconds", "3", "--json"],
                            env=ENV, capture_output=True, text=True, timeout=60)
    report = json.loads(forged.stdout) if forged.returncode == 0 and forged.stdout.strip() else {}
    check(report.get("connected") is True and report.get("framesSent", 0) >= 20,
          f"the hostile peer connects to node-0 and sends its proof and 20 forged frames: {report or forged.stderr[-300:]}")
    time.sleep(1)
    leaked = [line for line in watcher.lines if "open-the-valve" in line]
    check(not leaked, f"no forged publish reaches B on node-0 ({len(leaked)} did)")
    check(report.get("accepted") is False and report.get("messagesReceived", 1) == 0,
          "node-0 does not accept the hostile peer's relay key and sends it no device data")
    denied_after = get(API, "/gateway").get("relayDenied", 0)
    check(denied_after - denied_before >= 20, f"GET /gateway counts the forged frames as relayDenied ({denied_before} -> {denied_after})")
    watcher.stop()


def start_devnet():
    process = subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", str(N), "--mqtt-port", str(MQTT), "--api-port", str(API),
         "--mqtt-tls-port", str(MQTT_TLS),
         "--p2p-port", str(P2P),
         # Section 6 opens 10,000 connections as device A: past its default session quota (16).
         "--set", f"mqtt.quotas.sessions={IDLE_CONNECTIONS + 1000}"],
        stdout=open(os.path.join(HOME, "devnet.log"), "w"), stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    return process


def wait_devnet():
    for index in range(N):
        wait_height(API + index, (height(API + index) or 0) + 2, seconds=90)
        if not wait_until(lambda: port_open(MQTT + index), 30):
            raise SystemExit(f"FAIL: node-{index}'s MQTT port {MQTT + index} does not accept connections")


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def stored_messages(node, client_id, topic):
    """Queue rows of one session for one topic (each points at a payload stored once)."""
    return query_gateway(node, "SELECT COUNT(*) FROM queue JOIN payloads ON payloads.id = queue.payload_id "
                               "WHERE client_id = ? AND topic = ?", (client_id, topic))


def stored_payloads(node, topic):
    """Payload rows for one topic: one per message, however many sessions wait for it."""
    return query_gateway(node, "SELECT COUNT(*) FROM payloads WHERE topic = ?", (topic,))


def query_gateway(node, sql, arguments):
    path = os.path.join(HOME, f"node-{node}", "data", "gateway.sqlite")
    try:
        database = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            return database.execute(sql, arguments).fetchone()[0]
        finally:
            database.close()
    except sqlite3.Error:
        return 0


def provenance(*args):
    """Runs `meshwork provenance ...` (no --home for prove)."""
    return subprocess.run([MESHWORK, "provenance", *args], env=ENV, capture_output=True, text=True, timeout=120)


def verify(proof_path, node=0, payload_file=None):
    extra = ["--payload-file", payload_file] if payload_file else []
    return provenance("verify", proof_path, "--home", HOME, "--node", f"http://127.0.0.1:{API + node}", *extra)


def flipped(text, index):
    """`text` with the hex or base64 character at `index` changed."""
    replacement = "0" if text[index] != "0" else "1"
    return text[:index] + replacement + text[index + 1:]


def flipped_bytes(data, index=0):
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


def check_provenance(device, device_token, base, payload):
    directory = os.path.join(HOME, "provenance")
    os.makedirs(directory, exist_ok=True)
    payload_file = os.path.join(directory, "payload.txt")
    with open(payload_file, "wb") as handle:
        handle.write(payload.encode())
    proof_path = os.path.join(directory, "proof.json")
    done = provenance("prove", "--node", f"http://127.0.0.1:{API}", "--device", device, "--topic", f"{base}/data",
                      "--payload-file", payload_file, "-o", proof_path)
    check(done.returncode == 0 and os.path.exists(proof_path),
          f"provenance prove of the cross-node payload on node-0 writes a proof: rc {done.returncode} "
          f"{done.stderr.strip()}")
    if done.returncode != 0:
        return
    proof = json.load(open(proof_path))
    check(proof["device"] == device and proof["topic"] == f"{base}/data" and not proof["deviceSigned"]
          and proof["anchoredAt"] > proof["batch"],
          f"the proof names device A, the topic, batch {proof['batch']} (record {proof['leafIndex'] + 1} of "
          f"{proof['treeSize']}), anchored in block {proof['anchoredAt']}")
    for node in (0, 2):
        done = verify(proof_path, node)
        check(done.returncode == 0 and "VERIFIED" in done.stdout and "validator node" in done.stdout,
              f"provenance verify against node-{node} passes: {(done.stdout + done.stderr).strip()}")
    done = verify(proof_path, 1, payload_file)
    check(done.returncode == 0, f"verify with --payload-file (the original) passes: {done.stderr.strip()}")
    changed_file = os.path.join(directory, "payload-changed.txt")
    with open(changed_file, "wb") as handle:
        handle.write(flipped_bytes(payload.encode()))
    done = verify(proof_path, 1, changed_file)
    check(done.returncode != 0 and "NOT VERIFIED" in done.stderr,
          f"one byte changed in the payload file: verification fails ({done.stderr.strip()})")
    tampered = {
        "payload": lambda p: dict(p, payload=base64.b64encode(flipped_bytes(base64.b64decode(p["payload"]))).decode()),
        "record": lambda p: dict(p, record=flipped(p["record"], len(p["record"]) // 2)),
        "root": lambda p: dict(p, root=flipped(p["root"], 5)),
        "leafIndex": lambda p: dict(p, leafIndex=p["leafIndex"] + 1),
        "treeSize": lambda p: dict(p, treeSize=p["treeSize"] + 1),
        "batch": lambda p: dict(p, batch=p["batch"] + 1),
        "payloadHash": lambda p: dict(p, payloadHash=flipped(p["payloadHash"], 0)),
    }
    if proof["path"]:
        tampered["path"] = lambda p: dict(p, path=[flipped(p["path"][0], 7)] + p["path"][1:])
    for name, change in tampered.items():
        path = os.path.join(directory, f"proof-{name}.json")
        json.dump(change(proof), open(path, "w"))
        done = verify(path, 1)
        check(done.returncode != 0 and "NOT VERIFIED" in done.stderr,
              f"proof with {name} changed by one byte: verification fails ({done.stderr.strip()[:160]})")

    # A self-consistent forgery: another payload hash in a one-record tree of its own. Only the chain's
    # anchor tells it apart.
    record = bytearray(bytes.fromhex(proof["record"]))
    forged_hash = hashlib.sha256(b"a payload never published").digest()
    start = record.index(bytes.fromhex(proof["payloadHash"]))
    record[start:start + 32] = forged_hash
    forgery = dict(proof, record=record.hex(), payloadHash=forged_hash.hex(), leafIndex=0, treeSize=1, path=[],
                   root=hashlib.sha256(b"\x00" + bytes(record)).hexdigest(), payload=None)
    path = os.path.join(directory, "proof-forged.json")
    json.dump(forgery, open(path, "w"))
    done = verify(path, 1)
    check(done.returncode != 0 and "chain's anchor" in done.stderr,
          f"a self-consistent forged record and root fail against the chain's anchor: {done.stderr.strip()[:200]}")

    # A device-signed envelope: published with mosquitto_pub -f on node-1, proven there, verified.
    topic = f"{base}/signed"
    inner = os.path.join(directory, "reading.json")
    with open(inner, "wb") as handle:
        handle.write(json.dumps({"t": 21.5, "nonce": secrets.token_hex(4)}).encode())
    envelope = os.path.join(directory, "reading.mwe")
    done = subprocess.run([MESHWORK, "device", "envelope", "--home", HOME, "--key", "dev-a", "--topic", topic,
                           "--payload-file", inner, "-o", envelope], env=ENV, capture_output=True, text=True)
    check(done.returncode == 0, f"device envelope seals the reading with dev-a's key: {done.stderr.strip()}")
    done = subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(MQTT + 1), "-u", device, "-P", device_token,
                           "-t", topic, "-f", envelope, "-q", "1"], capture_output=True, text=True, timeout=20)
    check(done.returncode == 0, f"mosquitto_pub -f of a device envelope on node-1 succeeds: {done.stderr.strip()}")
    signed_proof = os.path.join(directory, "proof-signed.json")
    done = provenance("prove", "--node", f"http://127.0.0.1:{API + 1}", "--device", device, "--topic", topic,
                      "--payload-file", inner, "-o", signed_proof)
    check(done.returncode == 0 and json.load(open(signed_proof))["deviceSigned"],
          f"provenance prove of the inner payload on node-1 gives a device-signed proof: {done.stderr.strip()}")
    done = verify(signed_proof, 0)
    check(done.returncode == 0 and "device-signed" in done.stdout,
          f"verify of the device-signed proof passes: {(done.stdout + done.stderr).strip()}")
    done = verify(signed_proof, 0, envelope)
    check(done.returncode == 0, f"verify with the envelope file as --payload-file passes: {done.stderr.strip()}")
    signed = json.load(open(signed_proof))
    record = bytes.fromhex(signed["record"])
    forged_path = os.path.join(directory, "proof-signature.json")
    json.dump(dict(signed, record=flipped_bytes(record, -10).hex()), open(forged_path, "w"))  # in the signature
    done = verify(forged_path, 0)
    check(done.returncode != 0 and "NOT VERIFIED" in done.stderr,
          f"a proof whose device signature is changed fails: {done.stderr.strip()[:160]}")

    # Envelope claims that do not hold are refused (MQTT 5: PUBACK 0x99), and nothing is recorded.
    client = raw_ready(MQTT + 1, V5, "envelope-bad", device, device_token)
    sealed = open(envelope, "rb").read()
    check(raw_publish(client, V5, topic, flipped_bytes(sealed, -1), 71) == 0x99,
          "an envelope whose payload was changed after sealing is refused with PUBACK 0x99")
    check(raw_publish(client, V5, f"{base}/other", sealed, 72) == 0x99,
          "an envelope sealed for another topic is refused with PUBACK 0x99")
    check(raw_publish(client, V5, topic, b"MWE1short", 73) == 0x99,
          "a truncated envelope (MWE1 and 5 bytes) is refused with PUBACK 0x99")
    client.close()


def check_tls(device, device_token, subscriber, subscriber_token, base):
    cafile = lambda node: os.path.join(HOME, f"node-{node}", "mqtt-tls.crt")
    check(all(port_open(MQTT_TLS + node) for node in range(N)) and all(os.path.exists(cafile(n)) for n in range(N)),
          f"every node listens for MQTT over TLS on {MQTT_TLS}..{MQTT_TLS + N - 1} with a self-signed certificate")
    topic = f"{base}/tls"
    sub = Lines(["mosquitto_sub", "-h", HOST, "-p", str(MQTT_TLS + 2), "--cafile", cafile(2), "-u", subscriber,
                 "-P", subscriber_token, "-i", "tls-sub-b", "-t", f"{topic}/#", "-q", "1", "-v", "-W", "60"])
    payload = f"over TLS {secrets.token_hex(4)}"

    def publish_tls(message, node=0, extra=()):
        return subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(MQTT_TLS + node), "-u", device, "-P",
                               device_token, "-t", f"{topic}/data", "-m", message, "-q", "1", *extra],
                              capture_output=True, text=True, timeout=20)
    # The subscription reaches node-0 through the relay's filter announcements: publish until it arrives.
    received = False
    for attempt in range(20):
        done = publish_tls(f"{payload} #{attempt}", extra=("--cafile", cafile(0)))
        if wait_until(lambda: any(line.startswith(f"{topic}/data {payload}") for line in sub.lines), 1):
            received = True
            break
    check(done.returncode == 0 and received,
          f"mosquitto_pub over TLS (--cafile node-0's certificate) on node-0 reaches mosquitto_sub over TLS on "
          f"node-2: rc {done.returncode} {done.stderr.strip()}")
    sub.stop()
    done = publish_tls("plain MQTT on the TLS port")
    check(done.returncode != 0, f"plain MQTT to the TLS port fails: rc {done.returncode} {done.stderr.strip()}")
    done = publish_tls("untrusted", extra=("--cafile", "/etc/ssl/certs/ca-certificates.crt"))
    check(done.returncode != 0, f"a client that does not trust the node's certificate fails: {done.stderr.strip()}")
    closed = False
    with socket.create_connection((HOST, MQTT_TLS + 1), timeout=12) as garbage:
        garbage.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(64))
        try:
            while garbage.recv(4096):  # a TLS alert, then the close
                pass
            closed = True
        except (TimeoutError, socket.timeout):
            closed = False
        except ConnectionResetError:
            closed = True
    done = publish_tls(f"{payload} after garbage", node=1, extra=("--cafile", cafile(1)))
    check(closed and done.returncode == 0,
          f"a garbage TLS handshake is closed ({closed}) and node-1 still serves TLS (rc {done.returncode})")


devnet = start_devnet()
restarted = None
try:
    wait_devnet()
    log(f"devnet of {N} validators in {HOME}; MQTT on {MQTT}..{MQTT + N - 1}")
    dids = {name: cli_json("device", "register", "--controller", "owner", "--name", name,
                           "--insecure-plaintext")["did"] for name in ("dev-a", "dev-b", "dev-r", "dev-x")}
    A, B, R, X = (dids[name] for name in ("dev-a", "dev-b", "dev-r", "dev-x"))
    cli_json("policy", "grant", "--from", "owner", "--subject", B, "--action", "mqtt.subscribe",
             "--resource", f"mesh/{A}/#")
    tok_a, tok_b, tok_r, tok_x = (token(name) for name in ("dev-a", "dev-b", "dev-r", "dev-x"))
    wait_height(API + 2, height(API) or 0)
    log(f"devices A={A} B={B} R={R} X={X}; B may subscribe to mesh/{A}/#")

    # ---- 1. cross-node relay ----
    base = f"mesh/{A}/cross"
    sub = Lines(["mosquitto_sub", "-h", HOST, "-p", str(MQTT + 2), "-u", B, "-P", tok_b, "-i", "cross-sub-b",
                 "-t", f"{base}/#", "-q", "1", "-v", "-W", "60"])
    paho_sub = Paho(MQTT + 1, "cross-paho-b", B, tok_b, V5)
    check(paho_sub.ready() and paho_sub.subscribe(f"{base}/#") == [1],
          f"paho (MQTT 5) device B on node-1 connects and is granted QoS 1 on {base}/# (SUBACK {paho_sub.granted})")
    publisher0 = raw_ready(MQTT, V311, "cross-probe-a", A, tok_a)
    check(probe_until_received(publisher0, f"{base}/probe",
                               [lambda: any("/probe probe-" in line for line in sub.lines),
                                lambda: paho_sub.messages]),
          "probes published on node-0 reach both subscribers (subscriptions announced to node-0)")
    payload = f"cross-node ✓ {secrets.token_hex(8)}"
    done = mosquitto_pub(MQTT, A, tok_a, f"{base}/data", payload)
    check(done.returncode == 0 and not done.stderr.strip(),
          f"mosquitto_pub on node-0 (QoS 1) succeeds: rc {done.returncode} {done.stderr.strip()}")
    check(wait_until(lambda: f"{base}/data {payload}" in sub.lines, 10),
          f"mosquitto_sub (device B) on node-2 receives the exact payload {payload!r}")
    check(wait_until(lambda: (f"{base}/data", payload.encode()) in paho_sub.messages, 10),
          "paho MQTT 5 subscriber (device B) on node-1 receives the exact payload")
    sub.stop()
    paho_sub.stop()
    publisher0.close()

    only = os.environ.get("MQTT_CHECK_ONLY")
    if only != "mqtt5":
        # ---- 1b. a hostile P2P peer relays publishes "from" device A to node-0 ----
        check_forged_relay(A, tok_a, B, tok_b)

        # ---- 7. provenance: prove and verify what A published ----
        check_provenance(A, tok_a, base, payload)

        # ---- 8. MQTT over TLS ----
        check_tls(A, tok_a, B, tok_b, base)

    # ---- 9. MQTT 5 ----
    mqtt5_check.run(SimpleNamespace(mqtt=MQTT, A=A, B=B, tok_a=tok_a, tok_b=tok_b, check=check, log=log))
    if only in ("provenance", "mqtt5"):
        raise KeyboardInterrupt  # a quick run of sections 1, 7, 8 and 9, or 1 and 9 (for development)

    # ---- 2. persistent sessions across a SIGKILL of node-2 ----
    ptopic = f"mesh/{A}/persist"
    sessions = {"persist-v4": dict(version=V311), "persist-v5": dict(version=V5, session_expiry=3600)}
    subscribers = {}
    for client_id, options in sessions.items():
        # 3.1.1: clean session 0 from the start; 5.0: a clean start with a session expiry
        subscribers[client_id] = Paho(MQTT + 2, client_id, A, tok_a, clean=options["version"] == V5, **options)
        check(subscribers[client_id].ready() and subscribers[client_id].subscribe(f"{ptopic}/#") == [1],
              f"{client_id} connects to node-2 (persistent session) and subscribes at QoS 1")
    publisher0 = raw_ready(MQTT, V311, "persist-pub-0", A, tok_a)
    check(probe_until_received(publisher0, f"{ptopic}/probe",
                               [lambda s=s: s.messages for s in subscribers.values()]),
          "node-0 relays to the persistent subscribers on node-2")
    for subscriber in subscribers.values():
        subscriber.stop()
    time.sleep(0.3)
    expected = [f"relayed-{i}" for i in range(1, 6)] + [f"direct-{i}" for i in range(1, 6)]
    acks = [raw_publish(publisher0, V311, f"{ptopic}/relayed", f"relayed-{i}", 100 + i) for i in range(1, 6)]
    check(acks == [0] * 5, f"5 QoS 1 publishes on node-0 for the offline sessions are acknowledged ({acks})")
    relayed = f"{ptopic}/relayed"
    check(wait_until(lambda: all(stored_messages(2, c, relayed) == 5 for c in sessions), 10),
          "the 5 relayed messages are stored for both offline sessions in node-2's gateway.sqlite "
          f"({ {c: stored_messages(2, c, relayed) for c in sessions} })")
    check(stored_payloads(2, relayed) == 5,
          f"... as one stored payload per message, not one per session ({stored_payloads(2, relayed)} payload rows)")
    publisher2 = raw_ready(MQTT + 2, V311, "persist-pub-2", A, tok_a)
    acks = [raw_publish(publisher2, V311, f"{ptopic}/direct", f"direct-{i}", 200 + i) for i in range(1, 6)]
    check(acks == [0] * 5, f"5 QoS 1 publishes on node-2 itself for the offline sessions are acknowledged ({acks})")
    pid2 = node_pid(os.path.join(HOME, "node-2"))
    if pid2 is None:
        raise SystemExit("FAIL: no `node start` process for node-2")
    os.kill(pid2, signal.SIGKILL)
    publisher2.close()
    check(wait_until(lambda: not alive(pid2), 5), f"node-2 (pid {pid2}) killed with SIGKILL right after the PUBACKs")
    restarted = subprocess.Popen([MESHWORK, "node", "start", "--home", os.path.join(HOME, "node-2")],
                                 stdout=open(os.path.join(HOME, "node-2", "node.log"), "a"),
                                 stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    wait_height(API + 2, (height(API) or 0) + 1, seconds=60)
    if not wait_until(lambda: port_open(MQTT + 2), 30):
        raise SystemExit("FAIL: node-2's MQTT port does not accept connections after the restart")
    log(f"node-2 restarted (pid {restarted.pid}) at height {height(API + 2)}")
    for client_id, options in sessions.items():
        resumed = Paho(MQTT + 2, client_id, A, tok_a, clean=False, **options)
        check(resumed.ready() and resumed.session_present,
              f"{client_id} reconnects with clean=0: CONNACK {resumed.connack}, "
              f"session present {resumed.session_present}")
        wait_until(lambda: len(resumed.messages) >= len(expected), 15)
        time.sleep(0.5)
        got = [payload.decode() for topic, payload in resumed.messages if topic.endswith(("/relayed", "/direct"))]
        in_order = [payload for index, payload in enumerate(got) if payload not in got[:index]]
        check(in_order == expected,
              f"{client_id} receives the 5 relayed and 5 direct messages in order after the restart: {got}")
        subscribers[client_id] = resumed
    check(probe_until_received(publisher0, f"{ptopic}/after",
                               [lambda s=s: any(t.endswith("/after") for t, _ in s.messages)
                                for s in subscribers.values()]),
          "after the restart a publish on node-0 still reaches the resumed sessions on node-2")
    for subscriber in subscribers.values():
        subscriber.stop()
    publisher0.close()

    # ---- 3. refusals ----
    port = MQTT + 1
    expired = token("dev-a", ttl="1h", issued_at=int(time.time()) - 7200)
    for what, did, password, v4, v5 in [("no password", A, None, 4, 0x86),
                                        ("a garbage password", A, "garbage", 4, 0x86),
                                        ("an expired token (issued 2 h ago, ttl 1h)", A, expired, 4, 0x86),
                                        ("A's token with user name B", B, tok_a, 4, 0x86)]:
        for version, code_expected in ((V311, v4), (V5, v5)):
            client, code = try_connect(port, version, f"refused-{version}", did, password)
            closed, _ = client.wait_closed(3)
            client.close()
            check(code == code_expected and closed,
                  f"CONNECT v{version} with {what}: CONNACK {code!r} (want {code_expected:#04x}), closed={closed}")
    done = mosquitto_pub(port, A, None, f"mesh/{A}/x", "x")
    check(done.returncode != 0 and "bad user name or password" in done.stderr.lower(),
          f"mosquitto_pub without a password is refused: rc {done.returncode} {done.stderr.strip()!r}")
    done = mosquitto_pub(port, A, expired, f"mesh/{A}/x", "x", version="mqttv5")
    check(done.returncode != 0 and "bad user name or password" in done.stderr.lower(),
          f"mosquitto_pub (MQTT 5) with an expired token is refused: rc {done.returncode} {done.stderr.strip()!r}")

    live = {version: raw_ready(port, version, f"rot-live-{version}", R, tok_r) for version in (V311, V5)}
    rotated = cli_json("device", "rotate-key", R, "--controller", "owner", "--insecure-plaintext")
    log(f"rotated R's key at height {rotated['height']}: new key {rotated['keyName']}")
    for version, client in live.items():
        ok, detail = closed_as_expected(client, version, 0x87, seconds=5)
        at = height(API + 1)
        check(ok and at is not None and at <= rotated["height"] + 2,
              f"the live v{version} connection of R's old key is dropped by node-1's height {at} ({detail})")
    for version, code_expected in ((V311, 4), (V5, 0x86)):
        client, code = try_connect(port, version, f"rot-old-{version}", R, tok_r)
        client.close()
        check(code == code_expected, f"CONNECT v{version} with the rotated-out key's token: CONNACK {code!r}")
    tok_r2 = token(rotated["keyName"])
    for version in (V311, V5):
        client, code = try_connect(port, version, f"rot-new-{version}", R, tok_r2)
        client.close()
        check(code == 0, f"CONNECT v{version} with the new key's token is accepted: CONNACK {code!r}")

    outside = f"mesh/{B}/inbox/x"
    client = raw_ready(port, V311, "deny-4", A, tok_a)
    client.send(publish(V311, outside, "x", qos=1, packet_id=7))
    ok, detail = closed_as_expected(client, V311, None)
    check(ok, f"v3.1.1 QoS 1 publish on {outside} (no grant) closes the connection ({detail})")
    client = raw_ready(port, V5, "deny-5", A, tok_a)
    code = raw_publish(client, V5, outside, "x", 7)
    client.send(packet(0xC0, b""))
    check(code == 0x87 and client.read_packet(5) == (0xD0, b""),
          f"v5 QoS 1 publish on {outside} gets PUBACK {code!r} (want 0x87) and the connection stays open")
    client4 = raw_ready(port, V311, "deny-sub-4", A, tok_a)
    for version, subscriber, code_expected in ((V311, client4, 0x80), (V5, client, 0x87)):
        code = raw_subscribe(subscriber, version, f"mesh/{B}/#")
        subscriber.close()
        check(code == code_expected, f"v{version} SUBSCRIBE to mesh/{B}/# (no grant): SUBACK {code!r}")
    done = mosquitto_pub(port, A, tok_a, outside, "x", version="mqttv5")
    check("not authorized" in done.stderr.lower(),
          f"mosquitto_pub -V mqttv5 -q 1 outside the grants: {done.stderr.strip()!r}")
    done = mosquitto_pub(port, A, tok_a, outside, "x")
    check(done.returncode != 0 and "connection was lost" in done.stderr.lower(),
          f"mosquitto_pub 3.1.1 -q 1 outside the grants: rc {done.returncode} {done.stderr.strip()!r}")

    granted = cli_json("policy", "grant", "--from", "owner", "--subject", A, "--action", "mqtt.publish",
                       "--resource", f"mesh/{B}/inbox/#")
    client = raw_ready(port, V5, "grant-5", A, tok_a)
    codes = []
    check(wait_until(lambda: codes.append(raw_publish(client, V5, outside, "granted", 10 + len(codes)))
                     or codes[-1] == 0, 5),
          f"after `policy grant mqtt.publish mesh/{B}/inbox/#` (height {granted['height']}) A's v5 publish there is "
          f"acknowledged with 0 (PUBACKs {codes})")
    done = mosquitto_pub(port, A, tok_a, outside, "granted")
    check(done.returncode == 0 and not done.stderr.strip(),
          f"... and mosquitto_pub 3.1.1 works: {done.stderr.strip()!r}")
    revoked = cli_json("policy", "revoke", str(granted["id"]), "--from", "owner")
    revoked_height = int(revoked["revokedHeight"])
    codes, refused_at = [], None
    if wait_until(lambda: codes.append(raw_publish(client, V5, outside, "revoked", 100 + len(codes) % 1000))
                  or codes[-1] == 0x87, 5):
        refused_at = height(API + 1)
    check(refused_at is not None and refused_at <= revoked_height + 2,
          f"after `policy revoke` (height {revoked_height}) the same connection's publish is refused with 0x87 "
          f"at height {refused_at} (last PUBACKs {codes[-3:]})")
    client.close()

    live = {version: raw_ready(port, version, f"revoke-live-{version}", X, tok_x) for version in (V311, V5)}
    deactivated = cli_json("device", "revoke", X, "--controller", "owner")
    log(f"device X revoked at height {deactivated['height']}")
    for version, client in live.items():
        ok, detail = closed_as_expected(client, version, 0x87, seconds=5)
        at = height(API + 1)
        check(ok and at is not None and at <= deactivated["height"] + 2,
              f"the live v{version} connection of the revoked device is dropped by node-1's height {at} ({detail})")
    for version, code_expected in ((V311, 5), (V5, 0x87)):
        client, code = try_connect(port, version, f"revoked-{version}", X, tok_x)
        client.close()
        check(code == code_expected,
              f"CONNECT v{version} of the revoked device: CONNACK {code!r} (want {code_expected:#04x})")

    # ---- 5 (started first, it runs meanwhile). slowloris ----
    port = MQTT + 1
    pid1 = node_pid(os.path.join(HOME, "node-1"))
    whole = connect(V311, "slowloris", A, tok_a)
    slow = {"3 bytes of a CONNECT": Slowloris(port, whole[:3]),
            f"a {len(whole)}-byte CONNECT trickled at 1 byte/s": Slowloris(port, whole[:-1], trickle=True)}
    normal = raw_ready(port, V311, "slow-normal", A, tok_a)
    raw_subscribe(normal, V311, f"mesh/{A}/slow/#")
    done = mosquitto_pub(port, A, tok_a, f"mesh/{A}/slow/x", "during-slowloris")
    frame = normal.read_packet(5) if done.returncode == 0 else None
    check(all(loris.thread.is_alive() for loris in slow.values()) and frame is not None
          and frame[1].endswith(b"during-slowloris"),
          "with the slowloris sockets open, a normal publish/subscribe on node-1 works")
    normal.close()

    # ---- 4. bad input ----
    whole = publish(V311, f"mesh/{A}/t", "0123456789", qos=1, packet_id=1)
    after_connect = [
        ("a PUBLISH whose topic length runs past the packet end", lambda v: packet(0x30, b"\x00\x0amesh"), 0x81),
        ("a remaining length of 5 bytes", lambda v: b"\x30\xff\xff\xff\xff\x7f", 0x81),
        ("a PUBLISH topic that is not UTF-8", lambda v: publish(v, b"mesh/\xff\xfe/x", "x"), 0x81),
        ("a PUBLISH topic with +", lambda v: publish(v, f"mesh/{A}/+/x", "x"), 0x90),
        ("a PUBLISH topic with #", lambda v: publish(v, f"mesh/{A}/#", "x"), 0x90),
        ("a PUBLISH with QoS 3", lambda v: publish(v, f"mesh/{A}/x", "x", qos=1, flags=0x06), 0x81),
        ("a SUBSCRIBE with flags 0", lambda v: subscribe(v, 1, f"mesh/{A}/#", flags=0), 0x81),
        ("a PUBREL with flags 0", lambda v: pubrel(1, flags=0), 0x81),
        ("a 2 MiB PUBLISH header (limit 1 MiB)", lambda v: b"\x30" + varint(2 << 20), 0x95),
        ("a second CONNECT", lambda v: connect(v, "second", A, tok_a), 0x82),
        ("half a PUBLISH, then EOF", lambda v: whole[:8], None),
    ]
    for what, make, reason in after_connect:
        for version in (V311, V5):
            client = raw_ready(port, version, f"bad-{version}", A, tok_a)
            data = make(version)
            client.send(data)
            if what.endswith("EOF"):
                client.sock.shutdown(socket.SHUT_WR)
            ok, detail = closed_as_expected(client, version, reason)
            want = "close" if version == V311 else f"DISCONNECT {reason:#04x} + close" if reason else "close"
            check(ok and alive(pid1), f"after CONNECT v{version}, {what} [{hexdump(data, 12)}]: want {want}; {detail}")
    for version in (V311, V5):
        client = raw_ready(port, version, f"big-{version}", A, tok_a)
        client.send(publish_of_size(version, f"mesh/{A}/big", 1 << 20, packet_id=1))
        try:
            code = ack_code(client.read_packet(10), 4, 1)
        except TimeoutError:
            code = "no PUBACK within 10s"
        check(code == 0, f"after CONNECT v{version}, a PUBLISH of exactly 1 MiB (1048576 bytes) is accepted: "
                         f"PUBACK {code!r}")
        header = publish_of_size(version, f"mesh/{A}/big", (1 << 20) + 1, packet_id=2)[:8]
        client.send(header)
        ok, detail = closed_as_expected(client, version, 0x95)
        check(ok, f"... then the first bytes [{hexdump(header)}] of a 1048577-byte PUBLISH close it; {detail}")
    before_connect = [
        ("CONNECT with protocol level 3", connect(V311, "level3", A, tok_a, level=3), [b"\x20\x02\x00\x01"]),
        ("PINGREQ as the first packet", b"\xc0\x00", []),
        ("PUBLISH as the first packet", publish(V311, f"mesh/{A}/x", "x"), []),
        ("a 20000-byte CONNECT header (limit 16 KiB)", b"\x10" + varint(20000), []),
        ("a remaining length of 5 bytes", b"\x10\xff\xff\xff\xff\x7f", []),
        ("half a CONNECT, then EOF", connect(V311, "half", A, tok_a)[:20], []),
    ]
    for what, data, answer in before_connect:
        client = Raw(port)
        client.send(data)
        if what.endswith("EOF"):
            client.sock.shutdown(socket.SHUT_WR)
        closed, _ = client.wait_closed(5)
        client.close()
        check(closed and client.received == answer and alive(pid1),
              f"before CONNECT, {what} [{hexdump(data, 12)}]: "
              f"want {[a.hex(' ') for a in answer] or 'nothing'} + close; "
              f"closed={closed}, received {[hexdump(p) for p in client.received] or 'nothing'}")
    done = mosquitto_pub(port, A, tok_a, f"mesh/{A}/after-bad-input", "still here")
    check(alive(pid1) and node_pid(os.path.join(HOME, "node-1")) == pid1 and done.returncode == 0,
          f"node-1 (pid {pid1}) is still running and serves mosquitto_pub after the bad input "
          f"(rc {done.returncode} {done.stderr.strip()})")

    for what, loris in slow.items():
        loris.thread.join(25)
        after = loris.closed_after
        check(after is not None and 9.0 <= after <= 12.5 and not loris.answer,
              f"slowloris ({what}) is closed after {after and round(after, 1)}s (want 10-12 s), "
              f"receiving {loris.answer!r}")

    # ---- 6. 10,000 idle connections ----
    pid0 = node_pid(os.path.join(HOME, "node-0"))
    limit = open_files_limit(pid0)
    log(f"open-file limit: script {resource.getrlimit(resource.RLIMIT_NOFILE)}, node-0 {limit}")
    if not check(limit >= 20_000, f"node-0 inherits an open-file limit >= 20000 ({limit})"):
        raise SystemExit("FAIL: the 10,000-connection test needs a hard open-file limit (ulimit -Hn) >= 20000")
    rss_before = rss_kib(pid0)
    began = time.time()
    kept, outcomes = open_idle_connections(MQTT, IDLE_CONNECTIONS, A, tok_a)
    took = time.time() - began
    time.sleep(1)
    rss_after = rss_kib(pid0)
    poller = select.poll()
    for sock in kept:
        poller.register(sock, select.POLLIN)
    node_files = len(os.listdir(f"/proc/{pid0}/fd"))
    ended = len(poller.poll(0))
    check(outcomes == {"CONNACK 0": IDLE_CONNECTIONS},
          f"{IDLE_CONNECTIONS} MQTT 3.1.1 connections to node-0 in {took:.1f}s: {outcomes}")
    check(ended == 0 and node_files >= IDLE_CONNECTIONS,
          f"a second later all are still open: {ended} ended or sent something, node-0 holds {node_files} files")
    per = (rss_after - rss_before) / max(1, len(kept))
    log(f"BENCH: node-0 RSS {rss_before} KiB -> {rss_after} KiB with {len(kept)} idle connections: "
        f"{per:.1f} KiB per connection")
    check(per <= 64, f"RSS per idle connection {per:.1f} KiB <= 64 KiB")
    client = raw_ready(MQTT, V311, "idle-sub", A, tok_a)
    raw_subscribe(client, V311, f"mesh/{A}/idle/#")
    done = mosquitto_pub(MQTT, A, tok_a, f"mesh/{A}/idle/x", "with-10k-open")
    try:
        frame = client.read_packet(5)
    except TimeoutError:
        frame = None
    check(done.returncode == 0 and frame is not None and frame[1].endswith(b"with-10k-open"),
          f"with {len(kept)} idle connections open, publish/subscribe on node-0 works (rc {done.returncode})")
    client.close()
    for sock in kept:
        sock.close()
    time.sleep(2)
    client, code = try_connect(MQTT, V311, "after-idle", A, tok_a)
    client.close()
    check(alive(pid0) and height(API) is not None and code == 0,
          f"node-0 is alive after the {len(kept)} connections closed (CONNACK {code!r}, height {height(API)})")
except KeyboardInterrupt:
    log("stopped early (MQTT_CHECK_ONLY or Ctrl-C)")
finally:
    for thing in STARTED:
        thing.stop()
    if restarted is not None and restarted.poll() is None:
        restarted.terminate()
        try:
            restarted.wait(30)
        except subprocess.TimeoutExpired:
            restarted.kill()
    stop(devnet)
    for index in range(N):
        leftover = node_pid(os.path.join(HOME, f"node-{index}"))
        if leftover:
            os.kill(leftover, signal.SIGKILL)

if failures:
    for index in range(N):
        print(f"--- last gateway lines of node-{index}:")
        print("\n".join(gateway_log_tail(os.path.join(HOME, f"node-{index}", "node.log"))))
    print(f"mqtt check: {len(failures)} failure(s); logs in {HOME}")
    sys.exit(1)
print("mqtt check: all passed")
