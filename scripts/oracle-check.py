#!/usr/bin/env python3
"""Data feeds and verifiable credentials end to end (issue 22 acceptance), on a devnet of 1 validator.

Identities: `owner` (the devnet's funded key) registers six devices (did:mesh, `device register`, each key in
the keystore): five sensors s1…s5 (s5 is the liar) and an intruder, registered but no reporter of any feed. Every MQTT
session authenticates as a did:mesh with a device token (`device token`). Python signs the observations with
each device's key (its seed from `keys export`; pyca/cryptography Ed25519, an implementation independent of the
node's), written from the description of the format: signed bytes string(chainId) ‖ string(feed) ‖
DID(reporter) ‖ zigzag(value) ‖ varint(timeMs) under varint(23) ‖ "meshwork/observation/v1"; canonical bytes
string(feed) ‖ zigzag(value) ‖ varint(timeMs) ‖ DID(reporter) ‖ key(32) ‖ signature(64); DID = 0x01 ‖ 16 bytes
for did:mesh, 0x00 ‖ key(32) for did:key; text `mwo1.` + base64url without padding.

1. The owner creates feed hall.temp (degC, 2 decimals, the five sensors listed, minReporters 3, band 50,000 ppm)
   and hall.humidity (s1 its only reporter); `oracle observe` (the CLI) reports for s1…s4: those observations,
   read back from the node's committed oracle.report transactions, verify in Python, and Python signs the same
   bytes; they make the first round.
2. Five paho-mqtt MQTT 5 sensors publish signed observations to $mesh/oracle/hall.temp at QoS 1 once a second
   for WAVES seconds: s1…s4 honest (2140…2160, i.e. 21.40…21.60 degC), s5 a liar (9850…9950). Every publish gets
   PUBACK 0. A poller reads GET /oracle/feeds/hall.temp every 20 ms: observation-to-usable-value latency is the
   publish time to the time the round holding the observation first shows in the API (p50/p99 printed).
3. Meanwhile bad input over MQTT 5 from other sessions, each refused with its reason code (and, for 0x87, the
   reason in the gateway's log): an observation of a device not listed (0x87), of hall.temp on hall.humidity's
   topic and on malformed topics (0x90), for a feed that does not exist (0x87), the same bytes again (0x87), an
   older time (0x87), 5 minutes ahead and behind (0x87), a reporter that is not the connected device (0x87), a
   bad signature, another chain, a key that is not the reporter's (0x87), malformed payloads (0x99, counted in
   protocolErrors); an MQTT 3.1.1 session publishing a replay is disconnected. One observation in binary (not
   text) form is taken.
4. The ledger's side, recomputed in Python from the blocks: every observation in a committed oracle.report is one
   the gateway took with PUBACK 0 (none of the refused ones), each tx's event says all accepted, none skipped;
   the rounds (median, q1, q3, confidence, reporters, misses, height, time) recomputed from those observations
   with the ledger's rules (pending per reporter, 30 s freshness, threshold, band) equal GET
   /oracle/feeds/hall.temp?history=100 exactly; every median is within 5 % of the honest values, the confidence
   of every round is at most half the honest spread (nearest-rank quartiles v[⌈n/4⌉−1], v[⌈3n/4⌉−1]: one liar
   among 4 or 5 is never a quartile); the liar misses every round it is in (misses 1, 0 otherwise); GET /reputation/{did} equals the recomputed evidence: the liar's
   oracleOutOfBand grew between mid-run and the end and its score fell below every honest sensor's, which rose
   above 500; the intruder has no evidence. GET /gateway `observations` counts exactly the observations taken
   (and /metrics, when the binary exports meshwork_mqtt_observations). `oracle show`, `oracle list` and
   `reputation show` agree with the API; GET /reputation/{did}?prove=true carries a proof whose entry is the
   canonical Reputation bytes (encoded here) and whose header is block height+1's.
6. Credentials (VC 2.0 as VC-JWT, EdDSA; written here from VC-JOSE-COSE, RFC 7515/8037 and Bitstring Status
   List v1.0, and checked against jwcrypto, an independent JOSE on pyca/cryptography):
   - `reputation credential` for s1 and for the liar (issuer owner, a did:key): `vc verify --offline` passes for
     both with the light client from the devnet's genesis file, the proven height it prints is the claims'
     height, the claims equal GET /reputation, and the honest score is above the liar's.
   - 20 single changed characters spread over the honest credential's header, payload (inside the embedded
     proof too) and signature each make `vc verify --offline` exit 1 with a vc/ code; re-signed tampering fails
     as well: a forged score under another key keeping the issuer (vc/5), a forged score or height under the
     forger's own did:key or under the issuer's own key, a changed proof entry (the proof disagrees or does not
     verify); the appHash and chainId claims must be the proven header's. Control: Python's sorted compact
     JSON signed with the owner's seed (`keys export`) is the CLI's JWS byte for byte.
   - `vc issue` a CalibrationCertificate (claims file, --valid-for 1d): `vc status` not revoked, `vc verify`
     online valid; `vc revoke` commits at height h; then `vc status` says REVOKED at height h or h+1 and `vc
     verify` fails with vc/9, while another credential of the same issuer still verifies.
   - jwcrypto verifies that credential with the owner's public key (`keys show`) as an OKP Ed25519 JWK; header
     and payload are VC 2.0 as described; a VC-JWT jwcrypto signs (a Python key's did:key issuer, non-ASCII escaped)
     verifies with `meshwork vc verify`; GET /vc/status/<owner>'s encodedList decodes with Python's base64url +
     gzip to 131,072 bits, exactly the revoked index set.
   - `vc verify` refuses, each with its code: a changed signature (vc/5), a credential signed by a key that is
     not the issuer's (`vc issue --issuer s1 --as <owner>`, vc/5), an expired one (--valid-for 1s, 2 s later:
     vc/7), a malformed JSON payload (vc/1), a status entry pointing at a list this ledger does not hold
     (signed in Python with the owner's seed: vc/10).

usage: python3 scripts/oracle-check.py path/to/meshwork
"""
import base64, gzip, json, os, random, re, signal, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
try:
    from jwcrypto import jwk as jose_jwk, jwt as jose_jwt  # an independent JOSE (VC-JWT interop, section 6)
except ImportError:
    raise SystemExit("oracle-check needs jwcrypto: python3 -m pip install jwcrypto")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
from mqtt_check_support import (  # noqa: E402
    HOST, STARTED, V311, V5, closed_as_expected, gateway_log_tail, node_pid, port_open, raw_publish, raw_ready,
    wait_until)
from mqtt_check_support import publish as mqtt_packet  # noqa: E402

if len(sys.argv) != 2:
    raise SystemExit(__doc__)
MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-oracle-")
API, P2P, MQTT = 18680, 28856, 18790  # below the ephemeral range, apart from the other checks
NODE = f"http://127.0.0.1:{API}"
ENV = dict(os.environ, MESHWORK_PASSPHRASE="oracle-check-passphrase")
EMPTY_BLOCKS_MS = 500
FEED, OTHER_FEED, NO_FEED = "hall.temp", "hall.humidity", "no.such.feed"
TOPIC = "$mesh/oracle/" + FEED
BAND_PPM, MIN_REPORTERS = 50_000, 3
HONEST = (2140, 2160)  # 21.40…21.60 degC
LIAR = (9850, 9950)
WAVES = 16             # seconds of reporting, one observation per sensor per second
SKEW_MS = 30_000       # OracleRules.skewMsMax
OBSERVATION_TAG = b"meshwork/observation/v1"
REPORT_TYPE = 71       # oracle.report
failures = []
random.seed(22)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else None


# ---- observations, written from the description of the format (not from the node's code) ----

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def uvarint(value):
    """Unsigned LEB128, minimal."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_uvarint(data, index):
    start, value, shift = index, 0, 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if uvarint(value) != data[start:index]:
        raise ValueError(f"varint at {start} is not minimal")
    return value, index


def zigzag(value):
    return uvarint(((value << 1) ^ (value >> 63)) & (2 ** 64 - 1))


def unzigzag(number):
    return (number >> 1) ^ -(number & 1)


def string(text):
    data = text.encode()
    return uvarint(len(data)) + data


def b58decode(text):
    number = 0
    for char in text:
        number = number * 58 + B58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def did_bytes(did):
    """A DID's canonical bytes: 0x01 ‖ 16 bytes (did:mesh), 0x00 ‖ key(32) (did:key, multicodec 0xed01)."""
    if did.startswith("did:mesh:"):
        raw = b58decode(did[len("did:mesh:"):])
        assert len(raw) == 16, did
        return b"\x01" + raw
    if did.startswith("did:key:z"):
        raw = b58decode(did[len("did:key:z"):])
        assert raw[:2] == b"\xed\x01" and len(raw) == 34, did
        return b"\x00" + raw[2:]
    raise ValueError(f"not a DID: {did}")


