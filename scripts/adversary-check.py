#!/usr/bin/env python3
"""The adversary harness: one real devnet (2 validators, 1 storage provider), attacked with real
clients, one scenario per attack class. Each scenario checks the promise SECURITY.md makes, not
the mechanism behind it.

Around every scenario node-0's RSS (sampled every 100 ms), open files and CPU time are recorded; afterwards
the chain must keep committing (node-0 and node-1 each +2 blocks within 30 s: both validators are needed, though
their consensus messages may reach each other through node-2), node-0's peak RSS may grow by less than 128 MiB,
and its open files must be back within +64 of the baseline within 15 s. The figures (RSS, and the CPU seconds
node-0 used from the scenario's start to the end of those checks) are printed as `BENCH: memory <scenario>: ...`
lines and written to <home>/memory.json.

 1. forged relay: a P2P peer of our own (`bench relay-forgery`) relays publishes "from" device A;
    B, subscribed on node-0, gets A's genuine publish from node-1 and none of the forged ones.
 2. relay filter flood: a set of 2,000 relay filters of 2,000 bytes, then 40 filter deltas adding 2,000 new
    ones each (4 a second: 160 MB if all were kept); node-0's peak RSS grows by less than 48 MiB (it keeps
    10,000 filters and 1 MiB per peer), and the relay still carries A's publish on node-1 to B on node-0.
 3. peer-exchange poisoning: 36 hostile peers each advertise 28 fresh node ids at a port of a tarpit of ours
    (accepts, never answers; a node dials one host:port at a time, hence a port per peer), one more 1,000 at
    node-1's address; node-0 holds at most 16 tarpit dials at once (it keeps 8 learnt dials in flight) and its
    open files stay within +64, node-1 stays its peer, nobody honest is banned.
 4. slot squatting: 200 TCP connections that never start the handshake, with 60 authenticated peers that say
    nothing; the chain commits throughout and the node closes every half-open one. Then, with the squatters
    still in, node-1 is SIGKILLed and started again: within 60 s it is node-0's peer again (its slot is kept)
    and the chain commits +2 on both.
 5. empty-message frames: 120 frames of 13,107 empty relay messages each, the peer staying 15 s: node-0's log
    grows by less than 4 MiB (one line per refused message would be ~160 MiB), and it works through them before
    the peer leaves with less than 10 CPU seconds beyond its rate at rest (a loose guard: per frame, the
    quadratic copying the offset reads removed cost ~9 ms in a debug build, the log lines ~20 ms, what is left
    ~22 ms; the BENCH line gives the figure). Each empty relay message is an undecodable relay frame, so the
    node bans the peer: it must be disconnected at the end.
 6. bad-signature transaction flood (HTTP and P2P); a real transfer commits afterwards.
 7. many identities of one owner: 20 fresh did:key devices are refused; a registered device gets
    16 sessions and no 17th (0x97 / 3), while another device still connects.
 8. QoS 2 id exhaustion: Receive Maximum 64 is advertised; the 65th unreleased QoS 2 publish ends
    the connection (MQTT 5: DISCONNECT 0x93).
 9. offline-queue amplification: 6 x 512 KiB for 16 offline sessions is stored once per payload
    (6 payload rows, 96 queue rows, < 16 MiB on disk), and a resumed session gets all 6.
10. telemetry eavesdropping over /events: no token, or the token of a device without a grant,
    gets api/20; a granted reader's token receives A's publish.
11. cross-origin WebSocket: a foreign Origin is not upgraded (400) and a plain GET is 403 api/21;
    the node's own origin is upgraded.
12. unauthenticated shard upload: 1 MiB without or with a forged Mesh-Upload authorization: 401
    api/23, nothing written on the provider.
13. oversized manifest: 80 MiB without authorization: 401 api/23, the provider's RSS grows by
    less than 32 MiB and no manifest file appears; 2 MiB for a CID no deal names: 403 api/18.

usage: python3 scripts/adversary-check.py path/to/meshwork
       MESHWORK_ATTACKER=path/to/new/meshwork python3 scripts/adversary-check.py path/to/old/meshwork
         (an older node attacked with today's tools: which promises did the code before a fix break?)
       ADVERSARY_ONLY="slot squatting,relay filter" ... runs only the scenarios whose names contain one of these
"""
import base64, hashlib, json, os, select, selectors, signal, socket, sqlite3, struct, subprocess, sys, tempfile
import threading, time
import tomllib, traceback, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
from mqtt_check_support import (  # noqa: E402
    HOST, STARTED, V311, V5, Paho, Raw, alive, connack_code, connect, disconnect_reason, node_pid, port_open,
    probe_until_received, publish, raw_publish, raw_ready, raw_subscribe, rss_kib, try_connect, wait_until)
from api_check_support import raw_request  # noqa: E402
from api_check_websocket import WebSocket  # noqa: E402

if len(sys.argv) != 2:
    raise SystemExit(__doc__)
MESHWORK = os.path.abspath(sys.argv[1])
# The attacker's own tools (bench hostile-peer, relay-forgery, flood) may come from another
# build: run against an older node (the code before a fix), they still play the attack.
ATTACKER = os.path.abspath(os.environ.get("MESHWORK_ATTACKER", MESHWORK))
HOME = tempfile.mkdtemp(prefix="meshwork-adversary-")
API, P2P, MQTT = 18480, 28656, 18883  # node i uses base + i; below the ephemeral range, apart from the other checks
ENV = dict(os.environ, MESHWORK_PASSPHRASE="adversary-check-passphrase")
RSS_GROWTH_MAX_MIB = 128
PROVIDER_RSS_GROWTH_MAX_MIB = 32
FDS_ABOVE_BASELINE_MAX = 64
# relay filter flood: a set of 2,000 filters of 2,000 bytes, then 40 deltas of 2,000 new ones (160 MB if all kept)
FILTER_FLOOD = (2000, 2000, 40)
FILTER_FLOOD_RSS_GROWTH_MAX_MIB = 48
# peer-exchange poisoning: 36 hostile peers advertise 28 fresh ids each at one tarpit port apiece (1,008 in
# all), one more 1,000 at node-1's address
PEX_TARPIT_PORTS, PEX_PER_TARPIT_PORT, PEX_AT_NODE1 = 36, 28, 1000
PEX_TARPIT_HELD_MAX = 16
# slot squatting: authenticated peers that say nothing; while they hold node-0's slots node-1 restarts and must
# be back (the chain commits) within SQUAT_RESTART_SECONDS
SQUATTERS, SQUATTERS_HELD_MIN, SQUAT_RESTART_SECONDS = 60, 30, 60
# empty-message frames: frames of 13,107 empty relay messages (one 64 KiB frame each), and the attack's seconds
EMPTY_FRAMES = (120, 15)
# ... node-0's log may grow by this much (one refusal line per empty message would be ~160 MiB), and its CPU
# for the 120 frames is bounded loosely (a guard; debug builds measured 2.7 s with the offset reads and the log
# limit, 5.1 s with the offset reads alone, 6.2 s before either)
EMPTY_FRAMES_LOG_GROWTH_MAX_MIB = 4
EMPTY_FRAMES_CPU_MAX_SECONDS = 10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
failures = []
memory = {}  # scenario -> figures, written to <home>/memory.json


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def check(condition, what):
    log(("PASS: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)
    return condition


# ---- the devnet ----

def get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return json.load(response)


def height(port):
    try:
        return get(port, "/status", timeout=3)["height"]
    except Exception:
        return None


def devnet_tail():
    path = os.path.join(HOME, "devnet.log")
    return open(path, errors="replace").read()[-3000:] if os.path.exists(path) else "(no devnet log)"


def wait_height(port, target, seconds=60):
    if not wait_until(lambda: (height(port) or 0) >= target, seconds, step=0.2):
        raise SystemExit(f"FAIL: node on port {port} did not reach height {target} in {seconds}s; "
                         f"devnet log:\n{devnet_tail()}")


def cli(*args, node=True, expect_ok=True, timeout=120):
    command = [MESHWORK, *args, "--home", HOME] + (["--node", f"http://127.0.0.1:{API}"] if node else [])
    done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=timeout)
    if expect_ok and done.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-1000:]}")
    return done


