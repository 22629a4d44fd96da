"""Node-core acceptance phases (issue 17), run by devnet-faults.py on its 4-validator devnet
while its steady transfer load runs (so the checks share one devnet).

flood(): for 30 s node 0 receives, as fast as one client sends them, distinct well-formed
  transactions with bad signatures over HTTP and over P2P (`meshwork bench flood`, a peer of the
  test's own), plus a burst of proven queries. Checks: the chain commits throughout (no gap over
  2 s between blocks, by BFT time), every API caller gets an answer (400 or 503 for the flood,
  200 or 503 for the queries; none hangs), the flooding peer is banned, and 5 s after the flood
  node 0's mempool and queues are back to normal.

nonce_order(): one signer's nonces n+1 (fee 5) then n (fee 1), submitted in that order, both
  commit, in nonce order, in one or two blocks.
"""
import concurrent.futures, hashlib, json, subprocess, time, urllib.error, urllib.request

FLOOD_SECONDS = 30
GAP_MAX_MS = 2000


def _get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return response.status, response.read()


def _post(port, path, body, timeout=40):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _metrics(port):
    _, body = _get(port, "/metrics")
    values = {}
    for line in body.decode().splitlines():
        if line.startswith("meshwork_queue_waiting") or line.startswith("meshwork_mempool_size"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def _proven_query(port, did):
    """One proven account query; its HTTP status, or 'timeout'/'error'."""
    try:
        status, _ = _get(port, f"/accounts/{did}?prove=true", timeout=10)
        return status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:  # a hang shows up as a timeout here
        return "timeout" if "timed out" in str(error) else f"error: {error}"


def flood(meshwork, api, p2p, owner_did, log):
    status = json.loads(_get(api, "/status")[1])
    start_height = status["height"]
    started = time.time()
    flooder = subprocess.Popen(
        [meshwork, "bench", "flood", "--json", "--seconds", str(FLOOD_SECONDS), "--api-port", str(api),
         "--p2p", f"{status['nodeId']}@127.0.0.1:{p2p}", "--chain-id", status["chainId"]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The burst of proven queries, a third of the way in: 400 queries on 16 connections at once.
    time.sleep(FLOOD_SECONDS / 3)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: _proven_query(api, owner_did), range(400)))
    try:
        out, err = flooder.communicate(timeout=FLOOD_SECONDS + 60)
    except subprocess.TimeoutExpired:
        flooder.kill()
        raise SystemExit("FAIL: the flood client did not finish")
    ended = time.time()
    if flooder.returncode != 0:
        raise SystemExit(f"FAIL: meshwork bench flood exited {flooder.returncode}: {err[-2000:]}")
    report = json.loads(out)
    http, peer = report["http"], report["p2p"]
    log(f"flood: http {http['requests']} requests ({http['answered']}), {http['errors']} errors, "
        f"slowest {http['slowestMs']:.0f} ms; p2p {peer['transactions']} transactions in {peer['batches']} batches, "
        f"connected {peer['connectedSeconds']:.1f} s, {peer['disconnects']} disconnects")
    bad = {code: count for code, count in http["answered"].items() if code not in ("400", "503")}
    if http["requests"] == 0 or bad or http["errors"]:
        raise SystemExit(f"FAIL: flood requests must all be answered 400 or 503: {http}")
    if peer["transactions"] == 0 or peer["disconnects"] == 0:
        raise SystemExit(f"FAIL: the flooding peer sent nothing or was never disconnected (banned): {peer}")
    counts = {answer: answers.count(answer) for answer in set(answers)}
    log(f"proven queries during the flood: {counts}")
    if any(answer not in (200, 503) for answer in answers):
        raise SystemExit(f"FAIL: every proven query must be answered 200 or 503: {counts}")

    # The chain committed throughout: block times (BFT) over the flood, read from node 1.
    end_height = json.loads(_get(api + 1, "/status")[1])["height"]
    times = [started * 1000]
    for height in range(start_height + 1, end_height + 1):
        header = json.loads(_get(api + 1, f"/blocks/{height}")[1])["header"]
        if header["timeMs"] >= started * 1000:
            times.append(header["timeMs"])
    times.append(ended * 1000)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    log(f"blocks during the flood: {len(times) - 2}, longest gap {max(gaps):.0f} ms")
    if max(gaps) > GAP_MAX_MS:
        raise SystemExit(f"FAIL: a gap of {max(gaps):.0f} ms between blocks during the flood (at most {GAP_MAX_MS})")

    # Back to normal 5 s after the flood.
    time.sleep(5)
    metrics = _metrics(api)
    mempool = json.loads(_get(api, "/status")[1])["mempoolSize"]
    waiting = {name: value for name, value in metrics.items() if name.startswith("meshwork_queue_waiting")}
    log(f"5 s after the flood: mempool {mempool}, queues {waiting}")
    if mempool > 10 or any(value > 10 for value in waiting.values()):
        raise SystemExit(f"FAIL: node 0 is not back to normal 5 s after the flood: mempool {mempool}, {waiting}")
    log("PASS: flood refused, every caller answered, peer banned, chain committed throughout, node back to normal")


def nonce_order(meshwork, home, api, env, log):
    """n+1 (fee 5) then n (fee 1) from one signer: both commit, in nonce order."""
    def sign(nonce, fee):
        result = subprocess.run(
            [meshwork, "tx", "transfer", "--home", home, "--from", "owner", "--to",
             "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp", "--amount", "1", "--nonce", str(nonce),
             "--fee", str(fee), "--sign-only", "--node", f"http://127.0.0.1:{api}"],
            capture_output=True, text=True, env=env, check=True)
        return bytes.fromhex(result.stdout.strip())

    owner = subprocess.run([meshwork, "keys", "show", "owner", "--home", home, "--output", "json"],
                           capture_output=True, text=True, env=env, check=True)
    did = json.loads(owner.stdout)["did"]
    nonce = json.loads(_get(api, f"/accounts/{did}")[1])["nonce"]
    later, earlier = sign(nonce + 1, 5000), sign(nonce, 1000)
    status, answer = _post(api, "/txs?wait=sync", later)
    if status != 200 or answer.get("code") != 0:
        raise SystemExit(f"FAIL: nonce n+1 before n was refused: {status} {answer}")
    status, answer = _post(api, "/txs?wait=commit", earlier)
    if status != 200 or answer.get("code") != 0:
        raise SystemExit(f"FAIL: nonce n did not commit: {status} {answer}")
    later_hash = hashlib.sha256(later).hexdigest()
    deadline = time.time() + 30
    while True:
        try:
            view = json.loads(_get(api, f"/txs/{later_hash}")[1])["summary"]
            break
        except urllib.error.HTTPError:
            if time.time() > deadline:
                raise SystemExit("FAIL: nonce n+1 did not commit within 30 s of nonce n")
            time.sleep(0.2)
    first = json.loads(_get(api, f"/txs/{hashlib.sha256(earlier).hexdigest()}")[1])["summary"]
    if view["code"] != 0 or (view["height"], view["index"]) <= (first["height"], first["index"]):
        raise SystemExit(f"FAIL: nonces committed out of order or failed: n at {first}, n+1 at {view}")
    if view["height"] - first["height"] > 1:
        raise SystemExit(f"FAIL: n and n+1 took more than two blocks: {first['height']} and {view['height']}")
    log(f"PASS: nonce n+1 (fee 5000) sent before n (fee 1000): n in block {first['height']} "
        f"#{first['index']}, n+1 in block {view['height']} #{view['index']}")
