#!/usr/bin/env python3
"""Acceptance test for the node dashboard served at `/`.

Starts a one-node devnet, opens the dashboard in headless Chromium and drives it over the Chrome
DevTools Protocol (CDP) to check that:
  - the event WebSocket connects (`#ws-state` reads "live");
  - new blocks arrive live, without a reload (`#height`, the top `#blocks` row and
    `body[data-ws-events]` all grow);
  - the fleet workflow, run with the CLI while the page stays open (never reloaded), shows at
    each step both in `meshwork device list --output json` and in the device directory:
      1. register three devices (sensor-1 and sensor-2 before the page opens, cam-3 while it is
         open): all three are listed, active, and clicking one shows its DID document;
      2. grant sensor-1 mqtt.publish on mesh/<owner DID>/alerts/#: its row lists the grant;
      3. rotate sensor-2's key: its row and its DID document carry the new key, not the old;
      4. revoke cam-3: its row reads deactivated (and the others keep their grant and key);
  - the telemetry panel works: `GET /gateway` names the MQTT listener; the page is told (through
    `#telemetry-form`, with sensor-1's own device token as the reader's) to watch sensor-1 on
    `mesh/<DID>/#` and sends that subscription on its
    WebSocket; five numeric payloads published with `mosquitto_pub` as sensor-1 all reach the page
    (`body[data-telemetry-events]`, the rows of `#telemetry-rows`, `#telemetry-last`) and are
    charted on `#telemetry-chart` (its pixels are read back); the gateway stats (`#gw-*`) show
    numbers, a live connection while the publisher is connected and a non-zero publish rate;
  - the device shadow panel (`#panel-shadow`): sensor-1's DID and its device token are typed into
    `#shadow-form` (CDP Input.insertText); before it has a shadow the panel reads the API's 404
    api/25; sensor-1 then publishes a shadow update over MQTT 5 with paho
    (`$mesh/things/<DID>/shadow/update`: desired temp 22, reported temp 21 and a key and value
    carrying markup) and the panel, refreshing every 5 s without a click, shows version 1,
    reported.temp 21, desired.temp 22, delta.temp 22 (each leaf titled with its metadata
    timestamp) and the markup as text; a wrong token reads 403 api/24, no token 401 api/24 and a bad
    shadow name 400 api/10, each on a visible error line; the token is in no Web Storage; the
    gateway stats show GET /gateway's new counters (`#gw-expired`, `#gw-shadows`,
    `#gw-shadow-requests`, `#gw-shadow-merges`);
  - the storage panel has replaced its placeholder: its providers and live deals tables list what
    `GET /storage/providers` and `GET /storage/deals` answer (or read "no storage providers
    registered" and "no live storage deals"), and its health line reads the same counts;
  - the payments panel shows the gateway's payment counters as numbers and the market listings:
    first its empty state, then, live, a listing made with `meshwork market list` (pattern, payee,
    price). A channel is opened to a new key and one voucher redeemed with the CLI: the panel sums
    that block's channel.redeem `paid`, counts the channel.open, and its channel lookup lists the
    channel with the redeemed amount;
  - the data feeds panel: a feed made with `meshwork oracle create-feed` (reported by the owner, a
    did:key, which is why the devnet runs with `mqtt.allow_unregistered`) and two observations
    published with `meshwork oracle observe` show, live: `#feeds` lists the feed with its latest
    median (`21.50`) and `#feed-chart` draws its rounds (an SVG path through both);
  - the device directory has a reputation column: once its rows are on screen, each reads the
    score `GET /reputation/{did}` answers;
  - the governance and firmware-rollouts panels: first their empty states and the community pool and
    quorum/threshold/veto of `GET /params`; then, live, a text proposal whose title carries markup
    (shown as text) with validator-0's no vote as an all-no tally bar with the quorum line, an
    expedited upgrade (height far ahead) that validator-0 votes through, and firmware for model m1
    rolled out to the directory's devices in two stages: the rollout's row (firmware, stage 1 of 2,
    a bar per stage, the totals); once the upgrade passes, the page-wide banner reads
    "upgrade <name> at height H" with the blocks to go, and once the first stage times out (no
    device reports) the rollout reads paused with the ledger's reason;
  - the contracts and compute panels (`#panel-contracts`, `#panel-compute`): first what `GET /contracts`,
    `GET /compute/providers` and `GET /compute/jobs` answer on this devnet, which has no contract, compute
    provider or job (each table's empty state, and the compute counts: providers, jobs open, challenges
    (disputed jobs), settled, failed, escrow held); then, live, the counter contract of
    Examples/contracts stored, instantiated (with a label carrying markup, shown as text) and called once
    with the CLI: its code row (CID and size), its instance row (label, code) and the call's row in the
    recent executions (contract, and the sender and fuelUsed of the transaction's contract.execute event);
  - the partition banner (`#partition-banner`): hidden on the healthy devnet (GET /status reads
    partitioned false, with lastCommitAgeMs); shown, reading "Cut off from the network: serving
    devices from height H, last commit 7 min ago (devices authenticate offline for up to 72 h)",
    while the browser's /status answers are rewritten to a partitioned node's (CDP Fetch: a
    one-node devnet cannot lose its quorum), and hidden again once they are not;
  - the page throws no JavaScript exception, logs no JavaScript error and breaks no
    Content-Security-Policy rule.
It saves a full-page screenshot (default `.build/dashboard.png`) after the payments step.

The directory rows carry their state in data attributes (`data-did`, `data-status`, `data-keys`,
`data-grants`), which is what this test reads.

By default the node serves the dashboard files embedded in the binary; `--assets-dir DIR` makes it
serve DIR/Dashboard/* from disk instead (env MESHWORK_ASSETS_DIR), to try page edits without a
rebuild.

The CDP connection uses a small RFC 6455 client written here on the standard library, so the
test needs only python3, the meshwork binary and Debian's `chromium`, `mosquitto-clients` and
`python3-paho-mqtt` packages.

usage: scripts/dashboard-check.py path/to/meshwork [--screenshot PATH] [--assets-dir DIR] [--keep]
"""
import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PORT_RANGE = range(18000, 19000)
DEVICE_NAMES = ["sensor-1", "sensor-2", "cam-3"]
GRANT_ACTION = "mqtt.publish"
# Keys the CLI makes (device keys, the rotated key) are encrypted with this; the test home is temporary.
PASSPHRASE = "dashboard-check"
CLI_TIMEOUT_S = 120
CLI_VISIBLE_TIMEOUT_S = 10
STARTUP_TIMEOUT_S = 120
LIVE_TIMEOUT_S = 20
DIRECTORY_TIMEOUT_S = 25
CDP_CALL_TIMEOUT_S = 30
# The telemetry step: sensor-1 publishes these under mesh/<its DID>/TELEMETRY_SUBTOPIC.
TELEMETRY_DEVICE = DEVICE_NAMES[0]
TELEMETRY_SUBTOPIC = "temp"
TELEMETRY_VALUES = ["20.5", "21", "22.25", "21.75", "23"]
TELEMETRY_TIMEOUT_S = 15
GATEWAY_REFRESH_TIMEOUT_S = 8  # the page reads /gateway every 2 s
MQTT_PUBLISH_TIMEOUT_S = 20
# The storage and payments panels: a listing on the owner's namespace, and one voucher redeemed
# on a channel from the owner to a new key (funded for its fees).
LISTING_SUBTOPIC = "x"
LISTING_PRICE_PER_MESSAGE = 2
PAYEE_KEY = "payee"
PAYEE_FUNDS = 10000
CHANNEL_DEPOSIT = 5000
VOUCHER_AMOUNT = 1234
PANEL_TIMEOUT_S = 12  # the panels poll every 10 s, and reload sooner on the transactions that change them
# The feeds panel: a feed the owner reports itself, and two observations, one round each (the last
# is the latest value the page must show, in the feed's 2 decimals).
FEED_ID = "dash.temp"
FEED_UNIT = "degC"
FEED_VALUES = ["21.0", "21.5"]
FEED_LATEST_SHOWN = "21.50"
FEED_ROUND_TIMEOUT_S = 10
FEEDS_TIMEOUT_S = 8  # the page reads /oracle/feeds every 4 s, and sooner on oracle.* transactions
REPUTATION_TIMEOUT_S = 8
STORAGE_DEALS_SHOWN = 20  # what the page asks GET /storage/deals for
# The governance and rollouts panels: an expedited upgrade far ahead that validator-0 votes through
# (the devnet's expedited vote lasts 10 s of BFT time), a text proposal whose title and a firmware
# version carry markup the page must show as text, and firmware for the directory's model m1
# rolled out in two stages, the first timing out after one block (no device reports), so it pauses.
UPGRADE_NAME = "dash-upgrade"
UPGRADE_AHEAD = 1_000_000  # blocks: the devnet never reaches it
EXPEDITED_DEPOSIT = 5_000_000
PROPOSAL_DEPOSIT = 1_000_000
PROPOSAL_TITLE = '<b>dash</b> & "check"'
FIRMWARE_MODEL = "m1"
FIRMWARE_VERSION = "2.0<beta>"
ROLLOUT_STAGES = ["50:100:100:1", "100:100:100:100"]
GOV_TIMEOUT_S = 45  # the expedited vote's 10 s, then the next block (empty blocks come every 10 s)
WS_MESSAGE_BYTES_MAX = 64 << 20  # a full-page PNG in base64 is a few MB
# The shadow panel: one update by sensor-1 (its first: version 1), with markup the page must show as
# text. The panel reads the shadow again every 5 s.
SHADOW_MARKUP_KEY = "<b>note</b>"
SHADOW_MARKUP_VALUE = "<img src=x>"
SHADOW_UPDATE = {"state": {"desired": {"temp": 22},
                           "reported": {"temp": 21, SHADOW_MARKUP_KEY: SHADOW_MARKUP_VALUE}}}
SHADOW_REFRESH_TIMEOUT_S = 9
SHADOW_ANSWER_TIMEOUT_S = 5
SHADOW_BAD_NAME = "bad name!"
GATEWAY_SHADOW_COUNTERS = {  # element id -> GET /gateway field
    "gw-expired": "expired", "gw-shadows": "shadows", "gw-shadow-requests": "shadowRequests",
    "gw-shadow-merges": "shadowMerges",
}
# The partition banner: /status answered as if the last commit were this long ago.
PARTITION_AGE_MS = 7 * 60 * 1000 + 12_000
PARTITION_AGE_SHOWN = "7 min ago"
STATUS_POLL_TIMEOUT_S = 8  # the page reads /status every 3 s
# The contracts and compute panels: the example counter contract, stored, instantiated with a label
# carrying markup (the page must show it as text) and incremented once; the jobs the page lists.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTER_WASM = os.path.join(REPO, "Examples", "contracts", "counter", "counter.wasm")
CONTRACT_LABEL = "<b>hall</b> counter"
COMPUTE_JOBS_SHOWN = 50  # the page lists the newest 50 of GET /compute/jobs
COMPUTE_STATS = ["compute-providers-count", "compute-open", "compute-disputed", "compute-settled", "compute-failed",
                 "compute-escrow"]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class CheckFailed(Exception):
    """A check that did not hold; the message says which."""


# MARK: a minimal RFC 6455 WebSocket client


