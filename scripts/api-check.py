#!/usr/bin/env python3
"""Conformance test of a node's HTTP API against its OpenAPI document.

Starts a one-node devnet, puts some state on the chain (a transfer; a device and a grant when the
CLI has those commands; later a provider and a deal, payment channels, a feed, and governance: an
upgrade voted through by validator-0, a text proposal, a firmware release rolled out to a device),
then:
  - checks that /openapi.json is an OpenAPI 3.1 document whose (method, path) set is exactly
    `NodeAPI.routes` in Sources/MeshNode/API/NodeAPI.swift (and the routes the router registers);
  - calls every documented operation with valid parameters (with `?height=` and `?prove=true`
    variants of the state routes) and validates each answer against the schema the document gives
    for the returned status; a status the document does not list fails;
  - sends bad input (malformed and oversized bodies, unknown routes, bad DIDs, heights, hashes and
    flags) and expects a documented 4xx with an `Error` body, and a node that still answers;
  - speaks RFC 6455 to /events: subscribes, receives blocks and transactions, sends garbage;
    subscribes to the registered device's telemetry with its device token as the reader's (and is
    refused without a DID, with a bad MQTT filter, without a token, with a bad one, or on topics
    the token's DID may not subscribe to), sees a second device's granted subscription end with
    `api/20` once its grant is revoked, is refused a WebSocket from another web origin,
    publishes as that device with `mosquitto_pub` to the port `GET /gateway` names and receives
    the messages its filter matches as `telemetry` events;
  - gives the registered device a shadow over MQTT (paho-mqtt: an update on
    `$mesh/things/<did>/shadow/update`, answered on `…/update/accepted`) and reads it with
    `GET /things/{did}/shadow` and the device's token as bearer; a missing header, another device's
    token, a device without a shadow and a bad name are refused (api/24, api/25, api/10).

usage: python3 scripts/api-check.py path/to/meshwork
A binary built before openapi.json changed serves the old document (and fails the check that it
equals the repository's); MESHWORK_ASSETS_DIR=Sources/MeshNode makes the node read it from disk.
Needs Python 3.11+ and jsonschema (pip install jsonschema), mosquitto_pub (Debian:
mosquitto-clients) for the telemetry publishes, and paho-mqtt 2 (pip install paho-mqtt) for the
shadow; the api_check_*.py files beside it are its parts. Ports come from 19000-19999, or from
MESHWORK_API_CHECK_PORTS=LOW-HIGH.
"""
import atexit, base64, hashlib, http.client, json, os, re, shutil, signal, subprocess, sys, time, urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts

from api_check_spec import SPEC_FILE, Spec, check_openapi_shape, source_routes
from api_check_support import (CaptureProxy, Devnet, MQTTClient, Reply, base58, check, cli_has, first_json_object,
                               free_port, http_request, note, quote, random_did_key, raw_request, results)
from api_check_websocket import WebSocket