def cli_json(*args, node=True):
    return json.loads(cli(*args, "--output", "json", node=node).stdout)


def token(key, did=None):
    extra = ["--did", did, "--chain-id", CHAIN_ID] if did else []
    return cli("device", "token", "--key", key, *extra, node=did is None).stdout.strip()


def bench(*args, timeout=120):
    """Runs `meshwork bench ...` with --json; returns (report dict or {}, a short description of a failure)."""
    command = [ATTACKER, "bench", *args, "--json"]
    try:
        done = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {}, f"`bench {args[0]}` did not finish within {timeout}s"
    try:
        return json.loads(done.stdout), ""
    except ValueError:
        return {}, f"`bench {args[0]}` exited {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"


def start_devnet():
    return subprocess.Popen(
        [MESHWORK, "devnet", "--home", HOME, "--nodes", "2", "--providers", "1", "--api-port", str(API),
         "--p2p-port", str(P2P), "--mqtt-port", str(MQTT), "--empty-blocks-interval-ms", "0"],
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
    for index in range(3):
        leftover = node_pid(os.path.join(HOME, f"node-{index}"))
        if leftover:
            os.kill(leftover, signal.SIGKILL)


def pid_of(index):
    pid = node_pid(os.path.join(HOME, f"node-{index}"))
    if pid is None:
        raise SystemExit(f"FAIL: no `node start` process for node-{index}")
    return pid


def open_files(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def peer_ids(port):
    try:
        return {peer["nodeId"] for peer in get(port, "/status", timeout=3).get("peers", [])}
    except Exception:
        return None


def config_value(section, key, default):
    try:
        with open(os.path.join(HOME, "node-0", "config.toml"), "rb") as handle:
            return tomllib.load(handle).get(section, {}).get(key, default)
    except (OSError, ValueError):
        return default


def mib(kib):
    return kib / 1024


def cpu_seconds(pid):
    """CPU time a process has used (user + system), in seconds; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


# ---- measurement ----

class Sampler:
    """Samples a process's RSS and open files every 100 ms on a thread, from a baseline taken at once."""

    def __init__(self, pid):
        self.pid = pid
        self.idle_kib = self.peak_kib = rss_kib(pid)
        self.files = self.peak_files = open_files(pid)
        self.cpu_start, self.cpu_end = cpu_seconds(pid), None
        self.samples = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            try:
                rss, files = rss_kib(self.pid), open_files(self.pid)
            except OSError:
                return
            if rss is not None:
                self.peak_kib = max(self.peak_kib, rss)
            if files is not None:
                self.peak_files = max(self.peak_files, files)
            self.samples += 1
            self.done.wait(0.1)

    def stop(self):
        self.done.set()
        self.thread.join()
        self.cpu_end = cpu_seconds(self.pid)
        return self

    def cpu(self):
        """CPU seconds the process used from the baseline to now (or to stop())."""
        end = self.cpu_end if self.cpu_end is not None else cpu_seconds(self.pid)
        return None if end is None or self.cpu_start is None else end - self.cpu_start


def memory_line(name, sampler, node):
    idle, peak, cpu = mib(sampler.idle_kib), mib(sampler.peak_kib), sampler.cpu()
    label = name if node == 0 else f"{name} (provider node-{node})"
    log(f"BENCH: memory {label}: idle {idle:.1f} MiB, peak {peak:.1f} MiB (+{peak - idle:.1f}), CPU "
        f"{'?' if cpu is None else f'{cpu:.1f}'} s")
    memory.setdefault(name, {})[f"node-{node}"] = {
        "idleMiB": round(idle, 1), "peakMiB": round(peak, 1), "growthMiB": round(peak - idle, 1),
        "cpuSeconds": None if cpu is None else round(cpu, 2),
        "samples": sampler.samples, "filesBefore": sampler.files, "filesPeak": sampler.peak_files}
    return peak - idle


ONLY = [part.strip() for part in os.environ.get("ADVERSARY_ONLY", "").split(",") if part.strip()]


def scenario(name, body, provider=False):
    """Runs one attack with node-0 (and the provider, for storage attacks) sampled, then the common checks."""
    if ONLY and not any(part in name for part in ONLY):
        return
    log(f"==== {name} ====")
    pid0 = pid_of(0)
    sampler = Sampler(pid0)
    provider_sampler = Sampler(pid_of(2)) if provider else None
    try:
        body(sampler, provider_sampler)
    except SystemExit as error:
        check(False, f"{name}: stopped: {error}")
    except Exception as error:
        traceback.print_exc()
        check(False, f"{name}: the scenario raised {error!r}")
    # (a) the chain keeps committing: both validators are needed for a block
    h0, h1 = height(API), height(API + 1)
    committed = h0 is not None and h1 is not None and wait_until(
        lambda: (height(API) or 0) >= h0 + 2 and (height(API + 1) or 0) >= h1 + 2, 30, step=0.2)
    check(committed, f"{name}: the chain keeps committing after the attack: node-0 {h0} -> {height(API)}, "
                     f"node-1 {h1} -> {height(API + 1)} (want +2 each within 30 s)")
    sampler.stop()
    # (b) bounded memory
    growth = memory_line(name, sampler, 0)
    check(growth < RSS_GROWTH_MAX_MIB,
          f"{name}: node-0's peak RSS grew by {growth:.1f} MiB (bound {RSS_GROWTH_MAX_MIB} MiB; "
          f"{sampler.samples} samples)")
    if provider_sampler:
        provider_sampler.stop()
        memory_line(name, provider_sampler, 2)
        pid2 = provider_sampler.pid
        back = wait_until(lambda: (open_files(pid2) or 1 << 30) <= provider_sampler.files + FDS_ABOVE_BASELINE_MAX,
                          15, step=0.2)
        check(back, f"{name}: the provider node-2 (pid {pid2}) holds {open_files(pid2)} open files within 15 s "
                    f"(baseline {provider_sampler.files}, peak {provider_sampler.peak_files}; bound baseline "
                    f"+{FDS_ABOVE_BASELINE_MAX})")
    # (c) open files back near the baseline
    back = wait_until(lambda: (open_files(pid0) or 1 << 30) <= sampler.files + FDS_ABOVE_BASELINE_MAX, 15, step=0.2)
    check(back and node_pid(os.path.join(HOME, "node-0")) == pid0,
          f"{name}: node-0 (pid {pid0}) holds {open_files(pid0)} open files within 15 s of the attack "
          f"(baseline {sampler.files}, peak {sampler.peak_files}; bound baseline +{FDS_ABOVE_BASELINE_MAX})")


# ---- MQTT helpers ----

def mqtt_disconnect(client):
    try:
        client.send(b"\xe0\x00")
    except OSError:
        pass
    client.close()


def connack_properties(frame):
    """MQTT 5 CONNACK properties as {identifier: raw value bytes} (only the one- to four-byte kinds used here)."""
    if frame is None or frame[0] != 0x20:
        return {}
    body = frame[1]
    index, length, multiplier = 2, 0, 1
    while True:
        byte = body[index]
        index += 1
        length += (byte & 0x7F) * multiplier
        multiplier *= 128
        if not byte & 0x80:
            break
    end, found = index + length, {}
    sizes = {0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1, 0x2A: 1, 0x13: 2, 0x21: 2, 0x22: 2, 0x11: 4, 0x27: 4}
    while index < end:
        identifier = body[index]
        index += 1
        if identifier in sizes:
            found[identifier] = body[index:index + sizes[identifier]]
            index += sizes[identifier]
        elif identifier in (0x12, 0x1A, 0x1C, 0x1F):  # strings
            size = struct.unpack(">H", body[index:index + 2])[0]
            found[identifier] = body[index + 2:index + 2 + size]
            index += 2 + size
        else:
            break
    return found


def parse_publish(frame):
    """(topic, packet id or None, payload) of a PUBLISH (MQTT 3.1.1)."""
    first, body = frame
    size = struct.unpack(">H", body[:2])[0]
    topic, index = body[2:2 + size].decode(), 2 + size
    packet_id = None
    if (first >> 1) & 0x03:
        packet_id = struct.unpack(">H", body[index:index + 2])[0]
        index += 2
    return topic, packet_id, body[index:]


def relay_reaches(name, topic_base, subscriber_id):
    """Device A publishes on node-1; device B, subscribed on node-0, receives it (through the relay)."""
    watcher = Paho(MQTT, subscriber_id, B, TOK_B, V311)
    granted = watcher.ready() and watcher.subscribe(f"{topic_base}/#")
    publisher = raw_ready(MQTT + 1, V311, f"{subscriber_id}-pub", A, TOK_A)
    reached = probe_until_received(
        publisher, f"{topic_base}/genuine", [lambda: any(t == f"{topic_base}/genuine" for t, _ in watcher.messages)],
        seconds=20)
    publisher.close()
    check(granted == [1] and reached,
          f"{name}: A's publish on node-1 reaches B on node-0 through the relay (SUBACK {granted}, "
          f"{len(watcher.messages)} received)")
    return watcher


# ---- the scenarios ----

def forged_relay(sampler, _):
    base = f"mesh/{A}/forged"
    watcher = relay_reaches("forged relay (control)", base, "adv-forged-watch-b")
    report, problem = bench("relay-forgery", "--p2p", f"{NODE0}@127.0.0.1:{P2P}", "--chain-id", CHAIN_ID,
                            "--publisher", A, "--topic", f"{base}/cmd", "--payload", "open-the-valve",
                            "--count", "20", "--seconds", "3")
    log(f"relay-forgery report: {report or problem}")
    check(report.get("connected") is True and report.get("framesSent", 0) >= 20,
          f"forged relay: the hostile peer connects to node-0 and sends 20 forged frames "
          f"(connected {report.get('connected')}, framesSent {report.get('framesSent')}) {problem}")
    time.sleep(1.5)
    leaked = [topic for topic, payload in watcher.messages if b"open-the-valve" in payload]
    check(not leaked, f"forged relay: B on node-0 receives {len(leaked)} of the 20 forged publishes (want 0; "
                      f"{len(watcher.messages)} messages in all)")
    check(report.get("accepted") is False and report.get("messagesReceived") == 0,
          f"forged relay: node-0 does not accept the peer's relay key (accepted {report.get('accepted')}) and "
          f"sends it no device data (messagesReceived {report.get('messagesReceived')})")
    watcher.stop()


def filter_flood(sampler, _):
    count, size, frames = FILTER_FLOOD
    report, problem = bench("hostile-peer", "--p2p", f"{NODE0}@127.0.0.1:{P2P}", "--chain-id", CHAIN_ID,
                            "--attack", "filters", "--count", str(count), "--bytes", str(size), "--frames", str(frames),
                            "--seconds", "14")
    log(f"hostile-peer filters report: {report or problem}")
    sent = report.get("sent", 0)
    offered = mib(sent * count * size / 1024)
    check(report.get("connected") == 1 and sent > frames // 2,
          f"relay filter flood: the hostile peer connected and sent {sent} of {frames + 1} frames (a set of {count:,} "
          f"filters of {size:,} bytes, then filter deltas adding {count:,} new ones each: {offered:.0f} MiB of "
          f"filters) in {report.get('seconds', 0):.1f} s (still connected at the end: {report.get('stillConnected')}) "
          f"{problem}")
    relay_reaches("relay filter flood", f"mesh/{A}/after-filters", "adv-filters-watch-b").stop()
    growth = mib(sampler.peak_kib - sampler.idle_kib)
    check(growth < FILTER_FLOOD_RSS_GROWTH_MAX_MIB,
          f"relay filter flood: node-0's peak RSS grew by {growth:.1f} MiB while one peer offered {offered:.0f} MiB "
          f"of filters (bound {FILTER_FLOOD_RSS_GROWTH_MAX_MIB} MiB: a node keeps at most 10,000 filters and 1 MiB "
          f"of them per peer)")


def socket_owned_by(pid, local_port, remote_port):
    """Whether process `pid` holds the TCP connection from `local_port` to `remote_port` on loopback (the
    connection's inode in /proc/net/tcp among the process's fds)."""
    try:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as handle:
                for line in handle.readlines()[1:]:
                    fields = line.split()
                    if (int(fields[1].rsplit(":", 1)[1], 16) == local_port
                            and int(fields[2].rsplit(":", 1)[1], 16) == remote_port and fields[9] in inodes):
                        return True
    except OSError:
        pass
    return False


class Tarpit:
    """Listens on `ports` free loopback ports, accepts every TCP connection and holds it open without a
    word (what a dial of an advertised address that never answers the handshake costs the dialler)."""

    def __init__(self, ports, watched_pid):
        self.watched_pid = watched_pid
        self.selector = selectors.DefaultSelector()
        self.listeners = []
        for _ in range(ports):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, 0))
            listener.listen(256)
            listener.setblocking(False)
            self.listeners.append(listener)
            self.selector.register(listener, selectors.EVENT_READ, "listener")
        self.ports = [listener.getsockname()[1] for listener in self.listeners]
        self.held = {}  # socket -> from the watched process
        self.accepted = self.accepted_watched = self.peak = self.peak_watched = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            for key, _ in self.selector.select(0.1):
                sock = key.fileobj
                if key.data == "listener":
                    while True:
                        try:
                            conn, (_, port) = sock.accept()
                        except (BlockingIOError, OSError):
                            break
                        conn.setblocking(False)
                        watched = socket_owned_by(self.watched_pid, port, sock.getsockname()[1])
                        with self.lock:
                            self.held[conn] = watched
                            self.accepted += 1
                            self.accepted_watched += watched
                            self.peak = max(self.peak, len(self.held))
                            self.peak_watched = max(self.peak_watched, sum(self.held.values()))
                        self.selector.register(conn, selectors.EVENT_READ, "held")
                    continue
                try:
                    data = sock.recv(65536)  # the handshake's first message, never answered
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(sock)
                    sock.close()
                    with self.lock:
                        self.held.pop(sock, None)

    def holding(self):
        with self.lock:
            return len(self.held), sum(self.held.values())

    def close(self):
        self.done.set()
        self.thread.join()
        for sock in list(self.held) + self.listeners:
            sock.close()
        self.selector.close()