class WebSocketClient:
    """Text messages over a client WebSocket: opening handshake, masked frames out, unmasked
    frames in (7-, 16- and 64-bit lengths, continuation fragments), ping answered with pong."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout_s=10):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "ws":
            raise ValueError(f"only ws:// URLs are supported, not {url}")
        host, port = parts.hostname, parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
            if len(self.buffer) > 65536:
                raise ConnectionError("WebSocket handshake answer too long")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if len(lines[0].split(" ")) < 2 or lines[0].split(" ")[1] != "101":
            raise ConnectionError(f"WebSocket handshake refused: {lines[0]}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            raise ConnectionError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("WebSocket closed by peer")
        self.buffer += chunk

    def _read_exact(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def _read_frame(self):
        first, second = self._read_exact(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        masked, length = bool(second & 0x80), second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        if length > WS_MESSAGE_BYTES_MAX:
            raise ConnectionError(f"WebSocket frame of {length} bytes is over the limit")
        mask = self._read_exact(4) if masked else None
        payload = self._read_exact(length)
        if mask:
            payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        return fin, opcode, payload

    def receive_text(self, timeout_s):
        """The next whole text message; raises socket.timeout if none arrives in time."""
        self.sock.settimeout(timeout_s)
        parts, total = [], 0
        while True:
            fin, opcode, payload = self._read_frame()
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:  # pong
                continue
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by peer")
            if opcode not in (0x0, 0x1, 0x2):
                raise ConnectionError(f"unexpected WebSocket opcode {opcode}")
            if opcode != 0x0 and parts:
                raise ConnectionError("WebSocket: a new message began inside a fragmented one")
            if opcode == 0x0 and not parts:
                raise ConnectionError("WebSocket: continuation frame without a first fragment")
            parts.append(payload)
            total += len(payload)
            if total > WS_MESSAGE_BYTES_MAX:
                raise ConnectionError("WebSocket message over the limit")
            if fin:
                return b"".join(parts).decode("utf-8")

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# MARK: Chrome DevTools Protocol


class DevTools:
    """Calls CDP methods on one page target and keeps the events that arrive meanwhile."""

    def __init__(self, websocket_url):
        self.socket = WebSocketClient(websocket_url)
        self.next_id = 1
        self.exceptions = []
        self.security_errors = []
        self.console_errors = []
        self.telemetry_frames = []  # ("sent" | "received", parsed JSON) of the page's own WebSocket
        self.loaded = False
        self.handlers = {}  # CDP event method -> function(params), run as the event is read

    def send(self, method, params=None):
        """Sends a CDP command without waiting for its answer (from an event handler, which runs
        inside `call`); the answer is read and dropped like any other message."""
        call_id = self.next_id
        self.next_id += 1
        self.socket.send_text(json.dumps({"id": call_id, "method": method, "params": params or {}}))

    def call(self, method, params=None, timeout_s=CDP_CALL_TIMEOUT_S):
        call_id = self.next_id
        self.next_id += 1
        self.socket.send_text(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        deadline = time.time() + timeout_s
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise CheckFailed(f"CDP {method} did not answer within {timeout_s}s")
            try:
                message = json.loads(self.socket.receive_text(remaining))
            except socket.timeout:
                continue
            if message.get("id") == call_id:
                if "error" in message:
                    raise CheckFailed(f"CDP {method} failed: {message['error']}")
                return message.get("result", {})
            self._note_event(message)

    def drain(self, seconds):
        """Reads events for a while (so exceptions are seen even when no call is in flight)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                self._note_event(json.loads(self.socket.receive_text(max(0.01, deadline - time.time()))))
            except socket.timeout:
                return

    def _note_event(self, message):
        method, params = message.get("method"), message.get("params", {})
        handler = self.handlers.get(method)
        if handler:
            handler(params)
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            description = details.get("exception", {}).get("description") or details.get("text", "?")
            where = f"{details.get('url', '')}:{details.get('lineNumber', '?')}:{details.get('columnNumber', '?')}"
            self.exceptions.append(f"{description.splitlines()[0]} at {where}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                text = f"[{entry.get('source')}] {entry.get('text', '')} {entry.get('url', '')}".strip()
                # CSP violations are reported with source "security" (or as a javascript error
                # naming the policy); they mean the page only works without the node's CSP.
                if entry.get("source") == "security" or "Content Security Policy" in entry.get("text", ""):
                    self.security_errors.append(text)
                else:
                    self.console_errors.append(text)
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = [str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])]
            self.console_errors.append("console.error: " + " ".join(args))
        elif method == "Page.loadEventFired":
            self.loaded = True
        elif method in ("Network.webSocketFrameSent", "Network.webSocketFrameReceived"):
            # Only with Network enabled (the telemetry step): the page's subscribe and what answers it.
            payload = params.get("response", {}).get("payloadData", "")
            if "telemetry" in payload:
                try:
                    frame = json.loads(payload)
                except ValueError:
                    frame = {"unparsed": payload[:200]}
                direction = "sent" if method.endswith("Sent") else "received"
                self.telemetry_frames.append((direction, frame))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise CheckFailed(f"evaluating in the page failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def close(self):
        self.socket.close()


# What the test reads from the page, in one round trip.
PAGE_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const top = document.querySelector('#blocks [data-height]');
  return {
    wsState: text('ws-state'),
    height: Number(text('height')) || 0,
    topBlock: top ? Number(top.dataset.height) : 0,
    wsEvents: Number((document.body && document.body.dataset.wsEvents) || 0),
    dids: [...document.querySelectorAll('#devices [data-did]')].map((row) => row.dataset.did),
    rows: [...document.querySelectorAll('#devices [data-did]')].map((row) => ({
      did: row.dataset.did,
      status: row.dataset.status || null,
      keys: row.dataset.keys ? row.dataset.keys.split(' ') : [],
      grants: row.dataset.grants === undefined ? null : JSON.parse(row.dataset.grants),
      text: row.textContent,
    })),
    panels: ['panel-telemetry', 'panel-shadow', 'panel-payments', 'panel-storage', 'panel-feeds', 'panel-gov',
             'panel-rollouts', 'panel-contracts', 'panel-compute'].filter((id) => document.getElementById(id)),
    ids: ['txs', 'validators', 'peers'].filter((id) => document.getElementById(id)),
    validatorRows: document.querySelectorAll('#validators tr').length,
    diskStores: [...document.querySelectorAll('#disk tr')].map((row) => row.firstChild && row.firstChild.textContent),
    diskTotal: (document.getElementById('disk-total') || {}).textContent || '',
  };
})()"""


# The partition banner: whether it shows, its text (whitespace folded), its data and live region.
PARTITION_PROBE = """(() => {
  const banner = document.getElementById('partition-banner');
  const sync = document.getElementById('sync');
  if (!banner) return { exists: false };
  return {
    exists: true,
    shown: !banner.hidden && getComputedStyle(banner).display !== 'none',
    text: banner.textContent.replace(/\s+/g, ' ').trim(),
    height: banner.dataset.height === undefined ? null : banner.dataset.height,
    ageMs: banner.dataset.ageMs === undefined ? null : banner.dataset.ageMs,
    role: banner.getAttribute('role'),
    live: banner.getAttribute('aria-live'),
    sync: sync ? sync.textContent.trim() : null,
  };
})()"""

# The shadow panel: its error line, each shadow drawn (name, version, head, sections, every entry by
# JSON Pointer path with its value and tooltip), any markup that became elements, Web Storage, the
# gateway's shadow counters.
SHADOW_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const results = document.getElementById('shadow-results');
  const error = document.getElementById('shadow-error');
  const notice = document.getElementById('notice');
  const stored = [];
  for (const store of [window.localStorage, window.sessionStorage]) {
    for (let index = 0; index < store.length; index++) {
      const key = store.key(index);
      stored.push(`${key}=${store.getItem(key)}`);
    }
  }
  return {
    error: error && !error.hidden
      ? { text: error.textContent.trim(), status: error.dataset.status || '', code: error.dataset.code || '',
          role: error.getAttribute('role') }
      : null,
    summary: text('shadow-summary'),
    shadows: [...results.querySelectorAll('article.shadow')].map((card) => ({
      name: card.dataset.shadow,
      version: card.dataset.version,
      head: card.querySelector('.shadow-head') ? card.querySelector('.shadow-head').textContent : '',
      sections: [...card.querySelectorAll('.shadow-section')].map((section) => section.dataset.section),
      entries: [...card.querySelectorAll('li[data-path]')].map((item) => {
        const value = item.querySelector(':scope > .kv-value');
        const key = item.querySelector(':scope > .kv-key');
        return { path: item.dataset.path, key: key ? key.textContent : null, value: value ? value.textContent : null,
                 title: item.title, stamp: item.dataset.stamp === undefined ? null : item.dataset.stamp };
      }),
    })),
    resultsText: results.textContent,
    markup: results.querySelectorAll('b, img, script').length,
    tokenType: document.getElementById('shadow-token').type,
    stored,
    counters: Object.fromEntries(%s.map((id) => [id, text(id)])),
    notice: notice && !notice.hidden ? notice.textContent.trim() : null,
  };
})()""" % json.dumps(list(GATEWAY_SHADOW_COUNTERS))

# The telemetry panel and the gateway stats, in one round trip.
TELEMETRY_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const notice = document.getElementById('notice');
  return {
    events: Number((document.body && document.body.dataset.telemetryEvents) || 0),
    rows: [...document.querySelectorAll('#telemetry-rows tr')].map((row) =>
      [...row.querySelectorAll('td')].map((cell) => cell.textContent.trim())),
    last: text('telemetry-last'),
    caption: text('telemetry-caption'),
    listen: text('gateway-listen'),
    stats: Object.fromEntries(['gw-connected', 'gw-sessions', 'gw-in-rate', 'gw-out-rate', 'gw-relay-rate', 'gw-denied',
                               'gw-quota', 'gw-relay-denied']
      .map((id) => [id, text(id)])),
    notice: notice && !notice.hidden ? notice.textContent.trim() : null,
  };
})()"""

# The rows of a table body: whether each is the empty-state row, its text, its data attributes and
# its cells (text and tooltip).
TABLE_ROWS_JS = """(id) => [...document.querySelectorAll(`#${id} tr`)].map((row) => ({
    empty: row.classList.contains('empty'),
    text: row.textContent.trim(),
    data: { ...row.dataset },
    cells: [...row.querySelectorAll('td')].map((cell) => ({ text: cell.textContent.trim(), title: cell.title || '' })),
  }))"""

STORAGE_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const rows = %s;
  const panel = document.getElementById('panel-storage');
  return {
    panelText: panel ? panel.textContent : '',
    providers: rows('storage-providers'),
    deals: rows('storage-deals'),
    health: Object.fromEntries(['storage-providers-active', 'storage-deals-live', 'storage-shards-lost',
                                'storage-challenges'].map((id) => [id, text(id)])),
  };
})()""" % TABLE_ROWS_JS

PAYMENT_COUNTERS = {  # element id -> GET /gateway field
    "pay-delivered": "pricedDelivered", "pay-amount": "pricedAmount", "pay-unpaid": "unpaidRefused",
    "pay-vouchers-accepted": "vouchersAccepted", "pay-vouchers-refused": "vouchersRefused",
    "pay-metered": "meteredChannels", "pay-listings": "listings",
}

PAYMENTS_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const rows = %s;
  const panel = document.getElementById('panel-payments');
  return {
    counters: Object.fromEntries(%s.map((id) => [id, text(id)])),
    listings: rows('market-listings'),
    channels: rows('channel-rows'),
    redeemed: Number(panel.dataset.redeemed || 0),
    blocksRead: Number(panel.dataset.blocksRead || 0),
    redeemedTotal: text('redeemed-total'),
    opens: text('events-channel-open'),
  };
})()""" % (TABLE_ROWS_JS, json.dumps(list(PAYMENT_COUNTERS)))

# The feeds table, and the chart of the selected feed (its SVG paths and how long the line is drawn).
FEEDS_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const rows = %s;
  const svg = document.getElementById('feed-chart');
  const line = svg ? svg.querySelector('path.feed-line') : null;
  const band = svg ? svg.querySelector('path.feed-band') : null;
  return {
    feeds: rows('feeds'),
    summary: text('feeds-summary'),
    chartTitle: text('feed-chart-title'),
    latest: text('feed-latest'),
    rounds: svg ? Number(svg.dataset.rounds || 0) : 0,
    line: line ? line.getAttribute('d') : null,
    lineLength: line ? line.getTotalLength() : 0,
    band: band ? band.getAttribute('d') : null,
    misses: [...document.querySelectorAll('#feed-misses .miss-tag')].map((node) => node.textContent.trim()),
    chartText: svg ? svg.textContent : '',
  };
})()""" % TABLE_ROWS_JS
# The governance and rollouts panels: their tables, stats, upgrade lines and the page's banner, and
# whether any markup from the API became elements.
GOV_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const rows = %s;
  const banner = document.getElementById('upgrade-banner');
  return {
    proposals: rows('proposals'),
    rollouts: rows('rollouts'),
    stats: Object.fromEntries(['gov-pool', 'gov-voting', 'gov-deposit', 'gov-quorum', 'gov-threshold', 'gov-veto']
      .map((id) => [id, text(id)])),
    plan: text('upgrade-plan'),
    applied: text('upgrades-applied'),
    banner: banner && !banner.hidden ? { text: text('upgrade-banner-text'), note: text('upgrade-banner-note'),
                                         left: banner.dataset.blocksLeft } : null,
    tallies: [...document.querySelectorAll('#proposals tr[data-proposal]')].map((row) => ({
      id: row.dataset.proposal,
      parts: [...row.querySelectorAll('.tally-part')].map((part) => [part.className.replace('tally-part tally-', ''),
                                                                      part.style.width]),
      quorum: (row.querySelector('.tally-quorum') || { style: {} }).style.left || null,
    })),
    stages: [...document.querySelectorAll('#rollouts tr[data-rollout]')].map((row) =>
      [...row.querySelectorAll('.stage-line')].map((line) => ({ assigned: line.dataset.assigned,
        current: line.classList.contains('current'), parts: line.querySelectorAll('.stage-part').length }))),
    markup: document.querySelectorAll('#proposals b, #rollouts b, #upgrade-banner b').length,
    notice: (() => { const node = document.getElementById('notice'); return node && !node.hidden ? node.textContent : null; })(),
  };
})()""" % TABLE_ROWS_JS

# The contracts and compute panels: their tables, the compute counts, and whether any markup from the API
# became elements.
MACHINE_PROBE = """(() => {
  const text = (id) => { const node = document.getElementById(id); return node ? node.textContent.trim() : null; };
  const rows = %s;
  return {
    codes: rows('contract-codes'),
    instances: rows('contract-instances'),
    calls: rows('contract-calls'),
    providers: rows('compute-providers'),
    jobs: rows('compute-jobs'),
    stats: Object.fromEntries(%s.map((id) => [id, text(id)])),
    markup: document.querySelectorAll('#panel-contracts b, #panel-compute b').length,
    notice: (() => { const node = document.getElementById('notice'); return node && !node.hidden ? node.textContent : null; })(),
  };
})()""" % (TABLE_ROWS_JS, json.dumps(COMPUTE_STATS))


# The directory's reputation column: its header's place, and each row's cell there.
REPUTATION_PROBE = """(() => {
  const headers = [...document.querySelectorAll('#devices')].flatMap((body) =>
    [...body.closest('table').querySelectorAll('thead th')].map((th) => th.textContent.trim().toLowerCase()));
  const column = headers.indexOf('reputation');
  return {
    headers,
    column,
    rows: [...document.querySelectorAll('#devices [data-did]')].map((row) => ({
      did: row.dataset.did,
      data: row.dataset.reputation === undefined ? null : row.dataset.reputation,
      cell: column >= 0 && row.cells[column] ? row.cells[column].textContent.trim() : null,
    })),
  };
})()"""

# The telemetry chart's pixels: how many are painted at all, how many in the line's colour
# (`--accent`), and whether the canvas differs from a blank one of its size.
CHART_PROBE = """(() => {
  const canvas = document.getElementById('telemetry-chart');
  const { width, height } = canvas;
  if (!width || !height) return { width, height, painted: 0, accentPixels: 0, differsFromBlank: false };
  const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
  const hex = /^#([0-9a-f]{6})$/i.exec(accent);
  const [r, g, b] = hex ? [0, 2, 4].map((at) => parseInt(hex[1].slice(at, at + 2), 16)) : [63, 184, 175];
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let painted = 0;
  let accentPixels = 0;
  for (let at = 0; at < data.length; at += 4) {
    if (data[at + 3] === 0) continue;
    painted += 1;
    const distance = Math.abs(data[at] - r) + Math.abs(data[at + 1] - g) + Math.abs(data[at + 2] - b);
    if (data[at + 3] >= 128 && distance < 60) accentPixels += 1;
  }
  const blank = document.createElement('canvas');
  blank.width = width;
  blank.height = height;
  const url = canvas.toDataURL();
  return { width, height, painted, accentPixels, differsFromBlank: url !== blank.toDataURL(),
           dataURLBytes: url.length, blankURLBytes: blank.toDataURL().length };
})()"""


# MARK: processes


def free_port(taken):
    """A loopback port in PORT_RANGE that nothing listens on now and this run has not used."""
    candidates = [port for port in PORT_RANGE if port not in taken]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise CheckFailed(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def stop_group(process, name, grace_s=10):
    """Stops a process started with its own session, and everything it started."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        log(f"{name} ignored SIGTERM for {grace_s}s; killing it")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def get_json(port, path, timeout_s=3):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout_s) as response:
        return json.load(response)


