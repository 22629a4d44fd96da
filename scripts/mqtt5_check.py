"""MQTT 5 broker behaviours on the devnet of scripts/mqtt-check.py (its section 9), each check citing
the normative statement of MQTT 5.0 it verifies ([MQTT-x.y.z-n], or the section where the text has
no numbered statement). paho-mqtt (MQTT 5) is the client wherever it can express the case; raw
sockets (hand-built packets with MQTT 5 properties) where paho hides what is checked: properties of
CONNACK, topic aliases and windows on the wire, protocol errors.

run(ctx) takes ctx.mqtt (node-0's MQTT port; node-i listens on ctx.mqtt + i), devices ctx.A and
ctx.B with their tokens ctx.tok_a and ctx.tok_b (A owns mesh/<A>/#; B may subscribe to it), and the
script's ctx.check and ctx.log. Each case publishes under mesh/<A>/m5/<case>/ with client ids
m5-<case>-…, and closes its clients when it ends; one that raises is a failed check, and the next
case runs.
"""
import json, struct, threading, time
from types import SimpleNamespace

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from mqtt_check_support import (
    HOST, V5, Raw, ack_code, closed_as_expected, disconnect_reason, mstr, packet, raw_publish, varint, wait_until)

# MQTT 5 property identifiers (section 2.2.2.2) used here.
PAYLOAD_FORMAT, CONTENT_TYPE, RESPONSE_TOPIC = 0x01, 0x03, 0x08
SUBSCRIPTION_ID, SESSION_EXPIRY, SERVER_KEEP_ALIVE, WILL_DELAY = 0x0B, 0x11, 0x13, 0x18
RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS, MAXIMUM_PACKET_SIZE = 0x21, 0x22, 0x23, 0x27
SUBSCRIPTION_IDS_AVAILABLE, SHARED_AVAILABLE = 0x29, 0x2A
BYTE, TWO, FOUR, VARINT, STRING, BINARY, PAIR = range(7)
PROPERTY_TYPES = {
    0x01: BYTE, 0x02: FOUR, 0x03: STRING, 0x08: STRING, 0x09: BINARY, 0x0B: VARINT, 0x11: FOUR, 0x12: STRING,
    0x13: TWO, 0x15: STRING, 0x16: BINARY, 0x17: BYTE, 0x18: FOUR, 0x19: BYTE, 0x1A: STRING, 0x1C: STRING,
    0x1F: STRING, 0x21: TWO, 0x22: TWO, 0x23: TWO, 0x24: BYTE, 0x25: BYTE, 0x26: PAIR, 0x27: FOUR, 0x28: BYTE,
    0x29: BYTE, 0x2A: BYTE}
PROVENANCE = "meshwork-provenance"  # the user property the gateway appends to what it delivers
SHARED_MESSAGES = 3_000
GRANT = "[MQTT-3.8.4-7]"  # a SUBACK shows the QoS granted


# ---- MQTT 5 packets by hand ----

def properties(*entries):
    """A property block: its length, then each (identifier, value) as section 2.2.2.2 encodes it."""
    data = b""
    for identifier, value in entries:
        kind = PROPERTY_TYPES[identifier]
        data += varint(identifier)
        if kind == BYTE:
            data += bytes([value])
        elif kind == TWO:
            data += struct.pack(">H", value)
        elif kind == FOUR:
            data += struct.pack(">I", value)
        elif kind == VARINT:
            data += varint(value)
        elif kind == PAIR:
            data += mstr(value[0]) + mstr(value[1])
        else:
            data += mstr(value)
    return varint(len(data)) + data


def connect5(client_id, did, password, clean=True, keepalive=60, props=(), will=None):
    """An MQTT 5 CONNECT; `will` is (topic, payload, QoS, will properties)."""
    flags = 0xC0 | (0x02 if clean else 0)
    if will:
        flags |= 0x04 | will[2] << 3
    body = mstr("MQTT") + bytes([5, flags]) + struct.pack(">H", keepalive) + properties(*props) + mstr(client_id)
    if will:
        topic, payload, _, will_props = will
        body += properties(*will_props) + mstr(topic) + mstr(payload)
    return packet(0x10, body + mstr(did) + mstr(password))


def publish5(topic, payload, qos=0, packet_id=1, props=()):
    body = mstr(topic) + (struct.pack(">H", packet_id) if qos else b"") + properties(*props)
    return packet(0x30 | qos << 1, body + (payload.encode() if isinstance(payload, str) else payload))


def subscribe5(packet_id, filters, props=()):
    """SUBSCRIBE of (filter, subscription options byte) pairs."""
    body = struct.pack(">H", packet_id) + properties(*props)
    return packet(0x82, body + b"".join(mstr(topic_filter) + bytes([options]) for topic_filter, options in filters))


def puback(packet_id):
    return packet(0x40, struct.pack(">H", packet_id))


def read_varint(data, offset):
    value, multiplier = 0, 1
    while True:
        byte = data[offset]
        offset += 1
        value += (byte & 0x7F) * multiplier
        multiplier *= 128
        if not byte & 0x80:
            return value, offset


def parse_properties(data, offset):
    """The (identifier, value) list of the property block at `offset`, and the offset after it."""
    length, offset = read_varint(data, offset)
    end, entries = offset + length, []
    while offset < end:
        identifier, offset = read_varint(data, offset)
        kind = PROPERTY_TYPES[identifier]
        if kind == BYTE:
            value, offset = data[offset], offset + 1
        elif kind == TWO:
            value, offset = struct.unpack_from(">H", data, offset)[0], offset + 2
        elif kind == FOUR:
            value, offset = struct.unpack_from(">I", data, offset)[0], offset + 4
        elif kind == VARINT:
            value, offset = read_varint(data, offset)
        else:
            fields = []
            for _ in range(2 if kind == PAIR else 1):
                size = struct.unpack_from(">H", data, offset)[0]
                fields.append(bytes(data[offset + 2:offset + 2 + size]))
                offset += 2 + size
            value = fields[0] if kind == BINARY else tuple(f.decode() for f in fields) if kind == PAIR \
                else fields[0].decode()
        entries.append((identifier, value))
    return entries, end


