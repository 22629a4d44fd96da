"""Harness of scripts/api-check.py: PASS/FAIL lines, the devnet, HTTP, the CLI, an MQTT client."""
import hashlib, http.client, http.server, json, os, random, re, shutil, signal, socket, subprocess, tempfile
import threading, tomllib, urllib.parse

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
results = []  # (ok, name), in order


def check(name, ok, detail=""):
    results.append((bool(ok), name))
    line = f"{'PASS' if ok else 'FAIL'}  {name}"
    print(line + (f"  -- {detail}" if detail and not ok else ""), flush=True)
    return bool(ok)


def note(text):
    print(f"NOTE  {text}", flush=True)


# ---------------------------------------------------------------- devnet

def port_range():
    """Where this run's ports come from: MESHWORK_API_CHECK_PORTS=LOW-HIGH, default 19000-19999."""
    low, high = os.environ.get("MESHWORK_API_CHECK_PORTS", "19000-19999").split("-")
    return int(low), int(high)


def free_port(taken):
    low, high = port_range()
    for port in random.sample(range(low, high + 1), high - low + 1):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise SystemExit(f"FAIL: no free port in {low}-{high}")


class Devnet:
    def __init__(self, binary):
        self.binary = binary
        self.home = tempfile.mkdtemp(prefix="meshwork-api-check-")
        self.ports = set()
        self.api_port = free_port(self.ports)
        self.p2p_port = free_port(self.ports)
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.log_path = os.path.join(self.home, "devnet.log")
        self.process = None
        self.log_file = None

    def start(self):
        """Runs `meshwork devnet` in its own process group, so stopping it reaches every child."""
        if self.log_file is None:
            self.log_file = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, "devnet", "--home", self.home, "--nodes", "1", "--mqtt-port", "0", "--api-port", str(self.api_port),
             "--p2p-port", str(self.p2p_port)], stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)

    def restart(self, run):
        """Starts the node again after a crash (the devnet reuses its home). A crashing process
        may still be writing its backtrace, so it gets time to exit first."""
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.start()
        return run.wait_height(1, 60)

    def stop(self, keep=False):
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        self.process = None
        self.log_file.close()
        if keep:
            print(f"api-check: kept {self.home} (log {self.log_path})", flush=True)
        else:
            shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self, lines=15):
        """For the last crash in the log, its reason and the first frames in Sources/; else the
        log's last lines."""
        try:
            with open(self.log_path, errors="replace") as f:
                log = f.readlines()
        except OSError:
            return ""
        starts = [i for i, line in enumerate(log) if "Fatal error" in line or "runtime failure" in line]
        if not starts:
            return "".join(log[-lines:])
        frames = [line.strip() for line in log[starts[-1]:] if "/Sources/" in line and "/.build/" not in line][:2]
        return "".join([log[starts[-1]]] + [f"    {frame}\n" for frame in frames])

    def announced_mqtt_port(self):
        """The port the node printed when its MQTT gateway bound (`node <id> MQTT host:port`), or None."""
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    found = re.match(r"node [0-9a-f]+ MQTT \S+:(\d+)\s*$", line)
                    if found:
                        return int(found.group(1))
        except OSError:
            pass
        return None

    def cli(self, *args, timeout=90):
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout)

    def body_bytes_max(self):
        with open(os.path.join(self.home, "node-0", "config.toml"), "rb") as f:
            return int(tomllib.load(f)["api"]["body_bytes_max"])


# ---------------------------------------------------------------- HTTP

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.content_type = headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self):
        return json.loads(self.body)