def wait_for(predicate, timeout_s, what, interval_s=0.25):
    deadline = time.time() + timeout_s
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise CheckFailed(f"{what} within {timeout_s}s")


def status_height(port):
    try:
        return get_json(port, "/status")["height"]
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise CheckFailed("no chromium or chromium-browser on PATH (Debian: apt-get install -y chromium)")


class Run:
    """One test run: owns the temp home, the devnet and the browser, and stops them."""

    def __init__(self, binary, screenshot, keep, assets_dir=None):
        self.binary = binary
        self.screenshot = screenshot
        self.keep = keep
        self.env = dict(os.environ, MESHWORK_PASSPHRASE=PASSPHRASE)
        # Without --assets-dir the node must serve its embedded files, whatever the caller's env says.
        self.env.pop("MESHWORK_ASSETS_DIR", None)
        if assets_dir:
            self.env["MESHWORK_ASSETS_DIR"] = assets_dir
        self.home = tempfile.mkdtemp(prefix="meshwork-dashboard-")
        ports = set()
        self.api_port = free_port(ports)
        self.p2p_port = free_port(ports)
        self.devnet = None
        self.chromium = None
        self.devtools = None
        self.failures = []
        self.screenshot_saved = False
        self.tokens = {}  # key name -> the device token made for it (valid for an hour)

    def check(self, condition, message):
        print(("PASS: " if condition else "FAIL: ") + message, flush=True)
        if not condition:
            self.failures.append(message)
        return condition

    def start_devnet(self):
        devnet_log = open(os.path.join(self.home, "devnet.log"), "w")
        # The feeds step reports as the devnet's owner, a did:key no device registration names; the
        # gateway lets such keys connect only with allow_unregistered.
        command = [self.binary, "devnet", "--home", self.home, "--nodes", "1",
                   "--mqtt-port", "0", "--api-port", str(self.api_port), "--p2p-port", str(self.p2p_port),
                   "--set", "mqtt.allow_unregistered=true"]
        log("starting: " + " ".join(command))
        self.devnet = subprocess.Popen(command, stdout=devnet_log, stderr=subprocess.STDOUT, env=self.env,
                                       stdin=subprocess.DEVNULL, start_new_session=True)

        def ready():
            if self.devnet.poll() is not None:
                raise CheckFailed(f"the devnet exited with {self.devnet.returncode}; see {self.home}/devnet.log")
            height = status_height(self.api_port)
            return height is not None and height >= 2

        wait_for(ready, STARTUP_TIMEOUT_S, "the devnet answers /status at height >= 2")
        log(f"devnet up: API http://127.0.0.1:{self.api_port}, height {status_height(self.api_port)}")

    def cli(self, *args):
        """Runs `meshwork ARGS --home H [--node URL] --output json`; returns the parsed JSON."""
        command = [self.binary, *args, "--home", self.home, "--output", "json"]
        if args[0] != "keys":
            command += ["--node", f"http://127.0.0.1:{self.api_port}"]
        shown = "meshwork " + " ".join(args)
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                                    stdin=subprocess.DEVNULL, env=self.env)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"'{shown}' did not finish within {CLI_TIMEOUT_S}s")
        if result.returncode != 0:
            raise CheckFailed(f"'{shown}' exited {result.returncode}: "
                              f"{(result.stderr or result.stdout).strip()[:500]}")
        answer = parse_json_output(result.stdout)
        if answer is None:
            raise CheckFailed(f"'{shown}' printed no JSON: {result.stdout.strip()[:500]}")
        return answer

    def register_device(self, name):
        """Registers a device under the devnet's funded `owner` key; returns its DID."""
        answer = self.cli("device", "register", "--controller", "owner", "--name", name,
                          "--model", "m1", "--region", "eu")
        did = answer.get("did") if isinstance(answer, dict) else None
        if not did:
            raise CheckFailed(f"'device register {name}' printed no \"did\": {answer}")
        return did

    def device_list(self):
        """`device list --controller owner` as {DID: {"device": DeviceView, "grants": [GrantView]}}."""
        answer = self.cli("device", "list", "--controller", "owner")
        if not isinstance(answer, list):
            raise CheckFailed(f"'device list' printed no JSON array: {str(answer)[:500]}")
        return {entry["device"]["did"]: entry for entry in answer}

    def check_cli(self, what, holds):
        """Checks that `device list` shows `what`: `holds(listing)` returns None when it does, else
        the reason it does not. The command that made the change has already seen its block
        commit; a short retry only covers the API answering from the height before."""
        started, reason, listing = time.time(), None, None
        while True:
            listing = self.device_list()
            reason = holds(listing)
            if reason is None or time.time() - started > CLI_VISIBLE_TIMEOUT_S:
                break
            time.sleep(0.25)
        took = time.time() - started
        if reason is None:
            self.check(True, f"device list: {what}" + (f" (after {took:.1f}s)" if took > 1 else ""))
        else:
            self.check(False, f"device list: {what}: {reason}; it printed "
                              f"{json.dumps(list(listing.values()))[:1500]}")
        return listing

    def check_page_rows(self, what, holds):
        """Checks, without reloading, that the directory comes to show `what`: `holds(rows)`, with
        rows keyed by DID, returns None when it does, else the reason it does not."""
        started, state = time.time(), {}

        def shown():
            rows = {row["did"]: row for row in self.probe()["rows"]}
            state["rows"], state["reason"] = rows, holds(rows)
            return state["reason"] is None

        try:
            wait_for(shown, DIRECTORY_TIMEOUT_S, f"the directory shows that {what}", interval_s=0.3)
            self.check(True, f"dashboard: {what} (shown {time.time() - started:.1f}s after the CLI returned)")
        except CheckFailed as failure:
            rows = [{key: row[key] for key in ("did", "status", "keys", "grants")} for row in state["rows"].values()]
            self.check(False, f"{failure}: {state['reason']}; rows {json.dumps(rows)[:1500]}")

    def wait_for_devices_in_api(self, dids):
        def listed():
            try:
                devices = get_json(self.api_port, "/dids?limit=1000").get("devices", [])
            except (OSError, ValueError, urllib.error.URLError):
                return False
            return set(dids) <= {device.get("did") for device in devices}

        wait_for(listed, DIRECTORY_TIMEOUT_S, "the registered devices appear in GET /dids")

    def start_browser(self):
        binary = find_chromium()
        profile = os.path.join(self.home, "chrome")
        command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                   "--window-size=1440,1000",
                   # Port 0: Chromium picks a free port and writes it to DevToolsActivePort, so
                   # there is no window between choosing a port and binding it.
                   "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"]
        log("starting: " + " ".join(command))
        chromium_log = open(os.path.join(self.home, "chromium.log"), "w")
        self.chromium = subprocess.Popen(command, stdout=chromium_log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        port_file = os.path.join(profile, "DevToolsActivePort")

        def debug_port():
            if self.chromium.poll() is not None:
                raise CheckFailed(f"chromium exited with {self.chromium.returncode}; see {self.home}/chromium.log")
            try:
                with open(port_file) as file:
                    first = file.readline().strip()
                return int(first) if first else None
            except (OSError, ValueError):
                return None

        port = wait_for(debug_port, 30, "chromium opens its DevTools port")

        def page_target():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=3) as response:
                    targets = json.load(response)
            except (OSError, ValueError, urllib.error.URLError):
                return None
            pages = [target for target in targets if target.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        target = wait_for(page_target, 15, "chromium lists a page target")
        self.devtools = DevTools(target)
        for method in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.devtools.call(method)

    def probe(self):
        return self.devtools.evaluate(PAGE_PROBE)

    def check_page(self):
        tools = self.devtools
        url = f"http://127.0.0.1:{self.api_port}/"
        log(f"opening {url}")
        tools.loaded = False
        answer = tools.call("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise CheckFailed(f"navigating to {url} failed: {answer['errorText']}")
        deadline = time.time() + LIVE_TIMEOUT_S
        while not tools.loaded and time.time() < deadline:
            tools.drain(0.2)
        if not tools.loaded:
            raise CheckFailed(f"{url} did not finish loading within {LIVE_TIMEOUT_S}s")
        def connected():
            now = self.probe()
            return now if now["wsState"] == "live" and now["topBlock"] > 0 else None

        first = wait_for(connected, LIVE_TIMEOUT_S, "the page shows '#ws-state' = live and a first block")
        self.check(True, f"WebSocket live; page shows height {first['height']}, top block {first['topBlock']}, "
                         f"{first['wsEvents']} block events so far")
        self.check(len(first["panels"]) == 9, "panels #panel-telemetry, #panel-shadow, #panel-payments, #panel-storage, "
                   "#panel-feeds, #panel-gov, #panel-rollouts, #panel-contracts and #panel-compute exist")
        self.check(len(first["ids"]) == 3, "#txs, #validators and #peers exist")
        status = self.api_json("/status")
        partition = tools.evaluate(PARTITION_PROBE)
        self.check(status.get("partitioned") is False and isinstance(status.get("lastCommitAgeMs"), int)
                   and partition["exists"] and not partition["shown"],
                   f"no partition banner on the healthy devnet (#partition-banner hidden; GET /status: partitioned "
                   f"{status.get('partitioned')!r}, lastCommitAgeMs {status.get('lastCommitAgeMs')!r})")

        def advanced():
            now = self.probe()
            grew = (now["height"] > first["height"] and now["topBlock"] > first["topBlock"]
                    and now["wsEvents"] > first["wsEvents"])
            return now if grew else None

        try:
            later = wait_for(advanced, LIVE_TIMEOUT_S, "new blocks arrive without a reload", interval_s=0.5)
            self.check(True, f"live blocks: height {first['height']} -> {later['height']}, top row "
                             f"{first['topBlock']} -> {later['topBlock']}, block events {first['wsEvents']} -> "
                             f"{later['wsEvents']}")
        except CheckFailed as failure:
            now = self.probe()
            self.check(False, f"{failure}: height {first['height']} -> {now['height']}, top row "
                              f"{first['topBlock']} -> {now['topBlock']}, events {first['wsEvents']} -> {now['wsEvents']}")
        self.check(self.probe()["validatorRows"] >= 1, "#validators lists the devnet's validator")
        try:
            disk = wait_for(lambda: (lambda p: p if {"state", "blocks"} <= set(p["diskStores"]) and p["diskTotal"] else None)(
                self.probe()), LIVE_TIMEOUT_S, "the disk panel lists the state and block stores", interval_s=0.5)
            self.check(True, f"#disk lists the node's stores ({', '.join(disk['diskStores'])}; total {disk['diskTotal']})")
        except CheckFailed as failure:
            self.check(False, f"{failure}: {self.probe()['diskStores']}")

    def check_directory(self, dids):
        started = time.time()
        def listed():
            now = self.probe()
            return now if set(dids) <= set(now["dids"]) else None

        try:
            shown = wait_for(listed, DIRECTORY_TIMEOUT_S, "#devices lists every registered DID")
            self.check(True, f"#devices lists all {len(dids)} registered DIDs ({len(shown['dids'])} rows; "
                             f"the last one {time.time() - started:.1f}s after the API listed it)")
        except CheckFailed as failure:
            self.check(False, f"{failure}; page shows {self.probe()['dids']}, registered {dids}")
            return
        try:
            self.open_detail(dids[0])
            self.check(True, f"clicking {dids[0]} shows its DID document")
        except CheckFailed as failure:
            self.check(False, str(failure))

    def open_detail(self, did):
        """Clicks the directory row of `did`; returns once the detail pane shows its DID document."""
        quoted = json.dumps(did)
        self.devtools.evaluate(
            f"[...document.querySelectorAll('#devices [data-did]')].find((row) => row.dataset.did === {quoted}).click()")
        expression = (
            "(() => { const pane = document.getElementById('device-detail');"
            " const text = document.getElementById('did-document').textContent;"
            f" return !pane.hidden && document.getElementById('detail-title').textContent === {quoted}"
            f" && text.includes('\"didDocument\"') && text.includes({quoted}) ? text : null; }})()")
        return wait_for(lambda: self.devtools.evaluate(expression), 10, f"the DID document of {did} shows after a click")

    def fleet_workflow(self, devices):
        """Grant, rotate, revoke with the CLI, the page open; each step in `device list` and on the page.
        `devices` maps name -> DID for the three registered devices."""
        sensor1, sensor2, cam3 = (devices[name] for name in DEVICE_NAMES)
        names = {did: name for name, did in devices.items()}

        # 0. Registered: all three listed, active, one key each, no grants yet.
        def registered_cli(listing):
            for name, did in devices.items():
                entry = listing.get(did)
                if entry is None:
                    return f"{name} ({did}) is missing"
                device = entry["device"]
                if device.get("name") != name or device.get("deactivated") or len(device.get("keys", [])) != 1:
                    return f"{name} is not an active device named {name} with one key: {device}"
                if entry.get("grants"):
                    return f"{name} already holds grants: {entry['grants']}"
            return None

        listing = self.check_cli("the 3 registered devices are listed, active, with one key and no grants",
                                 registered_cli)
        first_keys = {did: listing[did]["device"]["keys"] for did in devices.values() if did in listing}

        def registered_page(rows):
            for name, did in devices.items():
                row = rows.get(did)
                if row is None:
                    return f"no row for {name}"
                if name not in row["text"] or row["status"] != "active":
                    return f"the row of {name} does not read '{name}' and active"
                if first_keys.get(did) and row["keys"] != first_keys[did]:
                    return f"the row of {name} shows keys {row['keys']}, device list {first_keys[did]}"
                if row["grants"] != []:
                    return f"the row of {name} shows grants {row['grants']}"
            return None

        self.check_page_rows("the 3 devices are listed by name, active, with their key and no grants",
                             registered_page)

        # 1. Grant sensor-1 mqtt.publish on a topic under the owner's namespace.
        owner = self.cli("keys", "show", "owner")
        owner_did = owner.get("did") if isinstance(owner, dict) else None
        if not owner_did:
            raise CheckFailed(f"'keys show owner' printed no \"did\": {owner}")
        resource = f"mesh/{owner_did}/alerts/#"
        grant = self.cli("policy", "grant", "--from", "owner", "--subject", sensor1,
                         "--action", GRANT_ACTION, "--resource", resource)
        log(f"granted {DEVICE_NAMES[0]} {GRANT_ACTION} on {resource}: {json.dumps(grant)}")
        self.check(grant.get("subject") == sensor1 and grant.get("action") == GRANT_ACTION
                   and grant.get("resource") == resource and isinstance(grant.get("id"), int),
                   f"policy grant answers id, subject, action and resource: {json.dumps(grant)}")
        grant_id = grant.get("id")
        granted = {"id": grant_id, "action": GRANT_ACTION, "resource": resource}

        def holds_grant_cli(listing):
            grants = listing.get(sensor1, {}).get("grants")
            if grants is None:
                return "sensor-1 is missing"
            if not any(g.get("id") == grant_id and g.get("action") == GRANT_ACTION and g.get("resource") == resource
                       and g.get("live") for g in grants):
                return f"sensor-1 holds {grants}"
            others = {names[did]: entry["grants"] for did, entry in listing.items() if did != sensor1 and entry["grants"]}
            return f"other devices hold grants too: {others}" if others else None

        self.check_cli(f"sensor-1 holds live grant #{grant_id} {GRANT_ACTION} on {resource}", holds_grant_cli)

        def holds_grant_page(rows):
            row = rows.get(sensor1)
            if row is None:
                return "no row for sensor-1"
            if row["grants"] != [granted]:
                return f"the row of sensor-1 shows grants {row['grants']}"
            if GRANT_ACTION not in row["text"]:
                return f"the row of sensor-1 does not read {GRANT_ACTION}"
            return None

        self.check_page_rows(f"the row of sensor-1 lists grant #{grant_id} {GRANT_ACTION} on {resource}",
                             holds_grant_page)

        # 2. Rotate sensor-2's key.
        rotated = self.cli("device", "rotate-key", sensor2, "--controller", "owner")
        log(f"rotated the key of {DEVICE_NAMES[1]}: {json.dumps(rotated)}")
        old_key, new_key = rotated.get("oldKey"), rotated.get("newKey")
        self.check(rotated.get("did") == sensor2 and str(new_key).startswith("did:key:") and new_key != old_key
                   and [old_key] == first_keys.get(sensor2),
                   f"rotate-key answers the device's old key and a new did:key: {json.dumps(rotated)}")

        def rotated_cli(listing):
            keys = listing.get(sensor2, {}).get("device", {}).get("keys")
            return None if keys == [new_key] else f"sensor-2 has keys {keys}"

        self.check_cli(f"sensor-2's keys are [{new_key}] (was {old_key})", rotated_cli)

        def rotated_page(rows):
            row = rows.get(sensor2)
            if row is None:
                return "no row for sensor-2"
            return None if row["keys"] == [new_key] else f"the row of sensor-2 shows keys {row['keys']}"

        self.check_page_rows(f"the row of sensor-2 shows the new key {new_key}", rotated_page)
        try:
            document = self.open_detail(sensor2)
            multibase = new_key.split(":")[-1]
            old_multibase = str(old_key).split(":")[-1]
            self.check(multibase in document and old_multibase not in document,
                       f"sensor-2's DID document on the page names the new key {multibase}, not the old one")
        except CheckFailed as failure:
            self.check(False, str(failure))

        # 3. Revoke cam-3.
        revoked = self.cli("device", "revoke", cam3, "--controller", "owner")
        log(f"revoked {DEVICE_NAMES[2]}: {json.dumps(revoked)}")

        def revoked_cli(listing):
            entry = listing.get(cam3)
            if entry is None:
                return "cam-3 is missing"
            if entry["device"].get("deactivated") is not True:
                return f"cam-3 is not deactivated: {entry['device']}"
            if entry.get("grants"):
                return f"cam-3 still holds live grants {entry['grants']}"
            if [g.get("id") for g in listing.get(sensor1, {}).get("grants", [])] != [grant_id]:
                return f"sensor-1's grant #{grant_id} is gone: {listing.get(sensor1)}"
            if listing.get(sensor2, {}).get("device", {}).get("deactivated") is not False:
                return "sensor-2 is no longer active"
            return None

        self.check_cli("cam-3 is deactivated; sensor-1 keeps its grant and sensor-2 stays active", revoked_cli)

        def revoked_page(rows):
            row = rows.get(cam3)
            if row is None:
                return "no row for cam-3"
            if row["status"] != "deactivated" or "deactivated" not in row["text"]:
                return f"the row of cam-3 reads status {row['status']}"
            for did in (sensor1, sensor2):
                if rows.get(did, {}).get("status") != "active":
                    return f"the row of {names[did]} is not active"
            if rows.get(sensor1, {}).get("grants") != [granted]:
                return f"the row of sensor-1 now shows grants {rows.get(sensor1, {}).get('grants')}"
            if rows.get(sensor2, {}).get("keys") != [new_key]:
                return f"the row of sensor-2 now shows keys {rows.get(sensor2, {}).get('keys')}"
            return None

        self.check_page_rows("the row of cam-3 reads deactivated; sensor-1 and sensor-2 are unchanged", revoked_page)

        # Leave sensor-1 open for the screenshot: its detail pane lists the grant it holds.
        try:
            self.open_detail(sensor1)
            expression = ("[...document.querySelectorAll('#grants tr')].map((row) => row.textContent)")
            wait_for(lambda: any(GRANT_ACTION in text and resource in text and "live" in text
                                 for text in self.devtools.evaluate(expression) or []),
                     10, "sensor-1's detail pane lists its live grant")
            self.check(True, f"sensor-1's detail pane lists grant #{grant_id} as live")
        except CheckFailed as failure:
            self.check(False, str(failure))

    # MARK: telemetry

    def gateway_status(self):
        try:
            return get_json(self.api_port, "/gateway")
        except urllib.error.HTTPError as error:
            raise CheckFailed(f"GET /gateway answered {error.code}: {error.read()[:300]!r}")
        except (OSError, ValueError, urllib.error.URLError) as error:
            raise CheckFailed(f"GET /gateway failed: {error!r}")

    def announced_mqtt_port(self):
        """The port the node printed when its gateway bound (`node <id> MQTT host:port`), or None."""
        try:
            with open(os.path.join(self.home, "devnet.log"), errors="replace") as file:
                for line in file:
                    found = re.match(r"node [0-9a-f]+ MQTT \S+:(\d+)\s*$", line)
                    if found:
                        return int(found.group(1))
        except OSError:
            pass
        return None

    def mqtt_port(self):
        """The MQTT port this run publishes to: the one `GET /gateway` names in `listen`. The devnet
        runs with `--mqtt-port 0`, so that must be the port the gateway bound, which the node also
        prints; when /gateway names no usable port the check fails and the printed one is used."""
        gateway = self.gateway_status()
        listen = str(gateway.get("listen", ""))
        _, _, port_text = listen.rpartition(":")
        port = int(port_text) if port_text.isdigit() else 0
        announced = self.announced_mqtt_port()
        self.check(0 < port < 65536 and (announced is None or port == announced),
                   f"GET /gateway names the MQTT listener's port: listen {listen!r}"
                   + ("" if announced is None else f"; the node printed that its gateway bound port {announced}"))
        if 0 < port < 65536:
            return port, listen
        if announced:
            log(f"publishing to the port the node printed, {announced}")
            return announced, listen
        raise CheckFailed(f"no MQTT port to publish to: GET /gateway answered {json.dumps(gateway)}")

    def device_token(self, key):
        if key in self.tokens:
            return self.tokens[key]
        command = [self.binary, "device", "token", "--home", self.home, "--key", key,
                   "--node", f"http://127.0.0.1:{self.api_port}"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                                    stdin=subprocess.DEVNULL, env=self.env)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"'meshwork device token --key {key}' did not finish within {CLI_TIMEOUT_S}s")
        token = result.stdout.strip().splitlines()[-1].strip() if result.stdout.strip() else ""
        if result.returncode != 0 or token.count(".") != 2:
            raise CheckFailed(f"'meshwork device token --key {key}' exited {result.returncode}: "
                              f"{(result.stderr or result.stdout).strip()[:500]}")
        self.tokens[key] = token
        return token

    def telemetry_probe(self):
        return self.devtools.evaluate(TELEMETRY_PROBE)

    def telemetry(self, name, did):
        """Watches `did` in the telemetry panel, publishes TELEMETRY_VALUES as that device over MQTT,
        and checks the events, rows, chart and gateway stats the page shows."""
        tools = self.devtools
        if not shutil.which("mosquitto_pub"):
            raise CheckFailed("no mosquitto_pub on PATH (Debian: apt-get install -y mosquitto-clients)")
        port, listen = self.mqtt_port()
        before = self.gateway_status()
        token = self.device_token(name)
        topic_filter = f"mesh/{did}/#"
        topic = f"mesh/{did}/{TELEMETRY_SUBTOPIC}"

        # 1. Watch the device through the form; the page must send the subscription and get it.
        tools.call("Network.enable")  # to see the page's WebSocket frames
        tools.telemetry_frames.clear()
        tools.evaluate("document.getElementById('panel-telemetry').scrollIntoView({block: 'start'})")
        tools.evaluate(
            "(() => { document.getElementById('telemetry-did').value = " + json.dumps(did) + ";"
            " document.getElementById('telemetry-filter').value = " + json.dumps(topic_filter) + ";"
            " document.getElementById('telemetry-token').value = " + json.dumps(token) + ";"
            " const form = document.getElementById('telemetry-form');"
            " form.requestSubmit(document.getElementById('telemetry-watch')); return true; })()")
        log(f"submitted #telemetry-form: watch {name} ({did}) on {topic_filter}")

        def answered():
            tools.drain(0.05)
            sent = [frame for way, frame in tools.telemetry_frames if way == "sent" and frame.get("op") == "subscribe"]
            replies = [frame for way, frame in tools.telemetry_frames
                       if way == "received" and frame.get("type") in ("subscribed", "error")]
            return (sent, replies) if sent and replies else None

        try:
            sent, replies = wait_for(answered, 10, "the page sends a telemetry subscription and gets an answer")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}; frames seen: {json.dumps(tools.telemetry_frames)[:600]}")
        expected = {"op": "subscribe", "topic": "telemetry", "did": did, "filter": topic_filter, "token": token}
        shown = {**sent[-1], "token": "…"} if "token" in sent[-1] else sent[-1]
        self.check(sent[-1] == expected, f"the page subscribes on its WebSocket with {json.dumps(shown)} "
                   "(the device's own token: a reader allowed mqtt.subscribe on the filter)"
                   + ("" if sent[-1] == expected else ", expected the did, filter and token entered"))
        reply = replies[-1]
        if not self.check(reply.get("type") == "subscribed" and reply.get("topic") == "telemetry"
                          and isinstance(reply.get("id"), int),
                          f"the node answers the telemetry subscription: {json.dumps(reply)}"):
            raise CheckFailed("the telemetry subscription was refused; nothing to chart")
        waiting = wait_for(lambda: (lambda now: now if now["rows"] and "no messages yet" in " ".join(now["rows"][0])
                                    else None)(self.telemetry_probe()),
                           5, "#telemetry-rows reads 'no messages yet from this device'")
        self.check(did[-6:] in (waiting["caption"] or "") and topic_filter in (waiting["caption"] or ""),
                   f"the chart caption names the watched device and filter: {waiting['caption']!r}")
        blank_chart = tools.evaluate(CHART_PROBE)

        # 2. Publish as the device, staying connected until the page's stats have seen it.
        command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", did, "-P", token,
                   "-t", topic, "-q", "1", "-l", "-i", f"dashboard-check-{os.getpid()}"]
        log(f"publishing {', '.join(TELEMETRY_VALUES)} to {topic} on 127.0.0.1:{port} with mosquitto_pub -l -q 1")
        publisher = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        seen = {"connected": [], "inRate": []}
        try:
            try:
                for value in TELEMETRY_VALUES:
                    publisher.stdin.write(value + "\n")
                    publisher.stdin.flush()
                    tools.drain(0.2)  # spreads the points over time, so the chart has an x axis
            except (BrokenPipeError, OSError):
                pass  # mosquitto_pub exited; its status and output are reported below

            def stats_seen():
                stats = self.telemetry_probe()["stats"]
                seen["connected"].append(stats["gw-connected"])
                seen["inRate"].append(stats["gw-in-rate"])
                return (number_or_none(stats["gw-connected"]) or 0) >= 1 and any(
                    (number_or_none(value) or 0) > 0 for value in seen["inRate"])

            if publisher.poll() is None:
                try:
                    wait_for(stats_seen, GATEWAY_REFRESH_TIMEOUT_S,
                             "the gateway stats show the publisher connected and a publish rate", interval_s=0.25)
                except CheckFailed:
                    pass  # reported just below
            connected = [number_or_none(value) for value in seen["connected"]]
            rates = [number_or_none(value) for value in seen["inRate"]]
            self.check(any((value or 0) >= 1 for value in connected),
                       f"#gw-connected reads >= 1 while mosquitto_pub is connected (read {sorted(set(seen['connected']))})")
            self.check(any((value or 0) > 0 for value in rates),
                       f"#gw-in-rate reads a publish rate > 0 while publishing (read {sorted(set(seen['inRate']))})")
        finally:
            try:  # closes its stdin: mosquitto_pub -l then disconnects and exits
                output, _ = publisher.communicate(timeout=MQTT_PUBLISH_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                stop_group(publisher, "mosquitto_pub", grace_s=2)
                output = "(did not exit)"
        self.check(publisher.returncode == 0, f"mosquitto_pub -q 1 published {len(TELEMETRY_VALUES)} messages as {name}"
                   + ("" if publisher.returncode == 0 else f": exit {publisher.returncode}: {output.strip()[:400]}"))

        # 3. Every message reaches the page: the count, the rows (newest first), the last value.
        try:
            wait_for(lambda: self.telemetry_probe()["events"] >= len(TELEMETRY_VALUES), TELEMETRY_TIMEOUT_S,
                     f"body[data-telemetry-events] reaches {len(TELEMETRY_VALUES)}")
        except CheckFailed as failure:
            now = self.telemetry_probe()
            self.check(False, f"{failure}: it reads {now['events']}; rows {json.dumps(now['rows'][:6])[:600]}")
        tools.drain(0.3)  # one render after the last event
        now = self.telemetry_probe()
        self.check(now["events"] == len(TELEMETRY_VALUES),
                   f"body[data-telemetry-events] counts {now['events']} telemetry events for "
                   f"{len(TELEMETRY_VALUES)} publishes")
        payloads = [row[2] if len(row) > 2 else None for row in now["rows"]]
        newest_first = list(reversed(TELEMETRY_VALUES))
        self.check(payloads[:len(newest_first)] == newest_first,
                   f"#telemetry-rows lists the payloads newest first, {TELEMETRY_VALUES[-1]} on top: {payloads[:8]}")
        self.check(all(len(row) == 4 and row[1] == topic and row[3] == "this node" for row in now["rows"]),
                   f"every #telemetry-rows row names the topic {topic} and 'this node': "
                   f"{json.dumps(now['rows'][:2])[:400]}")
        self.check(now["last"] == f"latest {float(TELEMETRY_VALUES[-1]):g} on {topic}",
                   f"#telemetry-last reads {now['last']!r}")
        received = [frame for way, frame in tools.telemetry_frames if way == "received" and frame.get("type") == "telemetry"]
        texts = [frame.get("telemetry", {}).get("text") for frame in received]
        values = [frame.get("telemetry", {}).get("value") for frame in received]
        self.check(texts == TELEMETRY_VALUES and values == [float(value) for value in TELEMETRY_VALUES]
                   and all(frame["telemetry"].get("did") == did and frame["telemetry"].get("relayed") is False
                           for frame in received),
                   f"the page's WebSocket received {len(received)} telemetry events with text and value "
                   f"{list(zip(texts, values))}")

        # 4. The chart plots them.
        def charted():
            pixels = tools.evaluate(CHART_PROBE)
            return pixels if pixels["accentPixels"] >= 100 else None

        try:
            chart = wait_for(charted, 5, "#telemetry-chart draws a line")
        except CheckFailed:
            chart = tools.evaluate(CHART_PROBE)
        self.check(chart["differsFromBlank"] and chart["accentPixels"] >= 100
                   and chart["accentPixels"] > blank_chart["accentPixels"] + 50,
                   f"#telemetry-chart ({chart['width']}x{chart['height']}) plots the values: {chart['accentPixels']} "
                   f"pixels in the line colour (none data: {blank_chart['accentPixels']}), {chart['painted']} painted; "
                   f"toDataURL {chart.get('dataURLBytes')} bytes vs {chart.get('blankURLBytes')} for a blank canvas")

        # 5. The gateway stats: numbers everywhere, the listener, the counters the API keeps.
        stats = self.telemetry_probe()
        numeric = {key: value for key, value in stats["stats"].items() if number_or_none(value) is not None}
        self.check(len(numeric) == 8, f"the gateway stats all read numbers: {json.dumps(stats['stats'])}")
        self.check(stats["listen"] == f"MQTT 127.0.0.1:{port}",
                   f"#gateway-listen reads {stats['listen']!r} (the gateway listens on 127.0.0.1:{port})")
        self.check(stats["notice"] is None, f"the page shows no error notice: {stats['notice']!r}")
        after = self.gateway_status()
        self.check(after.get("received", 0) - before.get("received", 0) >= len(TELEMETRY_VALUES),
                   f"GET /gateway counts the publishes: received {before.get('received')} -> {after.get('received')}")
        try:
            wait_for(lambda: self.gateway_status().get("sessionsConnected") == 0, 5,
                     "GET /gateway shows no connected session after mosquitto_pub left")
            self.check(True, "GET /gateway shows sessionsConnected 0 once mosquitto_pub disconnected")
        except CheckFailed as failure:
            self.check(False, f"{failure}: {json.dumps(self.gateway_status())}")
        tools.call("Network.disable")
        # The screenshot is of the whole page, chart included; from the top, the sticky header
        # stays at the top of the image instead of over the panel scrolled to.
        tools.evaluate("window.scrollTo(0, 0)")

    # MARK: device shadow

    def shadow_probe(self):
        return self.devtools.evaluate(SHADOW_PROBE)

    def gateway_port(self):
        """The MQTT port GET /gateway names (the telemetry step checked it is the one bound)."""
        _, _, port_text = str(self.gateway_status().get("listen", "")).rpartition(":")
        port = int(port_text) if port_text.isdigit() else self.announced_mqtt_port()
        if not port:
            raise CheckFailed("no MQTT port to publish the shadow update to")
        return port

    def type_into(self, element_id, text):
        """Replaces a field's value by typing `text` into it (CDP Input.insertText, as a keyboard
        or a paste does)."""
        tools = self.devtools
        quoted = json.dumps(element_id)
        focused = tools.evaluate(f"(() => {{ const field = document.getElementById({quoted}); field.value = '';"
                                 " field.focus(); return document.activeElement === field; })()")
        if not focused:
            raise CheckFailed(f"#{element_id} cannot be focused")
        if text:
            tools.call("Input.insertText", {"text": text})
        if tools.evaluate(f"document.getElementById({quoted}).value") != text:
            raise CheckFailed(f"typing into #{element_id} did not leave the text typed in it")

    def submit_shadow(self, did, name, token):
        for element_id, text in (("shadow-did", did), ("shadow-name", name), ("shadow-token", token)):
            self.type_into(element_id, text)
        self.devtools.evaluate("document.getElementById('shadow-show').click(), true")

    def shadow_error(self, status, code, what):
        """Waits for the panel's error line to read `status` and the API's `code`; checks it is
        visible, says both, and that no shadow is shown with it."""
        def shown():
            now = self.shadow_probe()
            error = now["error"]
            return now if error and error["status"] == str(status) and error["code"] == code else None

        try:
            now = wait_for(shown, SHADOW_ANSWER_TIMEOUT_S, f"#shadow-error reads {status} {code}")
        except CheckFailed as failure:
            self.check(False, f"{what}: {failure}: it reads {self.shadow_probe()['error']}")
            return None
        error = now["error"]
        self.check(f"{status} {code}:" in error["text"] and error["role"] == "alert" and not now["shadows"],
                   f"{what}: a visible error line (role alert), no shadow shown: {error['text']!r}")
        return now

    def read_shadow_api(self, did, token):
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/things/{urllib.parse.quote(did, safe='')}/shadow",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise CheckFailed(f"GET /things/{did}/shadow answered {error.code}: {error.read()[:300]!r}")
        except (OSError, ValueError, urllib.error.URLError) as error:
            raise CheckFailed(f"GET /things/{did}/shadow failed: {error!r}")

    def publish_shadow(self, port, did, token, update):
        """Publishes `update` to the device's classic shadow as the device (MQTT 5, QoS 1, paho);
        returns the PUBACK's reason code (sent once the gateway has answered the request)."""
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.enums import CallbackAPIVersion
        except ImportError:
            raise CheckFailed("no paho-mqtt for python3 (Debian: apt-get install -y python3-paho-mqtt)")
        connected, acknowledged, codes = threading.Event(), threading.Event(), {}

        def on_connect(client, userdata, flags, reason_code, properties):
            codes["connack"] = reason_code.value
            connected.set()

        def on_publish(client, userdata, mid, reason_code, properties):
            codes["puback"] = reason_code.value
            acknowledged.set()

        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                             client_id=f"dashboard-shadow-{os.getpid()}", protocol=mqtt.MQTTv5)
        client.username_pw_set(did, token)
        client.on_connect = on_connect
        client.on_publish = on_publish
        topic = f"$mesh/things/{did}/shadow/update"
        log(f"publishing {json.dumps(update)} to {topic} on 127.0.0.1:{port} with paho (MQTT 5, QoS 1)")
        try:
            client.connect("127.0.0.1", port, keepalive=30)
            client.loop_start()
            if not connected.wait(10) or codes.get("connack") != 0:
                raise CheckFailed(f"paho could not connect as {did}: CONNACK {codes.get('connack')}")
            client.publish(topic, json.dumps(update), qos=1)
            if not acknowledged.wait(MQTT_PUBLISH_TIMEOUT_S):
                raise CheckFailed(f"no PUBACK for the shadow update within {MQTT_PUBLISH_TIMEOUT_S}s")
            return codes["puback"]
        except OSError as error:
            raise CheckFailed(f"paho could not reach 127.0.0.1:{port}: {error!r}")
        finally:
            try:
                client.disconnect()
            except Exception:
                pass
            client.loop_stop()

    def shadow_panel(self, name, did):
        """The device shadow panel, filled in as an operator would: 404 before the device has a
        shadow, the shadow after it publishes one (without a click: the panel reads it again every
        5 s), an error line for a wrong token, no token and a bad name; and the gateway's counters."""
        log("checking the device shadow panel")
        tools = self.devtools
        started = time.time()
        tools.evaluate("document.getElementById('panel-shadow').scrollIntoView({block: 'start'})")
        token = self.device_token(name)
        port = self.gateway_port()
        self.check(self.shadow_probe()["tokenType"] == "password", "#shadow-token is a password field")

        # 1. Before the device wrote a shadow: the API's 404.
        self.submit_shadow(did, "", token)
        self.shadow_error(404, "api/25", f"{name} before it wrote a shadow")

        # 2. The device writes one over MQTT; the API has it.
        code = self.publish_shadow(port, did, token, SHADOW_UPDATE)
        published_at = time.time()
        self.check(code == 0, f"paho published the shadow update as {name}: PUBACK reason code {code}")
        view = self.read_shadow_api(did, token)
        shadows = view.get("shadows") or [{}]
        document = shadows[0].get("document", {})
        state = document.get("state", {})
        self.check(view.get("thing") == did and len(shadows) == 1 and document.get("version") == 1
                   and state.get("reported", {}).get("temp") == 21 and state.get("delta") == {"temp": 22},
                   f"GET /things/{{did}}/shadow with {name}'s token answers version 1, reported temp 21, delta temp 22: "
                   f"{json.dumps(view)[:400]}")
        try:
            stamp = document["metadata"]["reported"]["temp"]["timestamp"]
        except (KeyError, TypeError):
            stamp = None

        # 3. The panel shows it at its next refresh, no click needed.
        def drawn():
            now = self.shadow_probe()
            return now if now["shadows"] and now["shadows"][0]["version"] == "1" and now["error"] is None else None

        try:
            now = wait_for(drawn, SHADOW_REFRESH_TIMEOUT_S, "the shadow panel shows version 1 without a click")
        except CheckFailed as failure:
            now = self.shadow_probe()
            raise CheckFailed(f"{failure}: error {now['error']}, shadows {json.dumps(now['shadows'])[:400]}")
        self.check(True, f"the shadow panel refreshed by itself: version 1 shown "
                         f"{time.time() - published_at:.1f}s after the PUBACK")
        card = now["shadows"][0]
        entries = {entry["path"]: entry for entry in card["entries"]}
        value = lambda path: entries.get(path, {}).get("value")
        self.check(card["name"] == "" and "classic shadow" in card["head"] and "version 1" in card["head"]
                   and card["sections"] == ["desired", "reported", "delta"],
                   f"the shadow's head and sections: {card['head']!r}, {card['sections']}")
        temp = entries.get("/reported/temp", {})
        self.check(temp.get("value") == "21" and stamp is not None and temp.get("stamp") == str(stamp)
                   and f"Unix {stamp}" in temp.get("title", ""),
                   f"reported.temp reads 21, titled with its metadata timestamp {stamp}: "
                   f"{temp.get('value')!r}, {temp.get('title')!r}")
        self.check(value("/desired/temp") == "22" and value("/delta/temp") == "22",
                   f"desired.temp and delta.temp read 22: {value('/desired/temp')!r}, {value('/delta/temp')!r}")
        # Entries are named by JSON Pointer: "~" is "~0" and "/" is "~1" in a key.
        markup = entries.get("/reported/" + SHADOW_MARKUP_KEY.replace("~", "~0").replace("/", "~1"), {})
        self.check(markup.get("key") == SHADOW_MARKUP_KEY and markup.get("value") == json.dumps(SHADOW_MARKUP_VALUE)
                   and now["markup"] == 0,
                   f"a key and value carrying markup show as text ({markup.get('key')!r}: {markup.get('value')!r}), "
                   f"{now['markup']} elements made of them")
        self.check(not any(token in item for item in now["stored"]),
                   f"the token is in no Web Storage ({len(now['stored'])} items stored)")
        self.check(now["notice"] is None, f"the page shows no error notice: {now['notice']!r}")

        # 4. The gateway stats: GET /gateway's expiry and shadow counters.
        seen = {}

        def counted():
            gateway = self.gateway_status()
            shown = self.shadow_probe()["counters"]
            seen["api"], seen["page"] = {key: gateway.get(field) for key, field in GATEWAY_SHADOW_COUNTERS.items()}, shown
            return all(number_or_none((shown[key] or "").replace(",", "")) == gateway.get(field)
                       for key, field in GATEWAY_SHADOW_COUNTERS.items())

        try:
            wait_for(counted, GATEWAY_REFRESH_TIMEOUT_S, "the gateway stats read GET /gateway's shadow counters")
            self.check((seen["api"]["gw-shadows"] or 0) >= 1 and (seen["api"]["gw-shadow-requests"] or 0) >= 1,
                       f"the gateway stats read GET /gateway's counters, a shadow kept and a request: {json.dumps(seen['page'])}")
        except CheckFailed as failure:
            self.check(False, f"{failure}: page {json.dumps(seen.get('page'))}, API {json.dumps(seen.get('api'))}")

        # 5. Refusals, each on the panel's error line with the API's code.
        wrong = token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")  # the signature no longer verifies
        self.submit_shadow(did, "", wrong)
        self.shadow_error(403, "api/24", "a wrong token")
        self.submit_shadow(did, "", "")
        self.shadow_error(401, "api/24", "no token")
        self.submit_shadow(did, SHADOW_BAD_NAME, token)
        self.shadow_error(400, "api/10", f"the shadow name {SHADOW_BAD_NAME!r}")

        # 6. The right token again (the screenshot shows the shadow).
        self.submit_shadow(did, "", token)
        try:
            wait_for(drawn, SHADOW_ANSWER_TIMEOUT_S, "the shadow shows again with the right token")
            self.check(True, "with the right token again the panel shows the shadow, the error line gone")
        except CheckFailed as failure:
            self.check(False, f"{failure}: {self.shadow_probe()['error']}")
        log(f"shadow step took {time.time() - started:.1f}s")

    # MARK: partition banner

    def partition_banner(self):
        """The banner of a node cut off from the network. A one-node devnet always has its quorum,
        so the browser's /status answers are rewritten (CDP Fetch) to a partitioned node's: the
        node's own answer with partitioned true and an older last commit."""
        log("checking the partition banner")
        tools = self.devtools
        probe = lambda: tools.evaluate(PARTITION_PROBE)
        before = probe()
        self.check(before["exists"] and not before["shown"], f"#partition-banner is hidden: {before}")
        served = []

        def fulfill(params):
            try:
                body = get_json(self.api_port, "/status")
                body["partitioned"], body["lastCommitAgeMs"] = True, PARTITION_AGE_MS
                served.append(body["height"])
                tools.send("Fetch.fulfillRequest", {
                    "requestId": params["requestId"], "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": "application/json"}],
                    "body": base64.b64encode(json.dumps(body).encode()).decode()})
            except (OSError, ValueError, KeyError, urllib.error.URLError):
                tools.send("Fetch.continueRequest", {"requestId": params["requestId"]})

        tools.handlers["Fetch.requestPaused"] = fulfill
        tools.call("Fetch.enable", {"patterns": [{"urlPattern": "*/status", "requestStage": "Request"}]})
        try:
            shown = wait_for(lambda: (lambda now: now if now["shown"] else None)(probe()), STATUS_POLL_TIMEOUT_S,
                             "#partition-banner shows once /status says partitioned")
            height = shown["height"]
            expected = (f"Cut off from the network: serving devices from height {height}, last commit "
                        f"{PARTITION_AGE_SHOWN} (devices authenticate offline for up to 72 h)")
            self.check(shown["text"] == expected and height is not None and int(height) in served
                       and shown["ageMs"] == str(PARTITION_AGE_MS),
                       f"the partition banner reads {shown['text']!r} (/status answered heights {sorted(set(served))})")
            self.check(shown["role"] == "status" and shown["live"] == "polite" and shown["sync"] == "cut off",
                       f"the banner is a polite live region (role {shown['role']!r}, aria-live {shown['live']!r}); "
                       f"#sync reads {shown['sync']!r}")
        except CheckFailed as failure:
            self.check(False, f"{failure}: {probe()} (/status answers rewritten: {len(served)})")
        finally:
            tools.call("Fetch.disable")
            tools.handlers.pop("Fetch.requestPaused", None)
        try:
            wait_for(lambda: not probe()["shown"], STATUS_POLL_TIMEOUT_S, "#partition-banner hides again")
            self.check(True, "the partition banner hides once /status no longer says partitioned")
        except CheckFailed as failure:
            self.check(False, f"{failure}: {probe()}")

    # MARK: storage and payments

    def api_json(self, path):
        try:
            return get_json(self.api_port, path)
        except urllib.error.HTTPError as error:
            raise CheckFailed(f"GET {path} answered {error.code}: {error.read()[:300]!r}")
        except (OSError, ValueError, urllib.error.URLError) as error:
            raise CheckFailed(f"GET {path} failed: {error!r}")

    def storage_panel(self):
        """The storage panel lists what the API answers, or says there is nothing."""
        log("checking the storage panel")
        providers = self.api_json("/storage/providers").get("providers", [])
        deals = self.api_json(f"/storage/deals?limit={STORAGE_DEALS_SHOWN}")

        def loaded():
            now = self.devtools.evaluate(STORAGE_PROBE)
            tables = now["providers"] + now["deals"]
            return now if tables and not any(row["text"] == "loading…" for row in tables) else None

        try:
            now = wait_for(loaded, PANEL_TIMEOUT_S, "the storage panel fills its tables")
        except CheckFailed as failure:
            now = self.devtools.evaluate(STORAGE_PROBE)
            raise CheckFailed(f"{failure}: {json.dumps(now)[:800]}")
        self.check("Arrives with the storage service" not in now["panelText"] and "placeholder" not in now["panelText"],
                   "the storage panel no longer shows its placeholder")
        errors = [row["text"] for row in now["providers"] + now["deals"] if row["text"].startswith("could not load")]
        self.check(not errors, "the storage panel loaded its providers and deals" + (f": {errors}" if errors else ""))

        def table(rows, key, expected, empty_text, what):
            listed = [row["data"].get(key) for row in rows if not row["empty"]]
            if expected:
                self.check(sorted(listed) == sorted(expected),
                           f"the storage panel lists the {len(expected)} {what} the API answers: {listed}")
            else:
                self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"] == empty_text,
                           f"the storage panel reads {empty_text!r} (the API lists no {what}): "
                           f"{[row['text'] for row in rows]}")

        table(now["providers"], "did", [provider["did"] for provider in providers],
              "no storage providers registered", "providers")
        table(now["deals"], "deal", [str(deal["id"]) for deal in deals.get("deals", [])], "no live storage deals",
              "live deals")
        shards = [shard for deal in deals.get("deals", []) for shard in deal.get("shards", [])]
        expected = {
            "storage-providers-active": f"{sum(1 for p in providers if p.get('active'))} / {len(providers)}",
            "storage-deals-live": f"{deals.get('live', 0):,}",
            "storage-shards-lost": f"{sum(1 for s in shards if s.get('lostAt') is not None):,}",
            "storage-challenges": f"{sum(1 for s in shards if s.get('lostAt') is None and s.get('challenge')):,}",
        }
        self.check(now["health"] == expected, f"the storage health line reads {json.dumps(now['health'])}"
                   + ("" if now["health"] == expected else f", expected {json.dumps(expected)}"))

    def payments_probe(self):
        return self.devtools.evaluate(PAYMENTS_PROBE)

    def payments_panel(self):
        """Counters and listings; then a listing, a channel and a redeemed voucher made with the CLI."""
        tools = self.devtools
        log("checking the payments panel")
        tools.evaluate("document.getElementById('panel-payments').scrollIntoView({block: 'start'})")
        gateway = self.gateway_status()
        market = self.api_json("/market").get("listings", [])

        # 1. The counters read numbers (the gateway's, while nothing is paid for); the listings
        #    table is loaded, and empty on this devnet.
        def loaded():
            now = self.payments_probe()
            numbers = [number_or_none((value or "").replace(",", "")) for value in now["counters"].values()]
            return now if None not in numbers and now["listings"] and now["listings"][0]["text"] != "loading…" else None

        try:
            now = wait_for(loaded, GATEWAY_REFRESH_TIMEOUT_S, "the payments panel shows its counters and listings")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.payments_probe())[:800]}")
        shown = {key: int(value.replace(",", "")) for key, value in now["counters"].items()}
        expected = {key: gateway.get(field) for key, field in PAYMENT_COUNTERS.items()}
        self.check(shown == expected, f"the payment counters read the gateway's: {json.dumps(shown)}"
                   + ("" if shown == expected else f", GET /gateway {json.dumps(expected)}"))
        if not market:
            rows = now["listings"]
            self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"].startswith("no market listings"),
                       f"#market-listings reads its empty state: {[row['text'] for row in rows]}")

        # 2. A listing appears without a reload.
        owner_did = self.cli("keys", "show", "owner").get("did")
        pattern = f"mesh/{owner_did}/{LISTING_SUBTOPIC}"
        self.cli("market", "list", "--from", "owner", "--pattern", pattern,
                 "--price-per-message", str(LISTING_PRICE_PER_MESSAGE))
        started = time.time()

        def listed():
            rows = [row for row in self.payments_probe()["listings"] if row["data"].get("pattern") == pattern]
            return rows[0] if rows else None

        try:
            row = wait_for(listed, PANEL_TIMEOUT_S, f"#market-listings lists {pattern}")
            cells = [cell["text"] for cell in row["cells"]]
            self.check(len(cells) == 5 and cells[0] == pattern and row["cells"][1]["title"] == owner_did
                       and row["data"].get("payee") == owner_did
                       and cells[2] == str(LISTING_PRICE_PER_MESSAGE) and cells[3] == "0",
                       f"#market-listings shows the new listing {time.time() - started:.1f}s after the CLI returned: "
                       f"{cells}")
        except CheckFailed as failure:
            self.check(False, f"{failure}: rows {[row['text'] for row in self.payments_probe()['listings']]}")

        # 3. A channel to a new key, and one voucher redeemed by it.
        # Unencrypted, like the devnet's owner key: scrypt would add seconds to the key's every use.
        payee = self.cli("keys", "new", "--name", PAYEE_KEY, "--insecure-plaintext").get("did")
        if not payee:
            raise CheckFailed(f"'keys new --name {PAYEE_KEY}' printed no \"did\"")
        self.cli("tx", "transfer", "--from", "owner", "--to", payee, "--amount", str(PAYEE_FUNDS))
        opened = self.cli("pay", "channel", "open", "--from", "owner", "--to", payee, "--deposit", str(CHANNEL_DEPOSIT))
        channel = opened.get("channel")
        voucher = self.cli("pay", "voucher", "--from", "owner", "--channel", str(channel),
                           "--amount", str(VOUCHER_AMOUNT)).get("voucher")
        redeemed = self.cli("pay", "redeem", "--from", PAYEE_KEY, str(voucher))
        log(f"channel {channel} from owner to {payee}: redeemed {json.dumps(redeemed)}")
        self.check(redeemed.get("paid") == VOUCHER_AMOUNT, f"'pay redeem' was paid {VOUCHER_AMOUNT}: {json.dumps(redeemed)}")
        try:
            now = wait_for(lambda: (lambda p: p if p["redeemed"] >= VOUCHER_AMOUNT and p["opens"] not in (None, "0")
                                    else None)(self.payments_probe()),
                           PANEL_TIMEOUT_S, f"the payments panel counts the redeem of {VOUCHER_AMOUNT}")
            self.check(now["redeemed"] == VOUCHER_AMOUNT and f"{VOUCHER_AMOUNT:,}" in (now["redeemedTotal"] or ""),
                       f"the redeemed chart sums {now['redeemed']} over {now['blocksRead']} blocks "
                       f"({now['redeemedTotal']!r}); channel.open counted {now['opens']}")
        except CheckFailed as failure:
            now = self.payments_probe()
            self.check(False, f"{failure}: data-redeemed {now['redeemed']}, {now['redeemedTotal']!r}, "
                              f"channel.open {now['opens']}")

        # 4. The channel lookup lists it.
        tools.evaluate("(() => { document.getElementById('channels-party').value = " + json.dumps(payee) + ";"
                       " document.getElementById('channels-form').requestSubmit(); return true; })()")

        def found():
            rows = [row for row in self.payments_probe()["channels"] if row["data"].get("channel") == str(channel)]
            return rows[0] if rows else None

        try:
            row = wait_for(found, 5, f"the channel lookup for {payee} lists channel {channel}")
            cells = [cell["text"] for cell in row["cells"]]
            self.check(len(cells) == 6 and row["data"].get("payer") == owner_did and row["data"].get("payee") == payee
                       and cells[2] == f"{CHANNEL_DEPOSIT:,}" and cells[3] == f"{VOUCHER_AMOUNT:,}" and cells[4] == "open",
                       f"the channel lookup lists channel {channel}: {cells}")
        except CheckFailed as failure:
            self.check(False, f"{failure}: rows {[row['text'] for row in self.payments_probe()['channels']]}")
        tools.evaluate("window.scrollTo(0, 0)")

    # MARK: data feeds and reputation

    def mqtt_address(self):
        """host:port of node-0's MQTT listener, as GET /gateway names it (else as the node printed)."""
        listen = str(self.gateway_status().get("listen", ""))
        _, _, port_text = listen.rpartition(":")
        if port_text.isdigit() and 0 < int(port_text) < 65536:
            return f"127.0.0.1:{port_text}"
        announced = self.announced_mqtt_port()
        if announced:
            return f"127.0.0.1:{announced}"
        raise CheckFailed(f"no MQTT port to publish observations to: GET /gateway listen {listen!r}")

    def observe(self, owner_did, value, address):
        """`meshwork oracle observe` as the owner: one signed observation of FEED_ID over MQTT."""
        command = [self.binary, "oracle", "observe", "--home", self.home, "--key", "owner", "--as", owner_did,
                   "--feed", FEED_ID, "--value", value, "--mqtt", address,
                   "--node", f"http://127.0.0.1:{self.api_port}"]
        shown = f"meshwork oracle observe --feed {FEED_ID} --value {value} --mqtt {address}"
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                                    stdin=subprocess.DEVNULL, env=self.env)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"'{shown}' did not finish within {CLI_TIMEOUT_S}s")
        if result.returncode != 0:
            raise CheckFailed(f"'{shown}' exited {result.returncode}: {(result.stderr or result.stdout).strip()[:500]}")

    def feed_rounds(self):
        try:
            return get_json(self.api_port, f"/oracle/feeds/{FEED_ID}?history=0").get("feeds", [{}])[0].get("rounds", 0)
        except (OSError, ValueError, IndexError, urllib.error.URLError):
            return 0

    def feeds_probe(self):
        return self.devtools.evaluate(FEEDS_PROBE)

    def feeds_panel(self):
        """A feed and two rounds of it, made with the CLI while the page is open; the panel lists the
        feed with its latest value and charts both rounds."""
        tools = self.devtools
        log("checking the data feeds panel")
        started = time.time()
        tools.evaluate("document.getElementById('panel-feeds').scrollIntoView({block: 'start'})")
        now = wait_for(lambda: (lambda p: p if p["feeds"] and p["feeds"][0]["text"] != "loading…" else None)(
            self.feeds_probe()), FEEDS_TIMEOUT_S, "the feeds panel loads")
        if not self.api_json("/oracle/feeds").get("feeds"):
            rows = now["feeds"]
            self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"].startswith("no data feeds"),
                       f"#feeds reads its empty state: {[row['text'] for row in rows]}")

        owner_did = self.cli("keys", "show", "owner").get("did")
        created = self.cli("oracle", "create-feed", "--from", "owner", "--id", FEED_ID, "--unit", FEED_UNIT,
                           "--reporter", "owner", "--min-reporters", "1")
        log(f"created feed {FEED_ID}: {json.dumps(created)}")
        address = self.mqtt_address()
        # One observation per round: the second waits for the first's round, so the latest is the last.
        for count, value in enumerate(FEED_VALUES, start=1):
            self.observe(owner_did, value, address)
            wait_for(lambda: self.feed_rounds() >= count, FEED_ROUND_TIMEOUT_S,
                     f"GET /oracle/feeds/{FEED_ID} counts round {count} after observing {value}")
        api_feed = self.api_json(f"/oracle/feeds/{FEED_ID}?history=50")
        latest = api_feed["feeds"][0].get("latest") or {}
        self.check(latest.get("median") == round(float(FEED_VALUES[-1]) * 100) and len(api_feed.get("history", [])) >= 2,
                   f"{len(FEED_VALUES)} observations as {owner_did} made rounds of {FEED_ID}: latest median "
                   f"{latest.get('median')}, {len(api_feed.get('history', []))} rounds")
        observed_at = time.time()

        def shown():
            now = self.feeds_probe()
            rows = [row for row in now["feeds"] if row["data"].get("feed") == FEED_ID]
            if not rows or rows[0]["data"].get("latest") != FEED_LATEST_SHOWN:
                return None
            return now if now["rounds"] >= 2 and now["line"] and now["lineLength"] > 0 else None

        try:
            now = wait_for(shown, FEEDS_TIMEOUT_S, f"#feeds lists {FEED_ID} at {FEED_LATEST_SHOWN} and charts its rounds")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.feeds_probe())[:1200]}")
        row = next(row for row in now["feeds"] if row["data"].get("feed") == FEED_ID)
        cells = [cell["text"] for cell in row["cells"]]
        self.check(len(cells) == 5 and cells[0] == FEED_ID and cells[1] == FEED_UNIT
                   and cells[2].startswith(f"{FEED_LATEST_SHOWN} ± ") and cells[3] == str(api_feed["feeds"][0]["rounds"])
                   and cells[4] in ("fresh", "stale"),
                   f"#feeds lists {FEED_ID} {time.time() - observed_at:.1f}s after its last round: {cells}")
        points = now["line"].count("L") + 1
        self.check(now["chartTitle"].startswith(FEED_ID) and points == now["rounds"] >= 2 and now["band"]
                   and (now["latest"] or "").startswith(FEED_LATEST_SHOWN),
                   f"#feed-chart draws {FEED_ID}: a {now['lineLength']:.0f}px line through {points} rounds, a band, "
                   f"latest {now['latest']!r}, misses {now['misses']}")
        self.check(len(now["misses"]) == now["rounds"] and all(miss == "0" for miss in now["misses"]),
                   f"#feed-misses shows the misses of the last rounds: {now['misses']}")
        log(f"feeds step took {time.time() - started:.1f}s")

    def reputation_column(self):
        """The directory's reputation column: each row on screen reads its DID's score."""
        tools = self.devtools
        tools.evaluate("document.getElementById('devices').closest('section').scrollIntoView({block: 'start'})")
        started = time.time()

        def scored():
            now = tools.evaluate(REPUTATION_PROBE)
            return now if now["rows"] and all(row["data"] is not None for row in now["rows"]) else None

        try:
            now = wait_for(scored, REPUTATION_TIMEOUT_S, "every directory row on screen reads a reputation")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(tools.evaluate(REPUTATION_PROBE))[:1200]}")
        expected = {row["did"]: str(self.api_json(f"/reputation/{urllib.parse.quote(row['did'], safe='')}")["score"])
                    for row in now["rows"]}
        shown = {row["did"]: row["cell"] for row in now["rows"]}
        self.check(now["column"] >= 0 and shown == expected and all(re.fullmatch(r"\d+", value or "") for value in shown.values()),
                   f"the directory's reputation column (header {now['column'] + 1} of {len(now['headers'])}) reads the "
                   f"scores GET /reputation answers, {time.time() - started:.1f}s after scrolling to it: "
                   f"{sorted(set(shown.values()))} over {len(shown)} rows")
        tools.evaluate("window.scrollTo(0, 0)")

    # MARK: governance and firmware rollouts

    def gov_probe(self):
        return self.devtools.evaluate(GOV_PROBE)

    def gov_panels(self):
        """The governance and rollouts panels: their empty states, then a proposal, an upgrade and a
        rollout made with the CLI while the page is open, shown live; the upgrade's banner once it
        passes and the rollout's reason once it pauses."""
        tools = self.devtools
        log("checking the governance and rollouts panels")
        tools.evaluate("document.getElementById('panel-gov').scrollIntoView({block: 'start'})")
        proposals = self.api_json("/gov/proposals")
        rollouts = self.api_json("/ota/rollouts").get("rollouts", [])
        params = self.api_json("/params")["params"]["gov"]

        # 1. Loaded, with the empty states (this devnet has no proposal or rollout yet).
        def loaded():
            now = self.gov_probe()
            tables = now["proposals"] + now["rollouts"]
            return now if tables and not any(row["text"] == "loading…" for row in tables) else None

        try:
            now = wait_for(loaded, PANEL_TIMEOUT_S, "the governance and rollouts panels load")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.gov_probe())[:800]}")

        # The pool grows with every fee: the page reads it again a moment after each block, so a
        # block just committed (the steps before make transactions) may not have reached it yet.
        def pool_caught_up():
            latest = self.api_json("/gov/proposals")
            shown = self.gov_probe()
            return (latest, shown) if shown["stats"]["gov-pool"] == f"{latest['communityPool']:,}" else None

        try:
            proposals, now = wait_for(pool_caught_up, GATEWAY_REFRESH_TIMEOUT_S, "the page's community pool is the API's")
        except CheckFailed:
            pass  # the check below says what differs
        if not proposals.get("proposals"):
            rows = now["proposals"]
            self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"].startswith("no proposals yet — meshwork gov submit"),
                       f"#proposals reads its empty state: {[row['text'] for row in rows]}")
        if not rollouts:
            rows = now["rollouts"]
            self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"].startswith("no rollouts yet — meshwork ota publish"),
                       f"#rollouts reads its empty state: {[row['text'] for row in rows]}")
        permille = lambda name: f"{params[name] / 10:g}%"
        expected = {"gov-pool": f"{proposals['communityPool']:,}", "gov-quorum": permille("quorumPermille"),
                    "gov-threshold": permille("thresholdPermille"), "gov-veto": permille("vetoThresholdPermille")}
        shown = {key: now["stats"][key] for key in expected}
        self.check(shown == expected, f"the governance stats read the community pool and GET /params: {json.dumps(shown)}"
                   + ("" if shown == expected else f", expected {json.dumps(expected)}"))
        self.check(now["banner"] is None and now["plan"] == "none",
                   f"no upgrade banner while none is planned (planned: {now['plan']!r}, banner {now['banner']})")

        # 2. An upgrade, a proposal and a rollout, made while the page stays open.
        upgrade_height = (status_height(self.api_port) or 0) + UPGRADE_AHEAD
        upgrade = self.cli("gov", "submit", "--from", "owner", "--deposit", str(EXPEDITED_DEPOSIT), "--expedited",
                           "--title", "dashboard upgrade", "--summary", "far ahead", "--upgrade", UPGRADE_NAME,
                           "--upgrade-height", str(upgrade_height), "--upgrade-sha256", "cd" * 32)
        self.cli("gov", "vote", str(upgrade["proposal"]), "yes", "--from", "validator-0")
        text = self.cli("gov", "submit", "--from", "owner", "--deposit", str(PROPOSAL_DEPOSIT), "--title", PROPOSAL_TITLE,
                        "--summary", "a text proposal")
        self.cli("gov", "vote", str(text["proposal"]), "no", "--from", "validator-0")
        image = os.path.join(self.home, "firmware.bin")
        with open(image, "wb") as file:
            file.write(os.urandom(4096))
        firmware = self.cli("ota", "publish", "--from", "owner", "--model", FIRMWARE_MODEL, "--version", FIRMWARE_VERSION,
                            "--file", image)
        stages = [argument for stage in ROLLOUT_STAGES for argument in ("--stage", stage)]
        rollout = self.cli("ota", "rollout", "--from", "owner", "--firmware", str(firmware["firmware"]), *stages)
        log(f"proposals {upgrade['proposal']} (upgrade) and {text['proposal']} (text); rollout {json.dumps(rollout)}")
        made_at = time.time()
        ids = [str(text["proposal"]), str(upgrade["proposal"])]
        rollout_id = str(rollout["rollout"])

        def shown():
            now = self.gov_probe()
            listed = [row["data"].get("proposal") for row in now["proposals"] if not row["empty"]]
            rolled = [row for row in now["rollouts"] if row["data"].get("rollout") == rollout_id]
            return now if listed[:2] == ids and rolled else None

        try:
            now = wait_for(shown, PANEL_TIMEOUT_S, f"#proposals lists {ids} first and #rollouts lists rollout {rollout_id}")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.gov_probe())[:1200]}")
        log(f"the panels show them {time.time() - made_at:.1f}s after the CLI returned")
        row = next(row for row in now["proposals"] if row["data"].get("proposal") == ids[0])
        cells = [cell["text"] for cell in row["cells"]]
        tally = next(tally for tally in now["tallies"] if tally["id"] == ids[0])
        self.check(len(cells) == 7 and cells[1].startswith(PROPOSAL_TITLE) and cells[2] == "voting"
                   and cells[3] == "text proposal" and "left" in cells[5] and now["markup"] == 0,
                   f"the text proposal's row reads its title as text, voting, no messages, the time left: {cells}")
        self.check([name for name, _ in tally["parts"]] == ["no"] and float(tally["parts"][0][1].rstrip("%")) == 100
                   and tally["quorum"] == f"{params['quorumPermille'] / 10:g}%" and "100% voted" in cells[4],
                   f"its tally bar is all 'no' (validator-0 holds every bonded token) with the quorum line: {tally}, {cells[4]!r}")
        row = next(row for row in now["rollouts"] if row["data"].get("rollout") == rollout_id)
        cells = [cell["text"] for cell in row["cells"]]
        api_rollout = self.api_json(f"/ota/rollouts/{rollout_id}")["rollout"]
        totals = [f"{api_rollout[key]:,}" for key in ("devices", "succeeded", "failed", "pending", "waiting")]
        self.check(len(cells) == 11 and cells[1] == f"{FIRMWARE_MODEL} {FIRMWARE_VERSION}" and cells[3].endswith(f"of {len(ROLLOUT_STAGES)}")
                   and len(now["stages"][0]) == len(ROLLOUT_STAGES) and now["markup"] == 0
                   and (cells[5:10] == totals or row["data"].get("status") != api_rollout["status"]),
                   f"#rollouts lists rollout {rollout_id}: firmware, stage of {len(ROLLOUT_STAGES)}, a bar per stage, "
                   f"totals {totals}: {cells}, stages {now['stages'][0]}")

        # 3. The upgrade passes: the banner; the rollout's first stage times out: paused, with its reason.
        def settled():
            now = self.gov_probe()
            row = next((row for row in now["rollouts"] if row["data"].get("rollout") == rollout_id), None)
            return now if now["banner"] and row and row["data"].get("status") == "paused" else None

        try:
            now = wait_for(settled, GOV_TIMEOUT_S, "the upgrade banner shows and the rollout reads paused", interval_s=0.5)
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: GET /gov/upgrade {json.dumps(self.api_json('/gov/upgrade'))}, rollout "
                              f"{json.dumps(self.api_json(f'/ota/rollouts/{rollout_id}'))[:600]}; page "
                              f"{json.dumps(self.gov_probe())[:1200]}")
        banner = now["banner"]
        height = status_height(self.api_port) or 0
        self.check(banner["text"] == f"upgrade {UPGRADE_NAME} at height {upgrade_height}"
                   and "blocks to go" in banner["note"] and 0 < upgrade_height - int(banner["left"]) <= height + 1,
                   f"the banner reads {banner['text']!r} · {banner['note']!r} (the node is at height {height})")
        self.check(now["plan"].startswith(f"{UPGRADE_NAME} at height {upgrade_height}") and now["applied"] == "none",
                   f"the panel's upgrades: planned {now['plan'][:80]!r}, applied {now['applied']!r}")
        api_rollout = self.api_json(f"/ota/rollouts/{rollout_id}")["rollout"]
        row = next(row for row in now["rollouts"] if row["data"].get("rollout") == rollout_id)
        cells = [cell["text"] for cell in row["cells"]]
        self.check(cells[2] == "paused" and api_rollout["reason"] and cells[10] == api_rollout["reason"],
                   f"the paused rollout shows its reason: {cells[2]!r}, {cells[10]!r}")
        self.check(now["notice"] is None, f"the page shows no error notice: {now['notice']!r}")
        tools.evaluate("window.scrollTo(0, 0)")

    # MARK: contracts and compute

    def machine_probe(self):
        return self.devtools.evaluate(MACHINE_PROBE)

    def machine_panels(self):
        """The contracts and compute panels: what the API answers (on this devnet, their empty states), then
        a contract stored, instantiated and called with the CLI while the page is open, shown live."""
        tools = self.devtools
        log("checking the contracts and compute panels")
        tools.evaluate("document.getElementById('panel-contracts').scrollIntoView({block: 'start'})")
        contracts = self.api_json("/contracts")
        providers = self.api_json("/compute/providers").get("providers", [])
        jobs = self.api_json("/compute/jobs").get("jobs", [])

        # 1. Loaded, each table as the API answers it (empty here: no contract, compute provider or job yet).
        def loaded():
            now = self.machine_probe()
            tables = now["codes"] + now["instances"] + now["calls"] + now["providers"] + now["jobs"]
            return now if tables and not any(row["text"] == "loading…" for row in tables) else None

        try:
            now = wait_for(loaded, PANEL_TIMEOUT_S, "the contracts and compute panels load")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.machine_probe())[:800]}")
        tables = now["codes"] + now["instances"] + now["calls"] + now["providers"] + now["jobs"]
        errors = [row["text"] for row in tables if row["text"].startswith("could not load")]
        self.check(not errors, "the contracts and compute panels loaded their tables" + (f": {errors}" if errors else ""))

        def table(rows, key, expected, empty_text, what):
            listed = [row["data"].get(key) for row in rows if not row["empty"]]
            if expected:
                self.check(sorted(listed) == sorted(expected),
                           f"the panel lists the {len(expected)} {what} the API answers: {listed}")
            else:
                self.check(len(rows) == 1 and rows[0]["empty"] and rows[0]["text"].startswith(empty_text),
                           f"the panel reads {empty_text!r}… (the API lists no {what}): {[row['text'] for row in rows]}")

        table(now["codes"], "code", [code["codeId"] for code in contracts.get("codes", [])], "no code stored yet",
              "stored codes")
        table(now["instances"], "contract", [item["contract"] for item in contracts.get("contracts", [])],
              "no contracts yet", "contracts")
        table(now["providers"], "did", [provider["did"] for provider in providers], "no compute providers registered",
              "compute providers")
        table(now["jobs"], "job", [str(job["id"]) for job in jobs[:COMPUTE_JOBS_SHOWN]], "no compute jobs yet",
              "compute jobs")
        calls = now["calls"]
        self.check(len(calls) == 1 and calls[0]["empty"]
                   and calls[0]["text"].startswith("no contract.execute in the blocks this page has read"),
                   f"#contract-calls reads its empty state (no contract was called yet): {[row['text'] for row in calls]}")
        count = lambda status: sum(1 for job in jobs if job.get("status") == status)
        expected = {
            "compute-providers-count": f"{len(providers):,}",
            "compute-open": f"{count('bidding') + count('running') + count('agreed'):,}",
            "compute-disputed": f"{count('disputed'):,}",
            "compute-settled": f"{count('settled'):,}",
            "compute-failed": f"{count('failed'):,}",
            "compute-escrow": f"{sum(job.get('escrow', 0) for job in jobs):,}",
        }
        self.check(now["stats"] == expected, f"the compute counts read {json.dumps(now['stats'])}"
                   + ("" if now["stats"] == expected else f", expected {json.dumps(expected)}"))

        # 2. A contract stored, made and called while the page stays open.
        if not os.path.isfile(COUNTER_WASM):
            print(f"NOTE: {COUNTER_WASM} is missing: the live contract step is skipped", flush=True)
            return
        stored = self.cli("contract", "store", "--from", "owner", COUNTER_WASM)
        made = self.cli("contract", "instantiate", stored["codeId"], "--from", "owner", "--label", CONTRACT_LABEL)
        called = self.cli("contract", "execute", made["contract"], "--from", "owner", "--msg", '{"increment":{}}')
        made_at = time.time()
        log(f"code {stored['codeId']}, contract {made['contract']}, call {called['tx']}")
        view = self.api_json(f"/txs/{called['tx']}")
        event = next((event for event in view.get("events", []) if event.get("type") == "contract.execute"), None)
        if event is None:
            raise CheckFailed(f"GET /txs/{called['tx']} has no contract.execute event: {json.dumps(view)[:600]}")
        attributes = {}
        for pair in event.get("attributes", []):
            attributes.setdefault(pair["key"], pair["value"])

        def shown():
            now = self.machine_probe()
            code = next((row for row in now["codes"] if row["data"].get("code") == stored["codeId"]), None)
            instance = next((row for row in now["instances"] if row["data"].get("contract") == made["contract"]), None)
            call = next((row for row in now["calls"] if row["data"].get("tx") == called["tx"]), None)
            return (now, code, instance, call) if code and instance and call else None

        try:
            now, code, instance, call = wait_for(shown, PANEL_TIMEOUT_S,
                                                 "the panel lists the new code, its contract and the call")
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}: {json.dumps(self.machine_probe())[:1200]}")
        log(f"the contracts panel shows them {time.time() - made_at:.1f}s after the CLI returned")
        self.check(code["data"].get("bytes") == str(os.path.getsize(COUNTER_WASM)),
                   f"the code's row has its size ({os.path.getsize(COUNTER_WASM)} bytes): {code['data']}, "
                   f"{[cell['text'] for cell in code['cells']]}")
        cells = [cell["text"] for cell in instance["cells"]]
        self.check(instance["data"].get("code") == stored["codeId"] and len(cells) == 5 and cells[1] == CONTRACT_LABEL
                   and now["markup"] == 0,
                   f"the contract's row names its code and shows its label as text: {cells}")
        cells = [cell["text"] for cell in call["cells"]]
        fuel = attributes.get("fuelUsed", "")
        self.check(call["data"].get("contract") == made["contract"] and call["data"].get("sender") == attributes.get("sender")
                   and call["data"].get("fuelUsed") == fuel and fuel.isdigit() and cells[3] == f"{int(fuel):,}"
                   and now["calls"][0]["data"].get("tx") == called["tx"],
                   f"the call is the newest recent execution, with the event's contract, sender "
                   f"({attributes.get('sender')}) and fuelUsed ({fuel}): {call['data']}, {cells}")
        self.check(now["notice"] is None, f"the page shows no error notice: {now['notice']!r}")
        tools.evaluate("window.scrollTo(0, 0)")

    def save_screenshot(self):
        tools = self.devtools
        tools.drain(0.5)  # let the last render and the chart settle
        metrics = tools.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize")
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
        shot = tools.call("Page.captureScreenshot",
                          {"format": "png", "captureBeyondViewport": True, "clip": clip})
        directory = os.path.dirname(os.path.abspath(self.screenshot))
        os.makedirs(directory, exist_ok=True)
        with open(self.screenshot, "wb") as file:
            file.write(base64.b64decode(shot["data"]))
        self.screenshot_saved = True
        log(f"screenshot saved to {self.screenshot}")

    def check_console(self):
        self.devtools.drain(0.5)
        tools = self.devtools
        self.check(not tools.exceptions, "no JavaScript exceptions"
                   + ("" if not tools.exceptions else ": " + " | ".join(tools.exceptions[:5])))
        self.check(not tools.security_errors, "no Content-Security-Policy violations"
                   + ("" if not tools.security_errors else ": " + " | ".join(tools.security_errors[:5])))
        # A failed request is logged as a [network] error, which the page reports itself; any other
        # error in the console is the page's own.
        script_errors = [line for line in tools.console_errors if not line.startswith("[network]")]
        self.check(not script_errors, "no JavaScript errors in the console"
                   + ("" if not script_errors else ": " + " | ".join(script_errors[:5])))
        for line in tools.console_errors[:10]:
            if line not in script_errors:
                print(f"NOTE: console: {line}")

    def stop(self):
        if self.devtools:
            self.devtools.close()
        stop_group(self.chromium, "chromium")
        stop_group(self.devnet, "the devnet")