def pex_poisoning(sampler, _):
    honest = {NODE1, NODE2}
    before = peer_ids(API) or set()
    check(honest <= before, f"peer-exchange poisoning: before the attack node-0 has {len(before)} peers, "
                            f"node-1 {'and' if honest <= before else 'or'} node-2 among them")
    # A node dials one address (host:port) at a time, so the tarpit listens on many ports; one hostile peer
    # advertises each (fresh node ids at it), and one more advertises 1,000 fresh ids at node-1's address.
    tarpit = Tarpit(PEX_TARPIT_PORTS, sampler.pid)
    try:
        base = [ATTACKER, "bench", "hostile-peer", "--p2p", f"{NODE0}@127.0.0.1:{P2P}", "--chain-id", CHAIN_ID,
                "--attack", "pex", "--seconds", "6", "--json"]
        commands = [base + ["--count", str(PEX_AT_NODE1), "--advertise", f"127.0.0.1:{P2P + 1}"]]
        commands += [base + ["--count", str(PEX_PER_TARPIT_PORT), "--advertise", f"127.0.0.1:{port}"]
                     for port in tarpit.ports]
        polls, missing, unanswered, holding = [], [], 0, []
        h0, h1 = height(API), height(API + 1)
        started = time.time()
        attacks = [subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for command in commands]
        # The tarpit is watched for 12 s at least: a dial it holds lasts the dialler's 10 s handshake timeout.
        while any(attack.poll() is None for attack in attacks) or time.time() - started < 12:
            ids = peer_ids(API)
            if ids is None:
                unanswered += 1
            else:
                polls.append(ids)
                if NODE1 not in ids:
                    missing.append(round(time.time() - started, 1))
            holding.append(tarpit.holding())
            time.sleep(0.5)
        reports = []
        for attack in attacks:
            out, err = attack.communicate()
            try:
                reports.append(json.loads(out))
            except ValueError:
                reports.append({"error": err.strip()[-200:]})
        d0, d1 = (height(API) or 0) - (h0 or 0), (height(API + 1) or 0) - (h1 or 0)
        log(f"hostile-peer pex reports: at node-1's address {reports[0]}; at the tarpit "
            f"{sum(r.get('connected', 0) for r in reports[1:])} of {len(reports) - 1} connected, "
            f"{sum(r.get('sent', 0) for r in reports[1:])} addresses sent "
            f"{[r['error'] for r in reports[1:] if 'error' in r][:2] or ''}")
        log(f"peer-exchange poisoning: the tarpit accepted {tarpit.accepted} connections "
            f"({tarpit.accepted_watched} from node-0), held {tarpit.peak} at once at most "
            f"({tarpit.peak_watched} of node-0's); held at each poll (node-0's/all): "
            f"{' '.join(f'{mine}/{every}' for every, mine in holding)}")
        tarpit_sent = sum(r.get("sent", 0) for r in reports[1:])
        tarpit_connected = sum(r.get("connected", 0) for r in reports[1:])
        check(reports[0].get("connected") == 1 and reports[0].get("sent", 0) > 0
              and tarpit_connected >= len(tarpit.ports) * 3 // 4 and tarpit_sent > 0,
              f"peer-exchange poisoning: the hostile peers connected and sent {reports[0].get('sent')} addresses "
              f"(fresh ids at 127.0.0.1:{P2P + 1}, node-1's address) and {tarpit_sent} addresses (fresh ids at the "
              f"tarpit's {len(tarpit.ports)} ports, one peer per port; {tarpit_connected} of those peers connected)")
        # (The hostile peers' own managers dial what node-0 tells them too: only node-0's dials count.)
        check(tarpit.peak_watched <= PEX_TARPIT_HELD_MAX,
              f"peer-exchange poisoning: the tarpit held at most {tarpit.peak_watched} of node-0's dials at once "
              f"({tarpit.accepted_watched} accepted from node-0 in all; bound {PEX_TARPIT_HELD_MAX}: a node keeps at "
              f"most 8 dials of learnt addresses in flight)")
        grown = sampler.peak_files - sampler.files
        check(grown <= FDS_ABOVE_BASELINE_MAX,
              f"peer-exchange poisoning: node-0's open files peaked at {sampler.peak_files} during the attack, "
              f"+{grown} over the baseline {sampler.files} (bound +{FDS_ABOVE_BASELINE_MAX}; "
              f"{1 + tarpit_connected} of them the hostile peers' own connections)")
        check(not missing and polls, f"peer-exchange poisoning: node-1 is in node-0's peer list at every one of "
                                     f"{len(polls)} answered polls of GET /status during the attack (missing at "
                                     f"{missing or 'none'} s; {unanswered} polls unanswered)")
        check(d0 >= 2 and d1 >= 2, f"peer-exchange poisoning: both validators committed during the attack "
                                   f"(node-0 +{d0}, node-1 +{d1} blocks)")
    finally:
        tarpit.close()
    after = wait_until(lambda: honest <= (peer_ids(API) or set()), 10)
    check(after, f"peer-exchange poisoning: after the attack node-0's peers still include node-1 and node-2 "
                 f"(no honest host banned): {len(peer_ids(API) or [])} peers")