def http_request(port, method, path, body=None, headers=None, timeout=40):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def raw_request(port, head, body, timeout=40):
    """Sends a request by hand so an oversized body may be cut short by the server and the answer
    still read."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for start in range(0, len(body), 65536):
                sock.sendall(body[start:start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        raise ConnectionError(f"no HTTP answer ({len(data)} bytes)")
    lines = data[:head_end].decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    payload = data[head_end + 4:]
    if "content-length" in headers:
        payload = payload[:int(headers["content-length"])]
    return Reply(int(lines[0].split()[1]), headers, payload)


# ---------------------------------------------------------------- CLI and DIDs

def base58(data):
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = B58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def random_did_key():
    return "did:key:z" + base58(b"\xed\x01" + os.urandom(32))


def quote(text):
    return urllib.parse.quote(text, safe="")


def first_json_object(text):
    for line in [text] + text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def cli_has(devnet, *command):
    """The help text of a CLI command, or None when the binary does not have it."""
    result = devnet.cli(*command, "--help", timeout=30)
    text = result.stdout + result.stderr
    usage = re.search(r"USAGE:\s*(.*)", text)
    if result.returncode != 0 or not usage or not re.match(r"\S+ " + re.escape(" ".join(command)) + r"\b", usage.group(1)):
        return None
    return text


# ---------------------------------------------------------------- signing through the CLI

class CaptureProxy:
    """Stands in for the node so `meshwork tx transfer` signs a transaction that this script then
    submits itself: GETs go to the node, the POST /txs body is kept and answered with a stub."""

    def __init__(self, node_port, port):
        captured = self.captured = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                reply = http_request(node_port, "GET", self.path)
                self.answer(reply.status, reply.body, reply.headers.get("content-type", "application/json"))

            def do_POST(self):
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        body += self.rfile.read(size)
                        self.rfile.readline()
                        if size == 0:
                            break
                else:
                    body = self.rfile.read(int(self.headers.get("content-length", "0")))
                captured.append(body)
                stub = {"hash": hashlib.sha256(body).hexdigest(), "code": 0, "module": "", "message": "", "height": 0}
                self.answer(200, json.dumps(stub).encode(), "application/json")

            def answer(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign_transfer(self, devnet, to, amount):
        before = len(self.captured)
        result = devnet.cli("tx", "transfer", "--home", devnet.home, "--node", f"http://127.0.0.1:{self.port}",
                            "--from", "owner", "--to", to, "--amount", str(amount))
        if result.returncode != 0 or len(self.captured) == before:
            raise RuntimeError(f"could not sign a transfer: {result.stderr.strip()[-300:]}")
        return self.captured[-1]


# ---------------------------------------------------------------- MQTT (paho-mqtt)

class MQTTClient:
    """An MQTT 5 client (paho-mqtt, imported when first used) on its own network thread, logged in
    as a device (user name its DID, password a device token): CONNACK, SUBACK and PUBACK codes and
    the messages received, waited for under one condition."""

    def __init__(self, port, did, password, client_id):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        self.condition = threading.Condition()
        self.connack, self.granted, self.pubacks, self.messages = None, {}, {}, []
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set(did, password)
        self.client.on_connect = lambda client, userdata, flags, code, properties: self._set("connack", code.value)
        self.client.on_subscribe = lambda client, userdata, mid, codes, properties: self._store(
            self.granted, mid, [code.value for code in codes])
        self.client.on_publish = lambda client, userdata, mid, code, properties: self._store(
            self.pubacks, mid, code.value)
        self.client.on_message = lambda client, userdata, message: self._append(message.topic, message.payload)
        self.client.connect("127.0.0.1", port, keepalive=60)
        self.client.loop_start()

    def _set(self, name, value):
        with self.condition:
            setattr(self, name, value)
            self.condition.notify_all()

    def _store(self, table, key, value):
        with self.condition:
            table[key] = value
            self.condition.notify_all()

    def _append(self, topic, payload):
        with self.condition:
            self.messages.append((topic, payload))
            self.condition.notify_all()

    def wait(self, predicate, seconds=10):
        with self.condition:
            return self.condition.wait_for(predicate, seconds)

    def ready(self, seconds=10):
        """Whether CONNACK came with reason code 0."""
        return self.wait(lambda: self.connack is not None, seconds) and self.connack == 0

    def subscribe(self, filters, seconds=10):
        """Subscribes to `filters` at QoS 1; the SUBACK's reason codes, or None."""
        _, mid = self.client.subscribe([(f, 1) for f in filters])
        return self.granted.get(mid) if self.wait(lambda: mid in self.granted, seconds) else None

    def publish(self, topic, payload, seconds=10):
        """Publishes at QoS 1; the PUBACK's reason code, or None."""
        mid = self.client.publish(topic, payload, qos=1).mid
        return self.pubacks.get(mid) if self.wait(lambda: mid in self.pubacks, seconds) else None

    def message(self, topics, seconds=10):
        """The first message received on one of `topics` (topic, payload), or None."""
        found = lambda: next((m for m in self.messages if m[0] in topics), None)
        return found() if self.wait(lambda: found() is not None, seconds) else None

    def stop(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()