def read_did(data, index):
    tag = data[index]
    size = {0: 32, 1: 16}[tag]
    return data[index:index + 1 + size], index + 1 + size


def raw_key(private):
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signed_bytes(chain_id, feed, did, value, time_ms):
    return string(chain_id) + string(feed) + did_bytes(did) + zigzag(value) + uvarint(time_ms)


def sign_observation(private, chain_id, feed, did, value, time_ms, key=None):
    """Canonical bytes of an observation (`key` overrides the key written into it)."""
    message = signed_bytes(chain_id, feed, did, value, time_ms)
    signature = private.sign(uvarint(len(OBSERVATION_TAG)) + OBSERVATION_TAG + message)
    return (string(feed) + zigzag(value) + uvarint(time_ms) + did_bytes(did) + (key or raw_key(private))
            + signature)


def text(canonical):
    return "mwo1." + base64.urlsafe_b64encode(canonical).decode().rstrip("=")


def read_observation(data, index):
    """(fields, next index) of one canonical observation at `index`."""
    start = index
    size, index = read_uvarint(data, index)
    feed, index = data[index:index + size].decode(), index + size
    value, index = read_uvarint(data, index)
    time_ms, index = read_uvarint(data, index)
    reporter, index = read_did(data, index)
    key, signature = data[index:index + 32], data[index + 32:index + 96]
    index += 96
    if len(signature) != 64:
        raise ValueError("truncated observation")
    return dict(feed=feed, value=unzigzag(value), timeMs=time_ms, reporter=reporter, key=key, signature=signature,
                canonical=bytes(data[start:index])), index


def verifies(fields, chain_id):
    """Whether the observation's signature verifies under its key over the signing input built here."""
    message = (string(chain_id) + string(fields["feed"]) + fields["reporter"] + zigzag(fields["value"])
               + uvarint(fields["timeMs"]))
    try:
        Ed25519PublicKey.from_public_bytes(fields["key"]).verify(
            fields["signature"], uvarint(len(OBSERVATION_TAG)) + OBSERVATION_TAG + message)
        return True
    except InvalidSignature:
        return False


def report_observations(tx_hex):
    """The observations of every oracle.report message of a signed transaction (its canonical bytes)."""
    data = bytes.fromhex(tx_hex)
    size, index = read_uvarint(data, 0)
    body, index = data[index:index + size], index + size
    if len(data) != index + 96:
        raise ValueError("a signed transaction is bytes(body) ‖ key(32) ‖ signature(64)")
    size, index = read_uvarint(body, 0)
    index += size                              # chain id
    _, index = read_did(body, index)           # signer
    _, index = read_uvarint(body, index)       # nonce
    _, index = read_uvarint(body, index)       # fee
    messages, index = read_uvarint(body, index)
    found = []
    for _ in range(messages):
        kind, index = read_uvarint(body, index)
        size, index = read_uvarint(body, index)
        message, index = body[index:index + size], index + size
        if kind != REPORT_TYPE:
            continue
        count, at = read_uvarint(message, 0)
        for _ in range(count):
            fields, at = read_observation(message, at)
            found.append(fields)
        if at != len(message):
            raise ValueError("trailing bytes after the observations")
    return found


def reputation_bytes(shown):
    """Canonical Reputation: varints oracleInBand ‖ oracleOutOfBand ‖ oracleSlashes ‖ storagePassed ‖
    storageFailed ‖ score ‖ height ‖ validatorSlashes."""
    return b"".join(uvarint(shown[key]) for key in ("oracleInBand", "oracleOutOfBand", "oracleSlashes",
                                                     "storagePassed", "storageFailed", "score", "updatedAt",
                                                     "validatorSlashes"))


def score(good, bad):
    return (good + 1) * 1000 // (good + 3 * bad + 2)


# ---- verifiable credentials (VC-JWT), written from VC-JOSE-COSE and RFC 7515/8037 ----

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b58encode(data):
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def did_key(public):
    """did:key of a raw Ed25519 key: z + base58btc(0xed 0x01 ‖ key)."""
    return "did:key:z" + b58encode(b"\xed\x01" + public)


def compact_json(value):
    """Sorted members, no white space, nothing escaped that need not be (what Meshwork signs)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def jws(header, payload, private):
    """A compact JWS, EdDSA (Ed25519) over base64url(header).base64url(payload); payload: bytes or an object."""
    body = payload if isinstance(payload, bytes) else compact_json(payload)
    signing_input = b64url(compact_json(header)) + "." + b64url(body)
    return signing_input + "." + b64url(private.sign(signing_input.encode()))


def jwt_parts(token):
    """(header, payload) objects of a compact JWS, not verified."""
    header, payload, _ = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload))


def flipped(token, at):
    """`token` with the base64url character at `at` replaced by another one."""
    return token[:at] + B64URL[(B64URL.index(token[at]) + 17) % 64] + token[at + 1:]


def vc_code(done):
    """The `vc/N` (or other module/N) code of a refused `meshwork vc …`, or None."""
    found = re.findall(r"\[([a-z]+/\d+)\]", done.stderr)
    return found[-1] if found else None


# ---- the ledger's rounds, recomputed ----

def midpoint(a, b):
    return (a >> 1) + (b >> 1) + (a & b & 1)


def aggregate(observations, band_ppm):
    ordered = sorted(observations, key=lambda o: (o["value"], o["reporter"]))
    values = [o["value"] for o in ordered]
    n = len(values)
    median = values[n // 2] if n % 2 else midpoint(values[n // 2 - 1], values[n // 2])
    q1, q3 = values[(n + 3) // 4 - 1], values[(3 * n + 3) // 4 - 1]  # nearest rank: v[⌈n/4⌉−1], v[⌈3n/4⌉−1]
    band = max(1, abs(median) * band_ppm // 1_000_000)
    missed = [o for o in ordered if abs(o["value"] - median) > band]
    return dict(median=median, q1=q1, q3=q3, confidence=abs(q3 - q1) // 2, reporters=n, misses=len(missed)), missed


def simulate(blocks, feed_id, threshold, band_ppm):
    """Rounds of `feed_id` from committed blocks [(height, timeMs, [observation fields])], with the ledger's
    rules: an observation replaces its reporter's waiting one, those older than 30 s of BFT time are dropped at
    the end of a block, and a round is made once `threshold` fresh ones wait. Returns (rounds, where each
    observation went: canonical -> round number, evidence: reporter bytes -> [in band, out of band], skipped)."""
    pending, last, rounds, placed, evidence, skipped = {}, {}, [], {}, {}, 0
    for height, time_ms, observations in blocks:
        for o in observations:
            if o["feed"] != feed_id:
                continue
            if abs(o["timeMs"] - time_ms) > SKEW_MS or o["timeMs"] <= last.get(o["reporter"], 0):
                skipped += 1
                continue
            last[o["reporter"]] = o["timeMs"]
            pending[o["reporter"]] = o
        fresh = {r: o for r, o in pending.items() if o["timeMs"] + SKEW_MS >= time_ms}
        if len(fresh) < threshold:
            pending = fresh
            continue
        pending = {}
        shown, missed = aggregate(list(fresh.values()), band_ppm)
        number = len(rounds) + 1
        rounds.append(dict(shown, round=number, height=height, timeMs=time_ms))
        for o in fresh.values():
            placed[o["canonical"]] = number
            evidence.setdefault(o["reporter"], [0, 0])[1 if o in missed else 0] += 1
    return rounds, placed, evidence, skipped


# ---- the devnet and the CLI ----

def get(path):
    with urllib.request.urlopen(NODE + path, timeout=5) as response:
        return json.load(response)


def get_status(path):
    """(HTTP status, JSON body) also for errors."""
    try:
        with urllib.request.urlopen(NODE + path, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def height():
    try:
        return get("/status")["height"]
    except Exception:
        return None


def devnet_tail():
    path = os.path.join(HOME, "devnet.log")
    return open(path, errors="replace").read()[-3000:] if os.path.exists(path) else "(no devnet log)"


def cli(*args, home=True, node=True, expect_ok=True):
    command = [MESHWORK, *args] + (["--home", HOME] if home else []) + (["--node", NODE] if node else [])
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-1000:]}")
    return done


def cli_json(*args, home=True):
    return json.loads(cli(*args, "--output", "json", home=home).stdout)


def start_devnet():
    return subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", "1", "--api-port", str(API), "--p2p-port", str(P2P),
         "--mqtt-port", str(MQTT), "--empty-blocks-interval-ms", str(EMPTY_BLOCKS_MS)],
        stdout=open(os.path.join(HOME, "devnet.log"), "w"), stderr=subprocess.STDOUT, start_new_session=True,
        env=ENV)


def stop_devnet(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    leftover = node_pid(os.path.join(HOME, "node-0"))
    if leftover:
        os.kill(leftover, signal.SIGKILL)


def gateway_counters():
    shown = get("/gateway")
    return {key: shown[key] for key in ("observations", "protocolErrors")}


def metric(name):
    with urllib.request.urlopen(NODE + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
    return None


def refusals_logged():
    """(feed, DID, reason) of each `gateway: refused an observation …` line of the devnet log."""
    pattern = re.compile(r"^gateway: refused an observation of '([^']*)' from (\S+): (.*)$")
    with open(os.path.join(HOME, "devnet.log"), errors="replace") as handle:
        return [found.groups() for found in map(pattern.match, handle) if found]


def reputation(did, prove=False):
    return get(f"/reputation/{did}" + ("?prove=true" if prove else ""))


# ---- paho-mqtt MQTT 5 sensors, and the poller ----

class Sensor:
    """A device reporting hall.temp over paho-mqtt (MQTT 5, its did:mesh and a device token): one signed
    observation a second at QoS 1; records what it sent (mid -> (canonical, text, published at)) and each
    PUBACK (mid -> (reason code, received at))."""

    def __init__(self, name, did, private, password, values):
        self.name, self.did, self.private, self.values = name, did, private, values
        self.sent, self.acks, self.connack = {}, {}, None
        self.lock, self.connected = threading.Lock(), threading.Event()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"sensor-{name}",
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(did, password)
        self.client.reconnect_delay_set(min_delay=600, max_delay=600)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        STARTED.append(self)
        self.client.connect(HOST, MQTT, keepalive=60, clean_start=True)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code.value
        self.connected.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self.lock:
            self.acks[mid] = (reason_code.value, time.time())

    def publish(self):
        value = random.randint(*self.values)
        canonical = sign_observation(self.private, CHAIN_ID, FEED, self.did, value, int(time.time() * 1000))
        payload = text(canonical)
        at = time.time()
        # Not under self.lock: paho calls on_publish holding its own lock, which publish() takes too.
        info = self.client.publish(TOPIC, payload, qos=1)
        with self.lock:
            self.sent[info.mid] = (canonical, payload, at)

    def run(self, start, waves):
        for wave in range(waves):
            time.sleep(max(0.0, start + wave - time.time()))
            self.publish()

    def outcomes(self):
        """[(canonical, text, published at, PUBACK code or None, acknowledged at)] in the order sent."""
        with self.lock:
            return [(c, t, at, *(self.acks.get(mid) or (None, None))) for mid, (c, t, at) in sorted(self.sent.items())]

    def last_taken(self):
        with self.lock:
            taken = [mid for mid, (code, _) in self.acks.items() if code == 0 and mid in self.sent]
            return self.sent[max(taken)] if taken else None

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


class RoundWatcher(threading.Thread):
    """Reads GET /oracle/feeds/hall.temp?history=10 every 20 ms: when each round first showed in the API."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen, self.polls, self.halt = {}, 0, threading.Event()
        STARTED.append(self)
        self.start()

    def run(self):
        while not self.halt.is_set():
            try:
                history = get(f"/oracle/feeds/{FEED}?history=10").get("history") or []
                now = time.time()
                self.polls += 1
                for entry in history:
                    self.seen.setdefault(entry["round"], now)
            except Exception:
                pass
            self.halt.wait(0.02)

    def stop(self):
        self.halt.set()


