#!/usr/bin/env python3
"""Paid MQTT streams and payment channels end to end (issue 19 acceptance), on a devnet of 1 validator.

Identities: `owner` (the devnet's funded key) registers four devices (did:mesh, `device register`, each
key in the keystore) and funds three of them by transfers: the seller (owner controls its namespace), the
payee the listing pays, another payee, and the buyer. Every device submits its transactions with
`--from <its key> --as <its did:mesh>` and pays the fee from its own balance; every MQTT session
authenticates as a did:mesh (the devnet does not set [mqtt] allow_unregistered). Python signs the
buyer's vouchers with the buyer's key (its seed from `keys export`; pyca/cryptography Ed25519, an
implementation independent of the node's): a current key of the payer did:mesh.

0. Vouchers: one made by `meshwork pay voucher` parses in Python (string(chainId) ‖ varint channel ‖
   varint cumulativeAmount ‖ varint nonce ‖ key(32) ‖ signature(64), signed over varint(19) ‖
   "meshwork/voucher/v1" ‖ those fields) and Python signs the same bytes; Python's vouchers are taken
   by the gateway (PUBACK 0) and by the ledger (`pay redeem`).
   GET /gateway's paid-delivery counters (pricedDelivered, pricedAmount, unpaidRefused, vouchersAccepted,
   vouchersRefused, meteredChannels, listings) are checked exactly over each step below, and /metrics
   (meshwork_mqtt_priced_delivered, _priced_amount, _unpaid_refused, _vouchers_accepted) equals them.
1. The seller's owner lists a price per message on mesh/<seller>/temp (`market list`, payee = payee);
   `market show` and GET /market show it.
2. The buyer (funded, granted mqtt.subscribe on mesh/<seller>/# by the owner) opens a channel to the
   payee with a deposit of 1,000 x the price (`pay channel open`, latency printed).
3. The buyer connects with paho-mqtt, MQTT 5, user property mesh-channel=<id> on CONNECT, subscribes to
   the priced topic, publishes a voucher for 2 messages, then after message i a voucher for (i+2) x
   price. The seller publishes 100 readings (QoS 1, 40 ms apart; should the buyer's voucher for a reading
   not be in yet, the seller waits for it): the buyer gets all 100; the listing's owner and payee read them
   for free. The payee redeems what the gateway delivered (`pay redeem --channel`): its balance grows by
   100 x price - fee, GET /channels/<id> shows redeemed = 100 x price.
4. The buyer stops paying; 3 more readings: it gets the 2 its credit covers, then DISCONNECT 0x97 (its
   channel had a voucher here and the credit ran out); 7 more reach no one of the buyer's. An
   MQTT 3.1.1 session of the buyer with no channel gets no priced reading but the free topic
   (mesh/<seller>/free); a 3.1.1 session bound to the channel without credit gets nothing and stays up.
5. Bad vouchers over MQTT 5 (another key, another chain, above the deposit: 0x87; malformed: 0x99; a
   topic naming another channel: 0x90; a channel that does not exist: 0x87): none changes the credit.
   Sessions bound by mesh-channel on CONNECT or on SUBSCRIBE (no voucher of their own) receive a listing
   priced per message + per started KiB (also its retained message), each charged exactly that; once the
   listing is removed (both prices 0) the topic is free. A channel to another payee does not pay for the
   listing (the MQTT 5 session is not disconnected: delivery just stops), and a session naming a channel
   it does not pay from is not bound to it.
6. Bad vouchers on the ledger (`pay redeem`): another signer (channels/7), another payee's channel
   (channels/5), another channel in a settle (channels/7), no such channel (channels/2), equal or lower
   than redeemed (channels/8), above the deposit (channels/9), a claim above the voucher (channels/10):
   the channel and the payee's balance do not change.
7. Top-up and close: `pay channel top-up`, after which the gateway takes a voucher above the first
   deposit; `pay channel close` by the payer; in the window no top-up or second close (channels/11), the
   gateway takes no voucher (0x87) and delivers no priced message to the MQTT 5 session bound to the
   channel, which stays connected (no 0x97 for a closing channel); a stale voucher is refused
   (channels/8), the best one (the gateway's) is redeemed, a lower one after it is refused (channels/8);
   the payer's settle is refused before the window ends (channels/12); after it a redeem is refused
   (channels/13), the payer gets exactly deposit - redeemed - fee; a voucher after the settle is refused
   (channels/3).
8. Streams: `pay stream open`, a few seconds, `pay stream show` owes > 0 (exactly rate x BFT time),
   `withdraw` pays it, `top-up` pays what is owed first, `close` pays the rest owed and refunds the
   remainder; deposits = paid to the payee + refund, balances exact.

Latencies (CLI call to committed block) are printed as `BENCH:` lines, for docs/benchmarks.md.

usage: python3 scripts/payments-check.py path/to/meshwork
"""
import base64, json, os, re, signal, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
from mqtt_check_support import (  # noqa: E402
    HOST, STARTED, V311, V5, Paho, ack_code, disconnect_reason, gateway_log_tail, node_pid, port_open,
    probe_until_received, publish, raw_publish, raw_ready, raw_subscribe, wait_until)

if len(sys.argv) != 2:
    raise SystemExit(__doc__)
MESHWORK = os.path.abspath(sys.argv[1])
HOME = tempfile.mkdtemp(prefix="meshwork-payments-")
API, P2P, MQTT = 18580, 28756, 18990  # below the ephemeral range, apart from the other checks
NODE = f"http://127.0.0.1:{API}"
ENV = dict(os.environ, MESHWORK_PASSPHRASE="payments-check-passphrase")
PRICE = 1_000           # base units per reading
DEPOSIT = 1_000 * PRICE  # well above 100 x price
FEE = 1_000             # the CLI's default --fee
SETTLE_BLOCKS = 12      # the main channel's close window
EMPTY_BLOCKS_MS = 500   # an empty block at most every 500 ms (a transaction gets one at once)
STREAM_RATE, STREAM_DEPOSIT, STREAM_TOPUP = 1_000, 100_000, 10_000
READINGS = 100
PACE = 0.04             # seconds between the seller's readings
failures, latencies = [], []


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


# ---- vouchers, written from the README's description (not from the node's code) ----

VOUCHER_TAG = b"meshwork/voucher/v1"


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


def string(text):
    data = text.encode()
    return uvarint(len(data)) + data


def voucher_message(chain_id, channel, amount, nonce):
    return string(chain_id) + uvarint(channel) + uvarint(amount) + uvarint(nonce)


def raw_key(private):
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def sign_voucher(private, chain_id, channel, amount, nonce=None):
    """Canonical bytes: message ‖ key(32) ‖ signature(64), signed in meshwork/voucher/v1."""
    message = voucher_message(chain_id, channel, amount, amount if nonce is None else nonce)
    signature = private.sign(uvarint(len(VOUCHER_TAG)) + VOUCHER_TAG + message)
    return message + raw_key(private) + signature


def text(canonical):
    return "mwv1." + base64.urlsafe_b64encode(canonical).decode().rstrip("=")