def parse_connack(frame):
    """(session present, reason code, {identifier: value}) of a v5 CONNACK frame."""
    first, body = frame
    if first != 0x20:
        raise ValueError(f"not a CONNACK: {first:02x} {bytes(body).hex(' ')}")
    entries, _ = parse_properties(body, 2)
    return bool(body[0] & 1), body[1], dict(entries)


def parse_publish(frame):
    """A v5 PUBLISH frame as topic, qos, retain, packet_id, props ((identifier, value) list) and payload."""
    first, body = frame
    size = struct.unpack_from(">H", body, 0)[0]
    qos, offset = first >> 1 & 3, 2 + size
    packet_id = struct.unpack_from(">H", body, offset)[0] if qos else None
    props, offset = parse_properties(body, offset + (2 if qos else 0))
    return SimpleNamespace(topic=bytes(body[2:2 + size]).decode(), qos=qos, retain=bool(first & 1),
                           packet_id=packet_id, props=props, payload=bytes(body[offset:]))


def suback_codes(frame):
    """The reason codes of a v5 SUBACK frame, or a description of what came instead."""
    if frame is None or frame[0] != 0x90:
        return f"no SUBACK but {frame}"
    _, end = parse_properties(frame[1], 2)
    return list(frame[1][end:])


def prop(props, identifier):
    """The first value of a property in an (identifier, value) list, None when absent."""
    return next((value for ident, value in props if ident == identifier), None)


def publishes_within(client, seconds, until=None):
    """PUBLISH packets a Raw client receives within `seconds` (parsed), stopping early once
    until(list so far) holds or the server closes; other packets are skipped."""
    got, deadline = [], time.time() + seconds
    while time.time() < deadline and not (until and until(got)):
        try:
            frame = client.read_packet(max(0.01, deadline - time.time()))
        except TimeoutError:
            break
        if frame is None:
            break
        if frame[0] >> 4 == 3:
            got.append(parse_publish(frame))
    return got


# ---- paho ----

class Paho5:
    """A paho-mqtt MQTT 5 client on its own network thread that keeps every message whole (topic,
    payload, QoS, retain flag, properties), the reason codes of each SUBACK by message id, and counts
    the acknowledgements of its QoS 1 publishes."""

    def __init__(self, port, client_id, did, password, clean_start=True, session_expiry=None):
        self.messages, self.subacks, self.acked = [], {}, 0
        self.connack, self.session_present, self.connected = None, None, threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(did, password)
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda client, userdata, mid, codes, props: self.subacks.__setitem__(
            mid, [code.value for code in codes])
        self.client.on_message = lambda client, userdata, message: self.messages.append(message)
        self.client.on_publish = self._on_publish
        connect_props = Properties(PacketTypes.CONNECT)
        if session_expiry:
            connect_props.SessionExpiryInterval = session_expiry
        self.client.connect(HOST, port, keepalive=60, clean_start=clean_start, properties=connect_props)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, props):
        self.connack, self.session_present = reason_code.value, flags.session_present
        self.connected.set()

    def _on_publish(self, client, userdata, mid, reason_code, props):
        self.acked += 1

    def ready(self, timeout=10):
        return self.connected.wait(timeout) and self.connack == 0

    def subscribe(self, topic_filter, qos=1, no_local=False, retain_as_published=False, retain_handling=0,
                  identifier=None, timeout=10):
        """The SUBACK's reason codes, None when none came."""
        subscribe_props = None
        if identifier:
            subscribe_props = Properties(PacketTypes.SUBSCRIBE)
            subscribe_props.SubscriptionIdentifier = identifier
        options = SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=retain_as_published,
                                   retainHandling=retain_handling)
        _, mid = self.client.subscribe(topic_filter, options=options, properties=subscribe_props)
        return self.subacks.get(mid) if wait_until(lambda: mid in self.subacks, timeout, step=0.02) else None

    def publish(self, topic, payload, qos=1, retain=False, props=None, wait=True):
        """Publishes; with `wait`, True once a QoS 1 publish is acknowledged (10 s at most)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if wait and qos:
            info.wait_for_publish(10)
        return info.is_published()

    def on(self, topic):
        """The messages received on `topic`."""
        return [message for message in self.messages if message.topic == topic]

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


def publish_props(**values):
    """PUBLISH properties for paho (names as paho spells them)."""
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def probe(publisher, topic, received, seconds=15):
    """Publishes QoS 1 probes on `topic` (numbered payloads) until received() holds: the subscriptions
    it looks at are then known on the publisher's node."""
    deadline, number = time.time() + seconds, 0
    while time.time() < deadline:
        number += 1
        publisher.publish(topic, f"probe-{number}")
        if wait_until(received, 0.5, step=0.05):
            return True
    return False


# ---- the cases ----

