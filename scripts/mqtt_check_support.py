"""Helpers for scripts/mqtt-check.py: MQTT 3.1.1 / 5.0 packets built by hand, a raw socket client
that reads whole packets and notices the server closing, mosquitto and paho-mqtt clients,
10,000 idle connections opened with selectors, and /proc lookups for the node processes (pid,
RSS, open-file limit)."""
import os, selectors, socket, struct, subprocess, threading, time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

V311, V5 = 4, 5
HOST = "127.0.0.1"
STARTED = []  # background clients and processes, stopped by the script's `finally`


# ---- packet encoding ----

def varint(value):
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def mstr(value):
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">H", len(data)) + data


def packet(first_byte, body):
    return bytes([first_byte]) + varint(len(body)) + body


def props(session_expiry=None):
    """MQTT 5 properties: only Session Expiry Interval (0x11) is ever needed here."""
    data = b"" if session_expiry is None else b"\x11" + struct.pack(">I", session_expiry)
    return varint(len(data)) + data


def connect(version, client_id, username=None, password=None, clean=True, keepalive=0, session_expiry=None,
            level=None):
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0) | (0x02 if clean else 0)
    body = mstr("MQTT") + bytes([level or version, flags]) + struct.pack(">H", keepalive)
    if version == V5:
        body += props(session_expiry)
    body += mstr(client_id)
    if username is not None:
        body += mstr(username)
    if password is not None:
        body += mstr(password)
    return packet(0x10, body)


def publish(version, topic, payload, qos=0, packet_id=1, flags=None):
    """PUBLISH; `topic` may be raw bytes (e.g. invalid UTF-8); `flags` overrides the low nibble."""
    body = mstr(topic)
    if qos:
        body += struct.pack(">H", packet_id)
    if version == V5:
        body += props()
    body += payload.encode() if isinstance(payload, str) else payload
    return packet(0x30 | (qos << 1 if flags is None else flags), body)


def publish_of_size(version, topic, total, packet_id=1):
    """A QoS 1 PUBLISH of exactly `total` bytes, fixed header included."""
    overhead = len(publish(version, topic, b"", qos=1, packet_id=packet_id)) - 2
    length = total - 1
    length -= len(varint(length - len(varint(length))))
    data = publish(version, topic, b"x" * (length - overhead), qos=1, packet_id=packet_id)
    assert len(data) == total, (len(data), total)
    return data


def subscribe(version, packet_id, topic_filter, qos=1, flags=0x02):
    body = struct.pack(">H", packet_id) + (props() if version == V5 else b"") + mstr(topic_filter) + bytes([qos])
    return packet(0x80 | flags, body)


def pubrel(packet_id, flags=0x02):
    return packet(0x60 | flags, struct.pack(">H", packet_id))


def hexdump(data, limit=48):
    text = data[:limit].hex(" ")
    return text + (f" … ({len(data)} bytes)" if len(data) > limit else "")


# ---- a raw client ----