def parse_voucher(voucher_text):
    """The fields of a voucher's text form; raises if it is not one or its signature does not verify."""
    if not voucher_text.startswith("mwv1."):
        raise ValueError("no mwv1. prefix")
    body = voucher_text[5:]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        raise ValueError("not base64url without padding")
    data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    size, index = read_uvarint(data, 0)
    chain_id, index = data[index:index + size].decode(), index + size
    channel, index = read_uvarint(data, index)
    amount, index = read_uvarint(data, index)
    nonce, index = read_uvarint(data, index)
    key, signature = data[index:index + 32], data[index + 32:index + 96]
    if len(data) != index + 96:
        raise ValueError(f"{len(data)} bytes, want {index + 96}")
    Ed25519PublicKey.from_public_bytes(key).verify(signature, uvarint(len(VOUCHER_TAG)) + VOUCHER_TAG + data[:index])
    return dict(chainId=chain_id, channel=channel, cumulativeAmount=amount, nonce=nonce, key=key.hex(),
                canonical=data)


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


def wait_height(target, seconds=60):
    if not wait_until(lambda: (height() or 0) >= target, seconds, step=0.1):
        raise SystemExit(f"FAIL: the node did not reach height {target} in {seconds}s; devnet log:\n{devnet_tail()}")
    return height()


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


def timed(what, *args, committed_at=lambda result: result.get("height")):
    """Runs a CLI command that commits a transaction; records the wall time and the blocks it took."""
    before = height()
    began = time.time()
    result = cli_json(*args)
    took = time.time() - began
    committed = committed_at(result)
    blocks = None if committed is None or before is None else committed - before
    latencies.append((what, took, blocks, committed))
    log(f"BENCH: {what}: committed in {took * 1000:.0f} ms (CLI call to commit), block {committed}, "
        f"{blocks} block(s) after the height {before} seen before submitting")
    return result


def refused(*args):
    """Runs a CLI command expected to fail; (exit code, the `module/code` of its error, the error line)."""
    done = cli(*args, "--output", "json", expect_ok=False)
    line = (done.stderr.strip().splitlines() or [""])[-1]
    found = re.search(r"\[([a-z]+/\d+)\]\s*$", line)
    return done.returncode, found.group(1) if found else None, line


def balance(did):
    return get(f"/accounts/{did}")["balance"]


def channel(channel_id):
    return get(f"/channels/{channel_id}")["channels"][0]


def metered(channel_id):
    return channel(channel_id).get("metered") or {}


def ledger_state(channel_id):
    shown = channel(channel_id)
    return {key: shown[key] for key in ("deposit", "redeemed", "held", "lastNonce", "closesAt", "status")}


def by(name):
    """A device's transaction options: its keystore key signs as its did:mesh, which pays the fee."""
    return ["--from", name, "--as", DEVICES[name]]


PAYMENT_COUNTERS = ("pricedDelivered", "pricedAmount", "unpaidRefused", "vouchersAccepted", "vouchersRefused")
GAUGES = {"pricedDelivered": "meshwork_mqtt_priced_delivered", "pricedAmount": "meshwork_mqtt_priced_amount",
          "unpaidRefused": "meshwork_mqtt_unpaid_refused", "vouchersAccepted": "meshwork_mqtt_vouchers_accepted"}


def gateway_counters():
    """The paid-delivery counters of GET /gateway, and how many channels and listings the gateway holds."""
    shown = get("/gateway")
    return {key: shown[key] for key in PAYMENT_COUNTERS + ("meteredChannels", "listings")}


def metrics():
    """The unlabelled samples of GET /metrics (Prometheus text), name -> value."""
    with urllib.request.urlopen(NODE + "/metrics", timeout=5) as response:
        body = response.read().decode()
    samples = (line.split() for line in body.splitlines() if line and not line.startswith("#"))
    return {parts[0]: float(parts[1]) for parts in samples if len(parts) == 2 and "{" not in parts[0]}


def counted(before, want, what):
    """Checks that the paid-delivery counters of GET /gateway moved by exactly `want` since `before` (those not
    named by 0), and that GET /metrics then shows the same values as GET /gateway; returns the counters now."""
    now, scraped = gateway_counters(), metrics()
    delta = {key: now[key] - before[key] for key in PAYMENT_COUNTERS}
    expected = {key: want.get(key, 0) for key in PAYMENT_COUNTERS}
    gauges = {name: scraped.get(name) for name in GAUGES.values()}
    same = all(gauges[name] == now[key] for key, name in GAUGES.items())
    shown = ", ".join(f"{name}={'missing' if value is None else int(value)}" for name, value in gauges.items())
    check(delta == expected and same,
          f"GET /gateway counted {what}: {delta}{'' if delta == expected else f' (want {expected})'}; "
          f"/metrics {'shows the same' if same else 'differs'} ({shown})")
    return now


def holds(key, value, seconds=3):
    """Waits until GET /gateway shows `value` for `key` (channels and listings follow committed blocks)."""
    return wait_until(lambda: gateway_counters()[key] == value, seconds, step=0.05)


def token(key, did=None):
    return cli("device", "token", "--key", key, *(["--did", did] if did else [])).stdout.strip()


def block_time(block_height):
    return get(f"/blocks/{block_height}")["header"]["timeMs"]


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


# ---- paho-mqtt MQTT 5 sessions ----

class Reader:
    """A paho-mqtt MQTT 5 session: mesh-channel=<id> on CONNECT (`connect_channel`) or on its SUBSCRIBE
    (`subscribe(..., channel=id)`); records (topic, payload) of what it receives and the DISCONNECT reason.
    It never reconnects (a DISCONNECT 0x97 is final)."""

    def __init__(self, client_id, did, password, connect_channel=None):
        self.messages, self.granted, self.connack, self.disconnect_code = [], None, None, None
        self.connected, self.subscribed, self.disconnected = threading.Event(), threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(did, password)
        self.client.reconnect_delay_set(min_delay=600, max_delay=600)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda client, userdata, message: self.received(message.topic, message.payload)
        self.client.on_disconnect = self._on_disconnect
        properties = Properties(PacketTypes.CONNECT)
        if connect_channel is not None:
            properties.UserProperty = [("mesh-channel", str(connect_channel))]
        STARTED.append(self)
        self.client.connect(HOST, MQTT, keepalive=60, clean_start=True, properties=properties)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = reason_code.value
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.granted = [code.value for code in reason_codes]
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.disconnect_code = reason_code.value
        self.disconnected.set()

    def received(self, topic, payload):
        with self.lock:
            self.messages.append((topic, payload))
            return len(self.messages)

    def subscribe(self, topic, channel=None):
        if not (self.connected.wait(10) and self.connack == 0):
            return None
        properties = Properties(PacketTypes.SUBSCRIBE)
        if channel is not None:
            properties.UserProperty = [("mesh-channel", str(channel))]
        self.subscribed.clear()
        self.client.subscribe(topic, qos=1, properties=properties)
        return self.granted if self.subscribed.wait(10) else None

    def payloads(self, start=0):
        with self.lock:
            return [payload.decode(errors="replace") for _, payload in self.messages[start:]]

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


class PayingBuyer(Reader):
    """The buyer: mesh-channel=<id> on CONNECT; after its i-th reading, while `paying`, it publishes a voucher
    (signed here) for (i + 2) x price to $mesh/pay/<id>. Records the PUBACK reason code of each voucher."""

    def __init__(self, did, password, channel_id, private, chain_id):
        self.channel_id, self.private, self.chain_id = channel_id, private, chain_id
        self.acks, self.sent, self.vouchers, self.paying = {}, {}, {}, True  # vouchers: amount -> text
        super().__init__("buyer-paid-v5", did, password, connect_channel=channel_id)
        self.client.on_publish = self._on_publish

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self.lock:
            self.acks[mid] = reason_code.value

    def received(self, topic, payload):
        count = super().received(topic, payload)
        if self.paying:
            self.pay((count + 2) * PRICE, nonce=count + 2)

    def pay(self, amount, nonce=None):
        voucher = text(sign_voucher(self.private, self.chain_id, self.channel_id, amount, nonce))
        # Not under self.lock: paho calls on_publish holding its own lock, which publish() takes too.
        info = self.client.publish(f"$mesh/pay/{self.channel_id}", voucher, qos=1)
        with self.lock:
            self.sent[info.mid] = amount
            self.vouchers[amount] = voucher
        return info.mid

    def paid(self):
        """The highest cumulative amount of a voucher taken with PUBACK 0."""
        with self.lock:
            return max([self.sent[mid] for mid, code in self.acks.items() if code == 0 and mid in self.sent] or [0])


