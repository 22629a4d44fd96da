// The node dashboard: loads the chain's recent state over the JSON API, then follows new blocks
// and transactions over the `/events` WebSocket. No framework and no build step: the node
// embeds this file and serves it under a CSP that forbids inline script and style, so every
// element is made with the DOM API and every text goes in through `textContent`.
'use strict';

(() => {
  const limits = {
    blocksShownMax: 20,
    txsShownMax: 20,
    chartBlocksMax: 60,
    devicesFetchedMax: 1000,
    grantLookupsMax: 200,
    grantLookupsParallelMax: 4,
    grantTagsShownMax: 3,
    blockFetchesParallelMax: 6,
    requestTimeoutMs: 8000,
    reconnectDelayMinMs: 500,
    reconnectDelayMaxMs: 15000,
    statusIntervalMs: 3000,
    validatorsIntervalMs: 10000,
    directoryIntervalMs: 10000,
    directoryDebounceMs: 400,
    renderDelayMs: 100,
    telemetryPointsMax: 300,
    telemetryRowsMax: 30,
    gatewayIntervalMs: 2000,
    diskIntervalMs: 10000,
    storageIntervalMs: 10000,
    storageDealsShownMax: 20,
    shardTagsShownMax: 16,
    marketIntervalMs: 10000,
    refreshDebounceMs: 400,
    // Redeemed volume: the newest blocks charted, and what reading them may cost.
    paymentBlocksShownMax: 20,
    paymentTxFetchesPerBlockMax: 4,
    paymentScansParallelMax: 2,
    // Data feeds: the table's rows, and the rounds charted for the selected feed.
    feedsIntervalMs: 4000,
    feedsShownMax: 100,
    feedHistoryMax: 50,
    feedMissRoundsShown: 10,
    // Reputation in the directory: read for the rows on screen only, kept this long, a few at a time.
    reputationTtlMs: 10000,
    reputationParallelMax: 3,
    reputationRowsWithoutObserverMax: 50,
    // Governance and rollouts: read again after a new block at most this often, and on this timer
    // besides; lines shown per proposal, rollouts listed.
    govRefreshMinMs: 2000,
    govIntervalMs: 15000,
    proposalMessagesShownMax: 4,
    rolloutsShownMax: 50,
    // Device shadows: read again this often while one is shown; what one shadow may draw.
    shadowIntervalMs: 5000,
    shadowRowsMax: 2000,
    shadowDepthMax: 16,
    // Contracts: `/contracts` on this timer and after a contract.store or contract.instantiate; the
    // newest contract.execute events listed, read from `/txs/{hash}` a few at a time.
    contractsIntervalMs: 15000,
    contractCallsShownMax: 10,
    contractCallReadsParallelMax: 2,
    // Compute: providers and jobs on this timer and after new blocks (phases end at the end of
    // blocks, with or without a transaction), at most every `govRefreshMinMs`; jobs listed.
    computeIntervalMs: 10000,
    computeJobsShownMax: 50,
  };

  const state = {
    status: null,
    validators: null,
    height: 0,
    blocks: new Map(), // height → {height, hash, timeMs, txCount}
    txs: [], // TxSummary, newest first
    devices: [],
    grants: new Map(), // DID → its live grants (GrantView), once looked up
    selectedDID: null,
    socket: null,
    socketOpen: false,
    reconnectDelayMs: limits.reconnectDelayMinMs,
    reconnectTimer: null,
    wsEvents: 0,
    renderTimer: null,
    // Tables that change only when their data is reloaded are rebuilt only then, not per block.
    stale: new Set(['validators', 'peers', 'devices']),
    directoryTimer: null,
    directoryLoading: false,
    directoryAgain: false,
    blocksLoading: false,
    blocksAgain: false,
    errors: new Map(), // source → message
    // The watched device: its filter, the subscription id once the node confirms it, the
    // numeric points for the chart (oldest first) and the latest messages (newest first).
    telemetry: { did: null, filter: '#', token: '', subscriptionId: null, points: [], rows: [], events: 0 },
    gateway: null, // last /gateway answer with the time it was read, for rates
    // Each half keeps its last good answer when a refresh fails; `errors` says which failed.
    storage: { providers: null, deals: null, errors: new Map(), loading: false },
    market: { answer: null, error: null, loading: false },
    payments: newPayments(),
    channelsParty: null, // the DID looked up in the payments panel
    refreshTimers: new Map(), // loader name → debounce timer
    // `answer`: the last good `/oracle/feeds`; `detail`: the last good `/oracle/feeds/{id}` of the
    // selected feed (with its history); each keeps showing when a refresh fails.
    feeds: { answer: null, error: null, loading: false, again: false, selected: null, detail: null, detailError: null },
    // DID → {view, error, readMs}; the DIDs whose directory rows are on screen; the reads in flight;
    // DID → its reputation cell in the table as rendered.
    reputation: { cache: new Map(), visible: new Set(), inFlight: new Set(), cells: new Map(), observer: null },
    // The last good `/gov/proposals`, `/gov/upgrade` and `/params` (read again when a proposal was
    // decided after `paramsDecidedAt`); the time cells of the proposals shown, updated per block.
    gov: {
      proposals: null, upgrade: null, params: null, paramsDecidedAt: -1, error: null, loading: false, again: false,
      timeCells: [],
    },
    rollouts: { answer: null, error: null, loading: false, again: false }, // the last good `/ota/rollouts`
    blockRefresh: new Map(), // loader name → {lastMs, timer}: reloads that follow new blocks
    // The shadow panel: what was asked (the token only here, in memory: never in storage), the
    // number of the latest read (older answers are dropped), whether refreshes go on (not after a
    // 400, 401 or 403), the JSON last drawn and the "ago" cells drawn from it.
    shadow: { did: null, name: '', token: '', seq: 0, loading: false, stopped: true, drawn: null, ageCells: [] },
    contracts: { answer: null, error: null, loading: false, again: false }, // the last good `/contracts`
    contractCalls: newContractCalls(),
    // The last good `/compute/providers` and `/compute/jobs`; each half keeps showing when a refresh
    // fails, and `errors` says which failed.
    compute: { providers: null, jobs: null, errors: new Map(), loading: false, again: false },
  };

  /// The payments panel's view of recent blocks. `blocks`: height → {paid, partial} once its
  /// redeem events are summed (partial: some were not read); `pending`: heights queued or being
  /// read. The page starts over with a new object, so answers for the old one are dropped.
  function newPayments() {
    return {
      blocks: new Map(),
      pending: new Set(),
      queue: [], // {height, transactions | null}, oldest first
      scanning: 0,
      counts: { 'channel.open': 0, 'channel.settle': 0, 'stream.open': 0 },
    };
  }

  /// The contracts panel's recent executions: `calls`, newest first, each {hash, height, index,
  /// order, contract, codeId, sender, fuelUsed} from a `contract.execute` event; `seen`: the
  /// transactions queued or read; `queue`: summaries waiting to be read, newest first; `failed`:
  /// reads that failed. The page starts over with a new object, so answers for the old one are dropped.
  function newContractCalls() {
    return { calls: [], seen: new Set(), queue: [], reading: 0, failed: 0, blocksRead: false };
  }

  const $ = (id) => document.getElementById(id);

  // MARK: helpers

  /// Makes an element; `children` are nodes or strings (strings become text, never markup).
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null) continue;
      if (key === 'className') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    for (const child of [].concat(children)) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function shortHash(hex, length = 12) {
    if (!hex) return '–';
    return hex.length > length ? hex.slice(0, length) + '…' : hex;
  }

  /// `did:mesh:abcdef…wxyz`: the method stays readable, the middle of the id goes.
  function shortDID(did) {
    if (!did) return '–';
    const parts = did.split(':');
    if (parts.length < 3) return did;
    const id = parts.slice(2).join(':');
    const shown = id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-6) : id;
    return `${parts[0]}:${parts[1]}:${shown}`;
  }

  function formatClock(ms) {
    if (!ms) return '–';
    return new Date(ms).toLocaleTimeString([], { hour12: false });
  }

  function formatAge(ms) {
    if (!ms) return '';
    const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (seconds < 60) return `${seconds}s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
    return `${Math.floor(seconds / 86400)}d ago`;
  }

  function formatDuration(ms) {
    if (!Number.isFinite(ms)) return '–';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  }

  function formatRate(perSecond) {
    if (!Number.isFinite(perSecond)) return '–';
    if (perSecond >= 100) return perSecond.toFixed(0);
    if (perSecond >= 10) return perSecond.toFixed(1);
    return perSecond.toFixed(2);
  }

  function formatNumber(value) {
    return Number(value).toLocaleString('en-US');
  }

  function setText(id, text) {
    const node = $(id);
    if (node && node.textContent !== String(text)) node.textContent = String(text);
  }

  /// Shows the first recorded failure in the banner; a later success at the same source clears it.
  function reportError(source, error) {
    if (error) state.errors.set(source, `${source}: ${error.message || error}`);
    else state.errors.delete(source);
    const notice = $('notice');
    const first = state.errors.values().next();
    notice.hidden = first.done;
    notice.textContent = first.done ? '' : first.value;
  }

  /// GET a JSON path; an API error body `{code, message}` becomes the thrown message (and the
  /// error's `status`, `code` and `apiMessage`). With `token`, the request carries
  /// `Authorization: Bearer <token>` (to this node only: paths are relative) and skips the cache.
  async function api(path, { token = null } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limits.requestTimeoutMs);
    try {
      const headers = { Accept: 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const response = await fetch(path, {
        signal: controller.signal, headers, cache: token ? 'no-store' : 'default',
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        const coded = body && typeof body.code === 'string' && typeof body.message === 'string';
        const detail = coded ? `${body.code}: ${body.message}` : `HTTP ${response.status}`;
        const error = new Error(`GET ${path} → ${detail}`);
        error.status = response.status;
        if (coded) {
          error.code = body.code;
          error.apiMessage = body.message;
        }
        throw error;
      }
      if (body === null) throw new Error(`GET ${path} → not JSON`);
      return body;
    } catch (error) {
      if (error.name === 'AbortError') throw new Error(`GET ${path} timed out`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /// Runs `task` over `items` with at most `parallel` in flight; failures become `null`.
  async function mapLimited(items, parallel, task) {
    const results = new Array(items.length).fill(null);
    let next = 0;
    async function worker() {
      while (next < items.length) {
        const index = next++;
        try {
          results[index] = await task(items[index]);
        } catch (error) {
          results[index] = null;
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
    return results;
  }

  // MARK: loading

  async function loadStatus() {
    try {
      const status = await api('/status');
      state.status = status;
      state.stale.add('peers');
      noteHeight(status.height);
      reportError('status', null);
    } catch (error) {
      reportError('status', error);
    }
    scheduleRender();
  }

  async function loadValidators() {
    try {
      state.validators = await api('/validators');
      state.stale.add('validators');
      reportError('validators', null);
    } catch (error) {
      reportError('validators', error);
    }
    scheduleRender();
  }

  function blockSummaryFromView(view) {
    return {
      height: view.header.height,
      hash: view.blockHash,
      timeMs: view.header.timeMs,
      txCount: (view.transactionHashes || []).length,
    };
  }

  /// Fetches the newest blocks for the tables and the chart; collects their transactions.
  async function loadRecentBlocks() {
    if (state.blocksLoading) {
      state.blocksAgain = true;
      return;
    }
    state.blocksLoading = true;
    try {
      const latest = await api('/blocks/latest');
      const top = latest.header.height;
      if (contradictsKnownChain(blockSummaryFromView(latest))) forgetChain();
      const heights = [];
      for (let height = top - 1; height >= 1 && heights.length < limits.chartBlocksMax; height--) {
        if (!state.blocks.has(height)) heights.push(height);
      }
      const views = [latest].concat(
        await mapLimited(heights, limits.blockFetchesParallelMax, (height) => api(`/blocks/${height}`)));
      const txs = [];
      for (const view of views) {
        if (!view) continue;
        addBlock(blockSummaryFromView(view));
        for (const tx of view.transactions || []) txs.push(tx);
        if (view.header.height > top - limits.paymentBlocksShownMax) {
          notePaymentBlock(view.header.height, view.transactions || []);
        }
      }
      for (const tx of txs) {
        addTransaction(tx);
        noteContractTx(tx);
      }
      noteHeight(top);
      reportError('blocks', null);
    } catch (error) {
      // A fresh chain answers 404 until its first block; that is not worth a banner.
      reportError('blocks', error.status === 404 ? null : error);
    } finally {
      state.blocksLoading = false;
      if (state.blocksAgain) {
        state.blocksAgain = false;
        loadRecentBlocks();
      }
    }
    state.contractCalls.blocksRead = true;
    renderContractCalls();
    scheduleRender();
  }

  /// Reloads the device list and each device's live grants.
  async function loadDirectory() {
    if (state.directoryLoading) {
      state.directoryAgain = true;
      return;
    }
    state.directoryLoading = true;
    try {
      const answer = await api(`/dids?limit=${limits.devicesFetchedMax}`);
      const devices = (answer.devices || []).slice().sort((a, b) => b.created - a.created || a.did.localeCompare(b.did));
      state.devices = devices;
      state.stale.add('devices');
      reportError('devices', null);
      scheduleRender();
      const looked = devices.slice(0, limits.grantLookupsMax);
      const answers = await mapLimited(looked, limits.grantLookupsParallelMax, (device) =>
        api(`/policies?subject=${encodeURIComponent(device.did)}`));
      const live = new Map();
      looked.forEach((device, index) => {
        const grants = answers[index] && answers[index].grants;
        if (grants) live.set(device.did, grants.filter((grant) => grant.live));
      });
      state.grants = live;
      state.stale.add('devices');
      if (state.selectedDID) loadDeviceDetail(state.selectedDID, { quiet: true });
    } catch (error) {
      reportError('devices', error);
    } finally {
      state.directoryLoading = false;
      scheduleRender();
      if (state.directoryAgain) {
        state.directoryAgain = false;
        scheduleDirectory();
      }
    }
  }

  function scheduleDirectory() {
    clearTimeout(state.directoryTimer);
    state.directoryTimer = setTimeout(loadDirectory, limits.directoryDebounceMs);
  }

  /// Fills the detail pane with the DID document and the grants the device holds.
  async function loadDeviceDetail(did, { quiet = false } = {}) {
    const pane = $('device-detail');
    pane.hidden = false;
    setText('detail-title', did);
    if (!quiet) {
      $('did-document').textContent = 'loading…';
      $('grants').replaceChildren();
    }
    const encoded = encodeURIComponent(did);
    const [documentResult, grantsResult] = await Promise.allSettled([
      api(`/dids/${encoded}`),
      api(`/policies?subject=${encoded}`),
    ]);
    if (state.selectedDID !== did) return; // another row was picked meanwhile
    $('did-document').textContent = documentResult.status === 'fulfilled'
      ? JSON.stringify(documentResult.value, null, 2)
      : String(documentResult.reason.message || documentResult.reason);
    const body = $('grants');
    if (grantsResult.status !== 'fulfilled') {
      body.replaceChildren(emptyRow(6, String(grantsResult.reason.message || grantsResult.reason)));
      return;
    }
    const grants = grantsResult.value.grants || [];
    body.replaceChildren(...(grants.length ? grants.map(grantRow) : [emptyRow(6, 'no grants')]));
  }

  function grantRow(grant) {
    const hasExpiry = grant.expiry !== undefined && grant.expiry !== null;
    const validity = hasExpiry ? `blocks ${grant.notBefore}–${grant.expiry}` : `from block ${grant.notBefore}`;
    let status = grant.live ? 'live' : 'inactive';
    if (grant.revokedHeight !== undefined && grant.revokedHeight !== null) status = `revoked @${grant.revokedHeight}`;
    return el('tr', {}, [
      el('td', { className: 'num mono', text: String(grant.id) }),
      el('td', { text: grant.action + (grant.delegable ? ' (delegable)' : '') }),
      el('td', { className: 'mono wrap', text: grant.resource }),
      el('td', { className: 'mono', text: shortDID(grant.issuer), title: grant.issuer }),
      el('td', { className: 'muted wrap', text: validity }),
      el('td', {}, [el('span', { className: `badge ${grant.live ? 'badge-ok' : 'badge-off'}`, text: status })]),
    ]);
  }

  function resync() {
    loadStatus();
    loadValidators();
    loadRecentBlocks();
    loadDirectory();
    loadGov();
    loadRollouts();
    loadContracts();
    loadCompute();
  }

  // MARK: model updates

  function noteHeight(height) {
    if (Number.isFinite(height) && height > state.height) state.height = height;
  }

  /// Whether `summary` contradicts what the page holds: a different hash at a height it has, or
  /// a block far below the height it has shown. Either means the node now serves another chain
  /// (a devnet made again with `--reset`), and the page starts over. A block a little below is
  /// only an event that lagged behind `/status`.
  function contradictsKnownChain(summary) {
    const known = state.blocks.get(summary.height);
    if (known) return known.hash !== summary.hash;
    return summary.height + limits.chartBlocksMax < state.height;
  }

  function forgetChain() {
    state.blocks.clear();
    state.txs = [];
    state.height = 0;
    state.payments = newPayments();
    state.contractCalls = newContractCalls();
  }

  function addBlock(summary) {
    state.blocks.set(summary.height, summary);
    const keep = Math.max(limits.chartBlocksMax, limits.blocksShownMax) + 1;
    if (state.blocks.size > keep) {
      const heights = [...state.blocks.keys()].sort((a, b) => a - b);
      for (const height of heights.slice(0, heights.length - keep)) state.blocks.delete(height);
    }
  }

  function addTransaction(tx) {
    if (state.txs.some((known) => known.hash === tx.hash)) return;
    state.txs.push(tx);
    state.txs.sort((a, b) => b.height - a.height || b.index - a.index);
    state.txs.length = Math.min(state.txs.length, limits.txsShownMax);
  }

  // MARK: WebSocket

  function socketURL() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/events`;
  }

  function connect() {
    state.reconnectTimer = null;
    showConnection('connecting', 'dot-wait');
    let socket;
    try {
      socket = new WebSocket(socketURL());
    } catch (error) {
      reportError('events', error);
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.addEventListener('open', () => {
      state.socketOpen = true;
      state.reconnectDelayMs = limits.reconnectDelayMinMs;
      reportError('events', null);
      showConnection('live', 'dot-live');
      socket.send(JSON.stringify({ op: 'subscribe', topic: 'blocks' }));
      socket.send(JSON.stringify({ op: 'subscribe', topic: 'txs' }));
      state.telemetry.subscriptionId = null;
      if (state.telemetry.did) subscribeTelemetry();
      // Whatever happened while we were away is only in the API now.
      resync();
    });
    socket.addEventListener('message', (event) => handleEvent(event.data));
    socket.addEventListener('close', (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      state.socketOpen = false;
      if (event.code === 1008) reportError('events', new Error(`closed by the node: ${event.reason || 'too slow'}`));
      scheduleReconnect();
    });
    // An error is always followed by close, which does the reconnecting.
    socket.addEventListener('error', () => {});
  }

  function scheduleReconnect() {
    if (state.reconnectTimer) return;
    const delay = state.reconnectDelayMs;
    state.reconnectDelayMs = Math.min(delay * 2, limits.reconnectDelayMaxMs);
    // A little jitter so many open dashboards do not reconnect in step after a node restart.
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    showConnection(`offline, retrying in ${Math.ceil(jittered / 1000)} s`, 'dot-down');
    state.reconnectTimer = setTimeout(connect, jittered);
  }

  function showConnection(text, dotClass) {
    setText('ws-state', text);
    $('ws-dot').className = `dot ${dotClass}`;
  }

  function handleEvent(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      reportError('events', new Error('a message that is not JSON'));
      return;
    }
    switch (message.type) {
      case 'block': {
        const block = message.block;
        if (!block || !Number.isFinite(block.height)) return;
        if (contradictsKnownChain(block)) {
          forgetChain();
          loadRecentBlocks();
        }
        addBlock({ height: block.height, hash: block.hash, timeMs: block.timeMs, txCount: block.txCount });
        noteHeight(block.height);
        notePaymentBlock(block.height, block.txCount ? null : []);
        // Tallies, periods, stages and the upgrade plan move at the end of blocks, with or without
        // a transaction.
        refreshOnBlock('gov', loadGov);
        refreshOnBlock('rollouts', loadRollouts);
        refreshOnBlock('compute', loadCompute);
        state.wsEvents += 1;
        document.body.dataset.wsEvents = String(state.wsEvents);
        scheduleRender();
        break;
      }
      case 'tx': {
        const tx = message.tx;
        if (!tx || !tx.hash) return;
        addTransaction(tx);
        const names = tx.messages || [];
        if (names.some((name) => name.startsWith('identity.') || name.startsWith('policy.'))) {
          scheduleDirectory();
        }
        if (names.some((name) => name.startsWith('storage.'))) scheduleRefresh('storage', loadStorage);
        if (names.includes('market.list')) scheduleRefresh('market', loadMarket);
        if (names.some((name) => name.startsWith('oracle.'))) scheduleRefresh('feeds', loadFeeds);
        if (names.includes('contract.store') || names.includes('contract.instantiate')) {
          scheduleRefresh('contracts', loadContracts);
        }
        noteContractTx(tx);
        if (state.channelsParty && names.some((name) => name.startsWith('channel.'))
            && (tx.dids || []).includes(state.channelsParty)) {
          scheduleRefresh('channels', () => lookUpChannels(state.channelsParty, { quiet: true }));
        }
        scheduleRender();
        break;
      }
      case 'telemetry':
        addTelemetry(message.telemetry);
        break;
      case 'subscribed':
        if (message.topic === 'telemetry') state.telemetry.subscriptionId = message.id;
        break;
      case 'error':
        // A refused reader token belongs to the telemetry panel.
        reportError(message.code === 'api/20' ? 'telemetry' : 'events', new Error(`${message.code}: ${message.message}`));
        break;
      default:
        break; // unsubscribed
    }
  }

  // MARK: telemetry

  /// Watches `state.telemetry.did` on `state.telemetry.filter`, replacing the previous watch.
  function subscribeTelemetry() {
    const socket = state.socket;
    if (!socket || !state.socketOpen) return; // the next open subscribes
    if (state.telemetry.subscriptionId !== null) {
      socket.send(JSON.stringify({ op: 'unsubscribe', id: state.telemetry.subscriptionId }));
      state.telemetry.subscriptionId = null;
    }
    // Device data is not public: the node checks the reader's token against the ledger.
    socket.send(
      JSON.stringify({
        op: 'subscribe',
        topic: 'telemetry',
        did: state.telemetry.did,
        filter: state.telemetry.filter,
        token: state.telemetry.token,
      }),
    );
  }

  function watchTelemetry(did, filter, token) {
    const telemetry = state.telemetry;
    telemetry.did = did;
    telemetry.filter = filter || '#';
    telemetry.token = token || '';
    telemetry.points = [];
    telemetry.rows = [];
    setText('telemetry-caption', `${shortDID(did)} on ${telemetry.filter}`);
    $('telemetry-caption').title = did;
    subscribeTelemetry();
    scheduleRender();
  }

  function addTelemetry(message) {
    const telemetry = state.telemetry;
    if (!message || message.did !== telemetry.did) return; // from a watch just replaced
    if (Number.isFinite(message.value)) {
      telemetry.points.push({ timeMs: message.timeMs, value: message.value, topic: message.topic });
      if (telemetry.points.length > limits.telemetryPointsMax) telemetry.points.shift();
    }
    telemetry.rows.unshift(message);
    if (telemetry.rows.length > limits.telemetryRowsMax) telemetry.rows.pop();
    telemetry.events += 1;
    document.body.dataset.telemetryEvents = String(telemetry.events);
    scheduleRender();
  }

  function renderTelemetry() {
    const rows = state.telemetry.rows.map((message) =>
      el('tr', {}, [
        el('td', {}, [new Date(message.timeMs).toLocaleTimeString()]),
        el('td', { className: 'mono', title: message.topic }, [message.topic]),
        el('td', { className: 'mono' }, [
          message.text !== undefined && message.text !== null ? message.text : `${message.bytes} bytes (binary)`,
        ]),
        el('td', {}, [message.relayed ? 'relayed' : 'this node']),
      ]),
    );
    const empty = state.telemetry.did ? 'no messages yet from this device' : 'pick a device to watch';
    $('telemetry-rows').replaceChildren(...(rows.length ? rows : [emptyRow(4, empty)]));
    const last = state.telemetry.points[state.telemetry.points.length - 1];
    setText('telemetry-last', last ? `latest ${last.value} on ${last.topic}` : '');
    drawTelemetryChart();
  }

  function drawTelemetryChart() {
    const canvas = prepareCanvas('telemetry-chart');
    if (!canvas) return;
    const { context, width, height, color } = canvas;
    const points = state.telemetry.points;
    const left = 52;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    context.fillStyle = color('--muted', '#8b98a9');
    if (!points.length) {
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillText(
        state.telemetry.did ? 'waiting for numeric payloads…' : 'no device watched',
        left + plotWidth / 2,
        top + plotHeight / 2,
      );
      return;
    }
    let low = Math.min(...points.map((point) => point.value));
    let high = Math.max(...points.map((point) => point.value));
    if (low === high) {
      low -= 1;
      high += 1;
    }
    const first = points[0].timeMs;
    const span = Math.max(1, points[points.length - 1].timeMs - first);
    const x = (point) => left + ((point.timeMs - first) / span) * plotWidth;
    const y = (value) => top + plotHeight - ((value - low) / (high - low)) * plotHeight;
    drawGrid(canvas, { left, right, top, height: plotHeight }, low, high, (value) =>
      Number(value.toPrecision(4)).toString(),
    );
    context.strokeStyle = color('--accent', '#3fb8af');
    context.lineWidth = 1.5;
    context.beginPath();
    points.forEach((point, index) => {
      if (index === 0) context.moveTo(x(point), y(point.value));
      else context.lineTo(x(point), y(point.value));
    });
    context.stroke();
    context.fillStyle = color('--accent', '#3fb8af');
    for (const point of points.slice(-50)) context.fillRect(x(point) - 1.5, y(point.value) - 1.5, 3, 3);
  }

  async function loadGateway() {
    try {
      const gateway = await api('/gateway');
      const now = Date.now();
      const previous = state.gateway;
      const rate = (field) =>
        previous && now > previous.readMs ? ((gateway[field] - previous.body[field]) * 1000) / (now - previous.readMs) : null;
      const receivedRate = rate('received');
      const relayRate = rate('relayReceived');
      // `received` counts relayed messages too; the local publish rate excludes them.
      setText('gw-in-rate', receivedRate === null ? '–' : formatRate(Math.max(0, receivedRate - (relayRate || 0))));
      setText('gw-out-rate', rate('delivered') === null ? '–' : formatRate(rate('delivered')));
      setText('gw-relay-rate', relayRate === null ? '–' : formatRate(relayRate));
      setText('gw-connected', String(gateway.sessionsConnected));
      setText('gw-sessions', String(gateway.sessionsStored));
      setText('gw-denied', String(gateway.denied));
      setText('gw-quota', String(gateway.quotaRefused));
      setText('gw-relay-denied', String(gateway.relayDenied));
      // Newer counters: a node without them shows "–".
      const count = (value) => (Number.isFinite(value) ? formatNumber(value) : '–');
      setText('gw-expired', count(gateway.expired));
      setText('gw-shadows', count(gateway.shadows));
      setText('gw-shadow-requests', count(gateway.shadowRequests));
      setText('gw-shadow-merges', count(gateway.shadowMerges));
      setText('gateway-listen', `MQTT ${gateway.listen}`);
      setText('pay-delivered', formatNumber(gateway.pricedDelivered));
      setText('pay-amount', formatNumber(gateway.pricedAmount));
      setText('pay-unpaid', formatNumber(gateway.unpaidRefused));
      setText('pay-vouchers-accepted', formatNumber(gateway.vouchersAccepted));
      setText('pay-vouchers-refused', formatNumber(gateway.vouchersRefused));
      setText('pay-metered', formatNumber(gateway.meteredChannels));
      setText('pay-listings', formatNumber(gateway.listings));
      state.gateway = { body: gateway, readMs: now };
      reportError('gateway', null);
    } catch (error) {
      reportError('gateway', error);
    }
  }

  /// Bytes as B, KiB, MiB, GiB, TiB (one decimal above bytes).
  function formatBytes(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
  }

  /// The node's stores on disk (`/status/disk`), largest first: what an operator watches to
  /// see that retention keeps the node's disk bounded.
  async function loadDisk() {
    try {
      const disk = await api('/status/disk');
      const rows = (disk.stores || []).map((store) =>
        el('tr', {}, [
          el('td', { text: store.name }),
          el('td', { className: 'num mono', text: formatBytes(store.bytes), title: `${store.bytes} bytes` }),
          el('td', { className: 'mono muted', text: store.path }),
        ]));
      $('disk').replaceChildren(...(rows.length ? rows : [emptyRow(3, 'no stores yet')]));
      setText('disk-total', formatBytes(disk.totalBytes));
      reportError('disk', null);
    } catch (error) {
      reportError('disk', error);
    }
  }

  /// Runs `task` once things have been quiet for a moment (a burst of transactions, one reload).
  function scheduleRefresh(name, task) {
    clearTimeout(state.refreshTimers.get(name));
    state.refreshTimers.set(name, setTimeout(() => {
      state.refreshTimers.delete(name);
      task();
    }, limits.refreshDebounceMs));
  }

  function messageOf(error) {
    return String((error && error.message) || error);
  }

  // MARK: storage

  /// Providers and the newest live deals. Each half that fails keeps what it showed before.
  async function loadStorage() {
    const storage = state.storage;
    if (storage.loading) return;
    storage.loading = true;
    try {
      const [providers, deals] = await Promise.allSettled([
        api('/storage/providers'),
        api(`/storage/deals?limit=${limits.storageDealsShownMax}`),
      ]);
      for (const [name, result] of [['providers', providers], ['deals', deals]]) {
        if (result.status === 'fulfilled') {
          storage[name] = result.value;
          storage.errors.delete(name);
        } else {
          storage.errors.set(name, result.reason);
        }
      }
      const failure = storage.errors.values().next();
      reportError('storage', failure.done ? null : failure.value);
    } finally {
      storage.loading = false;
    }
    renderStorage();
  }

  /// `healthy` (every shard held), `degraded` (some lost, still readable) or `unreadable`, as the
  /// node's `DealView.health` says it.
  function dealHealth(deal) {
    const shards = deal.shards || [];
    const live = shards.filter((shard) => !isLost(shard)).length;
    if (live === shards.length) return 'healthy';
    return live >= deal.dataShards ? 'degraded' : 'unreadable';
  }

  function isLost(shard) {
    return shard.lostAt !== undefined && shard.lostAt !== null;
  }

  /// A cell for a table whose data could not be loaded (yet): the failure, or "loading…".
  function unavailableRow(columns, what, error) {
    return emptyRow(columns, error ? `could not load ${what}: ${messageOf(error)}` : 'loading…');
  }

  function renderStorage() {
    const { providers, deals, errors } = state.storage;
    const providerRows = providers ? (providers.providers || []).map(providerRow) : [];
    $('storage-providers').replaceChildren(...(providers
      ? (providerRows.length ? providerRows : [emptyRow(7, 'no storage providers registered')])
      : [unavailableRow(7, 'the providers', errors.get('providers'))]));
    const dealList = deals ? deals.deals || [] : [];
    const dealRows = dealList.map((deal) => dealRow(deal, deals.height));
    $('storage-deals').replaceChildren(...(deals
      ? (dealRows.length ? dealRows : [emptyRow(7, 'no live storage deals')])
      : [unavailableRow(7, 'the deals', errors.get('deals'))]));

    if (providers) {
      const all = providers.providers || [];
      setText('storage-providers-active', `${all.filter((provider) => provider.active).length} / ${all.length}`);
    }
    if (deals) {
      const shards = dealList.flatMap((deal) => deal.shards || []);
      setText('storage-deals-live', formatNumber(deals.live));
      setText('storage-shards-lost', formatNumber(shards.filter(isLost).length));
      setText('storage-challenges', formatNumber(shards.filter((shard) => !isLost(shard) && shard.challenge).length));
      // Lost shards and open challenges are counted over the deals this page read.
      const some = deals.live > dealList.length;
      setText('storage-deals-summary', some ? `newest ${dealList.length} of ${deals.live}` : '');
      $('storage-health').title = some ? `shards counted over the ${dealList.length} newest deals` : '';
    }
    const height = (deals && deals.height) || (providers && providers.height);
    // A half that failed to refresh still shows its last answer; say which.
    const stale = [...errors.keys()].filter((name) => state.storage[name]);
    const note = [height ? `at block ${height}` : '', stale.length ? `${stale.join(' and ')} not refreshed` : '']
      .filter(Boolean).join(' · ');
    setText('storage-note', note);
  }

  function providerRow(provider) {
    const used = provider.usedBytes;
    const capacity = provider.capacityBytes;
    const share = capacity ? Math.min(1, used / capacity) : 0;
    const bar = el('span', { className: 'share-bar usage-bar' }, [
      el('span', { className: `share-fill${share >= 0.9 ? ' fill-warn' : ''}` }),
    ]);
    bar.firstChild.style.width = `${(share * 100).toFixed(1)}%`;
    // The node's own measure (ProviderView.reputation): one pass and one failure assumed.
    const passed = provider.proofsPassed;
    const failed = provider.proofsFailed;
    const reputation = (passed + 1) / (passed + failed + 2);
    return el('tr', { dataset: { did: provider.did, active: String(provider.active) } }, [
      el('td', {
        className: 'mono',
        text: shortDID(provider.did),
        title: `${provider.did}\nendpoint ${provider.endpoint}\n${formatNumber(provider.pricePerGiBBlock)} per GiB per block`,
      }),
      el('td', { text: provider.region || '–' }),
      el('td', { className: 'usage-col', title: `${formatNumber(used)} of ${formatNumber(capacity)} bytes` }, [
        bar,
        el('span', { className: 'usage-text', text: `${formatBytes(used)} / ${formatBytes(capacity)}` }),
      ]),
      el('td', { className: 'num mono', text: formatNumber(provider.stake) }),
      el('td', { className: 'num mono', text: `${formatNumber(passed)} / ${formatNumber(failed)}` }),
      el('td', {
        className: `num mono ${reputation < 0.5 ? 'warn' : ''}`.trim(),
        text: `${Math.round(reputation * 100)}%`,
        title: 'challenges passed, counting one pass and one failure for a start: (passed + 1) / (passed + failed + 2)',
      }),
      el('td', {}, [el('span', {
        className: `badge ${provider.active ? 'badge-ok' : 'badge-off'}`,
        text: provider.active ? 'active' : 'inactive',
        title: provider.active ? 'bonded enough stake to take new shards' : 'takes no new shards',
      })]),
    ]);
  }

  function dealRow(deal, height) {
    const shards = deal.shards || [];
    const code = deal.replicated ? `replicated ×${shards.length}` : `${deal.dataShards}+${shards.length - deal.dataShards}`;
    const health = dealHealth(deal);
    const healthClass = { healthy: 'badge-ok', degraded: 'badge-warn', unreadable: 'badge-bad' }[health];
    const shown = shards.slice(0, limits.shardTagsShownMax).map(shardTag);
    const rest = shards.length - shown.length;
    const left = deal.endHeight > height ? `in ${formatNumber(deal.endHeight - height)} blocks` : 'due';
    return el('tr', { dataset: { deal: String(deal.id), health } }, [
      el('td', { className: 'num mono strong', text: String(deal.id) }),
      el('td', { className: 'mono', text: shortDID(deal.owner), title: deal.owner }),
      el('td', {
        className: 'num mono',
        text: formatBytes(deal.objectBytes),
        title: `${formatNumber(deal.objectBytes)} bytes; manifest ${deal.manifest}; escrow ${formatNumber(deal.escrow)}`,
      }),
      el('td', { className: 'mono', text: code, title: deal.replicated ? 'every shard is a full copy'
        : `any ${deal.dataShards} of the ${shards.length} shards rebuild the object` }),
      el('td', { className: 'shards' }, shown.concat(rest > 0 ? [el('span', { className: 'muted', text: ` +${rest}` })] : [])),
      el('td', {}, [el('span', { className: `badge ${healthClass}`, text: health })]),
      el('td', { className: 'num mono', title: `opened at block ${deal.startHeight}` }, [
        `#${deal.endHeight}`,
        el('span', { className: 'age', text: left }),
      ]),
    ]);
  }

  /// One shard: its index and the end of its provider's DID, coloured by its state.
  function shardTag(shard) {
    const lost = isLost(shard);
    const challenge = lost ? null : shard.challenge;
    const stateName = lost ? 'lost' : challenge ? 'challenged' : 'held';
    const detail = lost
      ? `lost at block ${shard.lostAt}`
      : challenge
        ? `challenged at block ${challenge.height}: piece ${challenge.piece} due by block ${challenge.deadline}`
        : 'held';
    const provider = String(shard.provider || '');
    return el('span', {
      className: `tag shard-${stateName}`,
      dataset: { state: stateName },
      text: `${shard.index}·${provider.slice(-6)}`,
      title: [
        `shard ${shard.index} on ${provider}`,
        detail,
        shard.lastProof ? `last proof at block ${shard.lastProof}` : 'no proof yet',
        `root ${shard.root}`,
      ].join('\n'),
    });
  }

  // MARK: payments

  async function loadMarket() {
    const market = state.market;
    if (market.loading) return;
    market.loading = true;
    try {
      market.answer = await api('/market');
      market.error = null;
      reportError('market', null);
    } catch (error) {
      market.error = error;
      reportError('market', error);
    } finally {
      market.loading = false;
    }
    renderMarket();
  }

  function renderMarket() {
    const { answer, error } = state.market;
    if (!answer) {
      $('market-listings').replaceChildren(unavailableRow(5, 'the listings', error));
      return;
    }
    const listings = answer.listings || [];
    setText('market-summary', `${listings.length} at block ${answer.height}${error ? ' · refresh failed' : ''}`);
    const rows = listings.map((listing) =>
      el('tr', { dataset: { pattern: listing.pattern, payee: listing.payee } }, [
        el('td', { className: 'mono wrap', text: listing.pattern }),
        el('td', {
          className: 'mono',
          text: shortDID(listing.payee),
          title: listing.payee === listing.owner ? listing.payee : `${listing.payee}\nlisted by ${listing.owner}`,
        }),
        el('td', { className: 'num mono', text: formatNumber(listing.pricePerMessage) }),
        el('td', { className: 'num mono', text: formatNumber(listing.pricePerKiB) }),
        el('td', { className: 'num mono muted', text: `#${listing.listedAt}` }),
      ]));
    $('market-listings').replaceChildren(...(rows.length ? rows : [emptyRow(5, 'no market listings: every topic is free')]));
  }

  // Each successful message emits its own event once, so the summaries' message names count
  // these without reading the transactions; only `paid` needs the events.
  const countedMessages = ['channel.open', 'channel.settle', 'stream.open'];
  // Messages whose events can include channel.redeem (a payee's settle redeems its voucher).
  const redeemingMessages = new Set(['channel.redeem', 'channel.settle']);

  /// Queues a block for the redeemed-volume chart, once: `transactions` are its summaries, or
  /// null to fetch them (a block event carries only the count).
  function notePaymentBlock(height, transactions) {
    const payments = state.payments;
    if (payments.blocks.has(height) || payments.pending.has(height)) return;
    if (transactions && !transactions.length) {
      payments.blocks.set(height, { paid: 0, partial: false });
    } else {
      payments.pending.add(height);
      payments.queue.push({ height, transactions });
      payments.queue.sort((a, b) => a.height - b.height);
      // A page far behind reads only what the chart shows; older heights fall off, unread.
      while (payments.queue.length > limits.paymentBlocksShownMax) payments.pending.delete(payments.queue.shift().height);
      scanPaymentBlocks();
    }
    forgetOldPaymentBlocks();
    scheduleRender();
  }

  function forgetOldPaymentBlocks() {
    const blocks = state.payments.blocks;
    const keep = limits.paymentBlocksShownMax * 2;
    if (blocks.size <= keep) return;
    const heights = [...blocks.keys()].sort((a, b) => a - b);
    for (const height of heights.slice(0, heights.length - keep)) blocks.delete(height);
  }

  /// Reads queued blocks, newest first, with at most `paymentScansParallelMax` at a time.
  function scanPaymentBlocks() {
    const payments = state.payments;
    while (payments.scanning < limits.paymentScansParallelMax && payments.queue.length) {
      const item = payments.queue.pop();
      payments.scanning += 1;
      scanPaymentBlock(item)
        .catch(() => ({ paid: 0, partial: true, counts: {} }))
        .then((result) => {
          payments.scanning -= 1;
          if (state.payments !== payments) return; // the page started over meanwhile
          payments.pending.delete(item.height);
          payments.blocks.set(item.height, { paid: result.paid, partial: result.partial });
          for (const [name, count] of Object.entries(result.counts)) payments.counts[name] += count;
          forgetOldPaymentBlocks();
          scheduleRender();
          scanPaymentBlocks();
        });
    }
  }

  /// Sums `paid` of the block's channel.redeem events, reading at most
  /// `paymentTxFetchesPerBlockMax` transactions (partial when there were more, or a read failed).
  async function scanPaymentBlock({ height, transactions }) {
    const summaries = transactions || (await api(`/blocks/${height}`)).transactions || [];
    const succeeded = summaries.filter((tx) => tx.code === 0);
    const counts = {};
    for (const tx of succeeded) {
      for (const name of tx.messages || []) {
        if (countedMessages.includes(name)) counts[name] = (counts[name] || 0) + 1;
      }
    }
    const redeeming = succeeded.filter((tx) => (tx.messages || []).some((name) => redeemingMessages.has(name)));
    const read = redeeming.slice(0, limits.paymentTxFetchesPerBlockMax);
    const answers = await mapLimited(read, limits.paymentTxFetchesPerBlockMax, (tx) =>
      api(`/txs/${encodeURIComponent(tx.hash)}`));
    let paid = 0;
    let partial = redeeming.length > read.length;
    for (const answer of answers) {
      if (!answer) {
        partial = true;
        continue;
      }
      for (const event of answer.events || []) {
        if (event.type !== 'channel.redeem') continue;
        const attribute = (event.attributes || []).find((pair) => pair.key === 'paid');
        const value = attribute ? Number(attribute.value) : NaN;
        if (Number.isFinite(value)) paid += value;
        else partial = true;
      }
    }
    return { paid, partial, counts };
  }

  /// The newest blocks the page knows, oldest first, with what they redeemed (null: not read yet).
  function paymentSeries() {
    const heights = [...state.blocks.keys()].sort((a, b) => a - b).slice(-limits.paymentBlocksShownMax);
    return heights.map((height) => ({ height, scan: state.payments.blocks.get(height) || null }));
  }

  function renderPayments() {
    const payments = state.payments;
    const series = paymentSeries();
    const scanned = series.filter((point) => point.scan);
    const total = scanned.reduce((sum, point) => sum + point.scan.paid, 0);
    const partial = scanned.some((point) => point.scan.partial);
    setText('redeemed-total', series.length
      ? `${partial ? '≥ ' : ''}${formatNumber(total)} over ${scanned.length} block${scanned.length === 1 ? '' : 's'}`
      : '');
    $('redeemed-total').title = partial ? 'some blocks had more payment transactions than the page reads, or a read failed' : '';
    for (const name of countedMessages) setText(`events-${name.replace('.', '-')}`, formatNumber(payments.counts[name]));
    const panel = $('panel-payments');
    panel.dataset.redeemed = String(total);
    panel.dataset.blocksRead = String(scanned.length);
    drawRedeemedChart(series);
  }

  function drawRedeemedChart(series) {
    const canvas = prepareCanvas('redeemed-chart');
    if (!canvas) return;
    const { context, width, height, color } = canvas;
    const left = 44;
    const right = 8;
    const top = 6;
    const bottom = 16;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const peak = Math.max(1, ...series.map((point) => (point.scan ? point.scan.paid : 0)));
    const scaleMax = niceCeiling(peak);
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    for (const value of [0, scaleMax]) {
      const y = Math.round(top + plotHeight - (plotHeight * value) / scaleMax) + 0.5;
      context.strokeStyle = color('--grid', '#2a3340');
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(width - right, y);
      context.stroke();
      context.fillStyle = color('--muted', '#8b98a9');
      context.fillText(formatNumber(value), left - 6, y);
    }
    if (!series.length) {
      context.textAlign = 'center';
      context.fillText('waiting for blocks…', left + plotWidth / 2, top + plotHeight / 2);
      return;
    }
    if (series.every((point) => point.scan && point.scan.paid === 0)) {
      context.textAlign = 'center';
      context.fillText('nothing redeemed in these blocks', left + plotWidth / 2, top + plotHeight / 2);
    }
    const slot = plotWidth / limits.paymentBlocksShownMax;
    const barWidth = Math.max(1, slot * 0.7);
    const offset = limits.paymentBlocksShownMax - series.length; // newest block at the right edge
    series.forEach((point, index) => {
      const x = left + (offset + index) * slot + (slot - barWidth) / 2;
      if (!point.scan) {
        context.fillStyle = color('--muted', '#8b98a9');
        context.fillRect(x + barWidth / 2 - 1, top + plotHeight - 3, 2, 2); // not read yet
      } else if (point.scan.paid > 0) {
        const barHeight = Math.max(1, (point.scan.paid / scaleMax) * plotHeight);
        context.fillStyle = color(point.scan.partial ? '--warn' : '--accent', '#3fb8af');
        context.fillRect(x, top + plotHeight - barHeight, barWidth, barHeight);
      } else {
        context.fillStyle = color('--grid', '#2a3340');
        context.fillRect(x, top + plotHeight - 1, barWidth, 1);
      }
    });
    context.fillStyle = color('--muted', '#8b98a9');
    context.textBaseline = 'alphabetic';
    context.textAlign = 'left';
    context.fillText(`#${series[0].height}`, left + offset * slot, height - 3);
    context.textAlign = 'right';
    context.fillText(`#${series[series.length - 1].height}`, width - right, height - 3);
  }

  /// The open channels `party` pays or is paid by, with what this node's gateway meters on them.
  async function lookUpChannels(party, { quiet = false } = {}) {
    state.channelsParty = party;
    const body = $('channel-rows');
    if (!quiet) body.replaceChildren(emptyRow(6, 'loading…'));
    let answer;
    try {
      answer = await api(`/channels?party=${encodeURIComponent(party)}`);
    } catch (error) {
      // A mistyped DID belongs to this table, not to the page's banner.
      if (state.channelsParty === party) body.replaceChildren(emptyRow(6, `could not look up ${party}: ${messageOf(error)}`));
      return;
    }
    if (state.channelsParty !== party) return; // another DID was looked up meanwhile
    const rows = (answer.channels || []).map((channel) => {
      const metered = channel.metered;
      const closing = channel.status === 'closing';
      // Payer over payee in one cell, so the amounts fit beside them in a half-width panel.
      const partyLine = (did, prefix) => el('span', {
        className: `party${did === party ? ' strong' : ''}`, text: prefix + shortDID(did), title: did,
      });
      return el('tr', { dataset: { channel: String(channel.id), status: channel.status, payer: channel.payer, payee: channel.payee } }, [
        el('td', { className: 'num mono strong', text: String(channel.id), title: `opened at block ${channel.openedAt}` }),
        el('td', { className: 'mono' }, [partyLine(channel.payer, ''), partyLine(channel.payee, '→ ')]),
        el('td', { className: 'num mono', text: formatNumber(channel.deposit) }),
        el('td', { className: 'num mono', text: formatNumber(channel.redeemed), title: `last voucher nonce ${channel.lastNonce}` }),
        el('td', {}, [el('span', {
          className: `badge ${closing ? 'badge-warn' : 'badge-ok'}`,
          text: channel.status,
          title: closing ? `may be settled from block ${channel.closesAt}` : `closes ${channel.settleBlocks} blocks after the payer asks`,
        })]),
        el('td', {
          className: `num mono${metered ? '' : ' muted'}`,
          text: metered ? `${formatNumber(metered.credit)} / ${formatNumber(metered.delivered)}` : '–',
          title: metered
            ? 'credit: what the payer may still receive here; delivered: the price of the priced messages delivered here'
            : 'not metered by this node',
        }),
      ]);
    });
    body.replaceChildren(...(rows.length ? rows : [emptyRow(6, `no open channels for ${shortDID(party)}`)]));
    body.dataset.party = party;
  }

  // MARK: reputation

  /// The reputation cell of a directory row: the score once read, "—" until then.
  function reputationCell(did) {
    const cell = el('td', { className: 'num mono muted', text: '—' });
    state.reputation.cells.set(did, cell);
    fillReputationCell(cell, did);
    return cell;
  }

  function fillReputationCell(cell, did) {
    const entry = state.reputation.cache.get(did);
    const view = entry ? entry.view : null;
    const failure = entry && entry.error ? `could not read the reputation: ${messageOf(entry.error)}` : null;
    if (!view) {
      cell.textContent = '—';
      cell.className = 'num mono muted';
      cell.title = failure || 'read when the row is on screen';
      return;
    }
    cell.textContent = String(view.score);
    // 500 is the score of no evidence; below it, failures outweigh successes.
    cell.className = `num mono${view.score < 500 ? ' warn' : ''}`;
    cell.title = [
      `score ${view.score} of 1000 at block ${view.height}`,
      `oracle: ${formatNumber(view.oracleInBand)} in band, ${formatNumber(view.oracleOutOfBand)} out of band, `
        + `${formatNumber(view.oracleSlashes)} slashed`,
      `storage: ${formatNumber(view.storagePassed)} challenges passed, ${formatNumber(view.storageFailed)} failed`,
      view.updatedAt ? `evidence last changed at block ${view.updatedAt}` : 'no evidence yet',
      failure ? `${failure} (showing the last score read)` : null,
    ].filter(Boolean).join('\n');
    const row = cell.parentNode;
    if (row && row.dataset) row.dataset.reputation = String(view.score);
  }

  /// Tracks which directory rows are on screen (the table is rebuilt, so its rows are watched anew).
  function watchDeviceRows() {
    const reputation = state.reputation;
    reputation.visible.clear();
    if (typeof IntersectionObserver !== 'function') {
      // No way to tell what is on screen: the first rows stand for it.
      for (const device of state.devices.slice(0, limits.reputationRowsWithoutObserverMax)) {
        reputation.visible.add(device.did);
      }
      pumpReputation();
      return;
    }
    if (!reputation.observer) {
      reputation.observer = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          const did = entry.target.dataset.did;
          if (entry.isIntersecting) reputation.visible.add(did);
          else reputation.visible.delete(did);
        }
        pumpReputation();
      }, { rootMargin: '100px 0px' });
    }
    reputation.observer.disconnect();
    for (const row of $('devices').querySelectorAll('tr[data-did]')) reputation.observer.observe(row);
  }

  /// Reads the reputation of rows on screen whose score is unknown or older than the cache keeps
  /// it, with at most `reputationParallelMax` reads in flight.
  function pumpReputation() {
    const reputation = state.reputation;
    const now = Date.now();
    for (const did of reputation.visible) {
      if (reputation.inFlight.size >= limits.reputationParallelMax) break;
      if (reputation.inFlight.has(did)) continue;
      const entry = reputation.cache.get(did);
      if (entry && now - entry.readMs < limits.reputationTtlMs) continue;
      readReputation(did);
    }
  }

  async function readReputation(did) {
    const reputation = state.reputation;
    reputation.inFlight.add(did);
    const previous = reputation.cache.get(did);
    let entry;
    try {
      const view = await api(`/reputation/${encodeURIComponent(did)}`);
      entry = { view, error: null, readMs: Date.now() };
      reportError('reputation', null);
    } catch (error) {
      // The last score read stays shown; the next try waits as long as a fresh score would.
      entry = { view: previous ? previous.view : null, error, readMs: Date.now() };
      reportError('reputation', error);
    } finally {
      reputation.inFlight.delete(did);
    }
    reputation.cache.set(did, entry);
    // A DID no longer in the directory is not kept.
    if (reputation.cache.size > limits.devicesFetchedMax) {
      const listed = new Set(state.devices.map((device) => device.did));
      for (const known of reputation.cache.keys()) if (!listed.has(known)) reputation.cache.delete(known);
    }
    const cell = reputation.cells.get(did);
    if (cell) fillReputationCell(cell, did);
    pumpReputation();
  }

  // MARK: data feeds

  /// A fixed-point integer as a decimal: 2150 with 2 decimals is "21.50". Exact for integers the
  /// JSON number kept exactly (up to 2^53).
  function formatFixed(value, decimals) {
    const number = Number(value);
    if (!Number.isFinite(number)) return '–';
    const places = Math.max(0, Math.min(Math.floor(Number(decimals) || 0), 30));
    const digits = BigInt(Math.round(Math.abs(number))).toString().padStart(places + 1, '0');
    const sign = number < 0 && Math.round(number) !== 0 ? '-' : '';
    if (!places) return sign + digits;
    return `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}`;
  }

  /// "21.50 ± 0.25": a round's median and confidence in the feed's decimals.
  function formatRoundValue(round, decimals) {
    return `${formatFixed(round.median, decimals)} ± ${formatFixed(round.confidence, decimals)}`;
  }

  /// Every feed with its latest round; then the selected feed's last rounds.
  async function loadFeeds() {
    const feeds = state.feeds;
    if (feeds.loading) {
      feeds.again = true;
      return;
    }
    feeds.loading = true;
    try {
      feeds.answer = await api('/oracle/feeds');
      feeds.error = null;
      reportError('feeds', null);
      const list = feeds.answer.feeds || [];
      if (!list.some((feed) => feed.id === feeds.selected)) {
        feeds.selected = list.length ? list[0].id : null;
        feeds.detail = null;
        feeds.detailError = null;
      }
    } catch (error) {
      feeds.error = error;
      reportError('feeds', error);
    }
    state.stale.add('feeds');
    scheduleRender();
    try {
      if (feeds.selected) await loadFeedDetail(feeds.selected);
    } finally {
      feeds.loading = false;
      if (feeds.again) {
        feeds.again = false;
        loadFeeds();
      }
    }
  }

  /// The last `feedHistoryMax` rounds of feed `id`, for the chart.
  async function loadFeedDetail(id) {
    const feeds = state.feeds;
    try {
      const answer = await api(`/oracle/feeds/${encodeURIComponent(id)}?history=${limits.feedHistoryMax}`);
      if (feeds.selected !== id) return; // another feed was picked meanwhile
      feeds.detail = answer;
      feeds.detailError = null;
    } catch (error) {
      if (feeds.selected !== id) return;
      // Shown in the chart's box: one feed's failure is not the page's.
      feeds.detailError = error;
    }
    state.stale.add('feeds');
    scheduleRender();
  }

  function selectFeed(id) {
    const feeds = state.feeds;
    if (!id || feeds.selected === id) return;
    feeds.selected = id;
    feeds.detail = null;
    feeds.detailError = null;
    renderFeeds();
    loadFeedDetail(id);
  }

  function renderFeeds() {
    const { answer, error, selected } = state.feeds;
    const body = $('feeds');
    const focused = document.activeElement && body.contains(document.activeElement)
      ? document.activeElement.dataset.feed : null;
    if (!answer) {
      body.replaceChildren(unavailableRow(5, 'the feeds', error));
    } else {
      const list = answer.feeds || [];
      const shown = list.slice(0, limits.feedsShownMax);
      const count = list.length > shown.length ? `first ${shown.length} of ${list.length}` : `${list.length}`;
      setText('feeds-summary', `${count} at block ${answer.height}${error ? ' · refresh failed' : ''}`);
      $('feeds-summary').title = error ? messageOf(error) : '';
      const rows = shown.map((feed) => feedRow(feed, feed.id === selected));
      body.replaceChildren(...(rows.length ? rows : [emptyRow(5, 'no data feeds yet (meshwork oracle create-feed)')]));
      if (focused) {
        const row = [...body.rows].find((candidate) => candidate.dataset.feed === focused);
        if (row) row.focus();
      }
    }
    drawFeedChart();
  }

  function feedRow(feed, selected) {
    const latest = feed.latest;
    const dataset = { feed: feed.id, stale: String(feed.stale) };
    if (latest) dataset.latest = formatFixed(latest.median, feed.decimals);
    const reporters = (feed.reporters || []).length
      ? `${feed.reporters.length} listed reporter${feed.reporters.length === 1 ? '' : 's'}`
      : `grantees of oracle.report on ${feed.resource}`;
    return el('tr', {
      tabindex: '0',
      className: selected ? 'selected' : null,
      'aria-selected': selected ? 'true' : 'false',
      dataset,
    }, [
      el('td', {
        className: 'mono strong',
        text: feed.id,
        title: [feed.description, `owner ${feed.owner}`, `${reporters}; a round needs ${feed.threshold}`,
          `created at block ${feed.createdAt}`].filter(Boolean).join('\n'),
      }),
      el('td', { text: feed.unit || '–' }),
      latest
        ? el('td', {
          className: 'num mono',
          text: formatRoundValue(latest, feed.decimals),
          title: `round ${latest.round} at block ${latest.height}, ${formatClock(latest.timeMs)}\n`
            + `quartiles ${formatFixed(latest.q1, feed.decimals)} … ${formatFixed(latest.q3, feed.decimals)}\n`
            + `${latest.reporters} observation${latest.reporters === 1 ? '' : 's'}, ${latest.misses} outside the band`,
        })
        : el('td', { className: 'num muted', text: '–', title: 'no round yet' }),
      el('td', { className: 'num mono', text: formatNumber(feed.rounds) }),
      el('td', {}, [el('span', {
        className: `badge ${feed.stale ? 'badge-warn' : 'badge-ok'}`,
        text: feed.stale ? 'stale' : 'fresh',
        title: feed.stale
          ? (latest ? `no round in the last ${feed.heartbeatBlocks} blocks` : 'no round yet')
          : `a round within the last ${feed.heartbeatBlocks} blocks`,
      })]),
    ]);
  }

  const svgNamespace = 'http://www.w3.org/2000/svg';

  /// Like `el`, for SVG: attributes as given, `text` as text content.
  function svgEl(tag, attributes = {}, children = []) {
    const node = document.createElementNS(svgNamespace, tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null) continue;
      if (key === 'text') node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of [].concat(children)) if (child) node.append(child);
    return node;
  }

  /// The selected feed's last rounds: median as a line, median ± confidence as a band, the rounds
  /// with misses marked; the latest value and the misses of the last rounds beside it.
  function drawFeedChart() {
    const { answer, selected, detail, detailError } = state.feeds;
    const svg = $('feed-chart');
    const box = svg.getBoundingClientRect();
    const width = Math.round(box.width);
    const height = Math.round(box.height);
    const feed = detail && (detail.feeds || [])[0];
    const rounds = feed && feed.id === selected ? (detail.history || []).slice().reverse() : [];
    setText('feed-chart-title', selected ? `${selected}: last ${limits.feedHistoryMax} rounds` : 'rounds of the selected feed');
    setText('feed-latest', feed && feed.latest ? `${formatRoundValue(feed.latest, feed.decimals)} ${feed.unit}` : '');
    $('feed-latest').title = feed && feed.latest ? `round ${feed.latest.round} at block ${feed.latest.height}` : '';
    renderFeedMisses(feed, rounds);
    svg.dataset.rounds = String(rounds.length);
    if (!width || !height) return;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const plot = { left: 56, right: 10, top: 8, bottom: 18 };
    const plotWidth = width - plot.left - plot.right;
    const plotHeight = height - plot.top - plot.bottom;
    const message = (text) => svgEl('text', {
      class: 'feed-empty', x: plot.left + plotWidth / 2, y: plot.top + plotHeight / 2, 'text-anchor': 'middle', text,
    });
    if (!rounds.length) {
      let text = 'no feed selected';
      if (detailError) text = `could not load ${selected}: ${messageOf(detailError)}`;
      else if (selected && !detail) text = 'loading…';
      else if (selected) text = 'no rounds yet';
      else if (answer) text = 'no data feeds yet';
      svg.replaceChildren(message(text));
      return;
    }
    const scale = 10 ** Math.min(feed.decimals, 30);
    const value = (fixed) => Number(fixed) / scale;
    let low = Math.min(...rounds.map((round) => value(round.median - round.confidence)));
    let high = Math.max(...rounds.map((round) => value(round.median + round.confidence)));
    const pad = high > low ? (high - low) * 0.1 : Math.max(Math.abs(high) * 0.01, 1 / scale);
    low -= pad;
    high += pad;
    const first = rounds[0].round;
    const span = rounds[rounds.length - 1].round - first;
    const x = (round) => plot.left + (span ? ((round.round - first) / span) * plotWidth : plotWidth / 2);
    const y = (number) => plot.top + plotHeight - ((number - low) / (high - low)) * plotHeight;
    const point = (px, py) => `${px.toFixed(1)},${py.toFixed(1)}`;
    const parts = [];
    for (let step = 0; step <= 3; step++) {
      const number = low + ((high - low) * step) / 3;
      const lineY = Math.round(y(number)) + 0.5;
      parts.push(svgEl('line', { class: 'feed-grid', x1: plot.left, x2: width - plot.right, y1: lineY, y2: lineY }));
      parts.push(svgEl('text', {
        class: 'feed-label', x: plot.left - 6, y: lineY, 'text-anchor': 'end', 'dominant-baseline': 'middle',
        text: number.toFixed(Math.min(feed.decimals, 6)),
      }));
    }
    const upper = rounds.map((round) => point(x(round), y(value(round.median + round.confidence))));
    const lower = rounds.map((round) => point(x(round), y(value(round.median - round.confidence)))).reverse();
    parts.push(svgEl('path', { class: 'feed-band', d: `M${upper.join('L')}L${lower.join('L')}Z` }, [
      svgEl('title', { text: 'median ± confidence (half the interquartile range)' }),
    ]));
    const line = rounds.map((round) => point(x(round), y(value(round.median))));
    // One round alone is a dot; the path still starts there.
    parts.push(svgEl('path', { class: 'feed-line', d: `M${line.join('L')}` }));
    const last = rounds[rounds.length - 1];
    parts.push(svgEl('circle', { class: 'feed-dot', cx: x(last).toFixed(1), cy: y(value(last.median)).toFixed(1), r: 3 }, [
      svgEl('title', { text: `round ${last.round}: ${formatRoundValue(last, feed.decimals)} ${feed.unit}` }),
    ]));
    // Drawn last: a miss in the latest round shows over its dot.
    for (const round of rounds) {
      if (!round.misses) continue;
      parts.push(svgEl('circle', { class: 'feed-miss', cx: x(round).toFixed(1), cy: y(value(round.median)).toFixed(1), r: 3.5 }, [
        svgEl('title', { text: `round ${round.round}: ${round.misses} of ${round.reporters} observations outside the band` }),
      ]));
    }
    parts.push(svgEl('text', { class: 'feed-label', x: plot.left, y: height - 4, 'text-anchor': 'start', text: `round ${first}` }));
    parts.push(svgEl('text', {
      class: 'feed-label', x: width - plot.right, y: height - 4, 'text-anchor': 'end', text: `round ${last.round}`,
    }));
    svg.replaceChildren(...parts);
  }

  /// The misses of the selected feed's last rounds, oldest first, one tag each.
  function renderFeedMisses(feed, rounds) {
    const foot = $('feed-misses');
    const recent = rounds.slice(-limits.feedMissRoundsShown);
    if (!feed || !recent.length) {
      foot.replaceChildren();
      return;
    }
    const missed = recent.reduce((sum, round) => sum + round.misses, 0);
    const observed = recent.reduce((sum, round) => sum + round.reporters, 0);
    foot.replaceChildren(
      el('span', { text: `misses, last ${recent.length} round${recent.length === 1 ? '' : 's'}:` }),
      ...recent.map((round) => el('span', {
        className: `tag miss-tag${round.misses ? ' miss-some' : ''}`,
        text: String(round.misses),
        title: `round ${round.round} at block ${round.height}: ${round.misses} of ${round.reporters} observations outside the band`,
      })),
      el('span', { className: 'muted', text: `${missed} of ${observed} observations outside the band` }),
    );
  }

  // MARK: governance

  /// Proposals and the upgrade plan; the parameters at first and whenever a proposal was decided
  /// since they were read (only a passed proposal changes them). A part that fails keeps showing
  /// its last good answer.
  async function loadGov() {
    const gov = state.gov;
    if (gov.loading) {
      gov.again = true;
      return;
    }
    gov.loading = true;
    try {
      const [proposals, upgrade] = await Promise.allSettled([api('/gov/proposals'), api('/gov/upgrade')]);
      const errors = [];
      if (proposals.status === 'fulfilled') gov.proposals = proposals.value;
      else errors.push(proposals.reason);
      if (upgrade.status === 'fulfilled') gov.upgrade = upgrade.value;
      else errors.push(upgrade.reason);
      const decidedAt = gov.proposals
        ? Math.max(0, ...(gov.proposals.proposals || []).map((proposal) => proposal.endHeight || 0)) : -1;
      if (!gov.params || decidedAt !== gov.paramsDecidedAt) {
        try {
          gov.params = await api('/params');
          gov.paramsDecidedAt = decidedAt;
        } catch (error) {
          errors.push(error);
        }
      }
      gov.error = errors.length ? errors[0] : null;
      reportError('governance', gov.error);
    } finally {
      gov.loading = false;
    }
    renderGov();
    if (gov.again) {
      gov.again = false;
      loadGov();
    }
  }

  /// A `gov.*` parameter from the last `/params` read, or NaN.
  function govParam(name) {
    const params = state.gov.params && state.gov.params.params;
    const value = params && params.gov ? Number(params.gov[name]) : NaN;
    return Number.isFinite(value) ? value : NaN;
  }

  /// "33.4%" from 334 permille; "–" when unknown.
  function formatPermille(permille) {
    return Number.isFinite(permille) ? `${Number((permille / 10).toFixed(1))}%` : '–';
  }

  /// A share 0…1 as "12.5%".
  function formatShare(share) {
    return Number.isFinite(share) ? `${Number((share * 100).toFixed(1))}%` : '–';
  }

  /// A duration as "45 s", "4 min 10 s", "3 h 5 min" or "2 d 4 h".
  function formatSpan(ms) {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
    return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
  }

  /// The BFT time of the newest block the page knows (what voting and deposit periods end by).
  function latestBlockTimeMs() {
    let latest = (state.status && state.status.latestBlockTimeMs) || 0;
    for (const block of state.blocks.values()) if (block.timeMs > latest) latest = block.timeMs;
    return latest;
  }

  const proposalBadges = {
    deposit: 'badge-off', voting: 'badge-info', passed: 'badge-ok', rejected: 'badge-bad', failed: 'badge-warn',
  };

  function renderGov() {
    const { proposals: answer, error } = state.gov;
    const body = $('proposals');
    const timeCells = [];
    if (!answer) {
      body.replaceChildren(unavailableRow(7, 'the proposals', error));
    } else {
      const list = answer.proposals || [];
      setText('gov-summary', `${list.length} at block ${answer.height}${error ? ' · refresh failed' : ''}`);
      $('gov-summary').title = error ? messageOf(error) : '';
      setText('gov-pool', formatNumber(answer.communityPool));
      setText('gov-voting', formatNumber(list.filter((proposal) => proposal.status === 'voting').length));
      setText('gov-deposit', formatNumber(list.filter((proposal) => proposal.status === 'deposit').length));
      const rows = list.map((proposal) => proposalRow(proposal, timeCells));
      body.replaceChildren(...(rows.length ? rows : [emptyRow(7,
        'no proposals yet — meshwork gov submit --from KEY --deposit N --title T --summary S')]));
      $('panel-gov').dataset.height = String(answer.height);
    }
    setText('gov-quorum', formatPermille(govParam('quorumPermille')));
    setText('gov-threshold', formatPermille(govParam('thresholdPermille')));
    $('gov-threshold').title = `expedited proposals: ${formatPermille(govParam('expeditedThresholdPermille'))}`;
    setText('gov-veto', formatPermille(govParam('vetoThresholdPermille')));
    state.gov.timeCells = timeCells;
    renderUpgrades();
    renderGovClock();
  }

  function proposalRow(proposal, timeCells) {
    const messages = proposal.messages || [];
    const shown = messages.slice(0, limits.proposalMessagesShownMax);
    const rest = messages.length - shown.length;
    const timeCell = el('td', { className: 'proposal-time' });
    timeCells.push({ cell: timeCell, proposal });
    const outcome = proposal.outcome || '';
    return el('tr', { dataset: { proposal: String(proposal.id), status: proposal.status } }, [
      el('td', { className: 'num mono strong', text: String(proposal.id) }),
      el('td', {
        className: 'wrap proposal-text',
        title: `proposed by ${proposal.proposer}\nsubmitted ${new Date(proposal.submitTimeMs).toISOString()} (BFT time)`,
      }, [
        el('span', { className: 'strong proposal-title', text: proposal.title || '(untitled)' }),
        proposal.expedited ? el('span', { className: 'tag', text: 'expedited' }) : null,
        proposal.summary ? el('span', { className: 'muted proposal-summary', text: proposal.summary }) : null,
      ]),
      el('td', {}, [el('span', {
        className: `badge ${proposalBadges[proposal.status] || 'badge-off'}`,
        text: proposal.status,
        title: `deposit ${formatNumber(proposal.deposit)} from ${proposal.depositors} depositor`
          + `${proposal.depositors === 1 ? '' : 's'}; ${proposal.voters} voter${proposal.voters === 1 ? '' : 's'}`,
      })]),
      el('td', { className: 'wrap proposal-messages', title: messages.join('\n') || null }, messages.length
        ? shown.map((line) => el('span', { className: 'mono message-line', text: line }))
          .concat(rest > 0 ? [el('span', { className: 'muted', text: `+${rest} more` })] : [])
        : [el('span', { className: 'muted', text: 'text proposal' })]),
      tallyCell(proposal),
      timeCell,
      el('td', { className: 'wrap proposal-outcome' }, [
        outcome ? el('span', { text: outcome }) : el('span', { className: 'muted', text: '–' }),
        proposal.burned ? el('span', { className: 'warn burned', text: 'deposit burned' }) : null,
      ]),
    ]);
  }

  /// The tally as one bar over the bonded tokens (yes, no, veto, abstain), with the quorum marked.
  function tallyCell(proposal) {
    const tally = proposal.tally || {};
    const bonded = Number(tally.bonded) || 0;
    const parts = [['yes', tally.yes], ['no', tally.no], ['veto', tally.noWithVeto], ['abstain', tally.abstain]]
      .map(([name, value]) => [name, Number(value) || 0]);
    const votes = Object.fromEntries(parts);
    const voted = parts.reduce((sum, [, value]) => sum + value, 0);
    const counted = votes.yes + votes.no + votes.veto; // abstentions count for the quorum only
    const bar = el('span', { className: 'tally-bar' });
    for (const [name, value] of parts) {
      if (!value || !bonded) continue;
      const part = el('span', { className: `tally-part tally-${name}` });
      part.style.width = `${Math.min(100, (value / bonded) * 100).toFixed(2)}%`;
      bar.append(part);
    }
    const quorum = govParam('quorumPermille');
    if (Number.isFinite(quorum)) {
      const line = el('span', { className: 'tally-quorum' });
      line.style.left = `${Math.min(100, quorum / 10)}%`;
      bar.append(line);
    }
    const threshold = govParam(proposal.expedited ? 'expeditedThresholdPermille' : 'thresholdPermille');
    const title = [
      `${proposal.status === 'voting' ? 'live tally' : 'final tally'} of ${formatNumber(bonded)} bonded`,
      ...parts.map(([name, value]) => `${name}: ${formatNumber(value)} (${formatShare(bonded ? value / bonded : NaN)} of bonded)`),
      `turnout ${formatShare(bonded ? voted / bonded : NaN)}; quorum ${formatPermille(quorum)}`,
      `yes ${formatShare(counted ? votes.yes / counted : NaN)} of yes, no and veto; passes above ${formatPermille(threshold)}`,
      `veto ${formatShare(voted ? votes.veto / voted : NaN)} of the votes; rejects at ${formatPermille(govParam('vetoThresholdPermille'))}`,
    ].join('\n');
    return el('td', { className: 'tally-col', title, dataset: { voted: String(voted), bonded: String(bonded) } }, [
      bar,
      el('span', {
        className: 'tally-text',
        text: `${formatShare(bonded ? voted / bonded : 0)} voted · yes ${formatShare(counted ? votes.yes / counted : 0)}`,
      }),
    ]);
  }

  /// The time column and the upgrade countdown, which move with every block without a reload.
  function renderGovClock() {
    const nowMs = latestBlockTimeMs();
    for (const { cell, proposal } of state.gov.timeCells) fillProposalTime(cell, proposal, nowMs);
    renderUpgradeBanner();
  }

  function fillProposalTime(cell, proposal, nowMs) {
    let text;
    let note = '';
    let title;
    if (proposal.status === 'voting' || proposal.status === 'deposit') {
      const voting = proposal.status === 'voting';
      const endMs = voting ? proposal.votingEndMs : proposal.depositEndMs;
      const left = endMs - nowMs;
      text = !nowMs ? '–' : left > 0 ? `${formatSpan(left)} left` : 'ends with the next block';
      if (voting) {
        note = 'in voting';
      } else {
        const needed = govParam(proposal.expedited ? 'expeditedMinDeposit' : 'minDeposit');
        note = `deposit ${formatNumber(proposal.deposit)} of ${Number.isFinite(needed) ? formatNumber(needed) : '–'}`;
      }
      title = `${voting ? 'voting' : 'the deposit period'} ends at ${new Date(endMs).toISOString()} (BFT time; the `
        + `latest block's is ${nowMs ? new Date(nowMs).toISOString() : 'unknown'}); decided at the end of the first `
        + 'block at or after it';
    } else {
      text = proposal.endHeight ? `ended at block ${proposal.endHeight}` : 'ended';
      title = proposal.votingEndMs ? `voting ended at ${new Date(proposal.votingEndMs).toISOString()} (BFT time)`
        : `the deposit period ended at ${new Date(proposal.depositEndMs).toISOString()} (BFT time)`;
    }
    if (cell.dataset.text === text + note) return;
    cell.dataset.text = text + note;
    cell.title = title;
    cell.replaceChildren(el('span', { text }));
    if (note) cell.append(el('span', { className: 'age', text: note }));
  }

  /// The plan (or none) and the upgrades applied, in the panel.
  function renderUpgrades() {
    const upgrade = state.gov.upgrade;
    if (!upgrade) return;
    const plan = upgrade.plan;
    const planned = $('upgrade-plan');
    planned.className = plan ? 'warn' : 'muted';
    planned.textContent = plan
      ? `${plan.name} at height ${plan.height} · binary sha256 ${plan.binarySHA256}${plan.info ? ` · ${plan.info}` : ''}`
      : 'none';
    const applied = upgrade.applied || [];
    const list = $('upgrades-applied');
    list.className = applied.length ? '' : 'muted';
    list.replaceChildren(...(applied.length
      ? applied.map((done) => el('span', { className: 'tag', text: `${done.name} at height ${done.height}` }))
      : ['none']));
  }

  /// The page-wide banner of a planned upgrade: nodes without its handler stop at its height.
  function renderUpgradeBanner() {
    const plan = state.gov.upgrade && state.gov.upgrade.plan;
    const banner = $('upgrade-banner');
    banner.hidden = !plan;
    if (!plan) {
      delete banner.dataset.name;
      return;
    }
    const left = plan.height - state.height;
    setText('upgrade-banner-text', `upgrade ${plan.name} at height ${plan.height}`);
    setText('upgrade-banner-note', left > 0
      ? `${formatNumber(left)} block${left === 1 ? '' : 's'} to go — nodes without a handler for it stop there`
      : 'due now — nodes without a handler for it stop at this height');
    banner.title = `run a binary with sha256 ${plan.binarySHA256}${plan.info ? `\n${plan.info}` : ''}`;
    banner.dataset.name = plan.name;
    banner.dataset.height = String(plan.height);
    banner.dataset.blocksLeft = String(left);
  }

  // MARK: device shadow

  /// Reads the shadows asked for in the panel's form: `GET /things/{did}/shadow` (`?name=` for
  /// one), with the token in the Authorization header. A new read makes older answers stale.
  async function loadShadow({ quiet = false } = {}) {
    const shadow = state.shadow;
    if (!shadow.did) return;
    const seq = ++shadow.seq;
    shadow.loading = true;
    if (!quiet) {
      showShadowError(null);
      $('shadow-results').replaceChildren(el('p', { className: 'muted shadow-empty', text: 'loading…' }));
      shadow.drawn = null;
      shadow.ageCells = [];
      setText('shadow-summary', '');
    }
    const path = `/things/${encodeURIComponent(shadow.did)}/shadow`
      + (shadow.name ? `?name=${encodeURIComponent(shadow.name)}` : '');
    let answer = null;
    let failure = null;
    try {
      answer = await api(path, { token: shadow.token });
    } catch (error) {
      failure = error;
    }
    if (seq !== shadow.seq) return; // another read was asked for meanwhile
    shadow.loading = false;
    if (failure) {
      // A refused token or a bad request stays refused: no more refreshes until Show is pressed.
      if ([400, 401, 403].includes(failure.status)) shadow.stopped = true;
      showShadowError(failure);
      if (failure.status !== undefined || !shadow.drawn) {
        // The API answered: what was shown is not what it holds now (a network failure keeps it).
        $('shadow-results').replaceChildren();
        shadow.drawn = null;
        shadow.ageCells = [];
        setText('shadow-summary', '');
      }
      return;
    }
    showShadowError(null);
    renderShadows(answer);
  }

  /// The panel's error line: what the API said (status, code, message) and what to do about it.
  function showShadowError(error) {
    const line = $('shadow-error');
    if (!error) {
      line.hidden = true;
      line.textContent = '';
      delete line.dataset.status;
      delete line.dataset.code;
      return;
    }
    const said = error.code ? `${error.status} ${error.code}: ${error.apiMessage}` : messageOf(error);
    const named = state.shadow.name ? ` named '${state.shadow.name}'` : '';
    let text;
    switch (error.local ? 'local' : error.status) {
      case 'local':
        text = error.message;
        break;
      case 401:
        text = `No token (${said}). Paste a device token: meshwork device token --key NAME.`;
        break;
      case 403:
        text = `Token refused (${said}). It must be a current token of the device, its controller or a DID granted shadow.read on it.`;
        break;
      case 404:
        text = `No shadow${named} (${said}). The device has not written one yet, or deleted it`
          + (state.shadow.stopped || !$('shadow-follow').checked ? '.' : '; the panel looks again every 5 s.');
        break;
      case 400:
        text = `Bad request (${said}). A device is a did:mesh:… or did:key:… DID; a shadow name is 1–64 letters, digits, ':', '_' or '-'.`;
        break;
      default:
        text = `Could not read the shadow: ${said}`;
    }
    if (line.textContent !== text) line.textContent = text;
    line.hidden = false;
    line.dataset.status = String(error.status || '');
    line.dataset.code = error.code || '';
  }

  function isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  }

  /// `object[key]` only when it is the object's own (a device may name a key `__proto__`).
  function own(object, key) {
    return isObject(object) && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
  }

  /// A metadata node's own timestamp (Unix seconds), if it is a leaf's `{"timestamp": N}`; a
  /// state key named "timestamp" has an object there instead.
  function stampOf(meta) {
    const stamp = own(meta, 'timestamp');
    return typeof stamp === 'number' && Number.isFinite(stamp) ? stamp : null;
  }

  function describeStamp(seconds) {
    if (seconds === null) return 'no timestamp in the metadata';
    const date = new Date(seconds * 1000);
    return Number.isNaN(date.getTime())
      ? `written at ${seconds} (Unix seconds)`
      : `written ${date.toLocaleString([], { hour12: false })} (Unix ${seconds}, the writing node's clock)`;
  }

  /// The newest metadata timestamp under `meta` (the shadow's last write), or null.
  function newestStamp(meta, depth = 0) {
    if (!isObject(meta) || depth > limits.shadowDepthMax) return null;
    let newest = stampOf(meta);
    for (const [key, child] of Object.entries(meta)) {
      if (key === 'timestamp' && !isObject(child)) continue;
      const found = newestStamp(child, depth + 1);
      if (found !== null && (newest === null || found > newest)) newest = found;
    }
    return newest;
  }

  /// A JSON Pointer segment (`~` → `~0`, `/` → `~1`), as the node names shadow paths.
  function pointerSegment(key) {
    return key.replace(/~/g, '~0').replace(/\//g, '~1');
  }

  /// A leaf's value as JSON (strings quoted, so "21" and 21 differ); arrays are values, shown whole.
  function leafText(value) {
    try {
      const text = JSON.stringify(value);
      return text === undefined ? String(value) : text;
    } catch (error) {
      return String(value);
    }
  }

  function leafClass(value) {
    if (value === null) return 'kv-null';
    if (Array.isArray(value)) return 'kv-array';
    return `kv-${typeof value}`;
  }

  /// One section of a shadow (`desired`, `reported`, `delta`) as a key-value tree: every key and
  /// value goes in as text; each entry's title is its metadata timestamp. `budget.rows` bounds the
  /// entries drawn per shadow.
  function shadowTree(object, meta, path, depth, budget) {
    const list = el('ul', { className: 'kv' });
    for (const [key, value] of Object.entries(object)) {
      if (budget.rows <= 0) {
        budget.cut = true;
        break;
      }
      budget.rows -= 1;
      const childPath = `${path}/${pointerSegment(key)}`;
      const childMeta = own(meta, key);
      const stamp = stampOf(childMeta);
      const item = el('li', { dataset: { path: childPath } }, [el('span', { className: 'kv-key', text: key })]);
      if (isObject(value) && Object.keys(value).length && depth < limits.shadowDepthMax) {
        item.className = 'kv-branch';
        if (stamp !== null) item.title = describeStamp(stamp);
        item.append(shadowTree(value, childMeta, childPath, depth + 1, budget));
      } else {
        item.title = describeStamp(stamp);
        item.dataset.stamp = stamp === null ? '' : String(stamp);
        item.append(el('span', { className: `kv-value ${leafClass(value)}`, text: leafText(value) }));
      }
      list.append(item);
    }
    return list;
  }

  function shadowSection(name, object, meta, budget, emptyText) {
    const body = isObject(object) && Object.keys(object).length
      ? shadowTree(object, meta, `/${name}`, 1, budget)
      : el('p', { className: 'muted shadow-empty', text: emptyText });
    return el('div', { className: 'shadow-section', dataset: { section: name } }, [el('h4', { text: name }), body]);
  }

  /// Draws the shadows of an answer, unless they are the ones already drawn (a refresh that found
  /// no change keeps the tree, and what is selected in it, and only moves the "ago" texts on).
  function renderShadows(answer) {
    const shadow = state.shadow;
    const shadows = Array.isArray(answer && answer.shadows) ? answer.shadows : [];
    // A document's `timestamp` is when the node answered: it changes at every read, the rest only
    // when the shadow does.
    const json = JSON.stringify(shadows.map((view) => {
      const documentView = isObject(view) && isObject(view.document) ? view.document : {};
      return [isObject(view) ? view.name : null, documentView.state, documentView.metadata, documentView.version];
    }));
    const thing = typeof answer.thing === 'string' ? answer.thing : shadow.did;
    setText('shadow-summary', `${shortDID(thing)} · ${shadows.length} shadow${shadows.length === 1 ? '' : 's'} · read ${formatClock(Date.now())}`);
    $('shadow-summary').title = thing;
    if (json === shadow.drawn) {
      renderShadowAges();
      return;
    }
    shadow.drawn = json;
    shadow.ageCells = [];
    const cards = shadows.map((view) => {
      const documentView = isObject(view && view.document) ? view.document : {};
      const stateView = isObject(documentView.state) ? documentView.state : {};
      const metadata = isObject(documentView.metadata) ? documentView.metadata : {};
      const named = isObject(view) && typeof view.name === 'string' && view.name !== '';
      const version = Number.isFinite(documentView.version) ? documentView.version : null;
      const updated = newestStamp(metadata);
      const answeredAt = Number.isFinite(documentView.timestamp) ? documentView.timestamp : null;
      const shownAt = updated !== null ? updated : answeredAt; // no metadata: when the node answered
      const age = el('span', { className: 'age' });
      if (shownAt !== null) shadow.ageCells.push({ node: age, ms: shownAt * 1000 });
      const budget = { rows: limits.shadowRowsMax, cut: false };
      const delta = own(stateView, 'delta');
      const sections = [
        shadowSection('desired', own(stateView, 'desired'), own(metadata, 'desired'), budget, 'nothing desired'),
        shadowSection('reported', own(stateView, 'reported'), own(metadata, 'reported'), budget, 'nothing reported'),
        // The delta's leaves are desired ones: their timestamps are the desired metadata's.
        shadowSection('delta', delta, own(metadata, 'desired'), budget,
          'no delta: every desired value is reported'),
      ];
      const head = el('div', { className: 'shadow-head' }, [
        el('span', { className: named ? 'strong mono' : 'strong', text: named ? view.name : 'classic shadow' }),
        el('span', { className: 'shadow-version', text: version === null ? 'version –' : `version ${version}` }),
        el('span', {
          className: 'shadow-time',
          title: updated === null ? 'no timestamp in the metadata' : `last write: ${describeStamp(updated)}`,
        }, [shownAt === null ? 'updated –' : `updated ${formatClock(shownAt * 1000)}`, age]),
      ]);
      return el('article', {
        className: 'shadow',
        dataset: { shadow: named ? view.name : '', version: version === null ? '' : String(version) },
      }, [
        head,
        el('div', { className: 'shadow-sections' }, sections),
        budget.cut ? el('p', { className: 'muted', text: `only the first ${limits.shadowRowsMax} entries are shown` }) : null,
      ]);
    });
    $('shadow-results').replaceChildren(...(cards.length
      ? cards
      : [el('p', { className: 'muted shadow-empty', text: 'no shadows' })]));
    renderShadowAges();
  }

  function renderShadowAges() {
    for (const { node, ms } of state.shadow.ageCells) {
      const text = formatAge(ms);
      if (node.textContent !== text) node.textContent = text;
    }
  }

  /// Every `shadowIntervalMs`: the shown shadows again, while asked for and the page is visible.
  function refreshShadow() {
    const shadow = state.shadow;
    renderShadowAges();
    if (!shadow.did || shadow.stopped || shadow.loading || document.hidden) return;
    if (!$('shadow-follow').checked) return;
    loadShadow({ quiet: true });
  }

  // MARK: partition

  /// How long ago the last commit was, to the minute (the banner is a live region: it changes at
  /// most once a minute).
  function formatCommitAge(ms) {
    const minutes = Math.floor(Math.max(0, ms) / 60000);
    if (minutes < 1) return 'less than a minute ago';
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h ago`;
  }

  /// The page-wide banner of a node cut off from the network (`/status.partitioned`: no commit for
  /// `[site] partition_after_seconds`): it serves its devices from its last committed state.
  function renderPartitionBanner() {
    const status = state.status;
    const banner = $('partition-banner');
    const cut = Boolean(status && status.partitioned === true);
    banner.hidden = !cut;
    if (!cut) {
      delete banner.dataset.height;
      delete banner.dataset.ageMs;
      return;
    }
    const ageMs = Number.isFinite(status.lastCommitAgeMs) ? status.lastCommitAgeMs : 0;
    // Devices authenticate against the last committed state for [site] offline_auth_hours.
    const offlineAuthMs = 72 * 3600 * 1000;
    setText('partition-banner-text',
      `Cut off from the network: serving devices from height ${status.height}, last commit ${formatCommitAge(ageMs)}`);
    setText('partition-banner-note', ageMs < offlineAuthMs
      ? '(devices authenticate offline for up to 72 h)'
      : '(devices authenticate offline for up to 72 h: that has passed, new device connections are refused)');
    banner.title = 'No block committed for [site] partition_after_seconds: this node reaches less than two '
      + 'thirds of the voting power (or the chain has stalled). It keeps serving its devices from its last '
      + 'committed state, for [site] offline_auth_hours (72 h unless its config.toml says otherwise), and '
      + 'keeps its clients\' transactions in its outbox until a block holds them.';
    banner.dataset.height = String(status.height);
    banner.dataset.ageMs = String(ageMs);
  }

  // MARK: firmware rollouts

  async function loadRollouts() {
    const rollouts = state.rollouts;
    if (rollouts.loading) {
      rollouts.again = true;
      return;
    }
    rollouts.loading = true;
    try {
      rollouts.answer = await api('/ota/rollouts');
      rollouts.error = null;
      reportError('rollouts', null);
    } catch (error) {
      rollouts.error = error;
      reportError('rollouts', error);
    } finally {
      rollouts.loading = false;
    }
    renderRollouts();
    if (rollouts.again) {
      rollouts.again = false;
      loadRollouts();
    }
  }

  const rolloutBadges = {
    awaitingApproval: 'badge-off', active: 'badge-info', paused: 'badge-warn', completed: 'badge-ok', aborted: 'badge-bad',
  };

  function renderRollouts() {
    const { answer, error } = state.rollouts;
    const body = $('rollouts');
    if (!answer) {
      body.replaceChildren(unavailableRow(11, 'the rollouts', error));
      return;
    }
    const list = answer.rollouts || [];
    const shown = list.slice(0, limits.rolloutsShownMax);
    const active = list.filter((rollout) => rollout.status === 'active').length;
    const count = list.length > shown.length ? `newest ${shown.length} of ${list.length}` : `${list.length}`;
    setText('rollouts-summary', `${count}${active ? ` · ${active} active` : ''} at block ${answer.height}`
      + `${error ? ' · refresh failed' : ''}`);
    $('rollouts-summary').title = error ? messageOf(error) : '';
    const rows = shown.map(rolloutRow);
    body.replaceChildren(...(rows.length ? rows : [emptyRow(11, 'no rollouts yet — meshwork ota publish --from KEY '
      + '--model M --version V --file F, then meshwork ota rollout --from KEY --firmware ID --stage P:S:F:T')]));
  }

  function rolloutRow(rollout) {
    const firmware = rollout.firmware;
    const stages = rollout.stages || [];
    const current = Math.min(rollout.stage, Math.max(0, stages.length - 1));
    const ended = rollout.status === 'completed' || rollout.status === 'aborted';
    const count = (value, kind) => el('td', {
      className: `num mono${value && kind ? ` ${kind}` : ''}${value ? '' : ' muted'}`, text: formatNumber(value),
    });
    return el('tr', {
      dataset: {
        rollout: String(rollout.id), status: rollout.status, stage: String(rollout.stage),
        devices: String(rollout.devices), succeeded: String(rollout.succeeded), failed: String(rollout.failed),
        pending: String(rollout.pending), waiting: String(rollout.waiting),
      },
    }, [
      el('td', { className: 'num mono strong', text: String(rollout.id) }),
      firmware
        ? el('td', {
          className: 'wrap',
          title: [`firmware ${firmware.id} by ${firmware.controller}`, `cid ${firmware.cid}`, `sha256 ${firmware.sha256}`,
            `${formatBytes(firmware.size)}, published at block ${firmware.publishedAt}`].join('\n'),
        }, [el('span', { className: 'strong', text: firmware.model }), ' ', el('span', { className: 'mono', text: firmware.version })])
        : el('td', { className: 'muted', text: '–', title: 'the firmware record is missing' }),
      el('td', {}, [
        el('span', {
          className: `badge ${rolloutBadges[rollout.status] || 'badge-off'}`,
          text: rollout.status,
          title: `approval: ${rollout.approval}${(rollout.approvals || []).length
            ? `\napproved by ${rollout.approvals.join(', ')}` : ''}\nby ${rollout.controller}\ncreated at block `
            + `${rollout.createdAt}${rollout.endedAt ? `, ended at block ${rollout.endedAt}` : ''}`,
        }),
        rollout.status === 'awaitingApproval'
          ? el('span', { className: 'age', text: `${rollout.approval}: ${(rollout.approvals || []).length} approved` }) : null,
      ]),
      el('td', { className: 'mono', text: stages.length ? `${current + 1} of ${stages.length}` : '–' }),
      el('td', { className: 'stages-col' }, stages.map((stage, index) => stageLine(stage, index, index === current && !ended))),
      count(rollout.devices, ''),
      count(rollout.succeeded, 'ok'),
      count(rollout.failed, 'bad'),
      count(rollout.pending, ''),
      count(rollout.waiting, ''),
      el('td', {
        className: `wrap${rollout.status === 'aborted' ? ' bad' : rollout.status === 'paused' ? ' warn' : rollout.reason ? '' : ' muted'}`,
        text: rollout.reason || '–',
      }),
    ]);
  }

  /// One stage: succeeded, failed and pending as a bar over the devices it asked, its success bar
  /// marked, and "succeeded / assigned".
  function stageLine(stage, index, current) {
    const assigned = Number(stage.assigned) || 0;
    const bar = el('span', { className: `stage-bar${assigned ? '' : ' stage-idle'}` });
    for (const [name, value] of [['ok', stage.succeeded], ['failed', stage.failed], ['pending', stage.pending]]) {
      if (!value || !assigned) continue;
      const part = el('span', { className: `stage-part stage-${name}` });
      part.style.width = `${Math.min(100, (value / assigned) * 100).toFixed(2)}%`;
      bar.append(part);
    }
    const mark = el('span', { className: 'stage-mark' });
    mark.style.left = `${Math.min(100, stage.minSuccessPercent)}%`;
    bar.append(mark);
    return el('span', {
      className: `stage-line${current ? ' current' : ''}`,
      dataset: { stage: String(index), assigned: String(assigned) },
      title: [`stage ${index + 1}: up to ${stage.percent}% of the devices`,
        `${formatNumber(assigned)} asked: ${formatNumber(stage.succeeded)} succeeded, ${formatNumber(stage.failed)} failed, `
          + `${formatNumber(stage.pending)} pending`,
        `advances at ${stage.minSuccessPercent}% succeeded, aborts at ${stage.abortFailurePercent}% failed, `
          + `pauses after ${stage.timeoutBlocks} block${stage.timeoutBlocks === 1 ? '' : 's'}`].join('\n'),
    }, [
      el('span', { className: 'stage-label mono', text: `${index + 1}: ${stage.percent}%` }),
      bar,
      el('span', { className: 'stage-text mono', text: assigned ? `${stage.succeeded}/${assigned}` : 'not started' }),
    ]);
  }

  /// Reloads `name` after a new block, at most once per `govRefreshMinMs` (a fast chain is not
  /// read at every block) and a moment after the block (the block's state is committed by then).
  function refreshOnBlock(name, task) {
    const entry = state.blockRefresh.get(name) || { lastMs: 0, timer: null };
    state.blockRefresh.set(name, entry);
    if (entry.timer) return;
    const waitMs = Math.max(limits.refreshDebounceMs, entry.lastMs + limits.govRefreshMinMs - Date.now());
    entry.timer = setTimeout(() => {
      entry.timer = null;
      entry.lastMs = Date.now();
      task();
    }, waitMs);
  }

  // MARK: contracts

  /// `bafkreiabcd…wxyz1234`: CIDs all begin alike, so the end is kept too.
  function shortCID(cid) {
    if (!cid) return '–';
    return cid.length > 22 ? `${cid.slice(0, 10)}…${cid.slice(-8)}` : cid;
  }

  async function loadContracts() {
    const contracts = state.contracts;
    if (contracts.loading) {
      contracts.again = true;
      return;
    }
    contracts.loading = true;
    try {
      contracts.answer = await api('/contracts');
      contracts.error = null;
      reportError('contracts', null);
    } catch (error) {
      contracts.error = error;
      reportError('contracts', error);
    } finally {
      contracts.loading = false;
    }
    renderContracts();
    if (contracts.again) {
      contracts.again = false;
      loadContracts();
    }
  }

  function renderContracts() {
    const { answer, error } = state.contracts;
    if (!answer) {
      $('contract-codes').replaceChildren(unavailableRow(4, 'the stored code', error));
      $('contract-instances').replaceChildren(unavailableRow(5, 'the contracts', error));
      return;
    }
    const codes = answer.codes || [];
    const instances = answer.contracts || [];
    setText('contracts-summary', `${codes.length} code${codes.length === 1 ? '' : 's'} · ${instances.length} `
      + `contract${instances.length === 1 ? '' : 's'} at block ${answer.height}${error ? ' · refresh failed' : ''}`);
    $('contracts-summary').title = error ? messageOf(error) : '';
    const uses = new Map(); // code id → contracts made from it
    for (const instance of instances) uses.set(instance.codeId, (uses.get(instance.codeId) || 0) + 1);
    const codeRows = codes.map((code) => {
      const used = uses.get(code.codeId) || 0;
      return el('tr', { dataset: { code: code.codeId, bytes: String(code.bytes), creator: code.creator } }, [
        el('td', {
          className: 'mono', text: shortCID(code.codeId),
          title: `${code.codeId}\n${used} contract${used === 1 ? '' : 's'} made from it`,
        }),
        el('td', { className: 'num mono', text: formatBytes(code.bytes), title: `${formatNumber(code.bytes)} bytes` }),
        el('td', { className: 'mono', text: shortDID(code.creator), title: code.creator }),
        el('td', { className: 'num mono muted', text: `#${code.height}` }),
      ]);
    });
    $('contract-codes').replaceChildren(...(codeRows.length ? codeRows
      : [emptyRow(4, 'no code stored yet — meshwork contract store --from KEY FILE.wasm')]));
    const instanceRows = instances.map((instance) =>
      el('tr', { dataset: { contract: instance.contract, code: instance.codeId, creator: instance.creator } }, [
        el('td', { className: 'mono', text: shortDID(instance.contract), title: instance.contract }),
        instance.label
          ? el('td', { className: 'wrap', text: instance.label })
          : el('td', { className: 'muted', text: '–', title: 'no label' }),
        el('td', { className: 'mono', text: shortCID(instance.codeId), title: instance.codeId }),
        el('td', { className: 'mono', text: shortDID(instance.creator), title: instance.creator }),
        el('td', { className: 'num mono muted', text: `#${instance.height}` }),
      ]));
    $('contract-instances').replaceChildren(...(instanceRows.length ? instanceRows
      : [emptyRow(5, 'no contracts yet — meshwork contract instantiate CODE_ID --from KEY')]));
  }

  /// Queues a committed transaction that ran contract.execute, once, so that its events are read.
  /// Only the newest can be listed, so older ones are never read.
  function noteContractTx(tx) {
    if (!tx || !tx.hash || tx.code !== 0 || !(tx.messages || []).includes('contract.execute')) return;
    const book = state.contractCalls;
    if (book.seen.has(tx.hash)) return;
    const oldest = book.calls.length >= limits.contractCallsShownMax ? book.calls[book.calls.length - 1] : null;
    if (oldest && (tx.height < oldest.height || (tx.height === oldest.height && tx.index < oldest.index))) return;
    book.seen.add(tx.hash);
    book.queue.push(tx);
    book.queue.sort((a, b) => b.height - a.height || b.index - a.index);
    book.queue.length = Math.min(book.queue.length, limits.contractCallsShownMax);
    readContractCalls();
  }

  /// Reads queued transactions, newest first, at most `contractCallReadsParallelMax` at a time.
  function readContractCalls() {
    const book = state.contractCalls;
    while (book.reading < limits.contractCallReadsParallelMax && book.queue.length) {
      const tx = book.queue.shift();
      book.reading += 1;
      api(`/txs/${encodeURIComponent(tx.hash)}`)
        .then((answer) => ({ answer }), (error) => ({ error }))
        .then(({ answer, error }) => {
          book.reading -= 1;
          if (state.contractCalls !== book) return; // the page started over meanwhile
          if (error) book.failed += 1;
          else addContractCalls(book, tx, answer);
          renderContractCalls();
          readContractCalls();
        });
    }
  }

  /// The transaction's contract.execute events, each with its first contract, codeId, sender and
  /// fuelUsed attributes (a call's own `data` attributes come after them).
  function addContractCalls(book, tx, answer) {
    (answer.events || []).forEach((event, order) => {
      if (event.type !== 'contract.execute') return;
      const attributes = new Map();
      for (const pair of event.attributes || []) if (!attributes.has(pair.key)) attributes.set(pair.key, pair.value);
      book.calls.push({
        hash: tx.hash, height: tx.height, index: tx.index, order,
        contract: attributes.get('contract') || '', codeId: attributes.get('codeId') || '',
        sender: attributes.get('sender') || '', fuelUsed: attributes.get('fuelUsed') || '',
      });
    });
    book.calls.sort((a, b) => b.height - a.height || b.index - a.index || b.order - a.order);
    book.calls.length = Math.min(book.calls.length, limits.contractCallsShownMax);
    // The hashes kept are those still listed or waiting: the set does not grow with the chain.
    if (book.seen.size > limits.contractCallsShownMax * 20) {
      book.seen = new Set(book.calls.map((call) => call.hash).concat(book.queue.map((queued) => queued.hash)));
    }
  }

  function renderContractCalls() {
    const book = state.contractCalls;
    const waiting = book.reading + book.queue.length;
    const rows = book.calls.map((call) => {
      const fuel = Number(call.fuelUsed);
      return el('tr', {
        dataset: { tx: call.hash, height: String(call.height), contract: call.contract, sender: call.sender,
          fuelUsed: call.fuelUsed },
      }, [
        el('td', { className: 'num mono', text: `#${call.height}` }),
        el('td', { className: 'mono', text: shortDID(call.contract), title: `${call.contract}\ncode ${call.codeId}` }),
        el('td', { className: 'mono', text: shortDID(call.sender), title: call.sender }),
        el('td', { className: 'num mono', text: Number.isFinite(fuel) && call.fuelUsed !== '' ? formatNumber(fuel) : '–' }),
        el('td', { className: 'mono', text: shortHash(call.hash, 12), title: call.hash }),
      ]);
    });
    const empty = !book.blocksRead || waiting ? 'loading…' : 'no contract.execute in the blocks this page has read';
    $('contract-calls').replaceChildren(...(rows.length ? rows : [emptyRow(5, empty)]));
    const notes = [rows.length ? `the newest ${rows.length}` : '', waiting ? `${waiting} being read` : '',
      book.failed ? `${book.failed} transaction${book.failed === 1 ? '' : 's'} could not be read` : ''];
    setText('contract-calls-summary', notes.filter(Boolean).join(' · '));
  }

  // MARK: compute

  async function loadCompute() {
    const compute = state.compute;
    if (compute.loading) {
      compute.again = true;
      return;
    }
    compute.loading = true;
    try {
      const [providers, jobs] = await Promise.allSettled([api('/compute/providers'), api('/compute/jobs')]);
      for (const [name, result] of [['providers', providers], ['jobs', jobs]]) {
        if (result.status === 'fulfilled') {
          compute[name] = result.value;
          compute.errors.delete(name);
        } else {
          compute.errors.set(name, result.reason);
        }
      }
      const failure = compute.errors.values().next();
      reportError('compute', failure.done ? null : failure.value);
    } finally {
      compute.loading = false;
    }
    renderCompute();
    if (compute.again) {
      compute.again = false;
      loadCompute();
    }
  }

  const jobBadges = {
    bidding: 'badge-info', running: 'badge-info', agreed: 'badge-ok', disputed: 'badge-warn', settled: 'badge-ok',
    failed: 'badge-bad',
  };
  const jobMeanings = {
    bidding: 'providers bid until the phase ends; the lowest bids win leases',
    running: 'the leases run the job, commit to its output, then reveal it, by the phase end',
    agreed: 'every result agrees; the owner or a lease holder may challenge until the phase ends',
    disputed: 'challenged, or the results disagree: the validators re-execute it until the phase ends',
    settled: 'the leases with the settled output were paid; the rest of the escrow went back to the owner',
    failed: 'no result: the whole escrow went back to the owner',
  };
  const openJobStatuses = new Set(['bidding', 'running', 'agreed', 'disputed']);

  function renderCompute() {
    const { providers, jobs, errors } = state.compute;
    const providerList = providers ? providers.providers || [] : [];
    const providerRows = providerList.map(computeProviderRow);
    $('compute-providers').replaceChildren(...(providers
      ? (providerRows.length ? providerRows : [emptyRow(6,
        'no compute providers registered — a node with [compute] provider = true registers itself (devnet --compute N)')])
      : [unavailableRow(6, 'the providers', errors.get('providers'))]));
    const jobList = jobs ? jobs.jobs || [] : [];
    const shown = jobList.slice(0, limits.computeJobsShownMax);
    const jobRows = shown.map((job) => jobRow(job, jobs.height));
    $('compute-jobs').replaceChildren(...(jobs
      ? (jobRows.length ? jobRows : [emptyRow(7, 'no compute jobs yet — meshwork compute submit JOB.wasm --input FILE')])
      : [unavailableRow(7, 'the jobs', errors.get('jobs'))]));

    if (providers) setText('compute-providers-count', formatNumber(providerList.length));
    if (jobs) {
      const count = (status) => jobList.filter((job) => job.status === status).length;
      setText('compute-open', formatNumber(count('bidding') + count('running') + count('agreed')));
      setText('compute-disputed', formatNumber(count('disputed')));
      setText('compute-settled', formatNumber(count('settled')));
      setText('compute-failed', formatNumber(count('failed')));
      setText('compute-escrow', formatNumber(jobList.reduce((sum, job) => sum + (Number(job.escrow) || 0), 0)));
      $('compute-disputed').className = `value${count('disputed') ? ' warn' : ''}`;
      $('compute-failed').className = `value${count('failed') ? ' bad' : ''}`;
      setText('compute-jobs-summary', jobList.length > shown.length ? `newest ${shown.length} of ${jobList.length}` : '');
      // The API lists the newest 100 jobs: the counts are over those.
      $('compute-stats').title = jobList.length >= 100 ? `jobs counted over the ${jobList.length} newest` : '';
    }
    const height = (jobs && jobs.height) || (providers && providers.height);
    const stale = [...errors.keys()].filter((name) => state.compute[name]);
    const note = [height ? `at block ${height}` : '', stale.length ? `${stale.join(' and ')} not refreshed` : '']
      .filter(Boolean).join(' · ');
    setText('compute-summary', note);
  }

  function computeProviderRow(provider) {
    const done = Number(provider.jobsDone) || 0;
    const failed = Number(provider.jobsFailed) || 0;
    return el('tr', {
      dataset: { did: provider.did, stake: String(provider.stake), done: String(done), failed: String(failed) },
    }, [
      el('td', { className: 'mono', text: shortDID(provider.did), title: provider.did }),
      el('td', { text: provider.region || '–' }),
      el('td', {
        className: 'num mono',
        text: `${provider.cores} · ${formatBytes(provider.memoryMiB * 1024 * 1024)}`,
        title: `${provider.cores} cores, ${formatNumber(provider.memoryMiB)} MiB`,
      }),
      el('td', {
        className: 'num mono', text: formatNumber(provider.pricePerMegafuel),
        title: 'asking price per million fuel (each bid names its own price)',
      }),
      el('td', { className: 'num mono', text: formatNumber(provider.stake) }),
      el('td', {
        className: `num mono${failed ? ' warn' : ''}`, text: `${formatNumber(done)} / ${formatNumber(failed)}`,
        title: 'leases paid / leases slashed (no result by the deadline, or a result the verdict did not reach)',
      }),
    ]);
  }

  function jobRow(job, height) {
    const leases = job.leases || [];
    const open = openJobStatuses.has(job.status);
    const left = job.phaseEnd - height;
    const terms = [`owner ${job.owner}`, `module ${job.module}`, `${(job.inputs || []).length} input(s)`,
      `fuel ≤ ${formatNumber(job.fuelMax)}, redundancy ${job.redundancy}, ≤ ${formatNumber(job.priceMax)} per lease`,
      `${job.region ? `region ${job.region}, ` : ''}${job.deadlineBlocks} blocks per lease`,
      `submitted at block ${job.submittedAt}`].join('\n');
    let phase;
    if (open) {
      phase = el('td', { className: 'num mono', title: `this phase ends at the end of block ${job.phaseEnd}` }, [
        `#${job.phaseEnd}`,
        el('span', { className: 'age', text: left > 0 ? `in ${formatNumber(left)} block${left === 1 ? '' : 's'}` : 'due' }),
      ]);
    } else if (job.status === 'settled' && job.resolved) {
      phase = el('td', { className: 'num mono', text: `output ${shortHash(job.resolved, 10)}`, title: `settled on output ${job.resolved}` });
    } else {
      phase = el('td', { className: 'num mono muted', text: '–' });
    }
    return el('tr', {
      className: job.status === 'disputed' ? 'job-disputed' : job.status === 'failed' ? 'job-failed' : null,
      dataset: {
        job: String(job.id), status: job.status, round: String(job.round), escrow: String(job.escrow),
        leases: leases.map((lease) => `${lease.provider} ${lease.state}`).join(','),
      },
    }, [
      el('td', { className: 'num mono strong', text: String(job.id), title: terms }),
      el('td', { className: 'mono', text: shortDID(job.owner), title: job.owner }),
      el('td', {}, [el('span', {
        className: `badge ${jobBadges[job.status] || 'badge-off'}`, text: job.status, title: jobMeanings[job.status] || null,
      })]),
      el('td', { className: 'num mono', text: String(job.round), title: `bidding round ${job.round} of at most 3` }),
      el('td', { className: 'leases' }, leases.length
        ? leases.map(leaseTag)
        : [el('span', { className: 'muted', text: job.status === 'bidding' ? 'bidding…' : 'none' })]),
      el('td', { className: `num mono${job.escrow ? '' : ' muted'}`, text: formatNumber(job.escrow) }),
      phase,
    ]);
  }

  /// One lease: the end of its provider's DID and its state, coloured by the state.
  function leaseTag(lease) {
    const provider = String(lease.provider || '');
    return el('span', {
      className: `tag lease-${lease.state}`,
      dataset: { state: lease.state, provider },
      text: `${provider.slice(-6)} ${lease.state}`,
      title: [`${provider}`, `${lease.state}; bid ${formatNumber(lease.price)}, leased at block ${lease.leasedAt}`,
        lease.outputHash ? `output ${lease.outputHash}` : 'no output revealed'].join('\n'),
    });
  }

  // MARK: rendering

  function scheduleRender() {
    if (state.renderTimer) return;
    state.renderTimer = setTimeout(() => {
      state.renderTimer = null;
      render();
    }, limits.renderDelayMs);
  }

  function render() {
    renderHeader();
    renderHealth();
    renderBlocks();
    renderTransactions();
    if (state.stale.delete('validators')) renderValidators();
    if (state.stale.delete('peers')) renderPeers();
    if (state.stale.delete('devices')) renderDevices();
    if (state.stale.delete('feeds')) renderFeeds();
    drawChart();
    renderTelemetry();
    renderPayments();
    renderGovClock();
    renderPartitionBanner();
  }

  function renderHeader() {
    const status = state.status;
    if (!status) return;
    setText('chain-id', status.chainId);
    setText('moniker', status.moniker);
    setText('node-id', shortHash(status.nodeId, 16));
    $('node-id').title = status.nodeId;
  }

  /// Blocks oldest first, with the interval since the block before (when that one is known).
  function chartSeries() {
    const blocks = [...state.blocks.values()].sort((a, b) => a.height - b.height);
    const series = [];
    for (let index = 1; index < blocks.length; index++) {
      const previous = blocks[index - 1];
      const block = blocks[index];
      if (previous.height !== block.height - 1) continue;
      const intervalMs = block.timeMs - previous.timeMs;
      series.push({ height: block.height, txCount: block.txCount, intervalMs });
    }
    return series.slice(-limits.chartBlocksMax);
  }

  function renderHealth() {
    setText('height', state.height);
    const series = chartSeries();
    if (series.length) {
      const totalMs = series.reduce((sum, point) => sum + Math.max(point.intervalMs, 0), 0);
      const totalTxs = series.reduce((sum, point) => sum + point.txCount, 0);
      const sorted = series.map((point) => point.intervalMs).sort((a, b) => a - b);
      setText('block-time', formatDuration(totalMs / series.length));
      setText('block-time-note', `last ${formatDuration(series[series.length - 1].intervalMs)} · median ${formatDuration(sorted[Math.floor(sorted.length / 2)])}`);
      $('block-time-note').title = `mean over the last ${series.length} blocks`;
      setText('tx-rate', totalMs > 0 ? formatRate((totalTxs * 1000) / totalMs) : '–');
      setText('chart-range', `blocks ${series[0].height}–${series[series.length - 1].height}`);
    }
    const status = state.status;
    if (!status) return;
    setText('mempool', formatNumber(status.mempoolSize));
    setText('peer-count', (status.peers || []).length);
    const sync = $('sync');
    if (status.partitioned) {
      sync.textContent = 'cut off';
      sync.className = 'stat-value bad';
    } else {
      sync.textContent = status.catchingUp ? 'catching up' : 'in sync';
      sync.className = `stat-value ${status.catchingUp ? 'warn' : 'ok'}`;
    }
    setText('role', status.isValidator ? 'this node validates' : 'this node does not validate');
  }

  function emptyRow(columns, text) {
    return el('tr', { className: 'empty' }, [el('td', { colspan: String(columns), text })]);
  }

  function renderBlocks() {
    const blocks = [...state.blocks.values()].sort((a, b) => b.height - a.height).slice(0, limits.blocksShownMax);
    const rows = blocks.map((block) =>
      el('tr', { dataset: { height: String(block.height) } }, [
        el('td', { className: 'mono strong', text: String(block.height) }),
        el('td', { className: 'mono', text: shortHash(block.hash, 16), title: block.hash }),
        el('td', { className: `num ${block.txCount ? 'strong' : 'muted'}`, text: String(block.txCount) }),
        el('td', { title: new Date(block.timeMs).toISOString() }, [
          formatClock(block.timeMs),
          el('span', { className: 'age', text: formatAge(block.timeMs) }),
        ]),
      ]));
    $('blocks').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'waiting for blocks…')]));
  }

  function renderTransactions() {
    const rows = state.txs.map((tx) => {
      const ok = tx.code === 0;
      const names = (tx.messages || []).join(', ') || '–';
      const failure = ok ? null : `${tx.module}/${tx.code}${tx.message ? ': ' + tx.message : ''}`;
      return el('tr', { dataset: { hash: tx.hash, height: String(tx.height) } }, [
        el('td', { className: 'mono', text: shortHash(tx.hash, 12), title: `${tx.hash} (block ${tx.height})` }),
        el('td', { text: names }),
        el('td', { className: 'mono', text: shortDID(tx.signer), title: tx.signer }),
        el('td', {}, [el('span', {
          className: `badge ${ok ? 'badge-ok' : 'badge-bad'}`, text: ok ? 'ok' : 'failed', title: failure,
        })]),
      ]);
    });
    $('txs').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'no transactions in recent blocks')]));
  }

  function renderValidators() {
    const answer = state.validators;
    if (!answer) return;
    const total = answer.totalPower || answer.validators.reduce((sum, validator) => sum + validator.power, 0);
    setText('validator-summary', `${answer.validators.length} · total power ${formatNumber(total)}`);
    const rows = answer.validators.map((validator) => {
      const share = total ? (validator.power / total) * 100 : 0;
      const bar = el('span', { className: 'share-bar' }, [el('span', { className: 'share-fill' })]);
      bar.firstChild.style.width = `${share.toFixed(1)}%`;
      return el('tr', {}, [
        el('td', { text: validator.moniker || shortDID(validator.operatorDID) || '–', title: validator.operatorDID }),
        el('td', { className: 'mono', text: shortHash(validator.publicKey, 12), title: validator.publicKey }),
        el('td', { className: 'num mono', text: formatNumber(validator.power) }),
        el('td', { className: 'share-col' }, [bar, el('span', { className: 'share-text', text: `${share.toFixed(1)}%` })]),
      ]);
    });
    $('validators').replaceChildren(...(rows.length ? rows : [emptyRow(4, 'no validators')]));
  }

  function renderPeers() {
    const status = state.status;
    if (!status) return;
    const rows = (status.peers || []).map((peer) =>
      el('tr', {}, [
        el('td', { className: 'mono', text: shortHash(peer.nodeId, 16), title: peer.nodeId }),
        el('td', { className: 'mono', text: peer.address }),
        el('td', { className: 'num mono', text: peer.height === undefined || peer.height === null ? '–' : String(peer.height) }),
      ]));
    $('peers').replaceChildren(...(rows.length ? rows : [emptyRow(3, 'no peers connected')]));
  }

  /// The device's current key(s): the first, shortened, and how many more there are.
  function keysCell(keys) {
    if (!keys.length) return el('td', { className: 'muted', text: 'none' });
    const more = keys.length > 1 ? el('span', { className: 'muted', text: ` +${keys.length - 1}` }) : null;
    return el('td', { className: 'mono', title: keys.join('\n') }, [shortDID(keys[0]), more]);
  }

  /// The live grants a device holds: one tag per grant (action, with the resource on hover).
  function grantsCell(grants) {
    if (grants === undefined) return el('td', { className: 'muted', text: '–' });
    if (!grants.length) return el('td', { className: 'muted', text: 'none' });
    const shown = grants.slice(0, limits.grantTagsShownMax).map((grant) =>
      el('span', { className: 'tag', text: grant.action, title: `#${grant.id} ${grant.action} on ${grant.resource}` }));
    const rest = grants.length - shown.length;
    return el('td', {}, shown.concat(rest > 0 ? [el('span', { className: 'muted', text: ` +${rest}` })] : []));
  }

  function renderDevices() {
    const devices = state.devices;
    const active = devices.filter((device) => !device.deactivated).length;
    setText('device-summary', devices.length ? `${devices.length} registered · ${active} active` : '');
    state.reputation.cells.clear();
    const rows = devices.map((device) => {
      const grants = state.grants.get(device.did);
      const keys = device.keys || [];
      const selected = device.did === state.selectedDID;
      // The data attributes carry the row's state whole (the cells abbreviate it), for scripts
      // and tests that read the page.
      const dataset = {
        did: device.did,
        status: device.deactivated ? 'deactivated' : 'active',
        keys: keys.join(' '),
      };
      const reputation = state.reputation.cache.get(device.did);
      if (reputation && reputation.view) dataset.reputation = String(reputation.view.score);
      if (grants !== undefined) {
        dataset.grants = JSON.stringify(grants.map((grant) =>
          ({ id: grant.id, action: grant.action, resource: grant.resource })));
      }
      return el('tr', {
        tabindex: '0',
        className: [selected ? 'selected' : '', device.deactivated ? 'deactivated' : ''].join(' ').trim() || null,
        'aria-selected': selected ? 'true' : 'false',
        dataset,
      }, [
        el('td', { className: 'mono', text: shortDID(device.did), title: device.did }),
        el('td', { className: 'strong', text: device.name || '–' }),
        el('td', { text: [device.manufacturer, device.model].filter(Boolean).join(' ') || '–' }),
        el('td', { text: device.region || '–' }),
        el('td', { className: 'mono', text: shortDID(device.controller), title: device.controller }),
        keysCell(keys),
        el('td', {}, [el('span', {
          className: `badge ${device.deactivated ? 'badge-off' : 'badge-ok'}`,
          text: device.deactivated ? 'deactivated' : 'active',
          title: `registered at block ${device.created}, last changed at block ${device.updated}`,
        })]),
        reputationCell(device.did),
        grantsCell(grants),
      ]);
    });
    $('devices').replaceChildren(...(rows.length ? rows : [emptyRow(9, 'no devices registered yet')]));
    watchDeviceRows();
  }

  function selectDevice(did) {
    state.selectedDID = did;
    // Picking a device in the directory offers it to the telemetry and shadow panels.
    if (!state.telemetry.did) $('telemetry-did').value = did;
    if (!state.shadow.did && !$('shadow-did').value.trim()) $('shadow-did').value = did;
    renderDevices();
    loadDeviceDetail(did).catch((error) => reportError('device', error));
  }

  // MARK: chart

  /// A cleared canvas sized for the screen's pixel ratio, with its CSS size and the theme colour
  /// lookup; null while the canvas is not laid out.
  function prepareCanvas(id) {
    const canvas = $(id);
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return null;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    context.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
    const styles = getComputedStyle(document.documentElement);
    const color = (name, fallback) => styles.getPropertyValue(name).trim() || fallback;
    return { context, width, height, color };
  }

  /// Five horizontal grid lines from `low` to `high`, labelled with `label(value)` left of `left`.
  function drawGrid({ context, width, color }, plot, low, high, label) {
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    for (let step = 0; step <= 4; step++) {
      const value = low + ((high - low) * step) / 4;
      const y = Math.round(plot.top + plot.height - (plot.height * step) / 4) + 0.5;
      context.strokeStyle = color('--grid', '#2a3340');
      context.lineWidth = 1;
      context.beginPath();
      context.moveTo(plot.left, y);
      context.lineTo(width - plot.right, y);
      context.stroke();
      context.fillStyle = color('--muted', '#8b98a9');
      context.fillText(label(value), plot.left - 6, y);
    }
  }

  function drawChart() {
    const canvas = prepareCanvas('tx-chart');
    if (!canvas) return;
    const { context, width, height, color } = canvas;
    const series = chartSeries();
    const rates = series.map((point) => (point.intervalMs > 0 ? (point.txCount * 1000) / point.intervalMs : 0));
    const peak = Math.max(1, ...rates);
    const scaleMax = niceCeiling(peak);
    const left = 44;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;

    drawGrid(canvas, { left, right, top, height: plotHeight }, 0, scaleMax, formatRate);
    if (!series.length) {
      context.textAlign = 'center';
      context.fillText('waiting for blocks…', left + plotWidth / 2, top + plotHeight / 2);
      return;
    }
    const slot = plotWidth / limits.chartBlocksMax;
    const barWidth = Math.max(1, slot * 0.7);
    const offset = limits.chartBlocksMax - series.length; // newest block at the right edge
    context.fillStyle = color('--accent', '#3fb8af');
    series.forEach((point, index) => {
      const barHeight = (rates[index] / scaleMax) * plotHeight;
      const x = left + (offset + index) * slot + (slot - barWidth) / 2;
      if (barHeight > 0) context.fillRect(x, top + plotHeight - barHeight, barWidth, Math.max(barHeight, 1));
      else {
        context.fillStyle = color('--grid', '#2a3340');
        context.fillRect(x, top + plotHeight - 1, barWidth, 1);
        context.fillStyle = color('--accent', '#3fb8af');
      }
    });
    context.fillStyle = color('--muted', '#8b98a9');
    context.textBaseline = 'alphabetic';
    context.textAlign = 'left';
    context.fillText(`#${series[0].height}`, left + offset * slot, height - 4);
    context.textAlign = 'right';
    context.fillText(`#${series[series.length - 1].height}`, width - right, height - 4);
  }

  /// The smallest of 1, 2, 5 × 10^n at or above `value`, so the axis reads in round numbers.
  function niceCeiling(value) {
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  // MARK: start

  function start() {
    const devices = $('devices');
    devices.addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-did]');
      if (row) selectDevice(row.dataset.did);
    });
    devices.addEventListener('keydown', (event) => {
      const row = event.target.closest('tr[data-did]');
      if (row && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        selectDevice(row.dataset.did);
      }
    });
    $('detail-close').addEventListener('click', () => {
      state.selectedDID = null;
      $('device-detail').hidden = true;
      renderDevices();
    });
    window.addEventListener('resize', () => {
      state.stale.add('feeds'); // the chart is drawn to the panel's width
      scheduleRender();
    });
    const feedRows = $('feeds');
    feedRows.addEventListener('click', (event) => {
      const row = event.target.closest('tr[data-feed]');
      if (row) selectFeed(row.dataset.feed);
    });
    feedRows.addEventListener('keydown', (event) => {
      const row = event.target.closest('tr[data-feed]');
      if (row && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        selectFeed(row.dataset.feed);
      }
    });
    $('telemetry-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const did = $('telemetry-did').value.trim();
      if (!did.startsWith('did:')) {
        reportError('telemetry', new Error('enter a device DID (did:mesh:… or did:key:…)'));
        return;
      }
      reportError('telemetry', null);
      watchTelemetry(did, $('telemetry-filter').value.trim(), $('telemetry-token').value.trim());
    });
    $('shadow-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const did = $('shadow-did').value.trim();
      if (!did) {
        const error = new Error('Enter a device DID (did:mesh:… or did:key:…).');
        error.local = true;
        showShadowError(error);
        return;
      }
      const shadow = state.shadow;
      shadow.did = did;
      shadow.name = $('shadow-name').value.trim();
      shadow.token = $('shadow-token').value.trim(); // kept in memory only
      shadow.stopped = false;
      loadShadow();
    });
    $('shadow-follow').addEventListener('change', () => {
      if ($('shadow-follow').checked) refreshShadow();
    });
    $('channels-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const party = $('channels-party').value.trim();
      if (!party.startsWith('did:')) {
        $('channel-rows').replaceChildren(emptyRow(6, 'enter a DID (did:mesh:… or did:key:…)'));
        return;
      }
      lookUpChannels(party);
    });

    document.body.dataset.wsEvents = '0';
    render();
    resync();
    connect();
    setInterval(loadStatus, limits.statusIntervalMs);
    setInterval(loadValidators, limits.validatorsIntervalMs);
    setInterval(loadDirectory, limits.directoryIntervalMs);
    setInterval(renderBlocks, 1000); // keeps the "n s ago" column honest between blocks
    loadGateway();
    setInterval(loadGateway, limits.gatewayIntervalMs);
    loadDisk();
    setInterval(loadDisk, limits.diskIntervalMs);
    loadStorage();
    setInterval(loadStorage, limits.storageIntervalMs);
    loadMarket();
    setInterval(() => {
      loadMarket();
      // A channel's metered credit moves with vouchers, which never reach the ledger.
      if (state.channelsParty) lookUpChannels(state.channelsParty, { quiet: true });
    }, limits.marketIntervalMs);
    loadFeeds();
    setInterval(loadFeeds, limits.feedsIntervalMs);
    setInterval(() => {
      loadGov();
      loadRollouts();
    }, limits.govIntervalMs);
    setInterval(loadContracts, limits.contractsIntervalMs);
    setInterval(loadCompute, limits.computeIntervalMs);
    // Scores on screen older than the cache keeps them are read again.
    setInterval(pumpReputation, limits.reputationTtlMs / 4);
    setInterval(refreshShadow, limits.shadowIntervalMs);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