class Case:
    """One numbered case: its topic prefix, the clients it opens (closed when it ends), and the
    script's check."""

    def __init__(self, ctx, name):
        self.ctx, self.name = ctx, name
        self.prefix = f"mesh/{ctx.A}/m5/{name}"
        self.opened = []

    def check(self, condition, what):
        return self.ctx.check(condition, what)

    def device(self, who):
        return (self.ctx.A, self.ctx.tok_a) if who == "A" else (self.ctx.B, self.ctx.tok_b)

    def paho(self, node, suffix, who="B", clean_start=True, session_expiry=None):
        """A connected paho client m5-<case>-<suffix> of device `who` on node-`node`."""
        client_id = f"m5-{self.name}-{suffix}"
        client = Paho5(self.ctx.mqtt + node, client_id, *self.device(who), clean_start, session_expiry)
        self.opened.append(client.stop)
        if not client.ready():
            raise RuntimeError(f"paho {client_id} on node-{node}: CONNACK {client.connack}")
        return client

    def raw(self, node, suffix, who="A", **options):
        """A Raw client m5-<case>-<suffix> of device `who` on node-`node` after a v5 CONNECT (options
        as connect5 takes them) answered with success; and that CONNACK parsed."""
        client_id = f"m5-{self.name}-{suffix}"
        client = Raw(self.ctx.mqtt + node)
        self.opened.append(client.close)
        client.send(connect5(client_id, *self.device(who), **options))
        frame = client.read_packet(5)
        if frame is None:
            raise RuntimeError(f"raw {client_id} on node-{node}: closed without CONNACK")
        connack = parse_connack(frame)
        if connack[1] != 0:
            raise RuntimeError(f"raw {client_id} on node-{node}: CONNACK reason {connack[1]:#04x}")
        return client, connack

    @staticmethod
    def raw_subscribe(client, topic_filter, options=1):
        """Sends one SUBSCRIBE (subscription options byte `options`) and returns its reason code (or a
        description)."""
        client.send(subscribe5(1, [(topic_filter, options)]))
        return ack_code(client.read_packet(5), 9, 1)

    def close(self):
        for stop in reversed(self.opened):
            stop()


def forwarding(t):
    """1. A publishes on node-0 with every forwarded property; B receives them unaltered on node-1
    (relayed) and on node-0."""
    subscribers = {node: t.paho(node, f"b{node}") for node in (1, 0)}
    for node, subscriber in subscribers.items():
        t.check(subscriber.subscribe(f"{t.prefix}/#") == [1],
                f"{GRANT} B subscribes to {t.prefix}/# on node-{node}: QoS 1 granted")
    publisher = t.paho(0, "pub", "A")
    t.check(probe(publisher, f"{t.prefix}/probe", lambda: subscribers[1].on(f"{t.prefix}/probe")),
            "[section 3.3.4] A's probes on node-0 reach B on node-1 (its subscription is known on node-0)")
    sent_pairs = [("zone", "north"), ("unit", "°C"), ("zone", "south"), ("a", "")]
    sent = dict(PayloadFormatIndicator=1, ContentType="application/json; charset=utf-8",
                ResponseTopic=f"{t.prefix}/reply/7", CorrelationData=b"\x00\xffcorr\x01")
    topic = f"{t.prefix}/data"
    t.check(publisher.publish(topic, '{"t": 21.5}', props=publish_props(**sent, UserProperty=sent_pairs)),
            "[MQTT-3.3.4-1] A's QoS 1 publish with payload format, content type, response topic, correlation data and "
            "4 user properties is acknowledged")
    cites = {"PayloadFormatIndicator": "[MQTT-3.3.2-4]", "ContentType": "[MQTT-3.3.2-20]",
             "ResponseTopic": "[MQTT-3.3.2-15]", "CorrelationData": "[MQTT-3.3.2-16]"}
    for node, subscriber in subscribers.items():
        if not t.check(wait_until(lambda: subscriber.on(topic), 10),
                       f"[section 3.3.4] B on node-{node} receives {topic}"):
            continue
        got = subscriber.on(topic)[0].properties
        for name, value in sent.items():
            t.check(getattr(got, name, None) == value,
                    f"{cites[name]} {name} reaches B on node-{node} unaltered: sent {value!r}, got "
                    f"{getattr(got, name, None)!r}")
        pairs = [tuple(pair) for pair in getattr(got, "UserProperty", [])]
        t.check(pairs[:len(sent_pairs)] == sent_pairs and all(n == PROVENANCE for n, _ in pairs[len(sent_pairs):]),
                f"[MQTT-3.3.2-17] [MQTT-3.3.2-18] the publisher's user properties reach B on node-{node} unaltered and "
                f"in order, before the gateway's own {PROVENANCE}: sent {sent_pairs}, got {pairs}")


def message_expiry(t):
    """2. Messages queued for B's offline session on node-1: the one whose expiry passed is not
    delivered, the other arrives with its expiry less the time it waited."""
    subscriber = t.paho(1, "b", session_expiry=300)
    t.check(subscriber.subscribe(f"{t.prefix}/#") == [1],
            f"{GRANT} B opens a session on node-1 (expiry 300 s) and subscribes at QoS 1")
    publisher = t.paho(0, "pub", "A")
    t.check(probe(publisher, f"{t.prefix}/probe", lambda: subscriber.on(f"{t.prefix}/probe")),
            "[section 3.3.4] A's probes on node-0 reach B's session on node-1")
    subscriber.stop()
    time.sleep(0.5)  # the node detaches the session: what follows is queued, not in flight
    topic = f"{t.prefix}/data"
    acked = [publisher.publish(topic, "expires-in-2s", props=publish_props(MessageExpiryInterval=2)),
             publisher.publish(topic, "expires-in-100s", props=publish_props(MessageExpiryInterval=100))]
    t.check(all(acked), f"[MQTT-3.3.4-1] A publishes (QoS 1, node-0) one message with Message Expiry Interval 2 and "
                        f"one with 100 for B's offline session: acknowledged {acked}")
    time.sleep(4)
    resumed = t.paho(1, "b", clean_start=False, session_expiry=300)
    wait_until(lambda: resumed.on(topic), 10)
    got = [(message.payload.decode(), getattr(message.properties, "MessageExpiryInterval", None))
           for message in resumed.on(topic)]
    t.check([payload for payload, _ in got] == ["expires-in-100s"],
            f"[MQTT-3.3.2-5] B resumes its session 4 s later (session present {resumed.session_present}) and gets only "
            f"the message that has not expired: {got}")
    left = got[-1][1] if got else None
    t.check(left is not None and 90 < left < 100,
            f"[MQTT-3.3.2-6] its Message Expiry Interval is the 100 s sent less the time it waited: {left}")