def pingable(client):
    """A raw client answers PINGREQ with PINGRESP (the connection is up)."""
    try:
        client.send(b"\xc0\x00")
        return client.read_packet(3) == (0xD0, b"")
    except (OSError, TimeoutError):
        return False


def publish_retained(client, topic, payload, packet_id):
    """A QoS 1 retained PUBLISH (3.1.1); the PUBACK's code."""
    client.send(publish(V311, topic, payload, qos=1, packet_id=packet_id, flags=0x03))
    try:
        return ack_code(client.read_packet(5), 4, packet_id)
    except TimeoutError:
        return "no PUBACK within 5s"


def ending(closed, packets):
    """How a raw session's wait ended, in words."""
    if not closed:
        return "still connected"
    reason = disconnect_reason(packets)
    return "closed without DISCONNECT" if reason is None else f"DISCONNECT {reason:#04x}"


def publishes(packets):
    return [packet for packet in packets if packet[0] >> 4 == 3]


# ---- the scenario ----

devnet = start_devnet()
began = time.time()
try:
    wait_height(2, seconds=120)
    if not wait_until(lambda: port_open(MQTT), 30):
        raise SystemExit(f"FAIL: the MQTT port {MQTT} does not accept connections")
    status = get("/status")
    CHAIN_ID = status["chainId"]
    log(f"devnet of 1 validator in {HOME} (chain {CHAIN_ID}); API {NODE}, MQTT {HOST}:{MQTT}; "
        f"ready in {time.time() - began:.1f} s")

    # Identities: four devices of owner, each with its key in this home's keystore. The stranger's seed is
    # the script's own (it only signs vouchers that must be refused).
    SELLER, BUYER, PAYEE, OTHER = (
        cli_json("device", "register", "--controller", "owner", "--name", name, "--insecure-plaintext")["did"]
        for name in ("seller", "buyer", "payee", "other"))
    DEVICES = {"buyer": BUYER, "payee": PAYEE, "other": OTHER}
    exported = json.loads(cli("keys", "export", "buyer", "--output", "json", node=False).stdout)
    buyer_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(exported["seedHex"]))
    stranger_key = Ed25519PrivateKey.generate()
    TEMP, FREE = f"mesh/{SELLER}/temp", f"mesh/{SELLER}/free"
    for did, amount in ((BUYER, 10_000_000), (PAYEE, 100_000), (OTHER, 100_000)):
        cli("tx", "transfer", "--from", "owner", "--to", did, "--amount", str(amount))
        cli_json("policy", "grant", "--from", "owner", "--subject", did, "--action", "mqtt.subscribe",
                 "--resource", f"mesh/{SELLER}/#")
    TOK_SELLER, TOK_BUYER, TOK_PAYEE, TOK_OTHER = (token(name) for name in ("seller", "buyer", "payee", "other"))
    log(f"devices of owner: seller {SELLER}, payee {PAYEE}, buyer {BUYER} (funded 10,000,000), other payee "
        f"{OTHER}; buyer, payee and other may subscribe to mesh/<seller>/#")

    zero = dict.fromkeys(PAYMENT_COUNTERS + ("meteredChannels", "listings"), 0)
    shown = counted(zero, {}, "nothing before the first listing")
    check(shown["meteredChannels"] == 0 and shown["listings"] == 0,
          f"GET /gateway meters no channel and prices no topic yet ({shown['meteredChannels']} channels, "
          f"{shown['listings']} listings)")

    # ---- 0. vouchers: the CLI's parse in Python, Python's are the CLI's bytes ----
    made = cli_json("pay", "voucher", "--from", "buyer", "--channel", "7", "--amount", "123456", "--nonce", "42")
    try:
        parsed = parse_voucher(made["voucher"])
    except Exception as error:
        parsed = {"error": repr(error)}
    check(parsed.get("chainId") == CHAIN_ID and parsed.get("channel") == 7 and parsed.get("cumulativeAmount") == 123456
          and parsed.get("nonce") == 42 and parsed.get("key") == raw_key(buyer_key).hex(),
          f"a voucher made by `pay voucher` parses in Python and its signature verifies with pyca Ed25519 over "
          f"varint(19) ‖ meshwork/voucher/v1 ‖ message: "
          f"{ {k: v for k, v in parsed.items() if k != 'canonical'} } ({len(made['voucher'])} characters)")
    mine = text(sign_voucher(buyer_key, CHAIN_ID, 7, 123456, 42))
    check(mine == made["voucher"],
          "the same voucher signed in Python is byte-identical to the CLI's (Ed25519 is deterministic)")
    default_nonce = cli_json("pay", "voucher", "--from", "buyer", "--channel", "7", "--amount", "300")
    check(parse_voucher(default_nonce["voucher"])["nonce"] == 300, "`pay voucher` without --nonce uses the amount")

    # ---- 1. the seller's owner lists a price ----
    listed = timed("market list", "market", "list", "--from", "owner", "--pattern", TEMP, "--price-per-message",
                   str(PRICE), "--payee", PAYEE)
    shown = cli_json("market", "show")
    mine = [entry for entry in shown if entry["pattern"] == TEMP]
    check(len(mine) == 1 and mine[0]["owner"] == SELLER and mine[0]["payee"] == PAYEE
          and mine[0]["pricePerMessage"] == PRICE and mine[0]["pricePerKiB"] == 0
          and mine[0]["listedAt"] == listed["height"],
          f"`market show` lists {TEMP} at {PRICE} per message, payee {PAYEE[:20]}…, listed at {listed['height']}")
    by_owner = cli_json("market", "show", "--owner", SELLER)
    market = get("/market")
    api = [entry for entry in market["listings"] if entry["pattern"] == TEMP]
    check(by_owner == mine and api == mine and get(f"/market?owner={SELLER}")["listings"] == mine,
          f"`market show --owner <seller>`, GET /market and GET /market?owner= show the same listing "
          f"(height {market['height']})")
    check(holds("listings", 1), f"GET /gateway prices topics with {gateway_counters()['listings']} listing (want 1)")

    # ---- 2. the buyer opens a channel to the listing's payee ----
    buyer_before = balance(BUYER)
    opened = timed("pay channel open", "pay", "channel", "open", *by("buyer"), "--to", PAYEE, "--deposit",
                   str(DEPOSIT), "--settle-blocks", str(SETTLE_BLOCKS))
    CH = opened["channel"]
    state = channel(CH)
    check(state["payer"] == BUYER and state["payee"] == PAYEE and state["deposit"] == DEPOSIT
          and state["redeemed"] == 0 and state["status"] == "open" and state["settleBlocks"] == SETTLE_BLOCKS,
          f"channel {CH} is open: payer the buyer, payee the listing's payee, deposit {DEPOSIT} (1,000 x price), "
          f"window {SETTLE_BLOCKS} blocks")
    check(balance(BUYER) == buyer_before - DEPOSIT - FEE,
          f"the buyer's balance fell by deposit + fee: {buyer_before} -> {balance(BUYER)}")
    listed_channels = cli_json("pay", "channel", "list", "--party", BUYER)
    check([entry["id"] for entry in listed_channels] == [CH]
          and [entry["id"] for entry in get(f"/channels?party={PAYEE}")["channels"]] == [CH],
          "`pay channel list --party <buyer>` and GET /channels?party=<payee> show it")

    # ---- 3. paid readings: 100 messages against vouchers ----
    counters = gateway_counters()
    buyer = PayingBuyer(BUYER, TOK_BUYER, CH, buyer_key, CHAIN_ID)
    granted = buyer.subscribe(TEMP)
    check(buyer.connack == 0 and granted == [1],
          f"paho MQTT 5 buyer connects with mesh-channel={CH} (CONNACK {buyer.connack}) and subscribes to {TEMP} "
          f"at QoS 1 (SUBACK {granted})")
    first = buyer.pay(2 * PRICE, nonce=2)
    check(wait_until(lambda: first in buyer.acks, 5) and buyer.acks.get(first) == 0,
          f"its first voucher (2 x price, made in Python) is taken: PUBACK {buyer.acks.get(first)}")
    shown = metered(CH)
    check(shown.get("cumulativeAmount") == 2 * PRICE and shown.get("credit") == 2 * PRICE
          and shown.get("delivered") == 0 and shown.get("bestVoucher") == buyer.vouchers[2 * PRICE],
          f"GET /channels/{CH} shows the gateway's credit: {shown.get('credit')} (best voucher "
          f"{shown.get('cumulativeAmount')}, delivered {shown.get('delivered')})")
    # Checked once the buyer's session and voucher named the channel: a gateway meters a channel from then on
    # (builds before bbebb1d did from its channel.open block already).
    check(holds("meteredChannels", 1),
          f"the gateway meters the channel: meteredChannels {gateway_counters()['meteredChannels']} (want 1)")
    free_readers = {"the listing's owner (the seller device)": Paho(MQTT, "seller-reader", SELLER, TOK_SELLER, V311),
                    "the listing's payee": Paho(MQTT, "payee-reader", PAYEE, TOK_PAYEE, V311)}
    for who, reader in free_readers.items():
        check(reader.ready() and reader.subscribe(TEMP) == [1], f"{who} subscribes to {TEMP} with no channel "
                                                                 f"(SUBACK {reader.granted})")
    seller = raw_ready(MQTT, V311, "seller-pub", SELLER, TOK_SELLER)
    started, waits = time.time(), 0
    acks = []
    for number in range(1, READINGS + 1):
        time.sleep(PACE)
        # The buyer pays two readings ahead; on a slow machine the seller lets its voucher arrive first.
        if buyer.paid() < number * PRICE:
            waits += 1
            wait_until(lambda: buyer.paid() >= number * PRICE, 5, step=0.01)
        acks.append(raw_publish(seller, V311, TEMP, f"t-{number}", number))
    seconds = time.time() - started
    check(acks == [0] * READINGS, f"the seller published {READINGS} readings at QoS 1 in {seconds:.1f} s, all "
                                  f"acknowledged (it waited for the buyer's voucher {waits} time(s))")
    wait_until(lambda: len(buyer.messages) >= READINGS, 10)
    got = buyer.payloads()
    check(got == [f"t-{n}" for n in range(1, READINGS + 1)] and buyer.disconnect_code is None,
          f"the buyer received all {READINGS} readings, in order ({len(got)} received, disconnect "
          f"{buyer.disconnect_code})")
    for who, reader in free_readers.items():
        wait_until(lambda: len(reader.messages) >= READINGS, 5)
        check([payload.decode() for _, payload in reader.messages] == [f"t-{n}" for n in range(1, READINGS + 1)],
              f"{who} read all {READINGS} for free ({len(reader.messages)} received)")
        reader.stop()
    last = max(buyer.sent)
    wait_until(lambda: len(buyer.acks) == len(buyer.sent), 5)
    refused_acks = {buyer.sent[mid]: code for mid, code in buyer.acks.items() if code != 0}
    check(len(buyer.sent) == READINGS + 1 and not refused_acks and buyer.acks.get(last) == 0,
          f"all {len(buyer.sent)} vouchers (2, 3, …, {READINGS + 2} x price) were taken with PUBACK 0 "
          f"(refused: {refused_acks or 'none'})")
    shown = metered(CH)
    check(shown.get("delivered") == READINGS * PRICE and shown.get("cumulativeAmount") == (READINGS + 2) * PRICE
          and shown.get("credit") == 2 * PRICE,
          f"the gateway delivered {shown.get('delivered')} (= {READINGS} x price: the owner and the payee were "
          f"not charged), holds a voucher for {shown.get('cumulativeAmount')}, credit {shown.get('credit')} "
          f"(2 readings)")
    counters = counted(counters, {"pricedDelivered": READINGS, "pricedAmount": READINGS * PRICE,
                                  "vouchersAccepted": READINGS + 1},
                       f"the {READINGS} paid readings and {READINGS + 1} vouchers (none for the owner's and the "
                       f"payee's free readings)")
    payee_before = balance(PAYEE)
    redeemed = timed("pay redeem --channel (what the gateway delivered)", "pay", "redeem", *by("payee"),
                     "--channel", str(CH))
    payee_after = balance(PAYEE)
    check(redeemed["paid"] == READINGS * PRICE and payee_after - payee_before == READINGS * PRICE - FEE,
          f"the payee redeemed the gateway's claim: paid {redeemed['paid']}, balance {payee_before} -> {payee_after} "
          f"(+{payee_after - payee_before} = {READINGS} x {PRICE} - fee {FEE})")
    state = channel(CH)
    check(state["redeemed"] == READINGS * PRICE and state["held"] == DEPOSIT - READINGS * PRICE
          and state["lastNonce"] > 0,
          f"GET /channels/{CH}: redeemed {state['redeemed']}, held {state['held']}, lastNonce {state['lastNonce']}")
    check(wait_until(lambda: metered(CH).get("credit") == 2 * PRICE, 3),
          f"after the redeem the gateway's credit is still 2 x price ({metered(CH).get('credit')})")

    # ---- 4. a buyer that stops paying stops receiving ----
    v311 = Paho(MQTT, "buyer-v311-free", BUYER, TOK_BUYER, V311)
    check(v311.ready() and v311.subscribe(f"mesh/{SELLER}/#") == [1],
          f"an MQTT 3.1.1 session of the buyer with no channel subscribes to mesh/<seller>/# (SUBACK {v311.granted})")
    check(probe_until_received(seller, FREE, [lambda: any(t == FREE for t, _ in v311.messages)]),
          "it receives probes on the free topic mesh/<seller>/free")
    buyer.paying = False
    before = len(buyer.messages)
    acks = []
    for number in range(1, 4):
        time.sleep(0.1)
        acks.append(raw_publish(seller, V311, TEMP, f"u-{number}", 200 + number))
    # Its channel had a voucher here and the credit ran out at u-3: 0x97. The 7 readings after reach no
    # session of the buyer's (it is gone), so the gateway counts exactly one unpaid delivery for it.
    wait_until(lambda: buyer.disconnected.is_set(), 3)
    time.sleep(0.3)
    for number in range(4, 11):
        acks.append(raw_publish(seller, V311, TEMP, f"u-{number}", 200 + number))
    time.sleep(0.2)
    extra = buyer.payloads(before)
    check(acks == [0] * 10 and extra == ["u-1", "u-2"],
          f"the buyer stopped paying; of 10 more readings it received only the 2 its credit covered: {extra}")
    check(buyer.disconnect_code == 0x97,
          f"... and, being MQTT 5 with a channel whose credit (from a voucher taken here) ran out, was disconnected "
          f"with reason {buyer.disconnect_code!r} (want 0x97 = 151)")
    shown = metered(CH)
    check(shown.get("delivered") == (READINGS + 2) * PRICE and shown.get("credit") == 0,
          f"the gateway delivered {shown.get('delivered')} in all (102 x price), credit {shown.get('credit')}")
    buyer.stop()
    mark = len(v311.messages)
    acks = []
    for number in range(1, 6):
        acks.append(raw_publish(seller, V311, TEMP, f"p-{number}", 300 + number))
        acks.append(raw_publish(seller, V311, FREE, f"f-{number}", 400 + number))
        time.sleep(0.05)
    wait_until(lambda: sum(t == FREE for t, _ in v311.messages[mark:]) >= 5, 3)
    time.sleep(0.3)
    got = v311.messages[mark:]
    priced = [payload for topic, payload in v311.messages if topic == TEMP]
    check(acks == [0] * 10 and [p.decode() for t, p in got if t == FREE] == [f"f-{n}" for n in range(1, 6)]
          and not priced,
          f"the 3.1.1 session without a channel got the 5 free readings and none of the {5 + 10} priced ones "
          f"({len(priced)} priced received)")
    check(v311.client.is_connected(), "... and stays connected (3.1.1 just stops receiving)")
    counted(counters, {"pricedDelivered": 2, "pricedAmount": 2 * PRICE, "unpaidRefused": 1 + 10 + 5},
            "u-1 and u-2 paid; unpaid: u-3 for the buyer's MQTT 5 session, the 10 u- and 5 p- readings for its "
            "3.1.1 session without a channel")
    v311.stop()
    ack = publish_retained(seller, TEMP, "r-1", 380)
    late = Paho(MQTT, "buyer-v311-late", BUYER, TOK_BUYER, V311)
    owner_late = Paho(MQTT, "seller-reader-late", SELLER, TOK_SELLER, V311)
    granted = [client.subscribe(TEMP) if client.ready() else None for client in (late, owner_late)]
    wait_until(lambda: owner_late.messages, 3)
    time.sleep(0.3)
    check(ack == 0 and granted == [[1], [1]] and owner_late.messages == [(TEMP, b"r-1")] and not late.messages,
          f"a retained priced reading: the owner's new subscription gets it ({owner_late.messages}), the buyer's "
          f"unbound one does not ({late.messages})")
    late.stop()
    owner_late.stop()
    check(publish_retained(seller, TEMP, "", 381) == 0, "the seller clears it (an empty retained publish)")
    bound = raw_ready(MQTT, V311, "buyer-v311-bound", BUYER, TOK_BUYER)
    counters = gateway_counters()
    code = raw_subscribe(bound, V311, TEMP, packet_id=1)
    best = buyer.vouchers[(READINGS + 2) * PRICE]
    ack = raw_publish(bound, V311, f"$mesh/pay/{CH}", best, 2)
    check(code == 1 and ack == 0,
          f"a 3.1.1 session binds the channel by publishing its best voucher again (SUBACK {code}, PUBACK {ack})")
    acks = [raw_publish(seller, V311, TEMP, f"b-{number}", 500 + number) for number in range(1, 4)]
    closed, packets = bound.wait_closed(1.5)
    alive = not closed and pingable(bound)
    check(acks == [0] * 3 and not publishes(packets) and alive,
          f"bound with no credit, it receives none of 3 priced readings ({len(publishes(packets))}) and is not "
          f"disconnected (PINGREQ answered: {alive})")
    bound.close()
    check(metered(CH).get("delivered") == (READINGS + 2) * PRICE, "nothing more was charged")
    counted(counters, {"vouchersAccepted": 1, "unpaidRefused": 3},
            "the 3.1.1 session's voucher (taken, equal to the best) and its 3 unpaid readings")

    # ---- 5. bad vouchers over MQTT ----
    payer = raw_ready(MQTT, V5, "buyer-raw-v5", BUYER, TOK_BUYER)
    counters = gateway_counters()
    voucher_110 = sign_voucher(buyer_key, CHAIN_ID, CH, 110 * PRICE, 110)
    ack = raw_publish(payer, V5, f"$mesh/pay/{CH}", voucher_110, 1)
    shown = metered(CH)
    check(ack == 0 and shown.get("cumulativeAmount") == 110 * PRICE and shown.get("credit") == 8 * PRICE,
          f"a voucher for 110 x price as raw canonical bytes ({len(voucher_110)} bytes) is taken: PUBACK {ack}, credit "
          f"{shown.get('credit')} (8 readings)")
    reference = (shown.get("cumulativeAmount"), shown.get("credit"), shown.get("delivered"))
    good_120 = sign_voucher(buyer_key, CHAIN_ID, CH, 120 * PRICE)
    bad = [
        ("signed by another key", f"$mesh/pay/{CH}", text(sign_voucher(stranger_key, CHAIN_ID, CH, 120 * PRICE)), 0x87),
        ("for another chain", f"$mesh/pay/{CH}", text(sign_voucher(buyer_key, "meshwork-elsewhere", CH, 120 * PRICE)),
         0x87),
        ("above the deposit", f"$mesh/pay/{CH}", text(sign_voucher(buyer_key, CHAIN_ID, CH, DEPOSIT + PRICE)), 0x87),
        ("with its signature changed", f"$mesh/pay/{CH}", good_120[:-1] + bytes([good_120[-1] ^ 1]), 0x87),
        ("malformed text (not base64url)", f"$mesh/pay/{CH}", "mwv1.this*is*not*base64", 0x99),
        ("malformed bytes (truncated)", f"$mesh/pay/{CH}", good_120[:-5], 0x99),
        ("malformed bytes (garbage)", f"$mesh/pay/{CH}", os.urandom(40), 0x99),
        ("on a topic naming another channel", f"$mesh/pay/{CH + 1000}", text(good_120), 0x90),
        ("for a channel that does not exist", "$mesh/pay/999", text(sign_voucher(buyer_key, CHAIN_ID, 999, PRICE)),
         0x87),
    ]
    for index, (what, topic, payload, want) in enumerate(bad):
        ack = raw_publish(payer, V5, topic, payload, 10 + index)
        shown = metered(CH)
        now = (shown.get("cumulativeAmount"), shown.get("credit"), shown.get("delivered"))
        check(ack == want and now == reference,
              f"a voucher {what} is refused: PUBACK {ack!r} (want {want:#04x}); credit unchanged "
              f"(best, credit, delivered) = {now}")
    check(pingable(payer), "the MQTT 5 session stays connected after the refusals")
    counted(counters, {"vouchersAccepted": 1, "vouchersRefused": 5},
            "the voucher for 110 x price; the 5 refused by the channel's terms (another key, another chain, above "
            "the deposit, a changed signature, no such channel) but not the 3 malformed ones nor the one on "
            "another channel's topic (refused before they are checked)")

    # ---- 5b. sessions bound by mesh-channel on CONNECT or SUBSCRIBE pay from the same credit; per-KiB price ----
    BLOB = f"mesh/{SELLER}/blob"
    timed("market list (per KiB)", "market", "list", "--from", "owner", "--pattern", BLOB, "--price-per-message",
          "100", "--price-per-kib", "10", "--payee", PAYEE)
    check(wait_until(lambda: any(entry["pattern"] == BLOB and entry["pricePerKiB"] == 10
                                 for entry in get("/market")["listings"]), 3),
          f"{BLOB} is listed at 100 per message + 10 per started KiB")
    check(holds("listings", 2), f"GET /gateway prices topics with {gateway_counters()['listings']} listings (want 2)")
    before, counters = metered(CH), gateway_counters()
    retained_ack = publish_retained(seller, BLOB, b"r" * 100, 699)  # 100 + 10 x 1 to whoever subscribes
    readers = {"mesh-channel on CONNECT": Reader("buyer-connect-bound", BUYER, TOK_BUYER, connect_channel=CH),
               "mesh-channel on SUBSCRIBE": Reader("buyer-subscribe-bound", BUYER, TOK_BUYER)}
    granted = [readers["mesh-channel on CONNECT"].subscribe(BLOB),
               readers["mesh-channel on SUBSCRIBE"].subscribe(BLOB, channel=CH)]
    for who, reader in readers.items():
        wait_until(lambda: reader.messages, 2)
    retained = {who: [len(payload) for _, payload in reader.messages] for who, reader in readers.items()}
    check(retained_ack == 0 and all(lengths == [100] for lengths in retained.values()),
          f"a retained priced blob (100 bytes) reaches both bound sessions when they subscribe (got {retained})")
    time.sleep(0.3)  # a binding made after the SUBACK would be in place by now
    sizes = [2500, 0, 1024]  # 100 + 10 x 3, 100, 100 + 10 x 1
    acks = [raw_publish(seller, V311, BLOB, b"x" * size, 700 + index) for index, size in enumerate(sizes)]
    for who, reader in readers.items():
        wait_until(lambda: len([p for _, p in reader.messages if not p.startswith(b"r")]) >= len(sizes), 3)
    time.sleep(0.2)
    after = metered(CH)
    got = {who: [len(payload) for _, payload in reader.messages if not payload.startswith(b"r")]
           for who, reader in readers.items()}
    charged = after.get("delivered", 0) - before.get("delivered", 0)
    retained_paid = sum(lengths == [100] for lengths in retained.values())
    check(granted == [[1], [1]] and acks == [0] * 3 and all(sizes == lengths for lengths in got.values()),
          f"sessions bound with {' and with '.join(readers)} receive the priced blobs ({got}) without publishing a "
          f"voucher")
    check(charged == 2 * (130 + 100 + 110) + 110 * retained_paid
          and after.get("credit") == before.get("credit") - charged,
          f"each blob was charged 100 + 10 x started KiB per session: {charged} in all (want {2 * 340} + 110 per "
          f"retained blob delivered: {retained_paid}), credit {before.get('credit')} -> {after.get('credit')}")
    counted(counters, {"pricedDelivered": 2 * (len(sizes) + 1), "pricedAmount": 2 * (130 + 100 + 110 + 110)},
            "the blobs: 2 sessions x (3 published + 1 retained), 100 + 10 x started KiB each")
    for reader in readers.values():
        reader.stop()
    publish_retained(seller, BLOB, b"", 698)  # clears it; nobody is subscribed
    removed = timed("market list (both prices 0: removal)", "market", "list", "--from", "owner", "--pattern", BLOB)
    check(removed["removed"] and not [e for e in cli_json("market", "show") if e["pattern"] == BLOB],
          f"`market list` with both prices 0 removes the {BLOB} listing; `market show` no longer shows it")
    check(holds("listings", 1), f"... and the gateway drops it: {gateway_counters()['listings']} listing (want 1)")
    unbound = Reader("buyer-unbound-blob", BUYER, TOK_BUYER)
    granted = unbound.subscribe(BLOB)
    before = metered(CH)
    ack = raw_publish(seller, V311, BLOB, b"y" * 2000, 697)
    wait_until(lambda: unbound.messages, 3)
    check(granted == [1] and ack == 0 and [len(p) for _, p in unbound.messages] == [2000] and metered(CH) == before,
          f"once unlisted, blob readings are free: a session with no channel receives one "
          f"({[len(p) for _, p in unbound.messages]}), nothing charged")
    unbound.stop()

    # ---- 5c. a channel that does not pay the listing's payee, and one the session does not pay from ----
    CH2 = timed("pay channel open (a second channel, to another payee)", "pay", "channel", "open", *by("buyer"),
                "--to", OTHER, "--deposit", "50000", "--settle-blocks", "10")["channel"]
    wrong = raw_ready(MQTT, V5, "buyer-wrong-payee", BUYER, TOK_BUYER)
    counters = gateway_counters()
    ack = raw_publish(wrong, V5, f"$mesh/pay/{CH2}", text(sign_voucher(buyer_key, CHAIN_ID, CH2, 20_000)), 1)
    check(holds("meteredChannels", 2),
          f"once its voucher named channel {CH2}, the gateway meters it too: meteredChannels "
          f"{gateway_counters()['meteredChannels']} (want 2)")
    code = raw_subscribe(wrong, V5, TEMP, packet_id=2)
    stranger = Reader("other-names-buyers-channel", OTHER, TOK_OTHER, connect_channel=CH)
    stranger_granted = stranger.subscribe(TEMP)
    time.sleep(0.3)
    before, before2 = metered(CH), metered(CH2)
    reading = raw_publish(seller, V311, TEMP, "w-1", 800)
    closed, packets = wrong.wait_closed(1.5)
    alive = not closed and pingable(wrong)
    wrong.close()
    time.sleep(0.3)
    # Only a channel that had a voucher here and whose credit ran out ends an MQTT 5 session (0x97); a
    # channel to another payee just gets no priced message.
    check(ack == 0 and code == 1 and reading == 0 and before2.get("credit") == 20_000 and not publishes(packets)
          and alive and metered(CH2) == before2,
          f"a session bound (by its voucher) to channel {CH2}, which pays {OTHER[:20]}… and not the listing's "
          f"payee, gets no priced reading despite its credit {before2.get('credit')}, nothing charged, and stays "
          f"connected ({ending(closed, packets)}; PINGREQ answered: {alive})")
    check(stranger_granted == [1] and not stranger.messages and stranger.disconnect_code is None
          and metered(CH) == before,
          f"a session of another DID naming the buyer's channel {CH} (mesh-channel on CONNECT) is not bound to it: "
          f"no priced reading ({len(stranger.messages)}), not charged, not disconnected")
    counted(counters, {"vouchersAccepted": 1, "unpaidRefused": 2},
            f"the voucher of channel {CH2}; w-1 unpaid for the session bound to it and for the other DID's")
    stranger.stop()

    # ---- 6. bad vouchers on the ledger ----
    stale = buyer.vouchers[READINGS * PRICE]  # the voucher the buyer sent after reading 98
    cases = [
        ("signed by someone else (the stranger's key)",
         ["payee", text(sign_voucher(stranger_key, CHAIN_ID, CH, 150 * PRICE))],
         "channels/7"),
        ("of another payee's channel", ["payee", text(sign_voucher(buyer_key, CHAIN_ID, CH2, 1000))], "channels/5"),
        ("of a channel that does not exist", ["payee", text(sign_voucher(buyer_key, CHAIN_ID, 999, 1000))],
         "channels/2"),
        (f"equal to what was redeemed ({READINGS} x price, the buyer's own)", ["payee", stale], "channels/8"),
        ("lower than what was redeemed (50 x price)",
         ["payee", text(sign_voucher(buyer_key, CHAIN_ID, CH, 50 * PRICE))],
         "channels/8"),
        ("above the deposit", ["payee", text(sign_voucher(buyer_key, CHAIN_ID, CH, DEPOSIT + 1))], "channels/9"),
        ("claiming more than it promises (--amount)", ["payee", text(good_120), "--amount", str(121 * PRICE)],
         "channels/10"),
    ]
    for what, (signer, voucher, *more), want in cases:
        state, payee_balance = ledger_state(CH), balance(PAYEE)
        code, module_code, line = refused("pay", "redeem", *by(signer), voucher, *more)
        check(code != 0 and module_code == want and ledger_state(CH) == state and balance(PAYEE) == payee_balance,
              f"`pay redeem` of a voucher {what}: refused with {module_code} (want {want}); channel and payee "
              f"balance unchanged ({line[-110:]!r})")
    state, other_balance, held2 = ledger_state(CH), balance(OTHER), ledger_state(CH2)
    code, module_code, line = refused("pay", "channel", "settle", *by("other"), "--channel", str(CH2),
                                      "--voucher", text(good_120))
    check(code != 0 and module_code == "channels/7" and ledger_state(CH2) == held2 and ledger_state(CH) == state
          and balance(OTHER) == other_balance,
          f"`pay channel settle` of channel {CH2} by its payee with a voucher of channel {CH}: refused with "
          f"{module_code} (want channels/7), nothing changed")
    done = cli("pay", "redeem", *by("payee"), text(good_120), "--output", "json", expect_ok=False)
    python_redeem = json.loads(done.stdout) if done.returncode == 0 else {}
    check(python_redeem.get("paid") == 20 * PRICE and channel(CH)["redeemed"] == 120 * PRICE,
          f"a voucher signed in Python (120 x price) is redeemed by the ledger: paid {python_redeem.get('paid')} "
          f"{done.stderr.strip()[-120:] if done.returncode else ''}")
    # The gateway learns the new `redeemed` (credit = best - max(delivered, redeemed)).
    check(wait_until(lambda: metered(CH).get("credit") == 0, 3),
          f"the gateway's credit follows the ledger: best 110 x price, redeemed 120 x price -> credit "
          f"{metered(CH).get('credit')}")

    # ---- 7. top-up, close ----
    TOPUP, BEST = 50_000, DEPOSIT + 10_000  # the best voucher pays more than the first deposit
    buyer_before = balance(BUYER)
    timed("pay channel top-up", "pay", "channel", "top-up", *by("buyer"), "--channel", str(CH), "--amount",
          str(TOPUP))
    check(channel(CH)["deposit"] == DEPOSIT + TOPUP and balance(BUYER) == buyer_before - TOPUP - FEE,
          f"`pay channel top-up` of {TOPUP}: deposit {channel(CH)['deposit']}, the buyer paid top-up + fee")
    best = text(sign_voucher(buyer_key, CHAIN_ID, CH, BEST))
    counters = gateway_counters()
    attempts = []
    taken = wait_until(lambda: attempts.append(raw_publish(payer, V5, f"$mesh/pay/{CH}", best, 90 + len(attempts)))
                       or attempts[-1] == 0, 3, step=0.1)
    check(taken and metered(CH).get("cumulativeAmount") == BEST,
          f"the gateway learns the new deposit: a voucher for {BEST} (above the first deposit) is taken "
          f"(PUBACKs {attempts}); best voucher {metered(CH).get('cumulativeAmount')}")
    sent = list(attempts)
    start = height()
    closing = timed("pay channel close", "pay", "channel", "close", *by("buyer"), "--channel", str(CH),
                    committed_at=lambda result: result["closesAt"] - SETTLE_BLOCKS)
    state = channel(CH)
    check(state["status"] == "closing" and state["closesAt"] == closing["closesAt"]
          and start + SETTLE_BLOCKS <= state["closesAt"] <= height() + SETTLE_BLOCKS,
          f"`pay channel close`: status {state['status']}, closes at {state['closesAt']} (height then "
          f"{height()}, window {SETTLE_BLOCKS} blocks)")
    for what, args in (("a top-up", ("pay", "channel", "top-up", *by("buyer"), "--channel", str(CH),
                                     "--amount", "1000")),
                       ("a second close", ("pay", "channel", "close", *by("buyer"), "--channel", str(CH)))):
        code, module_code, line = refused(*args)
        check(code != 0 and module_code == "channels/11" and channel(CH)["deposit"] == DEPOSIT + TOPUP
              and channel(CH)["closesAt"] == state["closesAt"],
              f"in the window {what} is refused with {module_code} (want channels/11)")
    attempts = []
    refused_in_window = wait_until(
        lambda: attempts.append(raw_publish(payer, V5, f"$mesh/pay/{CH}", best, 100 + len(attempts))) or
        attempts[-1] == 0x87, 3, step=0.1)
    check(refused_in_window, f"the gateway refuses a voucher for the closing channel with 0x87 (PUBACKs {attempts})")
    sent += attempts
    code = raw_subscribe(payer, V5, TEMP, packet_id=200)
    ack = raw_publish(seller, V311, TEMP, "c-1", 600)
    closed, packets = payer.wait_closed(1.5)
    alive = not closed and pingable(payer)
    # A closing channel is not one whose credit ran out: no 0x97, the session just gets no priced message.
    check(code == 1 and ack == 0 and not publishes(packets) and alive,
          f"the MQTT 5 session bound to the closing channel gets no priced reading ({len(publishes(packets))}) and "
          f"stays connected ({ending(closed, packets)}; PINGREQ answered: {alive})")
    counted(counters, {"vouchersAccepted": sent.count(0), "vouchersRefused": sent.count(0x87), "unpaidRefused": 1},
            f"the voucher for {BEST} sent until the gateway took it, then until it refused it in the close window "
            f"(PUBACKs {sent}), and c-1 unpaid for the closing channel")
    payer.close()
    code, module_code, line = refused("pay", "redeem", *by("payee"), text(good_120))
    check(code != 0 and module_code == "channels/8" and channel(CH)["redeemed"] == 120 * PRICE,
          f"in the window, a stale voucher (120 x price, already redeemed) is refused with {module_code}")
    held_by_gateway = metered(CH).get("bestVoucher")
    payee_before = balance(PAYEE)
    won = timed("pay redeem (best voucher, in the close window)", "pay", "redeem", *by("payee"),
                held_by_gateway or best)
    check(held_by_gateway == best and won["paid"] == BEST - 120 * PRICE and channel(CH)["redeemed"] == BEST
          and balance(PAYEE) - payee_before == BEST - 120 * PRICE - FEE and won["height"] < state["closesAt"],
          f"the best voucher (the gateway's, {BEST}) wins in the window: paid {won['paid']} at height "
          f"{won['height']} < {state['closesAt']}, redeemed {channel(CH)['redeemed']}")
    code, module_code, line = refused("pay", "redeem", *by("payee"),
                                      text(sign_voucher(buyer_key, CHAIN_ID, CH, 130 * PRICE)))
    check(code != 0 and module_code == "channels/8" and channel(CH)["redeemed"] == BEST,
          f"... after which a lower voucher (130 x price, never redeemed) is refused with {module_code}")
    at = height()
    code, module_code, line = refused("pay", "channel", "settle", *by("buyer"), "--channel", str(CH))
    check(code != 0 and module_code == "channels/12" and channel(CH)["status"] == "closing"
          and balance(BUYER) == buyer_before - TOPUP - FEE - FEE,
          f"the payer's settle at height {at} (< {state['closesAt']}) is refused with {module_code} (want channels/12)")
    wait_height(state["closesAt"], seconds=SETTLE_BLOCKS * EMPTY_BLOCKS_MS / 1000 + 30)
    code, module_code, line = refused("pay", "redeem", *by("payee"),
                                      text(sign_voucher(buyer_key, CHAIN_ID, CH, BEST + 1000)))
    check(code != 0 and module_code == "channels/13",
          f"after the window a higher voucher is refused with {module_code} (want channels/13)")
    before_settle = balance(BUYER)
    settled = timed("pay channel settle (payer, after the window)", "pay", "channel", "settle", *by("buyer"),
                    "--channel", str(CH))
    remainder = DEPOSIT + TOPUP - BEST
    after_settle = balance(BUYER)
    check(settled["refund"] == remainder and after_settle - before_settle == remainder - FEE,
          f"after the window the payer settles at height {settled['height']}: refund {settled['refund']} = "
          f"deposit - redeemed = {DEPOSIT + TOPUP} - {BEST}; balance {before_settle} -> {after_settle} "
          f"(+{remainder} - fee {FEE})")
    http, body = get_status(f"/channels/{CH}")
    check(http == 404 and "settled" in body.get("message", ""),
          f"GET /channels/{CH} after the settle: {http} {body}")
    check(holds("meteredChannels", 1),
          f"the gateway no longer meters it: meteredChannels {gateway_counters()['meteredChannels']} (want 1)")
    code, module_code, line = refused("pay", "redeem", *by("payee"),
                                      text(sign_voucher(buyer_key, CHAIN_ID, CH, BEST + 1000)))
    check(code != 0 and module_code == "channels/3", f"a voucher after the settle is refused with {module_code} "
                                                     f"(want channels/3)")
    check(CH not in [entry["id"] for entry in get(f"/channels?party={BUYER}")["channels"]],
          "the channel is gone from GET /channels?party=<buyer>")
    check(buyer_before - TOPUP - 3 * FEE + remainder == after_settle,
          f"the payer's balance from the top-up to the settle: {buyer_before} - {TOPUP} - 3 fees (top-up, close, "
          f"settle) + {remainder} = {after_settle}")
    paid_in = DEPOSIT + TOPUP
    paid_out = BEST + remainder
    check(paid_in == paid_out, f"channel {CH}: deposited {paid_in} = redeemed {BEST} + refunded {remainder}")

    # ---- 8. streams ----
    buyer_start, payee_start = balance(BUYER), balance(PAYEE)
    opened = timed("pay stream open", "pay", "stream", "open", *by("buyer"), "--to", PAYEE, "--rate",
                   str(STREAM_RATE), "--deposit", str(STREAM_DEPOSIT))
    ST = opened["stream"]
    base_ms = block_time(opened["height"])
    time.sleep(3)
    shown = cli_json("pay", "stream", "show", str(ST), home=False)
    expected = STREAM_RATE * (shown["atMs"] - base_ms) // 1000
    check(shown["owed"] > 0 and shown["owed"] == expected and shown["deposit"] == STREAM_DEPOSIT and not shown["spent"],
          f"`pay stream show` {ST} after ~3 s: owed {shown['owed']} = {STREAM_RATE}/s x "
          f"{shown['atMs'] - base_ms} ms of BFT time ({expected})")
    withdrawn = timed("pay stream withdraw", "pay", "stream", "withdraw", *by("payee"), "--stream", str(ST))
    paid_1 = withdrawn["paid"]
    expected = STREAM_RATE * (block_time(withdrawn["height"]) - base_ms) // 1000
    check(paid_1 == expected and paid_1 >= shown["owed"] and balance(PAYEE) == payee_start + paid_1 - FEE,
          f"`withdraw` by the payee pays {paid_1} (rate x BFT time to its block: {expected}); payee balance "
          f"+{paid_1} - fee")
    time.sleep(1)
    payee_mid = balance(PAYEE)
    topped = timed("pay stream top-up", "pay", "stream", "top-up", *by("buyer"), "--stream", str(ST),
                   "--amount", str(STREAM_TOPUP))
    paid_t = balance(PAYEE) - payee_mid
    expected = STREAM_RATE * (block_time(topped["height"]) - base_ms) // 1000 - paid_1
    shown = cli_json("pay", "stream", "show", str(ST), home=False)
    check(paid_t == expected and shown["withdrawn"] == paid_1 + paid_t
          and shown["deposit"] == STREAM_DEPOSIT + STREAM_TOPUP - paid_1 - paid_t,
          f"`pay stream top-up` of {STREAM_TOPUP} first pays the payee what is owed ({paid_t}, expected {expected}); "
          f"the stream holds {shown['deposit']}, withdrawn {shown['withdrawn']}")
    time.sleep(1)
    closed_stream = timed("pay stream close", "pay", "stream", "close", *by("buyer"), "--stream", str(ST))
    paid_2 = closed_stream["paid"]
    expected = STREAM_RATE * (block_time(closed_stream["height"]) - base_ms) // 1000 - paid_1 - paid_t
    deposited = STREAM_DEPOSIT + STREAM_TOPUP
    refund = deposited - paid_1 - paid_t - paid_2
    buyer_end, payee_end = balance(BUYER), balance(PAYEE)
    check(paid_2 == expected and refund > 0, f"`close` pays the payee the rest owed ({paid_2}, expected {expected}) "
                                             f"and refunds {refund}")
    check(paid_1 + paid_t + paid_2 + refund == deposited
          and buyer_end == buyer_start - deposited - 3 * FEE + refund
          and payee_end == payee_start + paid_1 + paid_t + paid_2 - FEE,
          f"the balances add up: deposited {STREAM_DEPOSIT} + {STREAM_TOPUP} = paid {paid_1} + {paid_t} + {paid_2} "
          f"+ refund {refund}; buyer {buyer_start} -> {buyer_end} (- deposits - 3 fees + refund), payee "
          f"{payee_start} -> {payee_end} (+ paid - 1 fee)")
    http, body = get_status(f"/streams/{ST}")
    check(http == 404, f"GET /streams/{ST} after the close: {http} {body}")
    cli("pay", "channel", "settle", *by("other"), "--channel", str(CH2))  # the payee settles any time
    check(holds("meteredChannels", 0),
          f"once the payee settled channel {CH2}, the gateway meters no channel "
          f"({gateway_counters()['meteredChannels']})")
finally:
    for thing in STARTED:
        thing.stop()
    stop_devnet(devnet)

took = time.time() - began
if latencies:
    print(f"\nlatencies (CLI call to committed block; 1 validator, {os.path.basename(os.path.dirname(MESHWORK))} "
          f"build of {MESHWORK}, empty blocks every {EMPTY_BLOCKS_MS} ms):")
    for what, seconds, blocks, at in latencies:
        print(f"  {what:<58} {seconds * 1000:7.0f} ms   block {at}  (+{blocks})")
if failures:
    print("--- last gateway lines:")
    print("\n".join(gateway_log_tail(os.path.join(HOME, "devnet.log"), 25)))
    print(f"payments check: {len(failures)} failure(s) in {took:.0f} s; logs in {HOME}")
    for failure in failures:
        print(f"  FAIL: {failure}")
    sys.exit(1)
print(f"payments check: all passed in {took:.0f} s ({HOME})")