def kill_node(index):
    """SIGKILLs node-<index>; returns its pid."""
    pid = pid_of(index)
    os.kill(pid, signal.SIGKILL)
    if not wait_until(lambda: not alive(pid), 5):
        raise SystemExit(f"FAIL: node-{index} (pid {pid}) still runs 5 s after SIGKILL")
    return pid


def start_node(index):
    """Starts node-<index> again as the devnet does (`node start --home`, its log appended). The process is
    the script's, not the devnet's: the script's `finally` stops it."""
    node_home = os.path.join(HOME, f"node-{index}")
    with open(os.path.join(node_home, "node.log"), "a") as output:
        process = subprocess.Popen([MESHWORK, "node", "start", "--home", node_home], stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True, env=ENV)
    RESTARTED.append(process)
    return process


def slot_squatting(sampler, _):
    h0, h1 = height(API), height(API + 1)
    # The squatters stay for the whole scenario (they are stopped at its end): long enough for node-1's restart
    # and the 60 s it is given.
    idle = subprocess.Popen([ATTACKER, "bench", "hostile-peer", "--p2p", f"{NODE0}@127.0.0.1:{P2P}", "--chain-id",
                             CHAIN_ID, "--attack", "idle", "--count", str(SQUATTERS), "--seconds", "120", "--json"],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=open(os.path.join(HOME, "squatters.log"), "w"))
    try:
        slot_squatting_attack(idle, h0, h1)
    finally:
        if idle.poll() is None:
            idle.terminate()
        try:
            idle.wait(timeout=15)
        except subprocess.TimeoutExpired:
            idle.kill()
            idle.wait()


