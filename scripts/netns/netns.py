"""A multi-host Meshwork network on one machine: each node runs `meshwork node start` in its own
network namespace with its own IP, joined as real hosts are.

Topology (needs root, `ip` and `tc`):

    backbone bridge mw-wan 10.77.0.0/24   host 10.77.0.254
        node-i (validators)  10.77.0.(i+1)  veth, tc netem delay/loss on its side
        site node            10.77.0.100    its WAN link: the one a partition takes down
    site bridge mw-lan 10.78.0.0/24       host 10.78.0.254
        site node            10.78.0.100    its LAN link: the site's devices reach it here

The host (where the test and its MQTT devices run) sits on both bridges, as a device on the site's
LAN and a client of the majority's nodes. `partition()` sets the site's WAN link down (the site
keeps its LAN); `heal()` sets it up again. Homes come from `meshwork devnet --create-only`, their
loopback addresses rewritten to each namespace's IP, so the same genesis and peer list join the
nodes as on real machines.
"""
import os, re, signal, subprocess, time

PREFIX = "mw"  # namespaces mw-node-<i>, mw-site; bridges mw-wan, mw-lan
WAN, LAN = "10.77.0", "10.78.0"
HOST = 254
SITE = 100


def sh(*args, check=True, ns=None):
    """Runs one command (in namespace `ns`), returning its stdout; raises with stderr on failure."""
    command = (["ip", "netns", "exec", ns] if ns else []) + [str(arg) for arg in args]
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def namespaces():
    return [line.split()[0] for line in sh("ip", "netns", "list").splitlines() if line.startswith(PREFIX + "-")]


def teardown():
    """Removes every namespace, bridge and host-side veth this module made (killing what runs in them)."""
    for ns in namespaces():
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        sh("ip", "netns", "del", ns, check=False)
    for link in (f"{PREFIX}-wan", f"{PREFIX}-lan"):
        sh("ip", "link", "del", link, check=False)
    for line in sh("ip", "-o", "link", "show").splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{PREFIX}h"):
            sh("ip", "link", "del", name, check=False)


class Network:
    """Namespaces, bridges and links for `validators` nodes and one site node."""

    def __init__(self, validators, delay_ms=5, jitter_ms=1, loss_percent=0.2):
        self.validators = validators
        self.netem = dict(delay_ms=delay_ms, jitter_ms=jitter_ms, loss_percent=loss_percent)
        self.processes = {}
        self.netem_missing = None  # why `tc netem` could not be set, if it could not

    @staticmethod
    def ns(index):
        return f"{PREFIX}-site" if index == "site" else f"{PREFIX}-node-{index}"

    def ip(self, index):
        """The node's backbone address (the site's LAN address is `site_lan_ip`)."""
        return f"{WAN}.{SITE}" if index == "site" else f"{WAN}.{index + 1}"

    site_lan_ip = f"{LAN}.{SITE}"

    def create(self):
        teardown()
        for bridge, subnet in ((f"{PREFIX}-wan", WAN), (f"{PREFIX}-lan", LAN)):
            sh("ip", "link", "add", bridge, "type", "bridge")
            sh("ip", "addr", "add", f"{subnet}.{HOST}/24", "dev", bridge)
            sh("ip", "link", "set", bridge, "up")
        for index in [*range(self.validators), "site"]:
            ns = self.ns(index)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            tag = "s" if index == "site" else str(index)
            self._link(ns, f"{PREFIX}h{tag}w", "wan0", f"{PREFIX}-wan", self.ip(index))
            if index == "site":
                self._link(ns, f"{PREFIX}h{tag}l", "lan0", f"{PREFIX}-lan", self.site_lan_ip)

    def _link(self, ns, host_side, ns_side, bridge, address):
        sh("ip", "link", "add", host_side, "type", "veth", "peer", "name", ns_side, "netns", ns)
        sh("ip", "link", "set", host_side, "master", bridge)
        sh("ip", "link", "set", host_side, "up")
        sh("ip", "addr", "add", f"{address}/24", "dev", ns_side, ns=ns)
        sh("ip", "link", "set", ns_side, "up", ns=ns)
        netem = self.netem
        done = subprocess.run(
            ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ns_side, "root", "netem", "delay",
             f"{netem['delay_ms']}ms", f"{netem['jitter_ms']}ms", "loss", f"{netem['loss_percent']}%"],
            capture_output=True, text=True)
        if done.returncode != 0:
            # Some kernels (a Firecracker VM's, say) are built without sch_netem: the links then run
            # without added delay or loss, and the run says so.
            self.netem_missing = done.stderr.strip()

    def partition(self):
        """Cuts the site off the backbone (its LAN stays up)."""
        sh("ip", "link", "set", "wan0", "down", ns=self.ns("site"))

    def heal(self):
        sh("ip", "link", "set", "wan0", "up", ns=self.ns("site"))

    # ---- nodes ----

    def configure(self, homes):
        """Rewrites each home's loopback addresses: listeners on the namespace's IP (API and MQTT on
        every interface), peers at their namespace's IP. `homes[i]` is node i; the last is the site."""
        ports = {}
        for position, home in enumerate(homes):
            text = open(os.path.join(home, "config.toml")).read()
            port = int(re.search(r"\[p2p\][^\[]*?listen = '127\.0\.0\.1:(\d+)'", text, re.S).group(1))
            ports[port] = "site" if position == len(homes) - 1 else position
        for position, home in enumerate(homes):
            index = "site" if position == len(homes) - 1 else position
            path = os.path.join(home, "config.toml")
            text = open(path).read()

            def peer(match):
                return f"{match.group(1)}@{self.ip(ports[int(match.group(2))])}:{match.group(2)}"

            text = re.sub(r"([0-9a-f]{40})@127\.0\.0\.1:(\d+)", peer, text)
            text = re.sub(r"(\[p2p\][^\[]*?listen = ')127\.0\.0\.1", rf"\g<1>{self.ip(index)}", text, flags=re.S)
            text = re.sub(r"(\[api\][^\[]*?listen = ')127\.0\.0\.1", r"\g<1>0.0.0.0", text, flags=re.S)
            text = re.sub(r"(\[mqtt\][^\[]*?listen = ')127\.0\.0\.1", r"\g<1>0.0.0.0", text, flags=re.S)
            # A storage provider's home (devnet --providers) serves no storage here.
            text = re.sub(r"\n\[storage\][^\[]*", "\n", text)
            open(path, "w").write(text)

    def start(self, index, meshwork, home, env):
        """Starts `meshwork node start` for node `index` in its namespace; output to <home>/node.log."""
        log = open(os.path.join(home, "node.log"), "a")
        self.processes[index] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(index), meshwork, "node", "start", "--home", home],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        return self.processes[index]

    def kill(self, index, sig=signal.SIGKILL):
        """Sends `sig` to the node process in namespace `index` (the `ip netns exec` child)."""
        process = self.processes.get(index)
        if process is None:
            return
        for pid in sh("ip", "netns", "pids", self.ns(index), check=False).split():
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self):
        for index in list(self.processes):
            self.kill(index, signal.SIGTERM)


def wait_until(predicate, seconds, step=0.2):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(step)
    return False