class Run:
    def __init__(self, devnet, spec):
        self.devnet, self.spec, self.port = devnet, spec, devnet.api_port
        self.proxy = None  # CaptureProxy, once the node runs
        self.succeeded = set()  # (METHOD, template) answered 2xx/101 and conforming

    def status(self):
        return http_request(self.port, "GET", "/status", timeout=5).json()

    def height(self):
        try:
            return self.status()["height"]
        except (OSError, ValueError, KeyError):
            return None

    def alive(self):
        return self.height() is not None and self.devnet.process.poll() is None

    def wait_height(self, target, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if (self.height() or 0) >= target:
                return True
            if self.devnet.process.poll() is not None:
                return False
            time.sleep(0.2)
        return False

    def call(self, method, template, path, expect=(200,), body=None, headers=None, name=None):
        """Calls one operation and checks the answer against the document."""
        label = name or f"{method} {path}"
        try:
            reply = http_request(self.port, method, path, body=body, headers=headers)
        except (OSError, http.client.HTTPException) as error:
            check(label, False, f"no answer: {error!r}")
            return None
        problem = self.spec.conform(method, template, reply)
        if reply.status not in expect:
            problem = f"status {reply.status}, expected {list(expect)}; {problem or reply.body[:200]!r}"
        if check(f"{label} -> {reply.status}", not problem, problem) and (200 <= reply.status < 300):
            self.succeeded.add((method, template))
        return reply

    def bad(self, method, template, path, status, code=None, body=None, headers=None, reply=None, why=None):
        """Bad input: a 4xx with an Error body (and, for a documented route, a documented status);
        `why` says what is wrong with it, where the path alone does not."""
        label = f"bad input {method} {path[:90]}" + (f" ({why})" if why else "")
        if reply is None:
            try:
                reply = http_request(self.port, method, path, body=body, headers=headers)
            except (OSError, http.client.HTTPException) as error:
                if self.alive():
                    check(label, False, f"no answer: {error!r}")
                    return None
                check(label, False, f"THE NODE CRASHED: {error!r}\n{self.devnet.log_tail()}")
                check("the node restarts after the crash", self.devnet.restart(self))
                return None
        problems = []
        if reply.status != status:
            problems.append(f"status {reply.status}, expected {status}")
        if not 400 <= reply.status < 500:
            problems.append("not a 4xx")
        try:
            body_json = reply.json()
            schema_errors = self.spec.errors("/components/schemas/Error", body_json)
            if schema_errors:
                problems.append(f"not an Error body: {schema_errors}")
            elif code and body_json["code"] != code:
                problems.append(f"code {body_json['code']}, expected {code}")
        except ValueError:
            problems.append(f"body is not JSON: {reply.body[:120]!r}")
        if reply.content_type != "application/json":
            problems.append(f"content type {reply.content_type!r}")
        if template:
            conform = self.spec.conform(method, template, reply)
            if conform:
                problems.append(conform)
        check(f"{label} -> {reply.status} {code or ''}".rstrip(), not problems, "; ".join(problems))
        return reply


# ---------------------------------------------------------------- the checks

def setup_state(run, devnet, proxy):
    """Owner, a transfer, a device and a grant (the last two when the CLI has them)."""
    state = {"recipient": random_did_key(), "device": None, "grant": False}
    shown = devnet.cli("keys", "show", "owner", "--home", devnet.home, "--output", "json")
    owner = first_json_object(shown.stdout)
    if not check("keys show owner gives the devnet owner's DID", owner and owner.get("did", "").startswith("did:"),
                 shown.stderr.strip()[-300:]):
        raise SystemExit(1)
    state["owner"] = owner["did"]

    help_text = cli_has(devnet, "tx", "transfer") or ""
    command = ["tx", "transfer", "--home", devnet.home, "--node", devnet.url, "--from", "owner",
               "--to", state["recipient"], "--amount", "5"]
    command += ["--wait"] if "--wait" in help_text else []
    command += ["--output", "json"] if "--output" in help_text else []
    result = devnet.cli(*command)
    answer = first_json_object(result.stdout) or {}
    hash_match = re.search(r"\b[0-9a-f]{64}\b", result.stdout)
    state["tx_hash"] = answer.get("hash") or (hash_match.group(0) if hash_match else None)
    state["tx_height"] = answer.get("height")
    check("tx transfer --amount 5 commits", result.returncode == 0 and state["tx_hash"],
          (result.stderr + result.stdout).strip()[-300:])

    register_help = cli_has(devnet, "device", "register")
    if register_help:
        args = ["device", "register", "--home", devnet.home, "--node", devnet.url, "--controller", "owner",
                "--name", "x", "--output", "json"]
        args += ["--insecure-plaintext"] if "--insecure-plaintext" in register_help else []
        result = devnet.cli(*args)
        found = re.search(r"did:mesh:[1-9A-HJ-NP-Za-km-z]+", result.stdout)
        if check("device register --controller owner --name x", result.returncode == 0 and found,
                 (result.stderr + result.stdout).strip()[-300:]):
            state["device"] = found.group(0)
            state["device_key"] = "x"  # the keystore name of its key (--key defaults to --name)
    else:
        note("the CLI has no 'device register' yet: the did:mesh checks use no registered device")

    grant_help = cli_has(devnet, "policy", "grant")
    if grant_help:
        owner_of_resource = state["device"] or state["owner"]
        state["resource"] = f"mesh/{owner_of_resource}/telemetry"
        args = ["policy", "grant", "--home", devnet.home, "--node", devnet.url]
        for flag in ("--from", "--issuer", "--signer"):
            if flag in grant_help:
                args += [flag, "owner"]
                break
        args += ["--subject", state["recipient"], "--action", "mqtt.publish", "--resource", state["resource"]]
        args += ["--output", "json"] if "--output" in grant_help else []
        result = devnet.cli(*args)
        state["grant"] = check("policy grant mqtt.publish to the recipient", result.returncode == 0,
                               (result.stderr + result.stdout).strip()[-300:])
    else:
        note("the CLI has no 'policy grant' yet: /policies lists no grant")
    state.setdefault("resource", f"mesh/{state['owner']}/telemetry")

    # Transactions signed by the CLI but submitted here, so POST /txs is exercised directly.
    try:
        state["signed"] = proxy.sign_transfer(devnet, random_did_key(), 1)
    except RuntimeError as error:
        check("sign a transfer through the capture proxy", False, str(error))
        state["signed"] = None
    return state


def check_document(spec, served_text):
    doc = spec.doc
    problems = check_openapi_shape(doc)
    check("/openapi.json is an OpenAPI 3.1 document (structure, $refs, schemas)", not problems, "; ".join(problems[:5]))
    with open(SPEC_FILE) as f:
        repository_doc = json.load(f)
    check("served /openapi.json equals Sources/MeshNode/API/openapi.json", json.loads(served_text) == repository_doc,
          "the binary embeds a different document (rebuild it)")
    routes, registered = source_routes()
    documented = {f"{m} {p}" for m, p in spec.operations()}
    check("NodeAPI.routes parsed from NodeAPI.swift", len(routes) >= 10, f"found {sorted(routes)}")
    check("every route in NodeAPI.routes is documented", routes <= documented, f"undocumented: {sorted(routes - documented)}")
    check("every documented operation is in NodeAPI.routes", documented <= routes, f"not served: {sorted(documented - routes)}")
    check("NodeAPI.routes lists exactly the routes the router registers", routes == registered,
          f"registered only: {sorted(registered - routes)}; listed only: {sorted(routes - registered)}")


def check_operations(run, state):
    latest = run.height()
    owner, recipient, device = state["owner"], state["recipient"], state["device"]
    past = max(1, latest - 2)
    run.call("GET", "/status", "/status")
    run.call("GET", "/status/disk", "/status/disk")
    run.call("GET", "/validators", "/validators")
    run.call("GET", "/validators", f"/validators?height={past}")
    run.call("GET", "/validators", f"/validators?height={latest + 1}", expect=(200, 404))
    reply = run.call("GET", "/blocks/latest", "/blocks/latest")
    if reply and reply.status == 200:
        check("/blocks/latest height is at least 3", reply.json()["header"]["height"] >= 3)
    run.call("GET", "/blocks/{height}", "/blocks/1")
    tx_hash = state["tx_hash"]
    if state["tx_height"] is None and tx_hash:
        reply = http_request(run.port, "GET", f"/txs/{tx_hash}")
        state["tx_height"] = reply.json()["summary"]["height"] if reply.status == 200 else None
    if state["tx_height"]:
        reply = run.call("GET", "/blocks/{height}", f"/blocks/{state['tx_height']}")
        if reply and reply.status == 200:
            block = reply.json()
            check("the transfer is in its block", tx_hash in block["transactionHashes"])
            signers = {t["signer"] for t in block["transactions"]}
            check("the block names the owner as signer", owner in signers, f"signers {signers}")
    if tx_hash:
        reply = run.call("GET", "/txs/{hash}", f"/txs/{tx_hash}")
        if reply and reply.status == 200:
            body = reply.json()
            check("/txs/{hash} is that transaction", body["summary"]["hash"] == tx_hash
                  and hashlib.sha256(bytes.fromhex(body["tx"])).hexdigest() == tx_hash)
        run.call("GET", "/txs/{hash}", f"/txs/{tx_hash.upper()}")

    # POST /txs with a transaction signed by the CLI.
    signed = state.get("signed")
    if signed:
        reply = run.call("POST", "/txs", "/txs?wait=commit", body=signed,
                         headers={"Content-Type": "application/octet-stream"})
        if reply and reply.status == 200:
            body = reply.json()
            check("wait=commit answers with the hash and height", body["hash"] == hashlib.sha256(signed).hexdigest()
                  and isinstance(body.get("height"), int))
        run.call("POST", "/txs", "/txs?wait=sync", body=json.dumps({"tx": signed.hex()}),
                 headers={"Content-Type": "application/json"}, expect=(200, 400),
                 name="POST /txs?wait=sync (the same transaction again, as JSON)")
        run.call("POST", "/txs", "/txs?wait=none", body=signed, expect=(200, 400),
                 headers={"Content-Type": "application/octet-stream"}, name="POST /txs?wait=none (again)")
    run.call("POST", "/txs", "/txs", body=b"\x00not a transaction", expect=(400,),
             headers={"Content-Type": "application/octet-stream"}, name="POST /txs with bytes that are no transaction")

    # State routes: plain, at a height, proven, proven at a height.
    run.wait_height(latest + 2, 30)
    latest = run.height()
    proven_height = latest - 2

    def state_route(template, path, query=""):
        joiner = "&" if query else "?"
        base = path + (f"?{query}" if query else "")
        for suffix in ("", f"{joiner}height={proven_height}", f"{joiner}prove=true",
                       f"{joiner}prove=true&height={proven_height}", f"{joiner}prove=1"):
            reply = run.call("GET", template, base + suffix)
            if reply and reply.status == 200 and "prove" in suffix:
                body = reply.json()
                proof = body.get("proof") or {}
                answered = body.get("height", int(body.get("didDocumentMetadata", {}).get("versionId", -1)))
                reads_state = not path.startswith("/dids/did:key:")  # a did:key resolves from the key alone
                check(f"  proof present for the answered height ({base + suffix})",
                      proof.get("height") == answered and (bool(proof.get("entries")) or not reads_state),
                      f"answered {answered}; proof {str(proof)[:160]}")
            if reply and reply.status == 200 and "height=" in suffix:
                body = reply.json()
                answered = body.get("height", int(body.get("didDocumentMetadata", {}).get("versionId", -1)))
                check(f"  answered at the asked height ({base + suffix})", answered == proven_height, f"got {answered}")

    state_route("/accounts/{did}", f"/accounts/{owner}")
    reply = run.call("GET", "/accounts/{did}", f"/accounts/{quote(recipient)}")
    if reply and reply.status == 200:
        check("the recipient holds the 5 transferred", reply.json()["balance"] >= 5, reply.body[:200])
    state_route("/dids/{did}", f"/dids/{owner}")
    if device:
        state_route("/dids/{did}", f"/dids/{device}")
        state_route("/accounts/{did}", f"/accounts/{device}")
    state_route("/dids", "/dids")
    state_route("/dids", "/dids", f"controller={quote(owner)}&limit=5")
    if device:
        reply = run.call("GET", "/dids", f"/dids?controller={quote(owner)}")
        if reply and reply.status == 200:
            check("/dids?controller=owner lists the device", device in {d["did"] for d in reply.json()["devices"]})
    state_route("/policies", "/policies", f"subject={quote(recipient)}")
    if state["grant"]:
        reply = run.call("GET", "/policies", f"/policies?subject={quote(recipient)}")
        if reply and reply.status == 200:
            check("/policies lists the grant", any(g["resource"] == state["resource"] for g in reply.json()["grants"]))
    check_query = f"subject={quote(owner)}&action=mqtt.publish&resource={quote(state['resource'])}"
    state_route("/policies/check", "/policies/check", check_query)
    reply = run.call("GET", "/policies/check", "/policies/check?" + check_query.replace(quote(owner), quote(recipient)))
    if reply and reply.status == 200 and state["grant"]:
        check("the recipient's grant allows mqtt.publish", reply.json()["allowed"], reply.body[:200])
    run.call("GET", "/policies/check", f"/policies/check?subject={quote(owner)}&action=storage.read&resource=a/%2B/%23")

    # Service routes.
    reply = run.call("GET", "/metrics", "/metrics")
    if reply and reply.status == 200:
        check("/metrics has meshwork_height", b"meshwork_height" in reply.body)
    for path in ("/", "/app.js", "/style.css", "/openapi.json"):
        run.call("GET", path, path)
    check_gateway(run, state)


def check_gateway(run, state):
    """GET /gateway answers a GatewayStatus whose `listen` names the port the gateway bound (the
    devnet runs with --mqtt-port 0, so the node picks it and prints it)."""
    reply = run.call("GET", "/gateway", "/gateway")
    state["mqtt_port"] = None
    if not reply or reply.status != 200:
        return
    body = reply.json()
    listen = str(body.get("listen", ""))
    _, _, port_text = listen.rpartition(":")
    port = int(port_text) if port_text.isdigit() else 0
    announced = run.devnet.announced_mqtt_port()
    check("GET /gateway listen names the MQTT listener's bound port", 0 < port < 65536 and port == announced,
          f"listen {listen!r}; the node printed that its gateway bound port {announced}")
    state["mqtt_port"] = port if 0 < port < 65536 else announced
    state["gateway"] = body


def check_events(run, spec, state):
    try:
        reply = http_request(run.port, "GET", "/events")
        note(f"a plain GET /events (no upgrade) answers {reply.status} {reply.body[:100]!r}")
    except OSError as error:
        note(f"a plain GET /events (no upgrade): {error!r}")
    try:
        socket_ = WebSocket(run.port, "/events")
    except OSError as error:
        check("GET /events upgrades to a WebSocket", False, repr(error))
        return
    head = Reply(socket_.status, socket_.headers, b"")
    problem = spec.conform("GET", "/events", head)
    if check(f"GET /events (WebSocket handshake) -> {socket_.status}",
             socket_.status == 101 and socket_.accept_ok and not problem, problem or f"accept ok: {socket_.accept_ok}"):
        run.succeeded.add(("GET", "/events"))
    if socket_.status != 101:
        return
    message_pointer = "/components/schemas/EventMessage"

    def exchange(label, request, predicate, seconds=10, schema=None):
        if isinstance(request, dict):
            errors = spec.errors("/components/schemas/EventRequest", request)
            check(f"  {label}: the request matches EventRequest", not errors, errors)
            request = json.dumps(request)
        if request is not None:
            socket_.send(request) if isinstance(request, str) else socket_.send(request, opcode=2)
        try:
            match, seen = socket_.receive_json(predicate, seconds)
        except (OSError, ValueError) as error:
            check(f"events: {label}", False, repr(error))
            return None
        errors = [spec.errors(message_pointer, m) for m in seen]
        errors = [e for e in errors if e]
        if match is not None and schema:
            errors += [e for e in [spec.errors(f"/components/schemas/{schema}", match)] if e]
        check(f"events: {label}", match is not None and not errors,
              "; ".join(errors[:2]) or f"no such message in {len(seen)} read: {str(seen[-2:])[:200]}")
        return match

    exchange("subscribe blocks -> subscribed", {"op": "subscribe", "topic": "blocks"},
                          lambda m: m.get("type") in ("subscribed", "error"), schema="SubscribedMessage")
    exchange("a block message arrives", None, lambda m: m.get("type") == "block", seconds=20, schema="BlockEventMessage")
    exchange("garbage text -> error", "this is not JSON", lambda m: m.get("type") == "error", schema="ErrorEventMessage")
    exchange("binary message -> error", b"\x01\x02", lambda m: m.get("type") == "error", schema="ErrorEventMessage")
    exchange("unknown topic -> error", '{"op":"subscribe","topic":"weather"}',
             lambda m: m.get("type") == "error", schema="ErrorEventMessage")
    exchange("bad DID filter -> error api/5", '{"op":"subscribe","topic":"txs","did":"notadid"}',
             lambda m: m.get("type") == "error" and m.get("code") == "api/5", schema="ErrorEventMessage")
    txs = exchange("subscribe txs -> subscribed", {"op": "subscribe", "topic": "txs", "type": "bank.transfer"},
                   lambda m: m.get("type") in ("subscribed", "error"), schema="SubscribedMessage")
    if txs and txs.get("type") == "subscribed":
        try:
            signed = run.proxy.sign_transfer(run.devnet, random_did_key(), 1)
            run.call("POST", "/txs", "/txs?wait=none", body=signed, headers={"Content-Type": "application/octet-stream"},
                     name="POST /txs?wait=none (a new transfer, for the tx stream)")
            exchange("a tx message arrives for a transfer", None,
                     lambda m: m.get("type") == "tx" and m["tx"]["hash"] == hashlib.sha256(signed).hexdigest(),
                     seconds=30, schema="TransactionEventMessage")
        except RuntimeError as error:
            check("events: sign a transfer for the tx stream", False, str(error))
        exchange("unsubscribe -> unsubscribed", {"op": "unsubscribe", "id": txs["id"]},
                 lambda m: m.get("type") in ("unsubscribed", "error"), schema="UnsubscribedMessage")
    exchange("unsubscribe an unknown id -> error", {"op": "unsubscribe", "id": 999999},
             lambda m: m.get("type") == "error", schema="ErrorEventMessage")
    check_telemetry_events(run, state, exchange, socket_)
    check_telemetry_revocation(run, state)
    socket_.send(json.dumps({"op": "subscribe", "topic": "txs", "type": "x" * 5000}))
    try:
        socket_.receive_json(lambda m: False, 10)
        check("events: a message over 4096 bytes closes the connection", False, "still open after 10 s")
    except (ConnectionError, OSError):
        check("events: a message over 4096 bytes closes the connection", True)
    socket_.close()


def mqtt_publish(run, state, topic, payloads):
    """Publishes `payloads` (one connection, QoS 1, in order) as the registered device; returns an
    error text, or '' when mosquitto_pub succeeded."""
    devnet = run.devnet
    token = devnet.cli("device", "token", "--home", devnet.home, "--key", state["device_key"], "--node", devnet.url)
    if token.returncode != 0 or token.stdout.strip().count(".") != 2:
        return f"device token --key {state['device_key']} exited {token.returncode}: {token.stderr.strip()[-300:]}"
    command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(state["mqtt_port"]), "-u", state["device"],
               "-P", token.stdout.strip(), "-t", topic, "-q", "1", "-l"]
    try:
        result = subprocess.run(command, input="".join(f"{payload}\n" for payload in payloads), capture_output=True,
                                text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "mosquitto_pub did not finish within 30 s"
    return "" if result.returncode == 0 else f"mosquitto_pub exited {result.returncode}: {(result.stderr + result.stdout).strip()[-300:]}"


def raw_get_with_origin(port, path, origin):
    """A GET with an Origin header and no upgrade; returns (status, body text)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Origin": origin})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def check_telemetry_revocation(run, state):
    """A second device, granted mqtt.subscribe on the first device's namespace, reads its telemetry
    over /events with its own token; when the grant is revoked, the next block ends that
    subscription with an `api/20` error event (as the gateway ends MQTT subscriptions)."""
    if not state["device"]:
        note("no registered device: the telemetry revocation check needs one")
        return
    devnet, device = run.devnet, state["device"]
    common = ["--home", devnet.home, "--node", devnet.url]
    made = devnet.cli("device", "register", *common, "--controller", "owner", "--name", "reader",
                      "--insecure-plaintext", "--output", "json")
    found = re.search(r"did:mesh:[1-9A-HJ-NP-Za-km-z]+", made.stdout)
    if not check("events: a second device 'reader' is registered", made.returncode == 0 and found,
                 (made.stderr + made.stdout).strip()[-300:]):
        return
    reader = found.group(0)
    granted = devnet.cli("policy", "grant", *common, "--from", "owner", "--subject", reader, "--action",
                         "mqtt.subscribe", "--resource", f"mesh/{device}/#", "--output", "json")
    grant_id = (first_json_object(granted.stdout) or {}).get("id") if granted.returncode == 0 else None
    if not check("events: reader is granted mqtt.subscribe on mesh/<device>/#", grant_id is not None,
                 (granted.stderr + granted.stdout).strip()[-300:]):
        return
    token = devnet.cli("device", "token", *common, "--key", "reader").stdout.strip()
    watch = WebSocket(run.port, "/events")
    watch.send(json.dumps({"op": "subscribe", "topic": "telemetry", "did": device, "filter": f"mesh/{device}/#",
                           "token": token}))
    reply, _ = watch.receive_json(lambda m: m.get("type") in ("subscribed", "error"), 10)
    if not check("events: reader's token subscribes to the device's telemetry (granted)",
                 reply is not None and reply.get("type") == "subscribed", json.dumps(reply)):
        watch.close()
        return
    revoked = devnet.cli("policy", "revoke", str(grant_id), *common, "--from", "owner")
    check("events: the owner revokes reader's grant", revoked.returncode == 0,
          (revoked.stderr + revoked.stdout).strip()[-300:])
    ended, _ = watch.receive_json(lambda m: m.get("type") == "error", 20)
    check("events: after the revoking block, reader's subscription ends with an api/20 error event",
          ended is not None and ended.get("code") == "api/20" and str(reply.get("id")) in ended.get("message", ""),
          json.dumps(ended))
    watch.close()


def check_telemetry_events(run, state, exchange, events_socket):
    """The `telemetry` topic of /events: refused without a DID or with a bad filter; subscribed for
    the registered device on one topic, its publishes there arrive (and those elsewhere do not)."""
    device = state["device"] or random_did_key()

    def refused(label, request, code):
        reply = exchange(f"telemetry with {label} -> error", request, lambda m: m.get("type") == "error",
                         schema="ErrorEventMessage")
        if reply:
            check(f"  telemetry with {label}: the error code is {code}", reply.get("code") == code, json.dumps(reply))

    refused("no did", '{"op":"subscribe","topic":"telemetry"}', "api/5")
    refused("a bad did", '{"op":"subscribe","topic":"telemetry","did":"notadid"}', "api/5")
    for bad_filter in ("a/#/b", "", "mesh/+x/#"):
        refused(f"the filter {bad_filter!r}",
                json.dumps({"op": "subscribe", "topic": "telemetry", "did": device, "filter": bad_filter}), "api/13")

    # Device data is not public: a reader shows a device token of a DID allowed mqtt.subscribe on
    # the filter. The device's own token reads its own namespace, and nothing else.
    topic_filter = f"mesh/{device}/temp"
    token = ""
    if state["device"] and state.get("device_key"):
        devnet = run.devnet
        made = devnet.cli("device", "token", "--home", devnet.home, "--key", state["device_key"], "--node", devnet.url)
        token = made.stdout.strip() if made.returncode == 0 else ""
    refused("no reader token", json.dumps({"op": "subscribe", "topic": "telemetry", "did": device,
                                            "filter": topic_filter}), "api/20")
    refused("a reader token that is not a JWS", json.dumps({"op": "subscribe", "topic": "telemetry", "did": device,
                                                            "filter": topic_filter, "token": "a.b.c"}), "api/20")
    if token:
        refused("the device's token on another device's topics (no mqtt.subscribe there)",
                json.dumps({"op": "subscribe", "topic": "telemetry", "did": device,
                            "filter": f"mesh/{random_did_key()}/#", "token": token}), "api/20")
        refused("the device's token on # (no mqtt.subscribe there)",
                json.dumps({"op": "subscribe", "topic": "telemetry", "did": device, "token": token}), "api/20")
    # A page of another origin may not open /events at all; the node's own origin may.
    foreign = WebSocket(run.port, "/events", origin="http://attacker.example")
    check("events: a WebSocket upgrade from Origin http://attacker.example is refused (no 101: 400 from the "
          "HTTP layer)", foreign.status in (400, 403) and not foreign.accept_ok, f"status {foreign.status}")
    status, body = raw_get_with_origin(run.port, "/events", "http://attacker.example")
    check("events: a plain GET /events from that origin -> 403 api/21", status == 403 and '"api/21"' in body,
          f"{status} {body[:200]}")
    foreign.close()
    own = WebSocket(run.port, "/events", origin=f"http://127.0.0.1:{run.port}")
    check("events: a WebSocket upgrade from the node's own origin is accepted (101)", own.status == 101,
          f"status {own.status}")
    own.close()

    request = {"op": "subscribe", "topic": "telemetry", "did": device, "filter": topic_filter, "token": token}
    subscribed = exchange("subscribe telemetry -> subscribed", request,
                          lambda m: m.get("type") in ("subscribed", "error"), schema="SubscribedMessage")
    if not subscribed or subscribed.get("type") != "subscribed":
        return
    check("  the telemetry subscription answers topic telemetry and an id",
          subscribed.get("topic") == "telemetry" and isinstance(subscribed.get("id"), int), json.dumps(subscribed))
    can_publish = False
    if not state["device"] or not state.get("device_key"):
        note("no registered device: no telemetry is published")
    elif not state.get("mqtt_port"):
        check("events: an MQTT port to publish telemetry to", False, "GET /gateway named none and the node printed none")
    elif not shutil.which("mosquitto_pub"):
        note("no mosquitto_pub on PATH (Debian: mosquitto-clients): no telemetry is published")
    else:
        # A second connection watches the device's whole namespace: it sees every publish.
        everything = WebSocket(run.port, "/events")
        everything.send(json.dumps({"op": "subscribe", "topic": "telemetry", "did": device,
                                    "filter": f"mesh/{device}/#", "token": token}))
        reply, _ = everything.receive_json(lambda m: m.get("type") in ("subscribed", "error"), 10)
        check("events: telemetry on mesh/<device>/# with the device's token -> subscribed",
              reply is not None and reply.get("type") == "subscribed" and reply.get("topic") == "telemetry",
              json.dumps(reply))
        before = http_request(run.port, "GET", "/gateway").json().get("received", 0)
        # A publish outside the filter first: it must not arrive, so the first telemetry event is 21.5.
        problem = mqtt_publish(run, state, f"mesh/{device}/humidity", ["55"])
        problem = problem or mqtt_publish(run, state, topic_filter, ["21.5", "warm"])
        can_publish = check("events: the device publishes 55 on .../humidity, then 21.5 and 'warm' on .../temp "
                            "(mosquitto_pub -q 1)", not problem, problem)
        state["telemetry_published"] = can_publish
        if can_publish:
            first = exchange("a telemetry message arrives for the publish", None,
                             lambda m: m.get("type") == "telemetry", seconds=15, schema="TelemetryEventMessage")
            if first:
                view = first["telemetry"]
                check("  it is the device's 21.5 on .../temp, as text and as a number, not relayed",
                      view.get("did") == device and view.get("topic") == topic_filter and view.get("text") == "21.5"
                      and view.get("value") == 21.5 and view.get("bytes") == 4 and view.get("relayed") is False
                      and abs(view.get("timeMs", 0) / 1000 - time.time()) < 300, json.dumps(first))
            second = exchange("a second telemetry message arrives", None,
                              lambda m: m.get("type") == "telemetry", seconds=15, schema="TelemetryEventMessage")
            if second:
                view = second["telemetry"]
                check("  it is 'warm', as text without a value", view.get("text") == "warm" and "value" not in view
                      and view.get("bytes") == 4, json.dumps(second))
            after = http_request(run.port, "GET", "/gateway").json().get("received", 0)
            check("  GET /gateway counts the 3 publishes as received", after - before == 3, f"received {before} -> {after}")
            seen = []
            while len(seen) < 3:
                message, _ = everything.receive_json(lambda m: m.get("type") == "telemetry", 10)
                if message is None:
                    break
                seen.append(message)
            texts = [(m["telemetry"].get("topic", "").rpartition("/")[2], m["telemetry"].get("text")) for m in seen]
            errors = [e for e in (run.spec.errors("/components/schemas/EventMessage", m) for m in seen) if e]
            check("events: the filter mesh/<device>/# receives all 3 publishes, in order, each a valid EventMessage",
                  texts == [("humidity", "55"), ("temp", "21.5"), ("temp", "warm")] and not errors,
                  "; ".join(errors[:2]) or f"received {texts}")
        everything.close()
    exchange("unsubscribe telemetry -> unsubscribed", {"op": "unsubscribe", "id": subscribed["id"]},
             lambda m: m.get("type") in ("unsubscribed", "error"), schema="UnsubscribedMessage")
    if can_publish:
        problem = mqtt_publish(run, state, topic_filter, ["22"])
        if check("events: the device publishes 22 on .../temp after the unsubscribe", not problem, problem):
            try:
                late, _ = events_socket.receive_json(lambda m: m.get("type") == "telemetry", 2)
            except (OSError, ValueError) as error:
                late = {"error": repr(error)}
            check("events: no telemetry arrives after the unsubscribe (2 s)", late is None, json.dumps(late))


def check_provenance(run, state):
    """GET /provenance/proof for the device's published 21.5 (anchored a block or two later: 409 until
    then), its bad inputs, and GET /provenance/anchors for the proof's node and batch, proven."""
    device = state["device"] or random_did_key()
    topic = f"mesh/{device}/temp"
    digest = hashlib.sha256(b"21.5").hexdigest()
    template = "/provenance/proof"
    run.bad("GET", template, f"/provenance/proof?device={quote(device)}&payload_hash={digest}", 400, "api/10")
    run.bad("GET", template, f"/provenance/proof?device={quote(device)}&topic={quote(topic)}&payload_hash=zz", 400,
            "api/10")
    run.bad("GET", template, f"/provenance/proof?device=notadid&topic=t&payload_hash={digest}", 400, "api/5")
    unknown = hashlib.sha256(b"never published").hexdigest()
    run.bad("GET", template, f"/provenance/proof?device={quote(device)}&topic={quote(topic)}&payload_hash={unknown}",
            404, "api/16")
    if not state.get("telemetry_published"):
        note("no telemetry was published: no provenance proof to fetch")
        return
    path = f"/provenance/proof?device={quote(device)}&topic={quote(topic)}&payload_hash={digest}"
    deadline, reply = time.time() + 30, None
    while time.time() < deadline:
        reply = http_request(run.port, "GET", path)
        if reply.status != 409:
            break
        time.sleep(0.3)
    reply = run.call("GET", template, path, name=f"GET {template} (the device's 21.5, once anchored)")
    if not reply or reply.status != 200:
        return
    proof = reply.json()
    check("  the proof names the device, topic and payload hash and an anchor after its batch",
          proof.get("device") == device and proof.get("topic") == topic and proof.get("payloadHash") == digest
          and proof.get("anchoredAt", 0) > proof.get("batch", 0), json.dumps(proof)[:300])
    anchors = "/provenance/anchors/{node}/{batch}"
    # The anchor is in the state after block anchoredAt, provable once the next block commits
    # (at once: a block that changes state is followed by a proof block, but not instantly).
    path = (f"/provenance/anchors/{quote(proof['node'])}/{proof['batch']}?prove=true&device={quote(device)}"
            f"&height={proof['anchoredAt']}")
    deadline = time.time() + 30
    while time.time() < deadline and http_request(run.port, "GET", path).status != 200:
        time.sleep(0.3)
    reply = run.call("GET", anchors, path)
    if reply and reply.status == 200:
        body = reply.json()
        check("  the anchor holds the proof's root and size, the node is a validator's key, the device has keys",
              body.get("root") == proof["root"] and body.get("count") == proof["treeSize"]
              and body.get("validatorOperator") and body.get("deviceKeys") and body.get("proof"),
              json.dumps(body)[:300])
    run.bad("GET", anchors, f"/provenance/anchors/notadid/1", 400, "api/5")
    run.bad("GET", anchors, f"/provenance/anchors/{quote(proof['node'])}/-1", 400, "api/1")