def slot_squatting_attack(idle, h0, h1):
    honest = {NODE1, NODE2}
    sockets, refused, opened_at = [], [], {}
    started = time.time()
    for _ in range(200):
        try:
            sock = socket.create_connection((HOST, P2P), timeout=10)
        except OSError as error:
            refused.append(repr(error))
            continue
        sockets.append(sock)
        opened_at[sock.fileno()] = time.time()
    opened = time.time()
    log(f"slot squatting: {len(sockets)} silent TCP connections opened to node-0's P2P port in "
        f"{opened - started:.1f} s ({len(refused)} failed to connect: {refused[:2]}); {SQUATTERS} idle authenticated "
        f"peers starting")
    closed_after = {}
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in sockets}
    for sock in sockets:
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    during, polls, missing, last_poll, most_peers, squatters = None, 0, [], 0, 0, []

    def poll_peers(record_missing):
        nonlocal polls, most_peers
        ids = peer_ids(API)
        if ids is not None:
            polls += 1
            most_peers = max(most_peers, len(ids))
            squatters.append(len(ids - honest))
            if record_missing and NODE1 not in ids:
                missing.append(round(time.time() - started, 1))
        return ids

    # Part 1: the squatters take node-0's slots (they have 10 s to connect) while the half-open connections
    # are closed; node-1 stays connected and the chain commits.
    pending = lambda: len(closed_after) < len(sockets) and time.time() - opened < 16
    # the second window is at least 4 s long whenever `during` was measured (opening 200 connections can take
    # seconds when the accept backlog is full, so `during` may come later than 12 s after the start)
    during_at = None
    while pending() or time.time() - started < 12 or during_at is None or time.time() - during_at < 4:
        if time.time() - last_poll >= 0.5:
            last_poll = time.time()
            poll_peers(True)
        if not pending():
            time.sleep(0.2)
            if during is None and time.time() - opened >= 8:
                during, during_at = (height(API), height(API + 1)), time.time()
            continue
        for fd, _ in poller.poll(200):
            sock = by_fd[fd]
            try:
                sock.setblocking(False)
                data = sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            except BlockingIOError:
                continue
            if not data:
                closed_after[fd] = time.time() - opened_at[fd]
                poller.unregister(fd)
        if during is None and time.time() - opened >= 8:
            during, during_at = (height(API), height(API + 1)), time.time()
    ended = (height(API), height(API + 1))
    part_one = time.time() - started
    d0, d1 = (during[0] or 0) - (h0 or 0), (during[1] or 0) - (h1 or 0)
    e0, e1 = (ended[0] or 0) - (during[0] or 0), (ended[1] or 0) - (during[1] or 0)
    check(min(d0, d1, e0, e1) >= 2,
          f"slot squatting: the chain commits throughout the attack: node-0 +{d0}, node-1 +{d1} blocks in the first "
          f"{during_at - started:.0f} s (8 s after the connections opened); from then to {part_one:.0f} s node-0 "
          f"+{e0}, node-1 +{e1}")
    times = sorted(closed_after.values())
    at_once = sum(1 for t in times if t < 1)
    later = times[at_once:]
    check(len(sockets) == 200 and len(closed_after) == len(sockets),
          f"slot squatting: node-0 closed {len(closed_after)} of the {len(sockets)} silent connections (EOF or "
          f"reset) within 16 s of the last one opening: {at_once} within 1 s of opening, {len(later)} after "
          f"{later[0] if later else 0:.1f}-{later[-1] if later else 0:.1f} s")
    check(polls > 0 and not missing,
          f"slot squatting: node-1 is in node-0's peer list at every one of {polls} answered polls while the "
          f"squatters connect (missing at {missing or 'none'} s)")
    held = max(squatters or [0])
    ended_early = "" if idle.poll() is None else f"; it ended: see {HOME}/squatters.log"
    check(held >= SQUATTERS_HELD_MIN and not ended_early,
          f"slot squatting: the idle attack runs: up to {held} of its {SQUATTERS} peers in node-0's peer list "
          f"(want {SQUATTERS_HELD_MIN} at least{ended_early})")

    # Part 2: with the squatters in place, node-1 (a persistent peer of node-0) is killed and started again. Its
    # kept slot lets it back among node-0's peers, and the chain (which needs both validators) commits again.
    # (Heights alone would not do: consensus messages also reach node-0 through node-2.)
    at_kill = len((peer_ids(API) or set()) - honest)
    old = kill_node(1)
    dropped = wait_until(lambda: NODE1 not in (peer_ids(API) or {NODE1}), 10, step=0.1)
    k0 = height(API)  # the chain stands still without node-1
    process = start_node(1)
    restarted = time.time()
    log(f"slot squatting: node-1 (pid {old}) SIGKILLed with {at_kill} squatters among node-0's peers; node-0 "
        f"{'dropped it' if dropped else 'still lists it 10 s later'} (height {k0}); started again (pid {process.pid})")
    back_in = committed_in = None
    during_restart, last = [], (k0, None)
    while time.time() - restarted < SQUAT_RESTART_SECONDS and (back_in is None or committed_in is None):
        ids = poll_peers(False)
        if ids is not None:
            during_restart.append(len(ids - honest))
            if back_in is None and NODE1 in ids:
                back_in = time.time() - restarted
        last = (height(API), height(API + 1))
        if committed_in is None and k0 is not None and min(last[0] or 0, last[1] or 0) >= k0 + 2:
            committed_in = time.time() - restarted
        time.sleep(0.25)
    now = len((peer_ids(API) or set()) - honest)
    seconds = lambda value: f"after {value:.1f} s" if value is not None else "never"
    check(dropped and back_in is not None and committed_in is not None,
          f"slot squatting: node-1, killed and started again while squatters hold node-0's slots, is back among "
          f"node-0's peers {seconds(back_in)}, and the chain commits again {seconds(committed_in)}: from height {k0} "
          f"to node-0 {last[0]}, node-1 {last[1]} (want both within {SQUAT_RESTART_SECONDS} s of the restart, "
          f"+2 blocks on each)")
    fewest = min(during_restart or [0])
    check(fewest >= SQUATTERS_HELD_MIN and idle.poll() is None,
          f"slot squatting: the squatters stay connected meanwhile: {at_kill} at the kill, at least {fewest} at every "
          f"one of {len(during_restart)} polls after it, {now} at the end (want {SQUATTERS_HELD_MIN} at least)")
    peers_max = config_value("p2p", "peers_max", 50)
    check(0 < most_peers <= peers_max,
          f"slot squatting: node-0 never had more than {most_peers} peers during the attack (p2p.peers_max "
          f"{peers_max})")
    for sock in sockets:
        sock.close()