def subscription_identifiers(t):
    """3. Subscription identifiers of overlapping subscriptions travel with a message; 0 in a
    SUBSCRIBE, or any in a client's PUBLISH, is a protocol error."""
    subscriber = t.paho(0, "b")
    for identifier, topic_filter in ((7, f"{t.prefix}/#"), (9, f"{t.prefix}/+/x")):
        t.check(subscriber.subscribe(topic_filter, identifier=identifier) == [1],
                f"{GRANT} B subscribes to {topic_filter} with Subscription Identifier {identifier}")
    publisher = t.paho(0, "pub", "A")
    for topic, expected in ((f"{t.prefix}/a/x", [7, 9]), (f"{t.prefix}/b", [7])):
        publisher.publish(topic, "x")
        arrived = wait_until(lambda: subscriber.on(topic), 5)
        time.sleep(0.2)  # a second copy, if one were sent, would be here by now
        got = [sorted(getattr(message.properties, "SubscriptionIdentifier", [])) for message in subscriber.on(topic)]
        t.check(arrived and got == [expected],
                f"[MQTT-3.3.4-3] [MQTT-3.3.4-4] a message on {topic} arrives once carrying Subscription Identifiers "
                f"{expected}: {got}")
    client, _ = t.raw(0, "sub0", "B")
    client.send(subscribe5(1, [(f"{t.prefix}/#", 1)], [(SUBSCRIPTION_ID, 0)]))
    ok, detail = closed_as_expected(client, V5, 0x82)
    t.check(ok, f"[section 3.8.2.1.2] a SUBSCRIBE with Subscription Identifier 0 gets DISCONNECT 0x82: {detail}")
    client, _ = t.raw(0, "pubid")
    client.send(publish5(f"{t.prefix}/c", "x", props=[(SUBSCRIPTION_ID, 5)]))
    ok, detail = closed_as_expected(client, V5, 0x82)
    t.check(ok, f"[MQTT-3.3.4-6] a client's PUBLISH with a Subscription Identifier gets DISCONNECT 0x82: {detail}")


def no_local(t):
    """4. No Local: a connection does not get its own message back; another connection of A does."""
    own = t.paho(0, "own", "A")
    other = t.paho(0, "other", "A")
    codes = [own.subscribe(f"{t.prefix}/#", no_local=True), other.subscribe(f"{t.prefix}/#")]
    t.check(codes == [[1], [1]], f"{GRANT} A subscribes to {t.prefix}/# with No Local on one connection and without on "
                                 f"another: {codes}")
    topic = f"{t.prefix}/x"
    own.publish(topic, "from-own")
    arrived = wait_until(lambda: other.on(topic), 5)
    time.sleep(0.5)
    t.check(arrived and not own.on(topic),
            f"[MQTT-3.8.3-3] A's publish reaches its other connection ({len(other.on(topic))}) and not the publishing "
            f"connection, subscribed with No Local ({len(own.on(topic))})")


def retain_as_published(t):
    """5. Retain As Published: a live retained message keeps its RETAIN flag only for subscriptions
    that ask for it."""
    plain = t.paho(0, "rap0")
    kept = t.paho(0, "rap1")
    codes = [plain.subscribe(f"{t.prefix}/#"), kept.subscribe(f"{t.prefix}/#", retain_as_published=True)]
    t.check(codes == [[1], [1]],
            f"{GRANT} B subscribes with Retain As Published 0 and, on another connection, 1: {codes}")
    publisher = t.paho(0, "pub", "A")
    topic = f"{t.prefix}/state"
    try:
        publisher.publish(topic, "on", retain=True)
        wait_until(lambda: plain.on(topic) and kept.on(topic), 5)
        flags = [message.retain for message in plain.on(topic)]
        t.check(flags == [False], f"[MQTT-3.3.1-12] with Retain As Published 0 the live retained publish arrives with "
                                  f"RETAIN 0: {flags}")
        flags = [message.retain for message in kept.on(topic)]
        t.check(flags == [True], f"[MQTT-3.3.1-13] with Retain As Published 1 it arrives with RETAIN 1: {flags}")
    finally:
        publisher.publish(topic, b"", retain=True)


def retain_handling(t):
    """6. Retain Handling 0, 1 (new and existing subscription) and 2."""
    publisher = t.paho(0, "pub", "A")
    topic, topic_filter = f"{t.prefix}/state", f"{t.prefix}/#"
    try:
        t.check(publisher.publish(topic, "kept", retain=True),
                f"[MQTT-3.3.1-5] A publishes a retained message on {topic}")
        always = t.paho(0, "rh0")
        always.subscribe(topic_filter, retain_handling=0)
        arrived = wait_until(lambda: always.on(topic), 5)
        t.check(arrived and always.on(topic)[0].retain,
                f"[MQTT-3.3.1-9] Retain Handling 0: the retained message is sent ({len(always.on(topic))}, RETAIN 1)")
        new_only = t.paho(0, "rh1")
        new_only.subscribe(topic_filter, retain_handling=1)
        first = wait_until(lambda: new_only.on(topic), 5)
        codes = new_only.subscribe(topic_filter, retain_handling=1)
        never = t.paho(0, "rh2")
        never_codes = never.subscribe(topic_filter, retain_handling=2)
        time.sleep(1)
        t.check(first and len(new_only.on(topic)) == 1 and codes == [1],
                f"[MQTT-3.3.1-10] Retain Handling 1: sent for the new subscription, not again when the same filter is "
                f"subscribed again (received {len(new_only.on(topic))}, second SUBACK {codes})")
        t.check(never_codes == [1] and not never.on(topic),
                f"[MQTT-3.3.1-11] Retain Handling 2: not sent (received {len(never.on(topic))})")
    finally:
        publisher.publish(topic, b"", retain=True)