# ---- the scenario ----

devnet = start_devnet()
began = time.time()
try:
    if not wait_until(lambda: (height() or 0) >= 2, 120):
        raise SystemExit(f"FAIL: the devnet did not reach height 2; devnet log:\n{devnet_tail()}")
    if not wait_until(lambda: port_open(MQTT), 30):
        raise SystemExit(f"FAIL: the MQTT port {MQTT} does not accept connections")
    CHAIN_ID = get("/status")["chainId"]
    log(f"devnet of 1 validator in {HOME} (chain {CHAIN_ID}); API {NODE}, MQTT {HOST}:{MQTT}; ready in "
        f"{time.time() - began:.1f} s")

    # ---- 1. devices and feeds ----
    NAMES = ("s1", "s2", "s3", "s4", "s5", "intruder")
    DIDS, KEYS, TOKENS = {}, {}, {}
    for name in NAMES:
        DIDS[name] = cli_json("device", "register", "--controller", "owner", "--name", name,
                              "--insecure-plaintext")["did"]
        seed = json.loads(cli("keys", "export", name, "--output", "json", node=False).stdout)["seedHex"]
        KEYS[name] = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
        TOKENS[name] = cli("device", "token", "--key", name).stdout.strip()
    SENSORS, HONEST_NAMES, LIAR_NAME = NAMES[:5], NAMES[:4], "s5"
    check(all(did.startswith("did:mesh:") and len(did_bytes(did)) == 17 for did in DIDS.values()),
          f"owner registered six devices (did:mesh, keys in the keystore): sensors "
          f"{', '.join(f'{n}={DIDS[n]}' for n in SENSORS)} (s5 the liar), intruder={DIDS['intruder']}")
    created = cli_json("oracle", "create-feed", "--from", "owner", "--id", FEED, "--unit", "degC", "--decimals", "2",
                       "--description", "hall temperature", *sum((["--reporter", DIDS[n]] for n in SENSORS), []),
                       "--min-reporters", str(MIN_REPORTERS), "--band-ppm", str(BAND_PPM))
    cli_json("oracle", "create-feed", "--from", "owner", "--id", OTHER_FEED, "--unit", "%", "--reporter", DIDS["s1"])
    feed = get(f"/oracle/feeds/{FEED}")["feeds"][0]
    THRESHOLD = feed["threshold"]
    check(feed["reporters"] == [DIDS[n] for n in SENSORS] and feed["bandPPM"] == BAND_PPM and feed["unit"] == "degC"
          and feed["decimals"] == 2 and feed["rounds"] == 0 and feed["stale"] and feed["createdAt"] == created["height"]
          and THRESHOLD == max(MIN_REPORTERS, 5 * 2 // 3 + 1),
          f"feed {FEED} created at height {created['height']}: 5 reporters, band {feed['bandPPM']} ppm, threshold "
          f"{THRESHOLD} (minReporters {MIN_REPORTERS}, and more than 2/3 of 5 listed), no round yet; "
          f"{OTHER_FEED} too")
    start_height = created["height"]
    gateway_before = gateway_counters()

    # ---- the CLI's observations: the same bytes as Python's ----
    cli_values = {"s1": "21.50", "s2": "21.45", "s3": "21.55", "s4": "21.48"}
    cli_acks = []
    for name, value in cli_values.items():
        done = cli("oracle", "observe", "--key", name, "--feed", FEED, "--value", value, "--mqtt", f"{HOST}:{MQTT}",
                   expect_ok=False)
        cli_acks.append(done.returncode)
    watcher = RoundWatcher()
    first_round = wait_until(lambda: get(f"/oracle/feeds/{FEED}")["feeds"][0]["rounds"] >= 1, 10)
    round_1 = (get(f"/oracle/feeds/{FEED}?history=1")["history"] or [{}])[0]
    check(cli_acks == [0] * 4 and first_round and round_1.get("reporters") == 4 and round_1.get("median") == 2149
          and (round_1.get("q1"), round_1.get("q3")) == (2145, 2150) and round_1.get("misses") == 0
          and round_1.get("confidence") == (2150 - 2145) // 2,
          f"`oracle observe` for s1…s4 ({', '.join(cli_values.values())} degC) taken; round 1: median "
          f"{round_1.get('median')} (want 2149), q1/q3 {round_1.get('q1')}/{round_1.get('q3')} (want 2145/2150, "
          f"nearest rank), confidence "
          f"{round_1.get('confidence')}, {round_1.get('reporters')} reporters, {round_1.get('misses')} misses")

    # ---- 2. five sensors report once a second; 3. bad input meanwhile ----
    sensors = {name: Sensor(name, DIDS[name], KEYS[name], TOKENS[name], LIAR if name == LIAR_NAME else HONEST)
               for name in SENSORS}
    check(all(s.connected.wait(10) and s.connack == 0 for s in sensors.values()),
          f"five paho MQTT 5 sensors connected as their did:mesh with device tokens (CONNACK "
          f"{[s.connack for s in sensors.values()]})")
    start = time.time() + 0.3
    threads = [threading.Thread(target=s.run, args=(start, WAVES), daemon=True) for s in sensors.values()]
    for thread in threads:
        thread.start()
    log(f"sensors report {FEED} once a second for {WAVES} s: s1…s4 {HONEST[0]}…{HONEST[1]}, s5 (liar) "
        f"{LIAR[0]}…{LIAR[1]} (fixed point, 2 decimals)")

    time.sleep(3.5)
    bad_s1 = raw_ready(MQTT, V5, "bad-s1", DIDS["s1"], TOKENS["s1"])
    bad_intruder = raw_ready(MQTT, V5, "bad-intruder", DIDS["intruder"], TOKENS["intruder"])
    counters_before_bad = gateway_counters()
    s1, now_ms = KEYS["s1"], lambda: int(time.time() * 1000)
    stranger = Ed25519PrivateKey.generate()
    wait_until(lambda: all(s.last_taken() for s in sensors.values()), 10)
    replayed = sensors["s1"].last_taken()
    extra_taken = []  # observations published here and taken (PUBACK 0)
    # (what, connection, topic, payload, the PUBACK reason wanted, the gateway's logged reason for a 0x87)
    cases = [
        ("an observation of the intruder, a device not listed on the feed", bad_intruder, TOPIC,
         text(sign_observation(KEYS["intruder"], CHAIN_ID, FEED, DIDS["intruder"], 2150, now_ms())), 0x87,
         "is not a reporter of feed 'hall.temp'"),
        (f"an observation of {FEED} on {OTHER_FEED}'s topic", bad_s1, f"$mesh/oracle/{OTHER_FEED}",
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms())), 0x90, None),
        (f"an observation of {FEED} on $mesh/oracle/{FEED}/x", bad_s1, f"$mesh/oracle/{FEED}/x",
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms())), 0x90, None),
        (f"an observation of {FEED} on $mesh/oracle/", bad_s1, "$mesh/oracle/",
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms())), 0x90, None),
        (f"an observation of {NO_FEED}, a feed that does not exist", bad_s1, f"$mesh/oracle/{NO_FEED}",
         text(sign_observation(s1, CHAIN_ID, NO_FEED, DIDS["s1"], 2150, now_ms())), 0x87, f"no feed '{NO_FEED}'"),
        ("the same bytes again (s1's last observation taken)", bad_s1, TOPIC, replayed[1], 0x87,
         "an observation at this time or later was taken"),
        ("s1's observation 500 ms older than its last taken", bad_s1, TOPIC,
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, read_observation(replayed[0], 0)[0]["timeMs"]
                               - 500)), 0x87, "an observation at this time or later was taken"),
        ("an observation timed 5 minutes ahead", bad_s1, TOPIC,
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms() + 300_000)), 0x87,
         "ms from this node's clock (30 s at most)"),
        ("an observation timed 5 minutes behind", bad_s1, TOPIC,
         text(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms() - 300_000)), 0x87,
         "ms from this node's clock (30 s at most)"),
        ("s2's own valid observation published by s1's session (reporter is not the connected device)", bad_s1,
         TOPIC, text(sign_observation(KEYS["s2"], CHAIN_ID, FEED, DIDS["s2"], 2150, now_ms())), 0x87,
         "an observation is published by its reporter"),
        ("s1's observation with one signature bit flipped", bad_s1, TOPIC,
         text((lambda c: c[:-1] + bytes([c[-1] ^ 1]))(sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2150,
                                                                        now_ms()))), 0x87,
         "the observation's signature does not verify"),
        ("s1's observation signed for another chain", bad_s1, TOPIC,
         text(sign_observation(s1, CHAIN_ID + "-other", FEED, DIDS["s1"], 2150, now_ms())), 0x87,
         "the observation's signature does not verify"),
        ("an observation as s1 signed by a key that is not s1's", bad_s1, TOPIC,
         text(sign_observation(stranger, CHAIN_ID, FEED, DIDS["s1"], 2150, now_ms())), 0x87,
         "the observation's key is not a current key of"),
    ]
    good = sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2151, now_ms())
    malformed = [
        ("an empty payload", b""),
        ("plain text", "21.5"),
        ("mwo1. and nothing", "mwo1."),
        ("mwo1. and not base64url", "mwo1.***not-base64***"),
        ("mwo1. and a truncated observation", text(good[:-1])),
        ("binary with a trailing byte", good + b"\x00"),
        ("binary with an unknown DID tag", good.replace(did_bytes(DIDS["s1"]), b"\x07" + did_bytes(DIDS["s1"])[1:])),
        ("text over 512 bytes", "mwo1." + "A" * 600),
        ("binary over 512 bytes", good + b"\x00" * 500),
    ]
    cases += [(f"malformed: {what}", bad_s1, TOPIC, payload, 0x99, None) for what, payload in malformed]
    results, packet_id = [], 0
    for what, connection, topic, payload, want, reason in cases:
        packet_id += 1
        code = raw_publish(connection, V5, topic, payload, packet_id)
        results.append((what, code, want, reason, DIDS["intruder"] if connection is bad_intruder else DIDS["s1"]))
        check(code == want, f"{what}: PUBACK {code if isinstance(code, str) else hex(code)} (want {want:#04x})")
    # One observation in binary form (not text) is taken like the text form.
    binary = sign_observation(s1, CHAIN_ID, FEED, DIDS["s1"], 2152, now_ms())
    code = raw_publish(bad_s1, V5, TOPIC, binary, 100)
    if code == 0:
        extra_taken.append(binary)
    check(code == 0, f"s1's observation in binary canonical form ({len(binary)} bytes) is taken: PUBACK {code}")
    # MQTT 3.1.1 has no PUBACK reason: a refused observation closes the session.
    v311 = raw_ready(MQTT, V311, "bad-s3-v311", DIDS["s3"], TOKENS["s3"])
    replay_s3 = sensors["s3"].last_taken()
    v311.send(mqtt_packet(V311, TOPIC, replay_s3[1], qos=1, packet_id=7))
    closed, how = closed_as_expected(v311, V311, None)
    check(closed, f"an MQTT 3.1.1 session of s3 publishing s3's last observation again is disconnected, no PUBACK "
                  f"({how})")
    bad_s1.close()
    bad_intruder.close()
    counters_after_bad = gateway_counters()
    mid_reputation = {name: reputation(DIDS[name]) for name in SENSORS}

    for thread in threads:
        thread.join(WAVES + 10)
    # Every PUBACK in, then every taken observation in a block.
    wait_until(lambda: all(len(s.acks) >= len(s.sent) for s in sensors.values()), 10)
    outcomes = {name: s.outcomes() for name, s in sensors.items()}
    log(f"the sensors reported for {time.time() - start:.1f} s")
    for name, rows in outcomes.items():
        codes = [code for _, _, _, code, _ in rows]
        check(len(rows) == WAVES and codes == [0] * WAVES,
              f"{name}{' (liar)' if name == LIAR_NAME else ''}: {len(rows)} observations published, PUBACKs "
              f"{'all 0' if codes == [0] * WAVES else codes}")
    taken = [c for rows in outcomes.values() for c, _, _, code, _ in rows if code == 0] + extra_taken
    published_at = {c: at for rows in outcomes.values() for c, _, at, code, _ in rows if code == 0}
    ack_ms = [(acked - at) * 1000 for rows in outcomes.values() for _, _, at, code, acked in rows if code == 0]

    # ---- 4. the ledger's side, from the blocks ----
    blocks, txs, scanned = [], [], start_height

    def scan():
        """Reads the blocks committed since the last scan: [(height, timeMs, observations)], oracle.report txs."""
        global scanned
        top = height() or scanned
        while scanned < top:
            scanned += 1
            block = get(f"/blocks/{scanned}")
            found = []
            for summary in block["transactions"]:
                if "oracle.report" not in summary["messages"]:
                    continue
                tx = get(f"/txs/{summary['hash']}")
                observations = report_observations(tx["tx"])
                events = {attr["key"]: int(attr["value"]) for event in tx["events"] if event["type"] == "oracle.report"
                          for attr in event["attributes"]}
                txs.append((scanned, summary["code"], len(observations), events))
                found += observations
            blocks.append((scanned, block["header"]["timeMs"], found))
        return sum(len(found) for _, _, found in blocks)

    expected_total = 4 + len(taken)
    flushed = wait_until(lambda: scan() >= expected_total, 15, step=0.2)
    # The round of the last observations is made at the end of their block: it shows with that block.
    final = get(f"/oracle/feeds/{FEED}?history=100")
    watcher.stop()
    reported = [o for _, _, found in blocks for o in found]
    in_blocks = {o["canonical"] for o in reported}
    cli_observations = [o for o in reported if o["canonical"] not in set(taken)]
    refused_payloads = {payload if isinstance(payload, bytes) else payload.encode()
                        for _, _, _, payload, _, _ in cases}
    refused_canonicals = set()
    for payload in refused_payloads:
        try:
            body = payload[5:] if payload.startswith(b"mwo1.") else payload
            refused_canonicals.add(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
                                   if payload.startswith(b"mwo1.") else body)
        except Exception:
            pass
    refused_canonicals -= set(taken)  # the replays are the bytes of observations taken before
    check(flushed and len(reported) == expected_total and set(taken) <= in_blocks and len(in_blocks) == len(reported)
          and not (in_blocks & refused_canonicals) and len(cli_observations) == 4,
          f"the node reported every taken observation, once, in {len(txs)} oracle.report transaction(s): "
          f"{len(reported)} observations in blocks {start_height + 1}…{scanned} = 4 from the CLI + "
          f"{len(taken)} taken over MQTT; none of the {len(cases)} refused ones")
    accepted = sum(events.get("accepted", 0) for *_, events in txs)
    skipped = sum(events.get("skipped", 0) for *_, events in txs)
    check(all(code == 0 for _, code, _, _ in txs) and accepted == len(reported) and skipped == 0,
          f"every oracle.report committed with code 0; their events: {accepted} accepted, {skipped} skipped; "
          f"batch sizes {[count for _, _, count, _ in txs]}")
    # The CLI's observations: Python verifies them and signs the same bytes.
    by_bytes = {did_bytes(DIDS[name]): name for name in NAMES}
    same = []
    for o in cli_observations:
        name = by_bytes.get(o["reporter"])
        again = sign_observation(KEYS[name], CHAIN_ID, o["feed"], DIDS[name], o["value"], o["timeMs"]) if name else b""
        same.append(verifies(o, CHAIN_ID) and again == o["canonical"] and o["key"] == raw_key(KEYS[name])
                    and o["value"] == int(cli_values[name].replace(".", "")))
    check(same == [True] * 4,
          f"the 4 observations `oracle observe` signed verify in Python over varint(23) ‖ {OBSERVATION_TAG.decode()} ‖ "
          f"string(chainId) ‖ string(feed) ‖ DID ‖ zigzag(value) ‖ varint(timeMs), and Python signs byte-identical "
          f"ones ({len(cli_observations[0]['canonical']) if cli_observations else '?'} bytes; {same})")

    rounds, placed, evidence, sim_skipped = simulate(blocks, FEED, THRESHOLD, BAND_PPM)
    history = sorted(final["history"], key=lambda r: r["round"])
    check(history == rounds and final["feeds"][0]["rounds"] == len(rounds) and sim_skipped == 0,
          f"the API's {len(history)} rounds equal the {len(rounds)} recomputed in Python from the committed "
          f"observations (median, q1, q3, confidence, reporters, misses, height, BFT time)"
          + ("" if history == rounds else
             f"; first difference: API {next((a, b) for a, b in zip(history + [None] * 99, rounds) if a != b)}"))
    log("rounds (number: median ± confidence, reporters/misses, height): " + ", ".join(
        f"{r['round']}: {r['median']}±{r['confidence']} {r['reporters']}/{r['misses']} h{r['height']}"
        for r in history))
    sensor_rounds = [r for r in history if r["round"] > 1]
    low, high = HONEST[0] * (1_000_000 - BAND_PPM) // 1_000_000, HONEST[1] * (1_000_000 + BAND_PPM) // 1_000_000
    medians = [r["median"] for r in history]
    check(len(sensor_rounds) >= WAVES * 3 // 4 and all(low <= m <= high for m in medians),
          f"{len(history)} rounds ({len(sensor_rounds)} from the sensors' {WAVES} s); every median within 5 % of the "
          f"honest values ({low}…{high}): medians {min(medians)}…{max(medians)}")
    liar_bytes = did_bytes(DIDS[LIAR_NAME])
    liar_round = {placed[o["canonical"]] for o in reported if o["reporter"] == liar_bytes and o["canonical"] in placed}
    check(all(r["misses"] == (1 if r["round"] in liar_round else 0) for r in history),
          f"misses per round: 1 in each of the {len(liar_round)} rounds the liar is in, 0 in the others "
          f"({[r['misses'] for r in history]})")
    confidences = sorted({r["confidence"] for r in history})
    check(all(r["confidence"] <= (HONEST[1] - HONEST[0]) // 2 for r in history) and history,
          f"confidence at most {(HONEST[1] - HONEST[0]) // 2} (half the honest spread) in all {len(history)} rounds, "
          f"the {len(liar_round)} with the liar too (nearest-rank quartiles: one liar of 4 or 5 is no quartile): "
          f"{confidences}; reporters per round {[r['reporters'] for r in history]}")

    # Reputation: the evidence recomputed, the liar's misses growing, scores.
    end_reputation = {name: reputation(DIDS[name]) for name in NAMES}
    for name in SENSORS:
        inside, outside = evidence.get(did_bytes(DIDS[name]), [0, 0])
        shown = end_reputation[name]
        check(shown["oracleInBand"] == inside and shown["oracleOutOfBand"] == outside
              and shown["score"] == score(inside, outside) and shown["oracleSlashes"] == 0,
              f"GET /reputation of {name}{' (liar)' if name == LIAR_NAME else ''}: in band {shown['oracleInBand']}, "
              f"out of band {shown['oracleOutOfBand']} (recomputed {inside}/{outside}), score {shown['score']}")
    liar_mid, liar_end = mid_reputation[LIAR_NAME], end_reputation[LIAR_NAME]
    honest_scores = [end_reputation[name]["score"] for name in HONEST_NAMES]
    check(liar_end["oracleOutOfBand"] > liar_mid["oracleOutOfBand"] > 0 and liar_end["oracleInBand"] == 0
          and liar_end["score"] < liar_mid["score"] < 500,
          f"the liar's misses grow: oracleOutOfBand {liar_mid['oracleOutOfBand']} mid-run -> "
          f"{liar_end['oracleOutOfBand']} at the end (= the rounds' misses, {sum(r['misses'] for r in history)}), "
          f"score {liar_mid['score']} -> {liar_end['score']}")
    check(all(s > 500 for s in honest_scores) and liar_end["score"] < min(honest_scores)
          and all(end_reputation[n]["oracleOutOfBand"] == 0 for n in HONEST_NAMES),
          f"honest scores {honest_scores} (above 500, no miss), the liar's {liar_end['score']} below all of them")
    shown = end_reputation["intruder"]
    check(shown["oracleInBand"] == shown["oracleOutOfBand"] == 0 and shown["score"] == 500 and shown["updatedAt"] == 0,
          f"the intruder has no evidence: score {shown['score']}, updatedAt {shown['updatedAt']}")
    for name in (LIAR_NAME, "s1", "intruder"):
        proven = reputation(DIDS[name], prove=True)
        proof = proven.get("proof") or {}
        key = (b"\x0b\x01" + did_bytes(DIDS[name])).hex()
        entry = next((e for e in proof.get("entries", []) if e["key"] == key), {})
        want = reputation_bytes(proven).hex() if proven["updatedAt"] else None
        header = get(f"/blocks/{proven['height'] + 1}")["headerBytes"] if proof else None
        check(proof.get("height") == proven["height"] and entry.get("proof") and entry.get("value") == want
              and proof.get("header") == header and proof.get("commit"),
              f"GET /reputation/{name}?prove=true at height {proven['height']}: proof entry {key[:12]}… "
              f"{'holds the canonical Reputation bytes (' + str(want) + ')' if want else 'proves absence'}, header "
              f"= block {proven['height'] + 1}'s, {len(entry.get('proof', '')) // 2} proof bytes")

    # Latency: publish -> the round holding the observation shows in the API.
    latencies, unseen = [], 0
    for canonical, at in published_at.items():
        number = placed.get(canonical)
        if number is None:
            continue
        if number not in watcher.seen:
            unseen += 1
            continue
        latencies.append((watcher.seen[number] - at) * 1000)
    superseded = len([c for c in taken if c not in placed])
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    check(unseen == 0 and len(latencies) >= len(published_at) // 2 and p99 is not None,
          f"observation-to-usable-value latency over {len(latencies)} observations: p50 {p50:.0f} ms, p99 {p99:.0f} "
          f"ms, max {max(latencies):.0f} ms (poller: {watcher.polls} reads of the API); PUBACK p50 "
          f"{percentile(ack_ms, 0.5):.1f} ms, p99 {percentile(ack_ms, 0.99):.1f} ms; {superseded} taken "
          f"observation(s) in no round (replaced by the reporter's next one before a round)")

    # ---- 5. the gateway's counters; the CLI agrees with the API ----
    counters = gateway_counters()
    taken_count = 4 + len(taken)
    check(counters["observations"] - gateway_before["observations"] == taken_count,
          f"GET /gateway observations: {counters['observations']} = 4 (CLI) + {len(taken) - len(extra_taken)} "
          f"(sensors) + {len(extra_taken)} (binary form), exactly the PUBACK 0s")
    malformed_count = len(malformed)
    check(counters_after_bad["protocolErrors"] - counters_before_bad["protocolErrors"] == malformed_count,
          f"protocolErrors counted the {malformed_count} malformed payloads "
          f"({counters_before_bad['protocolErrors']} -> {counters_after_bad['protocolErrors']})")
    exported = metric("meshwork_mqtt_observations")
    if exported is None:
        log("NOTE: this binary's /metrics has no meshwork_mqtt_observations gauge (not checked)")
    else:
        check(exported == counters["observations"],
              f"/metrics meshwork_mqtt_observations {exported:.0f} = GET /gateway")
    logged = refusals_logged()
    want_logged = sorted([(FEED if "feed that does not exist" not in what else NO_FEED, did, reason)
                          for what, code, want, reason, did in results if want == 0x87]
                         + [(FEED, DIDS["s3"], "an observation at this time or later was taken")])  # the 3.1.1 one
    matched = sorted(next(((feed_id, did, reason) for feed_id, did, text_ in logged
                           if feed_id == f and did == d and reason in text_), None) or ("missing", d, reason)
                     for f, d, reason in want_logged)
    counts_match = len([1 for f, d, r in logged if f in (FEED, NO_FEED)]) == len(want_logged)
    check(matched == want_logged and counts_match,
          f"the gateway logged each 0x87 with its reason ({len(logged)} refusals logged, "
          f"{len(want_logged)} expected): {sorted({r for _, _, r in want_logged})}")

    shown_cli = cli_json("oracle", "show", FEED, "--history", "20", home=False)
    api = get(f"/oracle/feeds/{FEED}?history=20")
    check(shown_cli["feeds"] == api["feeds"] and shown_cli["history"] == api["history"]
          and len(api["history"]) == min(20, len(history)),
          f"`oracle show {FEED} --history 20 --output json` = GET /oracle/feeds/{FEED}?history=20 "
          f"({len(api['history'])} rounds, latest round {api['feeds'][0]['rounds']}, median "
          f"{api['feeds'][0]['latest']['median']})")
    for path, status, code in ((f"/oracle/feeds/{FEED}?history=101", 400, "api/10"),
                               (f"/oracle/feeds/{NO_FEED}", 404, "api/19")):
        got, body = get_status(path)
        check(got == status and body.get("code") == code,
              f"GET {path}: {got} {body.get('code')} (want {status} {code})")
    listed, api_list = cli_json("oracle", "list", home=False), get("/oracle/feeds")
    check(listed["feeds"] == api_list["feeds"]
          and sorted(feed_shown["id"] for feed_shown in listed["feeds"]) == sorted([FEED, OTHER_FEED]),
          f"`oracle list --output json` = GET /oracle/feeds ({[f['id'] for f in listed['feeds']]})")
    table = cli("oracle", "show", FEED, home=False).stdout
    latest = api["feeds"][0]["latest"]
    check(f"{latest['median'] // 100}.{latest['median'] % 100:02d}" in table and "degC" in table,
          f"`oracle show {FEED}` prints the latest median as {latest['median'] // 100}.{latest['median'] % 100:02d} "
          f"degC")
    shown = cli_json("reputation", "show", LIAR_NAME)
    check({k: v for k, v in shown.items() if k != "height"}
          == {k: v for k, v in reputation(DIDS[LIAR_NAME]).items() if k != "height"},
          f"`reputation show s5 --output json` = GET /reputation/<s5> (score {shown['score']})")
    # ---- 6. credentials: a reputation credential with its proof, tampering, revocation, jwcrypto, bad input ----
    vc_began = time.time()
    VC_DIR = os.path.join(HOME, "vc-check")
    os.makedirs(VC_DIR, exist_ok=True)

    def vc_file(name, content=None):
        path = os.path.join(VC_DIR, name)
        if content is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content + "\n")
        return path

    def vc_verify(path, *flags):
        return cli("vc", "verify", path, "--output", "json", *flags, expect_ok=False)

    def refused_with(done, code):
        """Exit 1 (not a crash), an `INVALID: <sentence> [code]` on standard error."""
        return done.returncode == 1 and vc_code(done) == code and "INVALID: " in done.stderr

    def said(done):
        return (done.stderr.strip().splitlines() or ["(nothing)"])[-1].removeprefix("Error: ")[:160]

    owner_shown = json.loads(cli("keys", "show", "owner", "--output", "json", node=False).stdout)
    OWNER_DID, OWNER_PUB = owner_shown["did"], bytes.fromhex(owner_shown["publicKey"])
    OWNER_KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
        json.loads(cli("keys", "export", "owner", "--output", "json", node=False).stdout)["seedHex"]))
    OWNER_KID = OWNER_DID + "#" + OWNER_DID[len("did:key:"):]
    LIST_URL = f"{NODE}/vc/status/{OWNER_DID}"
    # Issued first, checked last (vc/7), so its 2 s wait overlaps the rest.
    expiring = vc_file("expiring.jwt")
    cli("vc", "issue", "--issuer", "owner", "--subject", DIDS["s4"], "--type", "CalibrationCertificate",
        "--valid-for", "1s", "-o", expiring)
    expiring_issued = time.time()

    # 6.1 reputation credentials of an honest sensor and of the liar, verified offline from the genesis file.
    genesis_path = os.path.join(HOME, "node-0", "genesis.json")
    rep_credentials = {}
    for name in ("s1", LIAR_NAME):
        path = vc_file(f"reputation-{name}.jwt")
        cli("reputation", "credential", DIDS[name], "--issuer", "owner", "-o", path)
        token = open(path).read().strip()
        header, payload = jwt_parts(token)
        subject = payload["credentialSubject"]
        done = vc_verify(path, "--offline")
        shown = json.loads(done.stdout) if done.returncode == 0 else {}
        proven = [int(h) for note in shown.get("checks", [])
                  for h in re.findall(r"proven by the light client at height (\d+)", note)]
        evidence_keys = ("score", "oracleInBand", "oracleOutOfBand", "oracleSlashes", "storagePassed",
                         "storageFailed")
        rep_credentials[name] = (path, token, header, payload)
        check(done.returncode == 0 and shown.get("valid") is True and os.path.exists(genesis_path)
              and proven == [subject.get("height")] and subject["proof"]["height"] == subject["height"]
              # a proven answer is the state before the latest block (its successor carries the app hash)
              and end_reputation[name]["height"] - 1 <= subject["height"] <= (height() or 0)
              and all(subject.get(k) == end_reputation[name][k] for k in evidence_keys)
              and payload["issuer"] == OWNER_DID and subject["id"] == DIDS[name]
              and payload["type"] == ["VerifiableCredential", "ReputationCredential"]
              and subject["chainId"] == CHAIN_ID and header.get("kid") == OWNER_KID,
              f"`reputation credential {name}{' (liar)' if name == LIAR_NAME else ''} --issuer owner` "
              f"({len(token)} characters, proof bundle + validator set embedded): `vc verify --offline` passes with "
              f"the light client from {os.path.relpath(genesis_path, HOME)}, proven height {proven} = the claims' "
              f"height {subject['height']}; score {subject['score']}, in/out of band "
              f"{subject['oracleInBand']}/{subject['oracleOutOfBand']} = GET /reputation"
              + ("" if done.returncode == 0 else f"; {said(done)}"))
    honest_path, honest_token, honest_header, honest_payload = rep_credentials["s1"]
    liar_payload = rep_credentials[LIAR_NAME][3]
    check(honest_payload["credentialSubject"]["score"] > liar_payload["credentialSubject"]["score"],
          f"the honest sensor's score claim {honest_payload['credentialSubject']['score']} is above the liar's "
          f"{liar_payload['credentialSubject']['score']}")

    # 6.2 any changed character fails: a spread sample over header, payload (inside the proof too), signature.
    first_dot, last_dot = honest_token.index("."), honest_token.rindex(".")
    body = unb64url(honest_token[first_dot + 1:last_dot]).decode()

    def payload_char(marker, ahead):
        """The JWS character that carries the payload byte `ahead` bytes after `marker` (in the JSON text)."""
        at = body.index(marker) + len(marker) + ahead
        return first_dot + 1 + len(body[:at].encode()) * 4 // 3

    positions = {}
    for k in range(4):
        positions[k * (first_dot - 1) // 3] = "header"
        positions[last_dot + 1 + k * (len(honest_token) - last_dot - 2) // 3] = "signature"
    for k in range(6):
        positions[first_dot + 1 + k * (last_dot - first_dot - 2) // 5] = "payload"
    for marker, ahead, where in (('"commit":"', 37, "proof.commit"), ('"entries":[{"key":"', 9, "proof entry key"),
                                 ('"proof":"', 101, "proof entry proof"), ('"header":"', 60, "proof.header"),
                                 ('"validators":"', 12, "validator set"), ('"score":', 0, "score claim")):
        positions[payload_char(marker, ahead)] = "payload: " + where

    def flip_outcome(item):
        position, where = item
        path = vc_file(f"flip-{position}.jwt", flipped(honest_token, position))
        return position, where, vc_verify(path, "--offline")

    with ThreadPoolExecutor(4) as pool:
        flips = list(pool.map(flip_outcome, sorted(positions.items())))
    codes = {}
    for _, where, done in flips:
        codes.setdefault(vc_code(done) or f"exit {done.returncode}", []).append(where.split(":")[0])
    passed_flips = [(p, w) for p, w, done in flips if done.returncode == 0 or "valid" in done.stdout]
    crashed = [(p, w, done.returncode) for p, w, done in flips if done.returncode not in (1,) or not vc_code(done)]
    check(not passed_flips and not crashed and len(flips) >= 20,
          f"{len(flips)} single changed characters of the honest credential ({len(honest_token)} characters) each "
          f"make `vc verify --offline` exit 1 with a code: "
          + ", ".join(f"{code} ×{len(where)} ({', '.join(sorted(set(where)))})" for code, where in sorted(codes.items()))
          + (f"; VERIFIED: {passed_flips}" if passed_flips else "") + (f"; no clear refusal: {crashed}" if crashed else ""))

    # Re-signed tampering: Python's sorted compact JSON signed with the owner's seed is the CLI's JWS byte for byte,
    # so what fails below fails for the change made, not for the encoding.
    stranger_vc = Ed25519PrivateKey.generate()
    stranger_did = did_key(raw_key(stranger_vc))

    def resigned(change, key, issuer=None):
        payload = json.loads(json.dumps(honest_payload))
        change(payload["credentialSubject"])
        header = dict(honest_header)
        if issuer:
            payload["issuer"], header["kid"] = issuer, issuer + "#" + issuer[len("did:key:"):]
        return jws(header, payload, key)

    def flip_hex(text, at):
        return text[:at] + "0123456789abcdef"[(int(text[at], 16) + 1) % 16] + text[at + 1:]

    def set_claim(name, value):
        return lambda subject: subject.__setitem__(name, value)

    true_score = honest_payload["credentialSubject"]["score"]
    forged = 1000 if true_score != 1000 else 999
    same = jws(honest_header, honest_payload, OWNER_KEY) == honest_token
    resign_cases = [
        (f"score {true_score} -> {forged}, re-signed by another key (issuer kept)",
         resigned(set_claim("score", forged), stranger_vc), "vc/5", None),
        (f"score {true_score} -> {forged}, re-signed by another key as its own did:key issuer",
         resigned(set_claim("score", forged), stranger_vc, stranger_did), None, "the proof says score"),
        (f"score {true_score} -> {forged}, re-signed by the issuer itself",
         resigned(set_claim("score", forged), OWNER_KEY), None, "the proof says score"),
        ("height one lower, re-signed by the issuer", resigned(set_claim("height", honest_payload["credentialSubject"]
                                                                         ["height"] - 1), OWNER_KEY), None,
         "the proof says height"),
        ("one hex digit of the embedded proof's first entry changed, re-signed by the issuer",
         resigned(lambda subject: subject["proof"]["entries"][0].__setitem__(
             "proof", flip_hex(subject["proof"]["entries"][0]["proof"], 101)), OWNER_KEY), None,
         "the embedded proof does not verify"),
    ]
    outcomes = []
    for what, token, code, sentence in resign_cases:
        done = vc_verify(vc_file(f"resigned-{len(outcomes)}.jwt", token), "--offline")
        ok = done.returncode == 1 and (vc_code(done) == code if code else sentence in done.stderr)
        outcomes.append(ok)
        log(f"  {what}: exit {done.returncode}: {said(done)}")
    check(same and all(outcomes),
          f"re-signed tampering of the honest credential fails `vc verify --offline` ({outcomes}): another key "
          f"keeping the issuer (vc/5); a forged score or height under the forger's own did:key or the issuer's "
          f"key (the embedded proof disagrees); a changed proof under the issuer's key (it does not verify); control: Python re-signs the untouched payload into the CLI's JWS "
          f"byte for byte ({same})")
    # The claims the proof also fixes: the header's app hash and chain id.
    header_claims = []
    for claim, value in (("appHash", "00" * 32), ("chainId", CHAIN_ID + "-forged")):
        done = vc_verify(vc_file(f"resigned-{claim}.jwt", resigned(set_claim(claim, value), OWNER_KEY)), "--offline")
        header_claims.append((claim, done.returncode, said(done) if done.returncode else "VALID"))
    check(all(rc == 1 for _, rc, _ in header_claims),
          f"an appHash or chainId claim that is not the proven header's, re-signed by the issuer, fails `vc verify "
          f"--offline`: {header_claims}")

    # 6.3 revocation: not revoked, `vc revoke`, REVOKED and vc/9 within one block.
    claims_path = vc_file("calibration-claims.json", json.dumps(
        {"calibratedAt": "2026-12-01", "offsetMilliKelvin": -12, "lab": "Zürich / hall 3"}, ensure_ascii=False))
    claims_given = json.load(open(claims_path, encoding="utf-8"))
    calibration, calibration_2 = vc_file("calibration.jwt"), vc_file("calibration-2.jwt")
    for path, name in ((calibration, "s2"), (calibration_2, "s3")):
        cli("vc", "issue", "--issuer", "owner", "--subject", DIDS[name], "--type", "CalibrationCertificate",
            "--claims", claims_path, "--valid-for", "1d", "-o", path)
    cal_token = open(calibration).read().strip()
    cal_index = int(jwt_parts(cal_token)[1]["credentialStatus"]["statusListIndex"])
    status_before = json.loads(cli("vc", "status", calibration, "--output", "json", home=False).stdout)
    online_before = vc_verify(calibration)
    revoked_at = json.loads(cli("vc", "revoke", "--issuer", "owner", calibration, "--output", "json").stdout)
    status_after = json.loads(cli("vc", "status", calibration, "--output", "json", home=False).stdout)
    status_line = cli("vc", "status", calibration, home=False).stdout.strip()
    online_after = vc_verify(calibration)
    other_after = vc_verify(calibration_2)
    check(status_before.get("status") == "valid" and online_before.returncode == 0
          and "not revoked" in json.loads(online_before.stdout or "{}").get("checks", []),
          f"`vc issue --type CalibrationCertificate --valid-for 1d` for s2 (status index {cal_index}): `vc status` "
          f"{status_before.get('status')} at height {status_before.get('height')}, `vc verify` online VALID, not "
          f"revoked")
    revoke_height = revoked_at.get("height") or 0
    check(revoked_at.get("index") == cal_index and status_after.get("status") == "revoked"
          and status_line.startswith("REVOKED") and revoke_height <= status_after.get("height", -1) <= revoke_height + 1
          and refused_with(online_after, "vc/9") and other_after.returncode == 0,
          f"`vc revoke --issuer owner` committed in block {revoke_height}; right after, `vc status` says "
          f"'{status_line}' and `vc verify` online: {said(online_after)}; s3's credential (index "
          f"{jwt_parts(open(calibration_2).read())[1]['credentialStatus']['statusListIndex']}) still verifies")

    # 6.4 interop with jwcrypto: it verifies ours; we verify its; Python reads our status list.
    owner_jwk = jose_jwk.JWK(kty="OKP", crv="Ed25519", x=b64url(OWNER_PUB))
    try:
        verified = jose_jwt.JWT(jwt=cal_token, key=owner_jwk, algs=["EdDSA"], expected_type="JWS")
        jose_header, jose_claims, jose_error = json.loads(verified.header), json.loads(verified.claims), None
    except Exception as error:  # jwcrypto raises several unrelated types
        jose_header, jose_claims, jose_error = {}, {}, f"{type(error).__name__}: {error}"
    try:
        jose_jwt.JWT(jwt=flipped(cal_token, len(cal_token) - 40), key=owner_jwk, algs=["EdDSA"], expected_type="JWS")
        jose_refuses = False
    except Exception:
        jose_refuses = True
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    valid_from, valid_until = jose_claims.get("validFrom", ""), jose_claims.get("validUntil", "")
    span = (int(time.mktime(time.strptime(valid_until, "%Y-%m-%dT%H:%M:%SZ"))
                - time.mktime(time.strptime(valid_from, "%Y-%m-%dT%H:%M:%SZ")))
            if re.fullmatch(stamp, valid_from) and re.fullmatch(stamp, valid_until) else None)
    want_status = {"id": f"{LIST_URL}#{cal_index}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                   "statusListIndex": str(cal_index), "statusListCredential": LIST_URL}
    check(jose_error is None and jose_refuses
          and jose_header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": OWNER_KID}
          and jose_claims.get("@context") == [VC_CONTEXT]
          and jose_claims.get("type") == ["VerifiableCredential", "CalibrationCertificate"]
          and jose_claims.get("issuer") == OWNER_DID and span == 86_400
          and jose_claims.get("credentialSubject") == dict(claims_given, id=DIDS["s2"])
          and jose_claims.get("credentialStatus") == want_status
          and compact_json(jose_claims) == unb64url(cal_token.split(".")[1]),
          f"jwcrypto verifies our CalibrationCertificate with the owner's key as an OKP Ed25519 JWK (and refuses it "
          f"with one signature character changed: {jose_refuses}); header {jose_header}; VC 2.0 payload: @context "
          f"v2, type, issuer {OWNER_DID[:20]}…, validFrom {valid_from} + {span} s = validUntil, credentialSubject "
          f"id + claims, BitstringStatusListEntry {cal_index} of {LIST_URL[:40]}…; the payload is sorted compact "
          f"JSON" + (f"; {jose_error}" if jose_error else ""))
    python_key = jose_jwk.JWK.generate(kty="OKP", crv="Ed25519")
    python_did = did_key(unb64url(python_key.export_public(as_dict=True)["x"]))
    foreign_claims = {
        "@context": [VC_CONTEXT], "type": ["VerifiableCredential", "InteropCredential"], "issuer": python_did,
        "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "credentialSubject": {"id": DIDS["s3"], "site": "Zürich hall 3", "ratedKW": 11, "tags": ["a/b"]},
    }
    foreign = jose_jwt.JWT(header={"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc",
                                   "kid": python_did + "#" + python_did[len("did:key:"):]}, claims=foreign_claims)
    foreign.make_signed_token(python_key)
    foreign_token = foreign.serialize()
    escaped = b"\\u00fc" in unb64url(foreign_token.split(".")[1])
    done = vc_verify(vc_file("jwcrypto.jwt", foreign_token))
    shown = json.loads(done.stdout) if done.returncode == 0 else {}
    check(done.returncode == 0 and escaped and shown.get("valid") is True and shown.get("issuer") == python_did
          and shown.get("subject") == DIDS["s3"] and shown.get("types") == foreign_claims["type"]
          and shown.get("checks") == [] and len(did_bytes(python_did)) == 33,
          f"a VC-JWT issued by jwcrypto (EdDSA, typ vc+jwt, issuer {python_did[:24]}…, a Python key; non-ASCII "
          f"claims as \\u escapes: {escaped}) verifies with `meshwork vc verify`: "
          + (f"valid, checks {shown.get('checks')}" if done.returncode == 0 else said(done)))
    listed = get(f"/vc/status/{OWNER_DID}")
    list_credential = listed.get("credential", {})
    encoded = list_credential.get("credentialSubject", {}).get("encodedList", "")
    try:
        bitstring = gzip.decompress(unb64url(encoded[1:])) if encoded.startswith("u") else b""
    except Exception as error:
        bitstring = b""
        log(f"  the encodedList does not decode: {error}")
    set_bits = [i for i in range(len(bitstring) * 8) if bitstring[i >> 3] & (0x80 >> (i & 7))]
    check(len(bitstring) == 16_384 and set_bits == [cal_index] and listed.get("revoked") == 1
          and list_credential.get("id") == LIST_URL and list_credential.get("issuer") == OWNER_DID
          and list_credential.get("type") == ["VerifiableCredential", "BitstringStatusListCredential"]
          and list_credential["credentialSubject"].get("statusPurpose") == "revocation",
          f"GET /vc/status/<owner> at height {listed.get('height')}: encodedList ({len(encoded)} characters) decodes "
          f"with Python's base64url + gzip to {len(bitstring) * 8} bits, set: {set_bits} (want [{cal_index}], the "
          f"revoked one); revoked {listed.get('revoked')}; its id is the entries' statusListCredential")

    # 6.5 bad input through the CLI, each refused with its code.
    cal2_token = open(calibration_2).read().strip()
    bad = [("a wrong signature (one signature character of s3's valid credential changed)",
            vc_file("bad-signature.jwt", flipped(cal2_token, cal2_token.rindex(".") + 30)), "vc/5")]
    wrong_key = vc_file("wrong-issuer-key.jwt")
    done = cli("vc", "issue", "--issuer", "s1", "--as", OWNER_DID, "--subject", DIDS["s2"], "--type",
               "CalibrationCertificate", "--no-status", "-o", wrong_key, expect_ok=False)
    if done.returncode != 0:  # a CLI that checks --as against the key: the same credential made in Python
        log(f"  NOTE: `vc issue --issuer s1 --as <owner>` refused ({said(done)}); signing it in Python")
        vc_file("wrong-issuer-key.jwt", jws({"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc",
                                             "kid": OWNER_DID + "#" + did_key(raw_key(KEYS["s1"]))[8:]},
                                            dict(jwt_parts(cal2_token)[1], issuer=OWNER_DID), KEYS["s1"]))
    bad.append(("signed by the wrong issuer key (s1's key, issuer the owner's did:key)", wrong_key, "vc/5"))
    time.sleep(max(0.0, expiring_issued + 2.1 - time.time()))
    bad.append(("expired (--valid-for 1s, verified 2 s later)", expiring, "vc/7"))
    bad.append(("a malformed JSON payload (signed by the owner)",
                vc_file("malformed.jwt", jws({"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": OWNER_KID},
                                             b'{"@context":["' + VC_CONTEXT.encode() + b'"],"type":', OWNER_KEY)),
                "vc/1"))
    unknown_list = "https://lists.example.invalid/status/7"
    bad.append((f"a status entry pointing at an unknown list ({unknown_list}, index 5; signed by the owner)",
                vc_file("unknown-list.jwt", jws(
                    {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": OWNER_KID},
                    dict(jwt_parts(cal2_token)[1], credentialStatus=dict(
                        want_status, id=f"{unknown_list}#5", statusListIndex="5", statusListCredential=unknown_list)),
                    OWNER_KEY)), "vc/10"))
    for what, path, code in bad:
        done = vc_verify(path)
        shown = said(done) if done.returncode else f"VALID, checks {json.loads(done.stdout).get('checks')}"
        check(refused_with(done, code), f"`vc verify` of {what}: exit {done.returncode}, {shown} (want {code})")
    log(f"credentials section took {time.time() - vc_began:.1f} s")
finally:
    for thing in STARTED:
        thing.stop()
    stop_devnet(devnet)

took = time.time() - began
if failures:
    print("--- last gateway lines:")
    print("\n".join(gateway_log_tail(os.path.join(HOME, "devnet.log"), 25)))
    print(f"oracle check: {len(failures)} failure(s) in {took:.0f} s; logs in {HOME}")
    for failure in failures:
        print(f"  FAIL: {failure}")
    sys.exit(1)
print(f"oracle check: all passed in {took:.0f} s ({HOME})")