def check_shadows(run, state):
    """GET /things/{did}/shadow. The registered device updates its classic shadow over MQTT 5 (its DID
    as user name, a device token as password: it owns `shadow/<did>`), waits for the gateway's
    `/update/accepted` answer, then reads the shadow over HTTP with that token as bearer. Refused: no
    bearer header (401 api/24), a token that is no JWS and the token of a second device with no
    grant on the first one's shadow (403 api/24), a device with no shadow and a name it has no
    shadow by (404 api/25), a name that is no shadow name (400 api/10), a DID that is none (400 api/5)."""
    devnet, device = run.devnet, state["device"]
    template = "/things/{did}/shadow"
    run.bad("GET", template, "/things/not-a-did/shadow", 400, "api/5")
    run.bad("GET", template, f"/things/{quote(device or random_did_key())}/shadow?name=bad%20name", 400, "api/10")
    run.bad("GET", template, f"/things/{quote(device or random_did_key())}/shadow?name={'n' * 65}", 400, "api/10",
            why="a name of 65 bytes")
    if not device or not state.get("device_key"):
        note("no registered device: no shadow is made, and GET /things/{did}/shadow never succeeds")
        return
    if not check("shadow: an MQTT port to publish the shadow update to", state.get("mqtt_port"),
                 "GET /gateway named none and the node printed none"):
        return
    common = ["--home", devnet.home, "--node", devnet.url]

    def token_of(key):
        made = devnet.cli("device", "token", *common, "--key", key)
        ok = made.returncode == 0 and made.stdout.strip().count(".") == 2
        check(f"shadow: `device token --key {key}` prints a token", ok, (made.stderr + made.stdout).strip()[-300:])
        return made.stdout.strip() if ok else None

    token = token_of(state["device_key"])
    if not token:
        return
    path = f"/things/{quote(device)}/shadow"
    run.bad("GET", template, path, 401, "api/24", why="no Authorization header")
    run.bad("GET", template, path, 401, "api/24", headers={"Authorization": f"Basic {token}"},
            why="Authorization: Basic, not Bearer")
    run.bad("GET", template, path, 403, "api/24", headers={"Authorization": "Bearer a.b.c"},
            why="a bearer token that is no JWS")
    run.bad("GET", template, path, 404, "api/25", headers={"Authorization": f"Bearer {token}"},
            why="the device's own token, before it has a shadow")

    # The device's shadow, over MQTT: an update of `reported`, answered on /update/accepted.
    base = f"$mesh/things/{device}/shadow/update"
    answers = (f"{base}/accepted", f"{base}/rejected")
    try:
        client = MQTTClient(state["mqtt_port"], device, token, "api-check-shadow")
    except ImportError as error:
        check("shadow: paho-mqtt is installed (pip install paho-mqtt)", False, repr(error))
        return
    except OSError as error:
        check("shadow: the device connects to the MQTT gateway", False, repr(error))
        return
    accepted = None
    try:
        if not check("shadow: the device connects (MQTT 5, its DID and token) -> CONNACK 0", client.ready(),
                     f"CONNACK {client.connack}"):
            return
        granted = client.subscribe(list(answers))
        if not check("shadow: the device subscribes to its /update/accepted and /update/rejected (owner of "
                     "shadow/<did>) -> SUBACK 1, 1", granted == [1, 1], f"SUBACK {granted}"):
            return
        puback = client.publish(base, json.dumps({"state": {"reported": {"temp": 21}}, "clientToken": "api-check"}))
        check("shadow: the update {\"state\":{\"reported\":{\"temp\":21}}} on .../shadow/update -> PUBACK 0",
              puback == 0, f"PUBACK {puback}")
        answer = client.message(answers, seconds=15)
        try:
            body = json.loads(answer[1]) if answer else None
        except ValueError:
            body = None
        accepted = body if answer and answer[0] == answers[0] and isinstance(body, dict) else None
        check("shadow: the gateway answers on .../update/accepted with the state set, a version and the clientToken",
              accepted is not None and accepted.get("state") == {"reported": {"temp": 21}}
              and isinstance(accepted.get("version"), int) and accepted["version"] >= 1
              and accepted.get("clientToken") == "api-check", repr(answer)[:300])
    finally:
        client.stop()
    if accepted is None:
        return

    reply = run.call("GET", template, path, headers={"Authorization": f"Bearer {token}"},
                     name=f"GET {path} (Authorization: Bearer <the device's token>)")
    if reply and reply.status == 200:
        body = reply.json()
        shadows = body.get("shadows") or [{}]
        document = shadows[0].get("document") or {}
        check("  it is the device's classic shadow (no name) with state.reported.temp 21, at the accepted version",
              body.get("thing") == device and len(shadows) == 1 and "name" not in shadows[0]
              and document.get("state", {}).get("reported", {}).get("temp") == 21
              and document.get("version") == accepted["version"], reply.body[:300])
    reply = run.call("GET", template, path + "?name=", headers={"Authorization": f"Bearer {token}"},
                     name=f"GET {path}?name= (the classic shadow only)")
    if reply and reply.status == 200:
        check("  ?name= answers the classic shadow alone", [s.get("name") for s in reply.json()["shadows"]] == [None],
              reply.body[:300])
    run.bad("GET", template, path + "?name=lamp", 404, "api/25", headers={"Authorization": f"Bearer {token}"},
            why="no shadow by that name")
    gateway = http_request(run.port, "GET", "/gateway").json()
    if "shadows" in gateway:
        check("  GET /gateway counts the shadow and the request", gateway["shadows"] >= 1
              and gateway.get("shadowRequests", 0) >= 1, json.dumps(gateway)[:300])
    else:
        note("GET /gateway has no shadow counters (a binary from before they were added)")

    # A second device, with no grant on the first one's shadow, is refused it; it has none itself.
    made = devnet.cli("device", "register", *common, "--controller", "owner", "--name", "shadow-other",
                      "--insecure-plaintext", "--output", "json")
    found = re.search(r"did:mesh:[1-9A-HJ-NP-Za-km-z]+", made.stdout)
    if not check("shadow: a second device 'shadow-other' is registered", made.returncode == 0 and found,
                 (made.stderr + made.stdout).strip()[-300:]):
        return
    other, other_token = found.group(0), token_of("shadow-other")
    if not other_token:
        return
    run.bad("GET", template, path, 403, "api/24", headers={"Authorization": f"Bearer {other_token}"},
            why="the token of another device, not allowed shadow.read on it")
    run.bad("GET", template, f"/things/{quote(other)}/shadow", 404, "api/25",
            headers={"Authorization": f"Bearer {other_token}"}, why="a device with no shadow, its own token")


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def upload_authorization(seed_hex, message):
    """`Mesh-Upload <key>.<signature>`: the deal owner's Ed25519 signature over `message` in the
    domain meshwork/storage-upload/v1 (signing input: varint(tag length) ‖ tag ‖ message), made
    here with an independent Ed25519 implementation (pyca/cryptography)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    tag = b"meshwork/storage-upload/v1"
    signature = key.sign(varint(len(tag)) + tag + message)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return f"Mesh-Upload {b64(public)}.{b64(signature)}"


def cid_bytes(text):
    """The binary form of a base32 CIDv1 string (`b…`)."""
    body = text[1:].upper()
    return base64.b32decode(body + "=" * (-len(body) % 8))


def check_storage(run, state):
    """The storage routes: node-0 registers as a provider, `store put` places a 3000-byte object on
    it with code 1+0 (so the node's own API receives the shard and manifest), then every storage
    operation is called, and its bad inputs. Uploads are signed here, as the deal's owner, with
    an Ed25519 implementation independent of the node's (an interop check of the Mesh-Upload
    signature); unsigned and wrongly signed uploads get 401 api/23."""
    devnet = run.devnet
    node = f"http://127.0.0.1:{run.port}"
    done = subprocess.run([devnet.binary, "provider", "register", "--node-home", os.path.join(devnet.home, "node-0"),
                           "--capacity", "1GiB", "--price", "5", "--region", "eu", "--node", node],
                          capture_output=True, text=True, timeout=120)
    if not check("storage: `provider register` makes node-0 a provider", done.returncode == 0, done.stderr[-400:]):
        return
    source = os.path.join(devnet.home, "object.bin")
    with open(source, "wb") as file:
        file.write(os.urandom(3000))
    done = subprocess.run([devnet.binary, "store", "put", source, "--code", "1+0", "--duration", "1000", "--home",
                           devnet.home, "--node", node, "--output", "json"], capture_output=True, text=True, timeout=120)
    if not check("storage: `store put` stores an object on node-0", done.returncode == 0, done.stderr[-400:]):
        return
    put = json.loads(done.stdout)
    state["capability"] = put.get("capability")
    reply = run.call("GET", "/storage/providers", "/storage/providers")
    if reply and reply.status == 200:
        check("  node-0 is listed, active, in region eu", any(p["region"] == "eu" and p["active"]
              for p in reply.json()["providers"]), reply.body[:300])
    reply = run.call("GET", "/storage/deals", "/storage/deals?limit=10")
    if reply and reply.status == 200:
        check("  the deal is listed among the live deals", any(d["id"] == put["deal"] for d in reply.json()["deals"]),
              reply.body[:300])
    run.bad("GET", "/storage/deals", "/storage/deals?limit=0", 400, "api/10")
    template = "/storage/deals/{ref}"
    run.call("GET", template, f"/storage/deals/{put['deal']}")
    reply = run.call("GET", template, f"/storage/deals/{put['manifest']}")
    if not reply or reply.status != 200:
        return
    deal = reply.json()
    root = deal["shards"][0]["root"]
    reply = run.call("GET", "/storage/shards/{root}", f"/storage/shards/{root}")
    shard = reply.body if reply and reply.status == 200 else b""
    check("  the shard is its deal's size and holds no plaintext", len(shard) == deal["shardBytes"]
          and open(source, "rb").read()[:64] not in shard)
    reply = run.call("GET", "/storage/manifests/{cid}", f"/storage/manifests/{put['manifest']}")
    manifest = reply.body if reply and reply.status == 200 else b""
    octets = {"Content-Type": "application/octet-stream"}
    # Uploads are signed by the deal's owner (the devnet's `owner` key) over the exact deal, index
    # and root, or the manifest's CID; the chain id is string-encoded (varint length first).
    seed = json.load(open(os.path.join(devnet.home, "keys", "owner.json")))["plaintextSeed"]
    chain = json.load(open(os.path.join(devnet.home, "node-0", "genesis.json")))["chainId"].encode()
    manifest_auth = upload_authorization(seed, varint(len(chain)) + chain + b"\x02"
                                         + varint(len(cid_bytes(put["manifest"]))) + cid_bytes(put["manifest"]))
    shard_auth = upload_authorization(seed, varint(len(chain)) + chain + b"\x01" + int(put["deal"]).to_bytes(8, "big")
                                      + (0).to_bytes(2, "big") + bytes.fromhex(root))
    run.call("PUT", "/storage/manifests/{cid}", f"/storage/manifests/{put['manifest']}", expect=(201,), body=manifest,
             headers={**octets, "Authorization": manifest_auth})
    run.call("PUT", "/storage/deals/{ref}/shards/{index}", f"/storage/deals/{put['deal']}/shards/0", expect=(201,),
             body=shard, headers={**octets, "Authorization": shard_auth}, name="PUT the shard again (already held)")
    run.bad("PUT", "/storage/deals/{ref}/shards/{index}", f"/storage/deals/{put['deal']}/shards/0", 401, "api/23",
            body=shard, headers=octets)
    run.bad("PUT", "/storage/deals/{ref}/shards/{index}", f"/storage/deals/{put['deal']}/shards/0", 401, "api/23",
            body=shard, headers={**octets, "Authorization": manifest_auth})
    run.bad("GET", template, "/storage/deals/not-a-deal", 400, "api/10")
    run.bad("GET", template, "/storage/deals/999999", 404, "api/19")
    run.bad("GET", "/storage/shards/{root}", "/storage/shards/xyz", 400, "api/10")
    run.bad("GET", "/storage/shards/{root}", f"/storage/shards/{'0' * 64}", 404, "api/19")
    run.bad("PUT", "/storage/deals/{ref}/shards/{index}", f"/storage/deals/{put['deal']}/shards/3", 403, "api/18",
            body=b"x", headers=octets)
    run.bad("PUT", "/storage/manifests/{cid}", f"/storage/manifests/{put['manifest']}", 400, "shardstore/5",
            body=b"not the manifest", headers={**octets, "Authorization": manifest_auth})
    run.bad("GET", "/storage/manifests/{cid}", "/storage/manifests/nope", 400, "api/10")


def check_payments(run, state):
    """The payment routes: the owner opens a channel and a stream to the transfer's recipient and
    prices a topic of its own (`meshwork pay` and `market`), then every payment operation is
    called, with `?prove=true` too, and its bad inputs."""
    devnet = run.devnet
    node = f"http://127.0.0.1:{run.port}"
    base = ["--home", devnet.home, "--node", node, "--from", "owner", "--output", "json"]

    def cli(*args):
        done = subprocess.run([devnet.binary, *args, *base], capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout) if done.returncode == 0 else None, done.stderr[-300:]

    opened, why = cli("pay", "channel", "open", "--to", state["recipient"], "--deposit", "5000")
    if not check("payments: `pay channel open` opens a channel", opened is not None, why):
        return
    stream, why = cli("pay", "stream", "open", "--to", state["recipient"], "--rate", "3", "--deposit", "900")
    if not check("payments: `pay stream open` opens a stream", stream is not None, why):
        return
    listed, why = cli("market", "list", "--pattern", f"mesh/{state['owner']}/api-check", "--price-per-message", "2")
    if not check("payments: `market list` prices a topic", listed is not None, why):
        return
    run.wait_height(max(opened["height"], stream["height"], listed["height"]) + 2, 30)
    channel, owner = opened["channel"], urllib.parse.quote(state["owner"], safe="")
    for proved in ("", "?prove=true"):
        reply = run.call("GET", "/channels/{id}", f"/channels/{channel}{proved}")
        if reply and reply.status == 200:
            shown = reply.json()["channels"][0]
            check(f"  channel {channel}: deposit 5000, open, paid by the owner{' (proven)' if proved else ''}",
                  shown["deposit"] == 5000 and shown["status"] == "open" and shown["payer"] == state["owner"]
                  and (not proved or reply.json().get("proof")), reply.body[:300])
        run.call("GET", "/channels", f"/channels?party={owner}{'&prove=true' if proved else ''}")
        reply = run.call("GET", "/streams/{id}", f"/streams/{stream['stream']}{proved}")
        if reply and reply.status == 200:
            shown = reply.json()["streams"][0]
            check(f"  stream {stream['stream']}: rate 3/s, deposit + owed within 900",
                  shown["ratePerSecond"] == 3 and shown["owed"] <= shown["deposit"] <= 900, reply.body[:300])
        run.call("GET", "/streams", f"/streams?party={owner}{'&prove=true' if proved else ''}")
        reply = run.call("GET", "/market", f"/market?owner={owner}{'&prove=true' if proved else ''}")
        if reply and reply.status == 200:
            check("  the listing is shown with its price", any(
                item["pattern"] == f"mesh/{state['owner']}/api-check" and item["pricePerMessage"] == 2
                for item in reply.json()["listings"]), reply.body[:300])
    run.call("GET", "/market", "/market")
    run.bad("GET", "/channels/{id}", "/channels/999999", 404, "api/19")
    run.bad("GET", "/channels/{id}", "/channels/abc", 400, "api/10")
    run.bad("GET", "/streams/{id}", "/streams/999999", 404, "api/19")
    run.bad("GET", "/channels", "/channels", 400, "api/5")
    run.bad("GET", "/channels", "/channels?party=not-a-did", 400)
    run.bad("GET", "/market", "/market?owner=did:key:zzz", 400)


def check_oracle(run, state):
    """The oracle routes: the owner creates a feed it reports itself, then every oracle operation
    is called (with `?prove=true`), and the reputation of the owner."""
    devnet = run.devnet
    node = f"http://127.0.0.1:{run.port}"
    done = subprocess.run([devnet.binary, "oracle", "create-feed", "--id", "api-check.temp", "--unit", "degC",
                           "--reporter", state["owner"], "--min-reporters", "1", "--home", devnet.home, "--node", node,
                           "--from", "owner", "--output", "json"], capture_output=True, text=True, timeout=120)
    if not check("oracle: `oracle create-feed` creates a feed", done.returncode == 0, done.stderr[-300:]):
        return
    created = json.loads(done.stdout)
    run.wait_height(created["height"] + 2, 30)
    owner = urllib.parse.quote(state["owner"], safe="")
    for proved in ("", "?prove=true"):
        reply = run.call("GET", "/oracle/feeds", f"/oracle/feeds{proved}")
        if reply and reply.status == 200:
            check("  the feed is listed, stale (no round yet)", any(f["id"] == "api-check.temp" and f["stale"]
                  for f in reply.json()["feeds"]), reply.body[:300])
        reply = run.call("GET", "/oracle/feeds/{id}", f"/oracle/feeds/api-check.temp{proved}")
        if reply and reply.status == 200:
            shown = reply.json()["feeds"][0]
            check("  one reporter, threshold 1, unit degC", shown["threshold"] == 1 and shown["unit"] == "degC"
                  and shown["reporters"] == [state["owner"]], reply.body[:300])
        reply = run.call("GET", "/reputation/{did}", f"/reputation/{owner}{proved}")
        if reply and reply.status == 200:
            check("  the owner's reputation is 500 with no evidence", reply.json()["score"] == 500, reply.body[:300])
    for proved in ("", "?prove=true"):
        reply = run.call("GET", "/vc/status/{did}", f"/vc/status/{owner}{proved}")
        if reply and reply.status == 200:
            check("  the owner's revocation list is a BitstringStatusListCredential with nothing revoked",
                  reply.json()["revoked"] == 0 and "BitstringStatusListCredential" in reply.json()["credential"]["type"],
                  reply.body[:300])
    run.bad("GET", "/vc/status/{did}", "/vc/status/not-a-did", 400)
    run.bad("GET", "/oracle/feeds/{id}", "/oracle/feeds/nothing-here", 404, "api/19")
    run.bad("GET", "/oracle/feeds/{id}", "/oracle/feeds/api-check.temp?history=1000", 400, "api/10")
    run.bad("GET", "/reputation/{did}", "/reputation/not-a-did", 400)


def check_contracts_and_compute(run, state):
    """The contract and compute routes: the owner stores and instantiates the counter example, then
    every contract operation is called (with `?prove=true`); a job on the stored object (no compute
    provider bids on this devnet, so it stays in auction) makes the compute routes answer."""
    devnet = run.devnet
    node = f"http://127.0.0.1:{run.port}"
    base = ["--home", devnet.home, "--node", node, "--from", "owner", "--output", "json"]

    def cli(*args):
        done = subprocess.run([devnet.binary, *args, *base], capture_output=True, text=True, timeout=120)
        return done, (json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None)

    wasm = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Examples", "contracts", "counter", "counter.wasm")
    done, stored = cli("contract", "store", wasm)
    if not check("contracts: `contract store` stores the counter example", stored is not None, done.stderr[-300:]):
        return
    done, made = cli("contract", "instantiate", stored["codeId"], "--msg", "{}", "--label", "api-check")
    if not check("contracts: `contract instantiate` makes a counter", made is not None, done.stderr[-300:]):
        return
    run.wait_height(made["height"] + 2, 30)
    contract = urllib.parse.quote(made["contract"], safe="")
    reply = run.call("GET", "/contracts", "/contracts")
    if reply and reply.status == 200:
        check("  the code and the contract are listed", any(c["codeId"] == stored["codeId"] for c in reply.json()["codes"])
              and any(c["contract"] == made["contract"] for c in reply.json()["contracts"]), reply.body[:300])
    message = urllib.parse.quote('{"get":{}}', safe="")
    for proved in ("", "&prove=true"):
        reply = run.call("GET", "/contracts/{did}", f"/contracts/{contract}" + ("?prove=true" if proved else ""))
        if reply and reply.status == 200:
            check("  the contract's label and code", reply.json()["label"] == "api-check"
                  and reply.json()["codeId"] == stored["codeId"], reply.body[:300])
        reply = run.call("GET", "/contracts/{did}/query", f"/contracts/{contract}/query?msg={message}{proved}")
        if reply and reply.status == 200:
            check("  the query answers {\"count\":0}", reply.json()["result"] == '{"count":0}', reply.body[:300])
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number, digits = int.from_bytes(bytes(range(1, 17)), "big"), ""
    while number:
        number, digit = divmod(number, 58)
        digits = alphabet[digit] + digits
    unknown = urllib.parse.quote("did:mesh:" + digits, safe="")  # a well-formed did:mesh nothing made
    run.bad("GET", "/contracts/{did}", f"/contracts/{unknown}", 404, "api/26")
    run.bad("GET", "/contracts/{did}", "/contracts/not-a-did", 400)
    run.bad("GET", "/contracts/{did}/query", f"/contracts/{contract}/query", 400, "api/27")
    run.call("GET", "/compute/providers", "/compute/providers")
    capability = state.get("capability")
    if check("compute: the stored object's capability is known", bool(capability)):
        done, job = cli("compute", "submit", capability, "--input", capability, "--detach", "--price", "5")
        if check("compute: `compute submit --detach` submits a job on the stored object", job is not None,
                 done.stderr[-300:]):
            reply = run.call("GET", "/compute/jobs", "/compute/jobs")
            if reply and reply.status == 200:
                check("  the job is listed", any(j["id"] == job["job"] for j in reply.json()["jobs"]), reply.body[:300])
            reply = run.call("GET", "/compute/jobs/{id}", f"/compute/jobs/{job['job']}")
            if reply and reply.status == 200:
                check("  the job names the object as module and input", reply.json()["inputs"] == [reply.json()["module"]],
                      reply.body[:300])
    run.bad("GET", "/compute/jobs/{id}", "/compute/jobs/999999", 404, "api/28")
    run.bad("GET", "/compute/jobs/{id}", "/compute/jobs/abc", 400, "api/10")


def check_gov(run, state):
    """The governance and firmware routes. The owner submits an expedited upgrade proposal (its
    height far ahead) that validator-0 votes through, and a text proposal; it registers a device of
    a model of its own, publishes firmware for that model and rolls it out to the device. Then every
    governance and firmware operation is called (/params at a height and with `prove`), once the
    upgrade passed /gov/upgrade with its plan, and the bad inputs."""
    devnet = run.devnet
    node = f"http://127.0.0.1:{run.port}"
    base = ["--home", devnet.home, "--node", node, "--output", "json"]

    def cli(*args):
        done = subprocess.run([devnet.binary, *args, *base], capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout) if done.returncode == 0 else None, (done.stderr + done.stdout)[-300:]

    # Parameters first: the chain is unchanged by governance so far.
    latest = run.height()
    past = max(1, latest - 2)
    reply = run.call("GET", "/params", "/params")
    if reply and reply.status == 200:
        body = reply.json()
        mismatched = [spec["name"] for spec in body["specs"]
                      if body["params"].get(spec["name"].split(".")[0], {}).get(spec["name"].split(".", 1)[1]) != spec["value"]
                      or not spec["min"] <= spec["value"] <= spec["max"]]
        check("  /params: every spec's value is the one under params.<module>.<name>, within its bounds; the devnet's "
              "gov.minDeposit is 1,000,000", not mismatched and body["params"]["gov"]["minDeposit"] == 1_000_000,
              f"mismatched {mismatched[:5]}; gov {body['params'].get('gov')}")
    reply = run.call("GET", "/params", f"/params?height={past}")
    if reply and reply.status == 200:
        check(f"  /params?height={past} answers that height", reply.json()["height"] == past, reply.body[:200])
    for query in ("?prove=true", f"?prove=true&height={past}"):
        reply = run.call("GET", "/params", f"/params{query}")
        if reply and reply.status == 200:
            entries = (reply.json().get("proof") or {}).get("entries") or []
            check(f"  GET /params{query} carries a proof of the keys it read", len(entries) >= 2, reply.body[:200])
    run.bad("GET", "/params", "/params?height=abc", 400, "api/1")
    run.bad("GET", "/params", "/params?prove=maybe", 400, "api/10")
    run.bad("GET", "/params", "/params?height=999999999", 404, "state/2")

    # An upgrade passed by an expedited vote (10 s of BFT time), then a text proposal.
    upgrade_height = latest + 1_000_000
    upgrade, why = cli("gov", "submit", "--from", "owner", "--deposit", "5000000", "--expedited", "--title",
                       "api-check upgrade", "--summary", "an upgrade far ahead", "--upgrade", "api-check-upgrade",
                       "--upgrade-height", str(upgrade_height), "--upgrade-sha256", "ab" * 32)
    if check("gov: `gov submit --expedited --upgrade` opens a proposal in voting",
             upgrade is not None and upgrade.get("status") == "voting", why):
        voted, why = cli("gov", "vote", str(upgrade["proposal"]), "yes", "--from", "validator-0")
        check("gov: validator-0 votes yes on it", voted is not None, why)
    text, why = cli("gov", "submit", "--from", "owner", "--deposit", "1000000", "--title", "api-check <text>",
                    "--summary", "a text proposal")
    if check("gov: `gov submit` of a text proposal opens it in voting",
             text is not None and text.get("status") == "voting", why):
        proposal = text["proposal"]
        reply = run.call("GET", "/gov/proposals", "/gov/proposals")
        if reply and reply.status == 200:
            listed = reply.json()["proposals"]
            check("  /gov/proposals lists it first (newest first), in voting, with no messages",
                  listed and listed[0]["id"] == proposal and listed[0]["status"] == "voting"
                  and listed[0]["messages"] == [] and listed[0]["title"] == "api-check <text>"
                  and listed[0]["proposer"] == state["owner"], reply.body[:300])
        reply = run.call("GET", "/gov/proposals/{id}", f"/gov/proposals/{proposal}")
        if reply and reply.status == 200:
            shown = reply.json()["proposal"]
            check("  /gov/proposals/{id} is that proposal with a live tally over the bonded tokens",
                  shown["id"] == proposal and shown["deposit"] == 1_000_000 and shown["tally"]["bonded"] > 0
                  and shown["votingEndMs"] > shown["votingStartMs"] > 0, reply.body[:300])
    run.bad("GET", "/gov/proposals/{id}", "/gov/proposals/999999", 404, "api/19")
    run.bad("GET", "/gov/proposals/{id}", "/gov/proposals/abc", 400, "api/10")

    # A device of its own model, a firmware release for it and a rollout to it.
    model = "api-check-m1"
    made, why = cli("device", "register", "--controller", "owner", "--name", "ota-device", "--model", model,
                    "--insecure-plaintext")
    image = os.path.join(devnet.home, "firmware.bin")
    with open(image, "wb") as file:
        file.write(os.urandom(4096))
    digest = hashlib.sha256(open(image, "rb").read()).hexdigest()
    published, why = cli("ota", "publish", "--from", "owner", "--model", model, "--version", "1.0", "--file", image) \
        if made else (None, why)
    rollout, why = cli("ota", "rollout", "--from", "owner", "--firmware", str(published["firmware"]), "--stage",
                       "100:100:100:100") if published else (None, why)
    if check("ota: a device of model api-check-m1, its firmware 1.0 published and rolled out to it",
             rollout is not None and rollout.get("devices") == 1, why):
        reply = run.call("GET", "/ota/firmware", "/ota/firmware")
        if reply and reply.status == 200:
            check("  /ota/firmware lists the release with the file's sha256 and size", any(
                f["id"] == published["firmware"] and f["model"] == model and f["sha256"] == digest and f["size"] == 4096
                for f in reply.json()["firmware"]), reply.body[:300])
        reply = run.call("GET", "/ota/rollouts", "/ota/rollouts")
        if reply and reply.status == 200:
            check("  /ota/rollouts lists the rollout", any(r["id"] == rollout["rollout"] for r in reply.json()["rollouts"]),
                  reply.body[:300])
        reply = run.call("GET", "/ota/rollouts/{id}", f"/ota/rollouts/{rollout['rollout']}")
        if reply and reply.status == 200:
            shown = reply.json()["rollout"]
            check("  /ota/rollouts/{id}: the firmware, 1 device, one stage, controller approval",
                  shown["firmware"]["id"] == published["firmware"] and shown["devices"] == 1
                  and len(shown["stages"]) == 1 and shown["approval"] == "controller"
                  and shown["controller"] == state["owner"], reply.body[:300])
    else:
        run.call("GET", "/ota/firmware", "/ota/firmware")
        run.call("GET", "/ota/rollouts", "/ota/rollouts")
    run.bad("GET", "/ota/rollouts/{id}", "/ota/rollouts/999999", 404, "api/19")
    run.bad("GET", "/ota/rollouts/{id}", "/ota/rollouts/abc", 400, "api/10")

    # The upgrade passes once a block's BFT time reaches the end of its vote.
    reply = run.call("GET", "/gov/upgrade", "/gov/upgrade")
    if upgrade is None:
        return
    deadline, plan = time.time() + 60, None
    while time.time() < deadline and plan is None:
        plan = http_request(run.port, "GET", "/gov/upgrade").json().get("plan")
        if plan is None:
            time.sleep(0.5)
    reply = run.call("GET", "/gov/upgrade", "/gov/upgrade", name="GET /gov/upgrade (the upgrade passed)")
    if reply and reply.status == 200:
        body = reply.json()
        check("  /gov/upgrade has the plan: its name, height and binary sha256; nothing applied",
              body.get("plan") == {"name": "api-check-upgrade", "height": upgrade_height, "binarySHA256": "ab" * 32,
                                   "info": ""} and body["applied"] == [], reply.body[:300])
    reply = run.call("GET", "/gov/proposals/{id}", f"/gov/proposals/{upgrade['proposal']}")
    if reply and reply.status == 200:
        shown = reply.json()["proposal"]
        check("  the upgrade proposal passed, with its one message and an outcome",
              shown["status"] == "passed" and len(shown["messages"]) == 1 and shown["outcome"] and shown["endHeight"] > 0,
              reply.body[:300])

def check_bad_input(run, state):
    owner = state["owner"]
    json_headers = {"Content-Type": "application/json"}
    octet = {"Content-Type": "application/octet-stream"}
    run.bad("POST", "/txs", "/txs", 400, "api/4", body='{"tx": ', headers=json_headers)
    run.bad("POST", "/txs", "/txs", 400, "api/4", body='{"tx": "zz"}', headers=json_headers)
    run.bad("POST", "/txs", "/txs", 400, "api/4", body='{"transaction": "00"}', headers=json_headers)
    run.bad("POST", "/txs", "/txs", 400, "api/4", body=b"", headers=octet)
    run.bad("POST", "/txs", "/txs?wait=later", 400, "api/2", body=b"\x00", headers=octet)
    limit = run.devnet.body_bytes_max()
    body = b"\x00" * (limit + 1024)
    head = (f"POST /txs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    try:
        reply = raw_request(run.port, head, body)
        run.bad("POST", "/txs", f"/txs (body of {len(body)} bytes; api.body_bytes_max {limit})", 413, "api/3", reply=reply)
    except OSError as error:
        check(f"bad input POST /txs (body of {len(body)} bytes)", False, repr(error))
    run.bad("GET", None, "/nope", 404, "api/7")
    run.bad("POST", None, "/status", 404, "api/7", body=b"{}", headers=json_headers)
    run.bad("DELETE", None, "/blocks/1", 404, "api/7")
    run.bad("GET", "/accounts/{did}", "/accounts/notadid", 400, "api/5")
    run.bad("GET", "/dids/{did}", "/dids/did:mesh:!!", 400, "api/5")
    run.bad("GET", "/dids/{did}", "/dids/did:key:zzz", 400, "api/5")
    run.bad("GET", "/dids/{did}", f"/dids/did:mesh:{base58(os.urandom(16))}", 404, "identity/1")
    run.bad("GET", "/blocks/{height}", "/blocks/abc", 400, "api/1")
    run.bad("GET", "/blocks/{height}", "/blocks/-1", 400, "api/1")
    run.bad("GET", "/blocks/{height}", "/blocks/0", 404, "api/6")
    run.bad("GET", "/blocks/{height}", "/blocks/99999999", 404, "api/6")
    run.bad("GET", "/blocks/{height}", "/blocks/18446744073709551616", 400, "api/1")
    run.bad("GET", "/validators", "/validators?height=abc", 400, "api/1")
    run.bad("GET", "/validators", "/validators?height=0", 404, "api/6")
    run.bad("GET", "/validators", "/validators?height=99999999", 404, "api/6")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?height=-1", 400, "api/1")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?height=abc", 400, "api/1")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?height=999999999", 404, "state/2")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?prove=maybe", 400, "api/10")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?prove=true&height=999999999", 404, "api/11")
    run.bad("GET", "/dids/{did}", f"/dids/{owner}?prove=yes", 400, "api/10")
    run.bad("GET", "/dids", "/dids?controller=notadid", 400, "api/5")
    run.bad("GET", "/dids", "/dids?height=999999999", 404, "state/2")
    run.bad("GET", "/policies", "/policies", 400, "api/5")
    run.bad("GET", "/policies", "/policies?subject=did:key:nope", 400, "api/5")
    run.bad("GET", "/policies/check", "/policies/check", 400, "api/5")
    run.bad("GET", "/policies/check", f"/policies/check?subject={quote(owner)}", 400, "api/10")
    run.bad("GET", "/policies/check", f"/policies/check?subject={quote(owner)}&action=fly&resource=a", 400, "api/10")
    run.bad("GET", "/policies/check", f"/policies/check?subject={quote(owner)}&action=mqtt.publish", 400, "api/10")
    run.bad("GET", "/txs/{hash}", "/txs/xyz", 400, "api/9")
    run.bad("GET", "/txs/{hash}", "/txs/" + "a" * 63, 400, "api/9")
    run.bad("GET", "/txs/{hash}", "/txs/" + "0" * 64, 404, "api/8")
    for path in ("/dids?limit=-1", "/dids?limit=abc"):
        reply = http_request(run.port, "GET", path)
        note(f"GET {path} answers {reply.status} {reply.body[:80]!r}")
    # Heights past Int64.max reach the stores last: a trap there would take the node down.
    run.bad("GET", "/blocks/{height}", "/blocks/18446744073709551615", 404, "api/6")
    run.bad("GET", "/validators", "/validators?height=18446744073709551615", 404, "api/6")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?height=18446744073709551615", 404, "state/2")
    run.bad("GET", "/accounts/{did}", f"/accounts/{owner}?prove=true&height=18446744073709551615", 404, "api/11")
    check("the node still answers /status after the bad input", run.alive(), "the node is down:\n" + run.devnet.log_tail())


def main():
    arguments = sys.argv[1:]
    if len(arguments) != 1:
        raise SystemExit(__doc__)
    devnet = Devnet(os.path.abspath(arguments[0]))
    atexit.register(lambda: devnet.stop(keep=any(not ok for ok, _ in results)))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(130))
    print(f"api-check: devnet in {devnet.home}, API {devnet.url}, P2P port {devnet.p2p_port}", flush=True)
    devnet.start()
    run = Run(devnet, None)
    if not check("devnet reaches height 3", run.wait_height(3, 120), devnet.log_tail()):
        raise SystemExit(1)
    run.proxy = CaptureProxy(devnet.api_port, free_port(devnet.ports))

    served = http_request(devnet.api_port, "GET", "/openapi.json")
    check("GET /openapi.json answers 200 JSON", served.status == 200 and served.content_type == "application/json")
    try:
        doc = json.loads(served.body)
    except ValueError as error:
        check("/openapi.json parses", False, repr(error))
        raise SystemExit(1)
    run.spec = spec = Spec(doc)
    check_document(spec, served.body)

    state = setup_state(run, devnet, run.proxy)
    if state["tx_height"]:
        run.wait_height(state["tx_height"] + 2, 30)
    check_operations(run, state)
    check_events(run, spec, state)
    check_provenance(run, state)
    check_shadows(run, state)
    check_storage(run, state)
    check_payments(run, state)
    check_oracle(run, state)
    check_contracts_and_compute(run, state)
    check_gov(run, state)
    check_bad_input(run, state)

    missing = spec.operations() - run.succeeded
    check("every documented operation answered with success at least once", not missing,
          f"never succeeded: {sorted(f'{m} {p}' for m, p in missing)}")
    failed = sum(1 for ok, _ in results if not ok)
    print(f"api-check: {len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