def shared_subscriptions(t):
    """7. Shared subscriptions: 3 members of one group on node-1 and node-2 share 3,000 messages
    published on node-0, each delivered once; no retained message for a new shared subscription;
    malformed share names; No Local on a shared subscription."""
    group = f"$share/grp/{t.prefix}/#"
    members = [t.paho(1, "m1"), t.paho(1, "m2"), t.paho(2, "m3")]
    codes = [member.subscribe(group) for member in members]
    t.check(codes == [[1]] * 3, f"[section 4.8.2] 3 members of {group} (2 on node-1, 1 on node-2) are granted QoS 1: "
                                f"{codes}")
    publisher = t.paho(0, "pub", "A")
    t.check(probe(publisher, f"{t.prefix}/probe", lambda: all(m.on(f"{t.prefix}/probe") for m in members), 20),
            "[section 4.8.2] A's probes on node-0 reach every member (the group is known on node-0)")
    topic, probes_acked = f"{t.prefix}/run", publisher.acked
    began = time.time()
    for sequence in range(SHARED_MESSAGES):
        publisher.publish(topic, str(sequence), wait=False)
    acked = wait_until(lambda: publisher.acked - probes_acked >= SHARED_MESSAGES, 60, step=0.05)
    received = lambda: sum(len(member.on(topic)) for member in members)
    wait_until(lambda: received() >= SHARED_MESSAGES, 60, step=0.05)
    took = time.time() - began
    time.sleep(0.5)  # duplicates, if any, would arrive by now
    counts = [len(member.on(topic)) for member in members]
    sequences = [int(message.payload) for member in members for message in member.on(topic)]
    t.ctx.log(f"BENCH: {SHARED_MESSAGES} QoS 1 messages from node-0 to a shared group on node-1/node-2 in "
              f"{took:.1f}s; per member {counts}")
    t.check(acked, f"[MQTT-3.3.4-1] A's {SHARED_MESSAGES} QoS 1 publishes are acknowledged")
    t.check(sorted(sequences) == list(range(SHARED_MESSAGES)),
            f"[section 4.8.2] each of the {SHARED_MESSAGES} messages reaches exactly one member: {len(sequences)} "
            f"received, {len(set(sequences))} distinct, {len(set(range(SHARED_MESSAGES)) - set(sequences))} missing")
    t.check(all(counts), f"[section 4.8.2] every member gets some of them: {counts}")

    retained_topic = f"{t.prefix}-retained/state"  # outside the group's filter
    try:
        publisher.publish(retained_topic, "kept", retain=True)
        late = t.paho(0, "late")
        control = t.paho(0, "control")
        shared_codes = late.subscribe(f"$share/late/{t.prefix}-retained/#")
        control.subscribe(f"{t.prefix}-retained/#")
        wait_until(lambda: control.on(retained_topic), 5)
        time.sleep(0.5)
        t.check(shared_codes == [1] and control.on(retained_topic) and not late.on(retained_topic),
                f"[section 4.8.2] a new shared subscription (SUBACK {shared_codes}) gets no retained message, while a "
                f"plain one made at the same time does ({len(control.on(retained_topic))})")
    finally:
        publisher.publish(retained_topic, b"", retain=True)

    client, _ = t.raw(0, "bad", "B")
    malformed = ["$share/grp", "$share//x", "$share/g+/x", "$share/g/"]
    client.send(subscribe5(1, [(topic_filter, 1) for topic_filter in malformed]))
    codes = suback_codes(client.read_packet(5))
    t.check(codes == [0x8F] * 4,
            f"[MQTT-4.8.2-1] [MQTT-4.8.2-2] malformed shared filters {malformed} get SUBACK 0x8F each: {codes}")
    client, _ = t.raw(0, "nolocal", "B")
    client.send(subscribe5(1, [(group, 0x01 | 0x04)]))
    ok, detail = closed_as_expected(client, V5, 0x82)
    t.check(ok, f"[MQTT-3.8.3-4] a shared subscription with No Local gets DISCONNECT 0x82: {detail}")


def will_delay(t):
    """8. Will Delay Interval: a client back within the delay sends no will; one that stays away
    sends it after the delay."""
    watcher = t.paho(0, "watch")
    watcher.subscribe(f"{t.prefix}/#")

    def with_will(suffix):
        client, _ = t.raw(0, suffix, props=[(SESSION_EXPIRY, 60)],
                          will=(f"{t.prefix}/{suffix}", f"{suffix} is gone", 1, [(WILL_DELAY, 3)]))
        return client
    back, away = with_will("back"), with_will("away")
    back.close()
    away.close()
    dropped = time.time()
    time.sleep(0.3)
    _, connack = t.raw(0, "back", clean=False, props=[(SESSION_EXPIRY, 60)])
    t.check(connack[0], f"[MQTT-3.2.2-3] 'back' (will delay 3 s, session expiry 60 s), dropped without DISCONNECT, "
                        f"reconnects 0.3 s later with clean start 0: session present {connack[0]}")
    arrived = wait_until(lambda: watcher.on(f"{t.prefix}/away"), 8, step=0.02)
    after = time.time() - dropped
    t.check(arrived and 2.5 <= after <= 8,
            f"[MQTT-3.1.2-8] [section 3.1.3.2.2] the will of 'away', dropped and not back, arrives {after:.1f}s later "
            f"(want 2.5-8 s)")
    time.sleep(max(0.0, 5 - (time.time() - dropped)))
    t.check(not watcher.on(f"{t.prefix}/back"),
            f"[MQTT-3.1.3-9] no will of 'back' within 5 s: {[m.payload for m in watcher.on(f'{t.prefix}/back')]}")