def interrupt(signum, frame):
    raise KeyboardInterrupt


def parse_json_output(text):
    """The JSON object a CLI printed: the whole output, or else its last line that is one."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def main():
    parser = argparse.ArgumentParser(description="Check the node dashboard in headless Chromium.")
    parser.add_argument("binary", help="path to the meshwork executable")
    parser.add_argument("--screenshot", default=os.path.join(".build", "dashboard.png"),
                        help="where to save the screenshot (default .build/dashboard.png)")
    parser.add_argument("--assets-dir", metavar="DIR",
                        help="serve the dashboard from DIR/Dashboard on disk (MESHWORK_ASSETS_DIR), "
                             "not the files embedded in the binary")
    parser.add_argument("--keep", action="store_true", help="keep the temp home even when every check passes")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.binary)
    if not os.access(binary, os.X_OK):
        print(f"FAIL: {binary} is not an executable file")
        return 2

    # SIGTERM (a CI timeout) unwinds through `finally` like Ctrl-C does, so nothing is left running.
    signal.signal(signal.SIGTERM, interrupt)
    assets_dir = os.path.abspath(arguments.assets_dir) if arguments.assets_dir else None
    if assets_dir and not os.path.isfile(os.path.join(assets_dir, "Dashboard", "index.html")):
        print(f"FAIL: {assets_dir}/Dashboard/index.html does not exist")
        return 2
    run = Run(binary, os.path.abspath(arguments.screenshot), arguments.keep, assets_dir)
    log(f"home {run.home}" + (f"; dashboard files from {assets_dir}" if assets_dir else ""))
    try:
        run.start_devnet()
        dids = []

        def register(names):
            for name in names:
                did = run.register_device(name)
                log(f"registered {name}: {did}")
                dids.append(did)

        # All devices but the last exist before the page opens; the last is registered while it
        # is open, so the directory must update without a reload. From here on the page is never
        # reloaded: every later step must reach it live.
        register(DEVICE_NAMES[:-1])
        run.start_browser()
        run.check_page()
        register(DEVICE_NAMES[-1:])
        run.wait_for_devices_in_api(dids)
        run.check(True, f"registered {len(dids)} devices with 'meshwork device register'")
        run.check_directory(dids)
        run.fleet_workflow(dict(zip(DEVICE_NAMES, dids)))
        try:
            run.telemetry(TELEMETRY_DEVICE, dids[DEVICE_NAMES.index(TELEMETRY_DEVICE)])
        except CheckFailed as failure:
            run.check(False, f"telemetry: {failure}")
        shadow_device = (TELEMETRY_DEVICE, dids[DEVICE_NAMES.index(TELEMETRY_DEVICE)])
        for name, step in (("shadow", lambda: run.shadow_panel(*shadow_device)),
                           ("storage", run.storage_panel), ("payments", run.payments_panel),
                           ("feeds", run.feeds_panel), ("reputation", run.reputation_column),
                           ("governance", run.gov_panels), ("contracts and compute", run.machine_panels),
                           ("partition", run.partition_banner)):
            try:
                step()
            except CheckFailed as failure:
                run.check(False, f"{name}: {failure}")
        run.save_screenshot()
        run.check_console()
    except CheckFailed as failure:
        run.check(False, str(failure))
    except KeyboardInterrupt:
        run.check(False, "interrupted")
    except Exception as error:  # report, then still clean up below
        run.check(False, f"unexpected {type(error).__name__}: {error}")
    finally:
        if run.devtools and run.failures and not run.screenshot_saved:
            try:
                run.save_screenshot()
            except Exception:
                pass
        run.stop()

    if run.failures:
        print(f"FAIL: {len(run.failures)} check(s) failed; logs in {run.home}")
        tail_log(os.path.join(run.home, "devnet.log"))
        return 1
    if not arguments.keep:
        shutil.rmtree(run.home, ignore_errors=True)
    print("PASS: dashboard check")
    return 0


def number_or_none(text):
    """The number a stat shows ('12', '0.50'), or None for '–', '' or anything else."""
    try:
        return float(text) if text is not None and re.fullmatch(r"\d+(\.\d+)?", text) else None
    except ValueError:
        return None


def tail_log(path, lines=20):
    try:
        with open(path, errors="replace") as file:
            content = file.read().splitlines()[-lines:]
    except OSError:
        return
    print(f"--- last {len(content)} lines of {path}")
    for line in content:
        print("    " + line)


if __name__ == "__main__":
    sys.exit(main())