def empty_frames(sampler, _):
    count, seconds = EMPTY_FRAMES
    pid = sampler.pid
    node_log = os.path.join(HOME, "node-0", "node.log")
    log_before = os.path.getsize(node_log)
    # node-0's CPU rate at rest (consensus goes on), taken off the attack's figure
    rest_cpu, rest_started = cpu_seconds(pid), time.time()
    time.sleep(2)
    rest_rate = (cpu_seconds(pid) - rest_cpu) / (time.time() - rest_started)
    cpu_before, started = cpu_seconds(pid), time.time()
    attack = subprocess.Popen([ATTACKER, "bench", "hostile-peer", "--p2p", f"{NODE0}@127.0.0.1:{P2P}", "--chain-id",
                               CHAIN_ID, "--attack", "empty-frames", "--count", str(count), "--seconds", str(seconds),
                               "--json"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The frames are all queued at once; the peer stays connected for the attack's seconds, long enough for the
    # node to work through them. Its CPU is sampled until then: the burst ends with the last busy half second.
    busy_until, busy_cpu, previous = started, cpu_before, (started, cpu_before)
    while attack.poll() is None:
        time.sleep(0.5)
        now, cpu = time.time(), cpu_seconds(pid)
        if cpu is None:
            break
        if (cpu - previous[1]) / (now - previous[0]) > rest_rate + 0.3:
            busy_until, busy_cpu = now, cpu
        previous = (now, cpu)
    out, err = attack.communicate()
    left = time.time()
    try:
        report, problem = json.loads(out), ""
    except ValueError:
        report, problem = {}, f"`bench hostile-peer` exited {attack.returncode}: {err.strip()[-300:]}"
    # drained: node-0 was back at rest for 1 s at least before the peer left (it got through every frame)
    drained = left - busy_until >= 1.5
    burst = busy_until - started
    cpu_used = busy_cpu - cpu_before - rest_rate * burst
    sent = report.get("sent", 0)
    log_grew = os.path.getsize(node_log) - log_before
    log(f"hostile-peer empty-frames report: {report or problem}")
    log(f"BENCH: empty-message frames: {sent} frames of 13,107 empty messages; node-0 was busy for {burst:.1f} s "
        f"and used {cpu_used:.2f} CPU s beyond its rate at rest ({rest_rate:.2f} CPU s/s): "
        f"{1000 * cpu_used / max(sent, 1):.1f} ms per frame; {'done' if drained else 'NOT done'} "
        f"{left - busy_until:.1f} s before the peer left; its log grew by {log_grew / (1 << 20):.1f} MiB; the peer "
        f"is {'still connected' if report.get('stillConnected') else 'disconnected'} at the end")
    memory.setdefault("empty-message frames", {})["frames"] = {
        "sent": sent, "busySeconds": round(burst, 2), "cpuSeconds": round(cpu_used, 2),
        "restCpuPerSecond": round(rest_rate, 3), "drained": drained, "logGrowthMiB": round(log_grew / (1 << 20), 1)}
    # Each empty relay message is an undecodable relay frame: the node bans the peer within its
    # first 64 KiB frame, so how many of the 120 it manages to hand over depends on timing.
    check(report.get("connected") == 1 and sent >= 1 and report.get("stillConnected") == 0,
          f"empty-message frames: the hostile peer connected, sent {sent} of {count} frames of 13,107 empty relay "
          f"messages and was disconnected (still connected at the end: {report.get('stillConnected')}) {problem}")
    check(log_grew < EMPTY_FRAMES_LOG_GROWTH_MAX_MIB << 20,
          f"empty-message frames: node-0's log grew by {log_grew / (1 << 20):.2f} MiB for {sent * 13107:,} refused "
          f"relay messages (bound {EMPTY_FRAMES_LOG_GROWTH_MAX_MIB} MiB: the gateway's log is rate-limited)")
    check(drained and cpu_used < EMPTY_FRAMES_CPU_MAX_SECONDS,
          f"empty-message frames: node-0 worked through the {sent} frames in {burst:.1f} s with {cpu_used:.2f} CPU "
          f"seconds beyond its rest ({'done' if drained else 'NOT done'} before the peer left {seconds} s after it "
          f"came; bound {EMPTY_FRAMES_CPU_MAX_SECONDS} s)")


def transaction_flood(sampler, _):
    report, problem = bench("flood", "--seconds", "6", "--api-port", str(API), "--p2p",
                            f"{NODE0}@127.0.0.1:{P2P}", "--chain-id", CHAIN_ID)
    log(f"flood report: http {report.get('http')}, p2p {report.get('p2p')} {problem}")
    check(bool(report.get("http")), f"bad-signature flood: the flood ran for {report.get('seconds')} s "
                                    f"({(report.get('http') or {}).get('requests')} HTTP requests) {problem}")
    recipient = cli_json("keys", "new", "--name", "flood-recipient", "--insecure-plaintext", node=False)["did"]
    done = cli("tx", "transfer", "--from", "owner", "--to", recipient, "--amount", "7", "--output", "json",
               expect_ok=False, timeout=60)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = {}
    check(done.returncode == 0 and isinstance(answer.get("height"), int) and answer["height"] > 0,
          f"bad-signature flood: a real transfer submitted after the flood commits at height {answer.get('height')} "
          f"(rc {done.returncode}{'' if done.returncode == 0 else ' ' + done.stderr.strip()[-200:]})")
    balance = None
    if wait_until(lambda: (height(API + 1) or 0) >= answer.get("height", 1 << 60), 10):
        try:
            balance = get(API + 1, f"/accounts/{recipient}").get("balance")
        except Exception as error:
            balance = repr(error)
    check(balance == 7, f"bad-signature flood: node-1 shows the recipient's balance {balance} (want 7)")


def many_identities(sampler, _):
    refused = []
    for index in range(20):
        key = f"sybil-{index}"
        did = cli_json("keys", "new", "--name", key, "--insecure-plaintext", node=False)["did"]
        tok = token(key, did)
        for version, expected in ((V5, 0x87), (V311, 5)):
            client, code = try_connect(MQTT, version, f"{key}-{version}", did, tok)
            closed, _ = client.wait_closed(3)
            client.close()
            refused.append((code == expected and closed, did, version, code))
    bad = [item for item in refused if not item[0]]
    check(len(refused) == 40 and not bad,
          f"many identities: 20 fresh did:key devices, each with a valid token: all 40 CONNECTs refused and closed "
          f"(v5 0x87, v3.1.1 5); {len(bad)} not: {[(v, c) for _, _, v, c in bad[:4]]}")
    sessions, codes = [], []
    for index in range(16):
        client, code = try_connect(MQTT, V311, f"adv-a-session-{index}", A, TOK_A, clean=False)
        codes.append(code)
        sessions.append(client)
    check(codes == [0] * 16, f"many identities: registered device A opens 16 persistent sessions on node-0: "
                             f"CONNACKs {sorted(set(map(str, codes)))}")
    for version, expected, client_id in ((V5, 0x97, "adv-a-session-16"), (V311, 0x03, "adv-a-session-17")):
        client, code = try_connect(MQTT, version, client_id, A, TOK_A, clean=False,
                                   session_expiry=3600 if version == V5 else None)
        closed, _ = client.wait_closed(3)
        client.close()
        check(code == expected and closed,
              f"many identities: A's 17th session ({'MQTT 5' if version == V5 else 'MQTT 3.1.1'}) is refused: "
              f"CONNACK {code if isinstance(code, str) else hex(code)} "
              f"(want {expected:#04x}), closed {closed}")
    client, code = try_connect(MQTT, V311, "adv-x-while-a-full", X, TOK_X)
    mqtt_disconnect(client)
    check(code == 0, f"many identities: another registered device (X) still connects: CONNACK {code!r}")
    for client in sessions:
        mqtt_disconnect(client)
    # The stored sessions go with a clean connect of each id, so A is back to none.
    cleaned = []
    for index in range(16):
        client, code = try_connect(MQTT, V311, f"adv-a-session-{index}", A, TOK_A, clean=True)
        mqtt_disconnect(client)
        cleaned.append(code)
    check(cleaned == [0] * 16, f"many identities: A's 16 stored sessions are discarded with clean connects "
                               f"({sorted(set(map(str, cleaned)))})")


def qos2_exhaustion(sampler, _):
    client = Raw(MQTT)
    client.send(connect(V5, "adv-qos2-v5", A, TOK_A))
    frame = client.read_packet(5)
    receive_maximum = connack_properties(frame).get(0x21)
    receive_maximum = struct.unpack(">H", receive_maximum)[0] if receive_maximum else None
    check(connack_code(frame) == 0 and receive_maximum == 64,
          f"QoS 2 exhaustion: A's MQTT 5 CONNACK {connack_code(frame)!r} advertises Receive Maximum "
          f"{receive_maximum} (want 64)")
    topic = f"mesh/{A}/qos2/x"
    client.send(b"".join(publish(V5, topic, b"q2", qos=2, packet_id=i) for i in range(1, 66)))
    closed, packets = client.wait_closed(15)
    client.close()
    pubrecs = [struct.unpack(">H", body[:2])[0] for first, body in packets if first == 0x50]
    reason = disconnect_reason(packets)
    check(pubrecs == list(range(1, 65)) and reason == 0x93 and closed,
          f"QoS 2 exhaustion: 65 QoS 2 publishes, no PUBREL (v5): {len(pubrecs)} PUBRECs "
          f"(ids {pubrecs[:1]}..{pubrecs[-1:]}), then DISCONNECT "
          f"{'none' if reason is None else hex(reason)} (want 0x93), closed {closed}")
    client = raw_ready(MQTT, V311, "adv-qos2-v4", A, TOK_A)
    client.send(b"".join(publish(V311, topic, b"q2", qos=2, packet_id=i) for i in range(1, 66)))
    closed, packets = client.wait_closed(15)
    client.close()
    pubrecs = [struct.unpack(">H", body[:2])[0] for first, body in packets if first == 0x50]
    others = [hex(first) for first, _ in packets if first != 0x50]
    check(pubrecs == list(range(1, 65)) and not others and closed,
          f"QoS 2 exhaustion: the same on MQTT 3.1.1: {len(pubrecs)} PUBRECs, then closed {closed} "
          f"(other packets: {others or 'none'})")


def gateway_db(sql, arguments=()):
    path = os.path.join(HOME, "node-0", "data", "gateway.sqlite")
    try:
        database = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            return database.execute(sql, arguments).fetchone()[0]
        finally:
            database.close()
    except sqlite3.Error as error:
        return f"sqlite error {error}"


def gateway_bytes():
    path = os.path.join(HOME, "node-0", "data", "gateway.sqlite")
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def offline_amplification(sampler, _):
    ids = [f"adv-amp-{index}" for index in range(16)]
    topic_filter = f"mesh/{A}/amp/#"
    codes = []
    for client_id in ids:
        client, code = try_connect(MQTT, V311, client_id, B, TOK_B, clean=False)
        codes.append((code, raw_subscribe(client, V311, topic_filter) if code == 0 else None))
        mqtt_disconnect(client)
    check(codes == [(0, 1)] * 16, f"offline amplification: B opens 16 persistent sessions on node-0, each "
                                  f"subscribed to {topic_filter} at QoS 1, and goes offline: "
                                  f"{sorted(set(map(str, codes)))}")
    time.sleep(0.5)
    before = gateway_bytes()
    payloads = [os.urandom(512 << 10) for _ in range(6)]
    publisher = raw_ready(MQTT, V311, "adv-amp-publisher-a", A, TOK_A)
    acks = [raw_publish(publisher, V311, f"mesh/{A}/amp/{index}", payload, 300 + index)
            for index, payload in enumerate(payloads)]
    mqtt_disconnect(publisher)
    check(acks == [0] * 6, f"offline amplification: A publishes 6 x 512 KiB at QoS 1 on node-0: PUBACKs {acks}")
    like = f"mesh/{A}/amp/%"
    count_payloads = lambda: gateway_db("SELECT COUNT(*) FROM payloads WHERE topic LIKE ?", (like,))
    count_queue = lambda: gateway_db(
        "SELECT COUNT(*) FROM queue JOIN payloads ON payloads.id = queue.payload_id WHERE payloads.topic LIKE ?",
        (like,))
    wait_until(lambda: count_queue() == 96, 10, step=0.2)
    time.sleep(0.5)
    rows, queued = count_payloads(), count_queue()
    after = gateway_bytes()
    grown = mib(max(0, after - before) / 1024)
    log(f"BENCH: offline amplification: 6 x 512 KiB for 16 offline sessions: {rows} payload rows, {queued} queue "
        f"rows, gateway.sqlite + -wal {before / (1 << 20):.1f} -> {after / (1 << 20):.1f} MiB (+{grown:.1f} MiB)")
    check(rows == 6 and queued == 96, f"offline amplification: gateway.sqlite holds {rows} payload rows (want 6) "
                                      f"and {queued} queue rows (want 96) for mesh/<A>/amp/*")
    check(grown < 16, f"offline amplification: gateway.sqlite + -wal grew by {grown:.1f} MiB (want < 16 MiB; one "
                      f"copy per payload is ~3 MiB, one per session would be ~48 MiB)")
    client = Raw(MQTT, timeout=15)
    client.send(connect(V311, ids[0], B, TOK_B, clean=False))
    frame = client.read_packet(10)
    present = bool(frame and frame[0] == 0x20 and frame[1][0] & 1)
    got = {}
    try:
        while len(got) < 6:
            packet_frame = client.read_packet(15)
            if packet_frame is None:
                break
            if packet_frame[0] >> 4 == 3:
                topic, packet_id, payload = parse_publish(packet_frame)
                got[topic] = payload
                if packet_id is not None:
                    client.send(b"\x40\x02" + struct.pack(">H", packet_id))
    except TimeoutError:
        pass
    mqtt_disconnect(client)
    complete = all(got.get(f"mesh/{A}/amp/{index}") == payload for index, payload in enumerate(payloads))
    check(connack_code(frame) == 0 and present and complete,
          f"offline amplification: {ids[0]} resumes (CONNACK {connack_code(frame)!r}, session present {present}) "
          f"and receives {len(got)} of the 6 payloads, {'all' if complete else 'not all'} byte-identical")
    for client_id in ids:  # discard B's stored sessions
        client, code = try_connect(MQTT, V311, client_id, B, TOK_B, clean=True)
        mqtt_disconnect(client)


def telemetry_eavesdropping(sampler, _):
    topic_filter = f"mesh/{A}/#"
    request = {"op": "subscribe", "topic": "telemetry", "did": A, "filter": topic_filter}
    sockets = []
    for label, tok in (("no token", None), ("the token of device X (no mqtt.subscribe grant on mesh/<A>/#)", TOK_X)):
        ws = WebSocket(API, "/events")
        sockets.append(ws)
        ws.send(json.dumps(dict(request, token=tok) if tok else request))
        reply, _ = ws.receive_json(lambda m: m.get("type") in ("subscribed", "error"), 10)
        check(reply is not None and reply.get("type") == "error" and reply.get("code") == "api/20",
              f"telemetry eavesdropping: subscribing to A's telemetry with {label}: "
              f"{(reply or {}).get('type')} {(reply or {}).get('code')} (want error api/20)")
    reader = WebSocket(API, "/events")
    sockets.append(reader)
    reader.send(json.dumps(dict(request, token=TOK_B)))
    reply, _ = reader.receive_json(lambda m: m.get("type") in ("subscribed", "error"), 10)
    check(reply is not None and reply.get("type") == "subscribed",
          f"telemetry eavesdropping: B's token (granted) subscribes: {json.dumps(reply)[:160]}")
    payload = f"reading-{os.urandom(4).hex()}"
    publisher = raw_ready(MQTT, V311, "adv-ws-publisher-a", A, TOK_A)
    code = raw_publish(publisher, V311, f"mesh/{A}/ws/temp", payload, 1)
    mqtt_disconnect(publisher)
    message, seen = reader.receive_json(
        lambda m: m.get("type") == "telemetry" and m.get("telemetry", {}).get("text") == payload, 10)
    check(code == 0 and message is not None,
          f"telemetry eavesdropping: A's publish (PUBACK {code!r}) reaches B's /events subscription "
          f"({len(seen)} messages read)")
    leaked = []
    for ws in sockets[:2]:
        try:
            extra, _ = ws.receive_json(lambda m: m.get("type") == "telemetry", 1)
            if extra:
                leaked.append(extra)
        except (OSError, ValueError):
            pass
    check(not leaked, f"telemetry eavesdropping: the refused connections receive {len(leaked)} telemetry messages")
    for ws in sockets:
        ws.close()


def raw_get_with_origin(port, path, origin):
    reply = raw_request(port, (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\n"
                               f"Connection: close\r\n\r\n").encode(), b"", timeout=10)
    return reply.status, reply.body.decode("utf-8", "replace")


def cross_origin(sampler, _):
    foreign = WebSocket(API, "/events", origin="http://evil.example")
    status, accepted = foreign.status, foreign.accept_ok
    foreign.close()
    check(status == 400 and not accepted,
          f"cross-origin WebSocket: an upgrade with Origin http://evil.example answers {status} (want 400, not 101)")
    status, body = raw_get_with_origin(API, "/events", "http://evil.example")
    check(status == 403 and '"api/21"' in body,
          f"cross-origin WebSocket: a plain GET /events from that origin answers {status} {body[:120]!r} "
          f"(want 403 api/21)")
    own = WebSocket(API, "/events", origin=f"http://127.0.0.1:{API}")
    status, accepted = own.status, own.accept_ok
    own.close()
    check(status == 101 and accepted,
          f"cross-origin WebSocket: an upgrade from the node's own origin http://127.0.0.1:{API} answers {status}")


def storage_dir(*parts):
    return os.path.join(HOME, "node-2", "data", "storage", *parts)


def listing(*parts):
    try:
        return sorted(os.listdir(storage_dir(*parts)))
    except OSError:
        return []


def put_request(port, path, length, authorization=None):
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\n"
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    return (head + f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()


def error_code(reply):
    try:
        return reply.json().get("code")
    except ValueError:
        return None


def shard_upload(sampler, provider_sampler):
    source = os.path.join(HOME, "object.bin")
    with open(source, "wb") as handle:
        handle.write(os.urandom(10 << 10))
    # duration 5000 blocks: the deal must outlive scenario 13 too (blocks come every ~150 ms here)
    put = cli_json("store", "put", source, "--code", "1+0", "--duration", "5000")
    deal = get(API, f"/storage/deals/{put['deal']}")
    endpoint = deal["shards"][0]["endpoint"]
    port = int(endpoint.rsplit(":", 1)[1])
    STATE.update(deal=deal, provider_port=port, manifest=put["manifest"])
    check(port == API + 2 and put["shards"] == 1 and not put["failedShards"],
          f"unauthenticated shard upload: `store put` (code 1+0) placed deal {put['deal']} on the provider "
          f"node-2 ({endpoint})")
    shards_before = listing("shards")
    junk = os.urandom(1 << 20)
    path = f"/storage/deals/{put['deal']}/shards/0"
    forged = (base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode() + "." +
              base64.urlsafe_b64encode(os.urandom(64)).rstrip(b"=").decode())
    attempts = (("no Authorization", None), ("a forged Mesh-Upload authorization", f"Mesh-Upload {forged}"))
    for label, authorization in attempts:
        try:
            reply = raw_request(port, put_request(port, path, len(junk), authorization), junk, timeout=30)
            status, code = reply.status, error_code(reply)
        except OSError as error:
            status, code = repr(error), None
        check(status == 401 and code == "api/23",
              f"unauthenticated shard upload: PUT 1 MiB of junk to {path} on the provider with {label}: "
              f"{status} {code} (want 401 api/23)")
    time.sleep(0.5)
    check(listing("incoming") == [] and listing("shards") == shards_before,
          f"unauthenticated shard upload: the provider's incoming/ holds {len(listing('incoming'))} files, its "
          f"shards/ {len(listing('shards'))} (before {len(shards_before)})")


def stream_put(port, path, total, chunk=1 << 20, authorization=None):
    """PUTs `total` bytes (one 1 MiB buffer sent again and again) while a thread reads the answer,
    so a status sent before the server closes (or resets) the connection is not lost."""
    sock = socket.create_connection((HOST, port), timeout=30)
    answer, finished = bytearray(), threading.Event()
    notes = []

    def read():
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    notes.append("EOF")
                    break
                answer.extend(data)
        except OSError as error:
            notes.append(f"read {type(error).__name__}")
        finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    block = memoryview(os.urandom(chunk))
    try:
        sock.sendall(put_request(port, path, total, authorization))
        progress = time.time()
        while sent < total:
            if finished.is_set():
                notes.append(f"answered and ended by the server after {sent / (1 << 20):.1f} MiB; stopped sending")
                break
            if not select.select([], [sock], [], 0.2)[1]:
                if time.time() - progress > 30:
                    notes.append(f"the server stopped reading for 30 s after {sent / (1 << 20):.1f} MiB")
                    break
                continue
            offset = sent % chunk
            sent += sock.send(block[offset:min(chunk, offset + total - sent)])
            progress = time.time()
    except OSError as error:
        notes.append(f"send {type(error).__name__} after {sent / (1 << 20):.1f} MiB")
    finished.wait(30)
    sock.close()
    text = bytes(answer)
    status, code = None, None
    if text.startswith(b"HTTP/1.1 "):
        status = int(text.split(b" ", 2)[1])
        body = text.partition(b"\r\n\r\n")[2]
        try:
            code = json.loads(body).get("code")
        except ValueError:
            pass
    return status, code, sent, notes


def oversized_manifest(sampler, provider_sampler):
    if "deal" not in STATE:
        check(False, "oversized manifest: no deal from the shard upload scenario")
        return
    port, manifest = STATE["provider_port"], STATE["manifest"]
    manifests_before = listing("manifests")
    status, code, sent, notes = stream_put(port, f"/storage/manifests/{manifest}", 80 << 20)
    check(status == 401 and code == "api/23",
          f"oversized manifest: PUT 80 MiB to /storage/manifests/<the deal's manifest> without authorization: "
          f"{status} {code} (want 401 api/23); {sent / (1 << 20):.1f} MiB sent, connection: "
          f"{', '.join(notes) or 'open'}")
    digest = hashlib.sha256(os.urandom(32)).digest()
    other = "b" + base64.b32encode(b"\x01\x55\x12\x20" + digest).decode().lower().rstrip("=")
    rss_before = rss_kib(pid_of(2))
    status, code, sent, notes = stream_put(port, f"/storage/manifests/{other}", 2 << 20)
    rss_after = rss_kib(pid_of(2))
    check(status == 403 and code == "api/18",
          f"oversized manifest: PUT 2 MiB to /storage/manifests/{other[:16]}… (no deal) answers {status} {code} "
          f"(want 403 api/18); {sent / (1 << 20):.1f} MiB sent, connection: {', '.join(notes) or 'open'}; provider RSS "
          f"{mib(rss_before):.1f} -> {mib(rss_after):.1f} MiB")
    growth = mib(provider_sampler.peak_kib - provider_sampler.idle_kib)
    check(growth < PROVIDER_RSS_GROWTH_MAX_MIB,
          f"oversized manifest: the provider's peak RSS grew by {growth:.1f} MiB over both uploads "
          f"(bound {PROVIDER_RSS_GROWTH_MAX_MIB} MiB; {provider_sampler.samples} samples so far)")
    time.sleep(0.5)
    manifests_after = listing("manifests")
    check(manifests_after == manifests_before == [manifest] and listing("incoming") == [],
          f"oversized manifest: the provider's manifests/ holds {manifests_after} (want only the genuine "
          f"{manifest[:16]}…), incoming/ {len(listing('incoming'))} files")


# ---- main ----

STATE = {}
RESTARTED = []  # nodes the script started again itself (not children of the devnet)
devnet = start_devnet()
began = time.time()
try:
    for index in range(3):
        wait_height(API + index, 3, seconds=120)
        if not wait_until(lambda: port_open(MQTT + index), 30):
            raise SystemExit(f"FAIL: node-{index}'s MQTT port {MQTT + index} does not accept connections")
    if not wait_until(lambda: len(get(API, "/storage/providers")["providers"]) == 1, 60, step=0.5):
        raise SystemExit("FAIL: the provider node-2 did not register itself within 60 s")
    status = get(API, "/status")
    NODE0, NODE1, NODE2 = status["nodeId"], get(API + 1, "/status")["nodeId"], get(API + 2, "/status")["nodeId"]
    CHAIN_ID = json.load(open(os.path.join(HOME, "node-0", "genesis.json"))).get("chainId", "meshwork-devnet")
    dids = {name: cli_json("device", "register", "--controller", "owner", "--name", name,
                           "--insecure-plaintext")["did"] for name in ("adv-a", "adv-b", "adv-x")}
    A, B, X = dids["adv-a"], dids["adv-b"], dids["adv-x"]
    cli_json("policy", "grant", "--from", "owner", "--subject", B, "--action", "mqtt.subscribe",
             "--resource", f"mesh/{A}/#")
    TOK_A, TOK_B, TOK_X = token("adv-a"), token("adv-b"), token("adv-x")
    wait_height(API + 1, height(API) or 0)
    log(f"devnet in {HOME} (chain {CHAIN_ID}, node-0 {NODE0[:12]}…, pid {pid_of(0)}); devices A={A} B={B} X={X}; "
        f"B may subscribe to mesh/<A>/#; ready in {time.time() - began:.0f} s")

    scenario("forged relay", forged_relay)
    scenario("relay filter flood", filter_flood)
    scenario("peer-exchange poisoning", pex_poisoning)
    scenario("slot squatting", slot_squatting)
    scenario("empty-message frames", empty_frames)
    scenario("bad-signature transaction flood", transaction_flood)
    scenario("many identities of one owner", many_identities)
    scenario("QoS 2 id exhaustion", qos2_exhaustion)
    scenario("offline-queue amplification", offline_amplification)
    scenario("telemetry eavesdropping over /events", telemetry_eavesdropping)
    scenario("cross-origin WebSocket", cross_origin)
    scenario("unauthenticated shard upload", shard_upload, provider=True)
    scenario("oversized manifest", oversized_manifest, provider=True)
finally:
    for thing in STARTED:
        thing.stop()
    for process in RESTARTED:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    stop_devnet(devnet)

summary = os.path.join(HOME, "memory.json")
with open(summary, "w") as handle:
    json.dump({"boundMiB": RSS_GROWTH_MAX_MIB, "providerBoundMiB": PROVIDER_RSS_GROWTH_MAX_MIB,
               "binary": MESHWORK, "scenarios": memory}, handle, indent=2)
log(f"memory figures: {summary}")
took = time.time() - began
if failures:
    print(f"adversary check: {len(failures)} failure(s) in {took:.0f} s; logs in {HOME}")
    for failure in failures:
        print(f"  FAIL: {failure}")
    sys.exit(1)
print(f"adversary check: all passed in {took:.0f} s ({HOME})")