def server_keep_alive(t):
    """9. Server Keep Alive for a keep alive of 0 or past the server's bound; the CONNACK's
    capability properties."""
    for keepalive, expected in ((0, 1200), (65000, 1200), (60, None)):
        _, (_, _, props) = t.raw(0, f"ka{keepalive}", keepalive=keepalive)
        cite = "[MQTT-3.2.2-21] [MQTT-3.1.2-21]" if expected else "[MQTT-3.2.2-22]"
        t.check(props.get(SERVER_KEEP_ALIVE) == expected,
                f"[section 3.2.2.3.14] {cite} CONNECT with keep alive {keepalive}: CONNACK Server Keep Alive "
                f"{props.get(SERVER_KEEP_ALIVE)} (want {expected})")
        if keepalive == 60:
            t.check(props.get(SHARED_AVAILABLE) == 1 and props.get(SUBSCRIPTION_IDS_AVAILABLE) == 1,
                    f"[section 3.2.2.3.16] [section 3.2.2.3.17] CONNACK says Subscription Identifiers Available "
                    f"{props.get(SUBSCRIPTION_IDS_AVAILABLE)} and Shared Subscription Available "
                    f"{props.get(SHARED_AVAILABLE)} (want 1 and 1)")


def topic_aliases(t):
    """10. Topic aliases from the server: within the client's Topic Alias Maximum, none without one."""
    aliased, _ = t.raw(0, "ta2", "B", props=[(TOPIC_ALIAS_MAXIMUM, 2)])
    plain, _ = t.raw(0, "ta0", "B")
    codes = [t.raw_subscribe(client, f"{t.prefix}/#", options=0) for client in (aliased, plain)]
    t.check(codes == [0, 0], f"{GRANT} raw clients with Topic Alias Maximum 2 and with none subscribe: SUBACK {codes}")
    publisher, _ = t.raw(0, "pub")
    names = ["t1", "t1", "t2", "t3"]
    acks = [raw_publish(publisher, V5, f"{t.prefix}/{name}", f"m{i}", i + 1) for i, name in enumerate(names)]
    t.check(acks == [0] * 4, f"[MQTT-3.3.4-1] A publishes on {names}: PUBACKs {acks}")
    got = [(p.topic.rsplit("/", 1)[-1] if p.topic else "", prop(p.props, TOPIC_ALIAS))
           for p in publishes_within(aliased, 5, until=lambda got: len(got) >= 4)]
    alias1 = got[0][1] if got else None
    alias2 = got[2][1] if len(got) > 2 else None
    t.check(len(got) == 4 and got[0][0] == "t1" and alias1 in (1, 2),
            f"[section 3.3.2.3.4] the first PUBLISH on t1 has its topic and a Topic Alias within 1..2: {got[:1]}")
    t.check(len(got) == 4 and got[1] == ("", alias1),
            f"[section 3.3.2.3.4] the second on t1 has an empty topic and the same alias: {got[1:2]}")
    t.check(len(got) == 4 and got[2][0] == "t2" and alias2 in (1, 2) and alias2 != alias1,
            f"[section 3.3.2.3.4] t2 gets its topic and the other alias: {got[2:3]}")
    t.check(len(got) == 4 and got[3] == ("t3", None),
            f"[MQTT-3.1.2-26] [MQTT-3.3.2-11] t3, a third topic past the client's maximum of 2, has its topic and no "
            f"alias: {got[3:]}")
    got = [(p.topic.rsplit("/", 1)[-1], prop(p.props, TOPIC_ALIAS))
           for p in publishes_within(plain, 5, until=lambda got: len(got) >= 4)]
    t.check(got == [(name, None) for name in names],
            f"[MQTT-3.1.2-27] a client that sent no Topic Alias Maximum gets every topic in full, no alias: {got}")


def receive_maximum(t):
    """11. Receive Maximum both ways: the server keeps to the client's window; a client past the
    server's is disconnected with 0x93."""
    slow, _ = t.raw(0, "slow", "B", props=[(RECEIVE_MAXIMUM, 2)])
    t.check(t.raw_subscribe(slow, f"{t.prefix}/#") == 1,
            f"{GRANT} a raw client with Receive Maximum 2 subscribes at QoS 1")
    publisher, _ = t.raw(0, "pub")
    acks = [raw_publish(publisher, V5, f"{t.prefix}/x", f"m{i}", i) for i in range(1, 6)]
    t.check(acks == [0] * 5, f"[MQTT-3.3.4-1] A publishes 5 QoS 1 messages: PUBACKs {acks}")
    first = publishes_within(slow, 2)
    t.check(len(first) == 2, f"[MQTT-3.3.4-9] unacknowledged, only 2 PUBLISH packets arrive within 2 s: "
                             f"{[p.payload.decode() for p in first]}")
    got, acked, unacked_max = list(first), 0, len(first)
    deadline = time.time() + 5
    while len(got) < 5 and time.time() < deadline:
        for message in got[acked:]:
            slow.send(puback(message.packet_id))
        acked = len(got)
        got += publishes_within(slow, deadline - time.time(), until=lambda more: more)
        unacked_max = max(unacked_max, len(got) - acked)
    t.check([p.payload.decode() for p in got] == [f"m{i}" for i in range(1, 6)] and unacked_max <= 2,
            f"[MQTT-3.3.4-9] as the client acknowledges them the rest follow, in order, never more than 2 "
            f"unacknowledged ({unacked_max}): {[p.payload.decode() for p in got]}")

    client, (_, _, props) = t.raw(0, "qos2")
    window = props.get(RECEIVE_MAXIMUM)
    t.check(window == 64, f"[section 3.2.2.3.3] CONNACK states the server's Receive Maximum: {window} (want 64)")
    if window is None:
        return
    client.send(b"".join(publish5(f"{t.prefix}/q2", f"n{i}", qos=2, packet_id=i) for i in range(1, window + 2)))
    closed, packets = client.wait_closed(10)
    pubrecs = sum(1 for first, _ in packets if first == 0x50)
    t.check(closed and pubrecs == window and disconnect_reason(packets) == 0x93,
            f"[MQTT-3.3.4-7] [section 3.2.2.3.3] {window + 1} QoS 2 PUBLISHes without PUBREL: {pubrecs} PUBRECs, "
            f"then DISCONNECT {disconnect_reason(packets)} (want 0x93), closed={closed}")