class Raw:
    """One TCP connection; reads whole MQTT packets as (first byte, body) and notices EOF/RST."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buffer = b""
        self.eof = False
        self.received = []

    def send(self, data):
        self.sock.sendall(data)

    def _frame(self):
        if len(self.buffer) < 2:
            return None
        length, multiplier, index = 0, 1, 1
        while True:
            if index >= len(self.buffer):
                return None
            byte = self.buffer[index]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if not byte & 0x80:
                break
        if len(self.buffer) < index + length:
            return None
        first, body = self.buffer[0], self.buffer[index:index + length]
        self.received.append(self.buffer[:index + length])
        self.buffer = self.buffer[index + length:]
        return first, body

    def read_packet(self, timeout=5.0):
        """The next packet, or None when the server closed the connection first; TimeoutError otherwise."""
        deadline = time.time() + timeout
        while True:
            frame = self._frame()
            if frame:
                return frame
            if self.eof:
                return None
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"no packet within {timeout}s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError(f"no packet within {timeout}s") from None
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.eof = True
            self.buffer += data

    def wait_closed(self, timeout=5.0):
        """(closed, packets received before the close)."""
        packets, deadline = [], time.time() + timeout
        try:
            while True:
                frame = self.read_packet(max(0.01, deadline - time.time()))
                if frame is None:
                    return True, packets
                packets.append(frame)
        except TimeoutError:
            return False, packets

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connack_code(frame):
    """The CONNACK return/reason code, or a description of what came instead."""
    if frame is None:
        return "closed without CONNACK"
    first, body = frame
    if first != 0x20 or len(body) < 2:
        return f"not a CONNACK: {first:02x} {body.hex(' ')}"
    return body[1]


def try_connect(port, version, client_id, username, password, clean=True, session_expiry=None, keepalive=0):
    """A Raw with the CONNECT sent, and the CONNACK code (int) or a description."""
    client = Raw(port)
    client.send(connect(version, client_id, username, password, clean=clean, keepalive=keepalive,
                        session_expiry=session_expiry))
    try:
        return client, connack_code(client.read_packet(5))
    except TimeoutError:
        return client, "no CONNACK within 5s"


def ack_code(frame, expected_type, packet_id):
    """Reason code of a PUBACK/SUBACK for `packet_id` (0 when a v5 PUBACK omits it), or a description."""
    if frame is None:
        return "connection closed"
    first, body = frame
    if first >> 4 != expected_type or len(body) < 2 or struct.unpack(">H", body[:2])[0] != packet_id:
        return f"unexpected packet {first:02x} {body.hex(' ')}"
    if expected_type == 9:  # SUBACK: v5 has properties before the codes; the last byte is the code
        return body[-1]
    return body[2] if len(body) > 2 else 0


def disconnect_reason(packets):
    """The reason code of a DISCONNECT among packets (v5), None when there is none."""
    for first, body in packets:
        if first == 0xE0:
            return body[0] if body else 0
    return None


# ---- clients ----

def wait_until(predicate, seconds, step=0.1):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def mosquitto_pub(port, did, password, topic, message, qos=1, version="mqttv311"):
    command = ["mosquitto_pub", "-h", HOST, "-p", str(port), "-u", did, "-t", topic, "-m", message,
               "-q", str(qos), "-V", version]
    if password is not None:
        command += ["-P", password]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, -1, "", "mosquitto_pub timed out after 20s")


class Lines:
    """The output lines of a background mosquitto_sub."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        STARTED.append(self)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Paho:
    """A paho-mqtt client on its own network thread, recording CONNACK, SUBACK and messages."""

    def __init__(self, port, client_id, did, password, version, clean=True, session_expiry=None):
        self.connack, self.session_present, self.granted, self.messages = None, None, None, []
        self.connected, self.subscribed = threading.Event(), threading.Event()
        options = dict(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                       protocol=mqtt.MQTTv5 if version == V5 else mqtt.MQTTv311)
        if version == V311:
            options["clean_session"] = clean
        self.client = mqtt.Client(**options)
        self.client.username_pw_set(did, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda client, userdata, message: self.messages.append(
            (message.topic, message.payload))
        STARTED.append(self)
        if version == V5:
            properties = Properties(PacketTypes.CONNECT)
            if session_expiry:
                properties.SessionExpiryInterval = session_expiry
            self.client.connect(HOST, port, keepalive=60, clean_start=clean, properties=properties)
        else:
            self.client.connect(HOST, port, keepalive=60)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack, self.session_present = reason_code.value, flags.session_present
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.granted = [code.value for code in reason_codes]
        self.subscribed.set()

    def ready(self, timeout=10):
        return self.connected.wait(timeout) and self.connack == 0

    def subscribe(self, topic_filter, qos=1, timeout=10):
        self.subscribed.clear()
        self.client.subscribe(topic_filter, qos)
        return self.granted if self.subscribed.wait(timeout) else None

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


def raw_ready(port, version, client_id, did, password, **options):
    client, code = try_connect(port, version, client_id, did, password, **options)
    if code != 0:
        raise SystemExit(f"FAIL: CONNECT of {client_id} to port {port} answered {code}")
    return client


def raw_publish(client, version, topic, payload, packet_id):
    """Publishes at QoS 1 and returns the PUBACK's reason code (or a description)."""
    client.send(publish(version, topic, payload, qos=1, packet_id=packet_id))
    try:
        return ack_code(client.read_packet(5), 4, packet_id)
    except TimeoutError:
        return "no PUBACK within 5s"


def raw_subscribe(client, version, topic_filter, packet_id=1):
    client.send(subscribe(version, packet_id, topic_filter, qos=1))
    try:
        return ack_code(client.read_packet(5), 9, packet_id)
    except TimeoutError:
        return "no SUBACK within 5s"


def probe_until_received(publisher, topic, receivers, seconds=15):
    """Publishes probes (QoS 1) until every receiver() saw one: subscriptions are then known everywhere."""
    deadline, number = time.time() + seconds, 0
    while time.time() < deadline:
        number += 1
        raw_publish(publisher, V311, topic, f"probe-{number}", number)
        if wait_until(lambda: all(receiver() for receiver in receivers), 0.5, step=0.05):
            return True
    return False


def closed_as_expected(client, version, reason, seconds=5):
    """For 3.1.1: closed with nothing sent; for 5.0: DISCONNECT `reason` (None: any or none), then closed."""
    closed, packets = client.wait_closed(seconds)
    client.close()
    got = [hexdump(packet_bytes) for packet_bytes in client.received]
    if version == V311:
        return closed and not packets, f"closed={closed}, received {got or 'nothing'}"
    code = disconnect_reason(packets)
    ok = closed and (reason is None or code == reason) and len(packets) <= 1
    return ok, f"closed={closed}, received {got or 'nothing'}"


class Slowloris:
    """A connection that sends `data` (a CONNECT's first bytes) at once, or one byte a second when
    `trickle`, and never completes it; a thread records when the server closes it."""

    def __init__(self, port, data, trickle=False, seconds=20.0):
        self.sock = socket.create_connection((HOST, port), timeout=1)
        self.opened, self.closed_after, self.answer = time.time(), None, b""
        self.thread = threading.Thread(target=self._run, args=(data, trickle, seconds), daemon=True)
        self.thread.start()

    def _run(self, data, trickle, seconds):
        sent = 0
        while time.time() - self.opened < seconds:
            try:
                if sent < len(data) and (trickle or sent == 0):
                    chunk = data[sent:sent + 1] if trickle else data
                    self.sock.sendall(chunk)
                    sent += len(chunk)
                received = self.sock.recv(100)
                if not received:
                    break
                self.answer += received
            except socket.timeout:
                continue
            except OSError:
                break
        else:
            return
        self.closed_after = time.time() - self.opened
        self.sock.close()


# ---- 10,000 idle connections ----

def open_idle_connections(port, count, username, password, batch=400, timeout=120.0, client_prefix="idle"):
    """Opens `count` connections, each sending an MQTT 3.1.1 CONNECT (clean, keep-alive 0) and reading
    its CONNACK, at most `batch` handshakes at a time. Returns (sockets kept open, {outcome: count})."""
    selector = selectors.DefaultSelector()
    outcomes, kept, started, pending = {}, [], 0, 0
    deadline = time.time() + timeout

    def finish(sock, outcome):
        nonlocal pending
        selector.unregister(sock)
        pending -= 1
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "CONNACK 0":
            kept.append(sock)
        else:
            sock.close()

    while (started < count or pending) and time.time() < deadline:
        while started < count and pending < batch:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((HOST, port))
            data = connect(V311, f"{client_prefix}-{started}", username, password, keepalive=0)
            selector.register(sock, selectors.EVENT_WRITE, [data, b""])
            started += 1
            pending += 1
        for key, events in selector.select(timeout=1.0):
            sock, state = key.fileobj, key.data
            if events & selectors.EVENT_WRITE:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    finish(sock, f"connect error {os.strerror(error)}")
                    continue
                try:
                    sock.send(state[0])
                except OSError as error:
                    finish(sock, f"send error {error.strerror}")
                    continue
                selector.modify(sock, selectors.EVENT_READ, state)
            elif events & selectors.EVENT_READ:
                try:
                    data = sock.recv(16)
                except OSError as error:
                    finish(sock, f"recv error {error.strerror}")
                    continue
                if not data:
                    finish(sock, "closed before CONNACK")
                    continue
                state[1] += data
                if len(state[1]) >= 4:
                    finish(sock, "CONNACK 0" if state[1][:4] == b"\x20\x02\x00\x00" else f"answer {state[1].hex()}")
    for key in list(selector.get_map().values()):
        finish(key.fileobj, "no CONNACK before the deadline")
    selector.close()
    return kept, outcomes


# ---- processes ----

def node_pid(node_home):
    """Pid of the `meshwork node start --home node_home` process, None when there is none."""
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


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as handle:
        for line in handle:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return None


def port_open(port):
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def gateway_log_tail(path, lines=15):
    try:
        with open(path, errors="replace") as handle:
            return [line.rstrip() for line in handle if line.startswith("gateway:")][-lines:]
    except OSError:
        return []