def maximum_packet_size(t):
    """12. Maximum Packet Size: a message too large for the client is not sent to it; the next is."""
    small_client, _ = t.raw(0, "mps", "B", props=[(MAXIMUM_PACKET_SIZE, 200)])
    t.check(t.raw_subscribe(small_client, f"{t.prefix}/#") == 1,
            f"{GRANT} a raw client with Maximum Packet Size 200 subscribes at QoS 1")
    publisher, _ = t.raw(0, "pub")
    acks = [raw_publish(publisher, V5, f"{t.prefix}/x", payload, i)
            for i, payload in enumerate([b"L" * 500, b"small-0123"], 1)]
    got = publishes_within(small_client, 5, until=lambda got: any(p.payload == b"small-0123" for p in got))
    t.check(acks == [0, 0] and [p.payload for p in got] == [b"small-0123"],
            f"[MQTT-3.1.2-24] [MQTT-3.1.2-25] of a 500-byte and a 10-byte payload (PUBACKs {acks}) only the small one "
            f"arrives: {[len(p.payload) for p in got]} bytes")


def session_expiry(t):
    """13. Session Expiry Interval: a session is kept until it passed, and gone after."""
    short = t.paho(0, "short", session_expiry=2)
    short.subscribe(f"{t.prefix}/#")
    short.stop()
    lasting = t.paho(0, "lasting", session_expiry=300)
    lasting.subscribe(f"{t.prefix}/#")
    lasting.stop()
    again = t.paho(0, "lasting", clean_start=False, session_expiry=300)
    t.check(again.session_present is True,
            f"[MQTT-3.1.2-23] [MQTT-3.2.2-3] a session with expiry 300 s, resumed at once with clean start 0: session "
            f"present {again.session_present}")
    time.sleep(4)
    again = t.paho(0, "short", clean_start=False, session_expiry=2)
    t.check(again.session_present is False,
            f"[MQTT-4.1.0-2] [MQTT-3.2.2-3] [section 3.1.2.11.2] a session with expiry 2 s, resumed 4 s after its "
            f"DISCONNECT with clean start 0: session present {again.session_present} (want 0: it expired)")
    publisher = t.paho(0, "pub", "A")
    publisher.publish(f"{t.prefix}/after", "after expiry")
    stale = wait_until(lambda: again.on(f"{t.prefix}/after"), 1)
    t.check(not stale, f"[MQTT-4.1.0-2] ... and the expired session's subscription is gone: a publish on it "
                       f"{'reaches' if stale else 'does not reach'} the resumed client")


def bad_input(t):
    """14. PUBLISH properties a client may not send, or that say what the payload is not."""
    for what, props, cite in [
            ("two Content Type properties", [(CONTENT_TYPE, "text/plain"), (CONTENT_TYPE, "text/html")],
             "[section 2.2.2.2]"),
            ("a Response Topic with a wildcard", [(RESPONSE_TOPIC, f"{t.prefix}/reply/#")], "[MQTT-3.3.2-14]")]:
        client, _ = t.raw(0, "bad")
        client.send(publish5(f"{t.prefix}/x", "x", qos=1, props=props))
        ok, detail = closed_as_expected(client, V5, 0x82)
        t.check(ok, f"{cite} a PUBLISH with {what} gets DISCONNECT 0x82: {detail}")
    client, _ = t.raw(0, "utf8")
    client.send(publish5(f"{t.prefix}/x", b"\xff\xfe\x00bytes", qos=1, packet_id=3, props=[(PAYLOAD_FORMAT, 1)]))
    code = ack_code(client.read_packet(5), 4, 3)
    client.send(packet(0xC0, b""))
    t.check(code == 0x99 and client.read_packet(5) == (0xD0, b""),
            f"[section 3.3.2.3.2] a QoS 1 PUBLISH with Payload Format Indicator 1 and a payload that is not UTF-8 gets "
            f"PUBACK {code!r} (want 0x99) and the connection stays open")


def device_shadows(t):
    """15. Device shadows on $mesh/things/<A>/shadow/name/<n>/…: AWS's answers, replication to
    another node, version conflicts, bad documents, and access outside the grants."""
    A = t.ctx.A
    base = f"$mesh/things/{A}/shadow/name/m5"
    owner = t.paho(0, "a0", who="A")
    t.check(owner.subscribe(f"{base}/#") == [1],
            "[shadows] A may subscribe to its own shadow's answers (the owner rule gives shadow.read)")

    def answer(topic, token, seconds=10):
        """The first answer on `topic` carrying clientToken `token` (parsed), or None."""
        def found():
            return [json.loads(m.payload) for m in owner.on(topic) if json.loads(m.payload).get("clientToken") == token]
        return found()[0] if wait_until(lambda: found(), seconds, step=0.05) else None

    owner.publish(f"{base}/update", json.dumps({"state": {"reported": {"temp": 21}}, "clientToken": "u1"}))
    accepted = answer(f"{base}/update/accepted", "u1")
    t.check(accepted is not None and accepted["version"] == 1 and accepted["state"] == {"reported": {"temp": 21}}
            and "timestamp" in accepted["metadata"]["reported"]["temp"],
            f"[shadows] an update is answered on /update/accepted with the state it set, its metadata and "
            f"version 1 (AWS's shape): {accepted}")
    t.check(wait_until(lambda: owner.on(f"{base}/update/documents"), 5, step=0.05),
            "[shadows] and the documents before and after go to /update/documents")
    owner.publish(f"{base}/update", json.dumps({"state": {"desired": {"led": "on"}}, "clientToken": "u2"}))
    t.check(wait_until(lambda: any(json.loads(m.payload)["state"] == {"led": "on"}
                                   for m in owner.on(f"{base}/update/delta")), 5, step=0.05),
            "[shadows] a desired field that differs from the reported ones goes to /update/delta")
    # Another node has the replicated document.
    other = t.paho(1, "a1", who="A")
    t.check(other.subscribe(f"{base}/get/+") == [1], "[shadows] A subscribes to the get answers on node-1")
    def replicated():
        other.publish(f"{base}/get", json.dumps({"clientToken": "g1"}))
        return wait_until(lambda: any(json.loads(m.payload).get("version") == 2
                                      for m in other.on(f"{base}/get/accepted")), 1, step=0.05)
    t.check(wait_until(replicated, 15, step=0.1),
            "[shadows] node-1 answers a get with the document made on node-0 (version 2: replicated and merged)")
    # AWS's optimistic locking: a stale version is a conflict.
    owner.publish(f"{base}/update", json.dumps({"state": {"reported": {"temp": 5}}, "version": 1, "clientToken": "c1"}))
    rejected = answer(f"{base}/update/rejected", "c1")
    t.check(rejected is not None and rejected["code"] == 409,
            f"[shadows] an update naming a stale version is rejected with 409, as AWS does: {rejected}")
    owner.publish(f"{base}/update", '{"state": {"reported": {"temp": ')
    t.check(wait_until(lambda: any(json.loads(m.payload).get("code") == 400
                                   for m in owner.on(f"{base}/update/rejected")), 5, step=0.05),
            "[shadows] malformed JSON is rejected with 400 on /update/rejected")
    owner.publish(f"{base}/update",
                  json.dumps({"state": {"reported": {"blob": "x" * 9000}}, "clientToken": "big"}))
    big = answer(f"{base}/update/rejected", "big")
    t.check(big is not None and big["code"] == 413,
            f"[shadows] a document over the 8 KiB state limit is rejected with 413: {big and big['code']}")
    # Only the gateway publishes answers.
    raw, _ = t.raw(0, "forge", who="A")
    raw.send(publish5(f"{base}/update/accepted", '{"version": 99}', qos=1, packet_id=5))
    forged = ack_code(raw.read_packet(5), 4, 5)
    t.check(forged == 0x90, f"[shadows] a device publishing to an answer topic gets PUBACK 0x90: {forged!r}")
    # B holds no shadow grant on A's shadow: refused both ways.
    intruder, _ = t.raw(0, "intruder", who="B")
    intruder.send(publish5(f"{base}/update", '{"state":{"desired":{"led":"off"}}}', qos=1, packet_id=6))
    refused = ack_code(intruder.read_packet(5), 4, 6)
    t.check(refused == 0x87, f"[shadows] an update by a DID without shadow.write gets PUBACK 0x87: {refused!r}")
    for topic_filter in (f"{base}/update/accepted", f"$mesh/things/{A}/shadow/+/#", f"$mesh/things/+/shadow/#"):
        code = Case.raw_subscribe(intruder, topic_filter)
        t.check(code in (0x87, 0x80), f"[shadows] B may not subscribe to '{topic_filter}': SUBACK {code!r}")
    # Delete, then there is nothing to get.
    owner.publish(f"{base}/delete", json.dumps({"clientToken": "d1"}))
    deleted = answer(f"{base}/delete/accepted", "d1")
    owner.publish(f"{base}/get", json.dumps({"clientToken": "g2"}))
    missing = answer(f"{base}/get/rejected", "g2")
    t.check(deleted is not None and missing is not None and missing["code"] == 404,
            f"[shadows] delete is accepted and a get afterwards is rejected with 404: {deleted} {missing}")


CASES = [forwarding, message_expiry, subscription_identifiers, no_local, retain_as_published, retain_handling,
         shared_subscriptions, will_delay, server_keep_alive, topic_aliases, receive_maximum, maximum_packet_size,
         session_expiry, bad_input, device_shadows]


def run(ctx):
    """Runs every case in turn; a case that raises fails with its exception and the next one runs."""
    began = time.time()
    for case in CASES:
        name = case.__name__.replace("_", "-")
        ctx.log(f"MQTT 5: {case.__doc__.splitlines()[0]}")
        t = Case(ctx, name)
        try:
            case(t)
        except Exception as error:
            ctx.check(False, f"MQTT 5 case {name} stopped: {type(error).__name__}: {error}")
        finally:
            t.close()
    ctx.log(f"MQTT 5 section took {time.time() - began:.1f}s")
