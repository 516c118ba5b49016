// The Airlock dashboard. Plain JS, no framework, nothing from elsewhere.
// Every value that came from the server is rendered with textContent or an attribute, never as HTML:
// event hosts, paths and details are chosen by the code in the sandboxes.
'use strict';

(() => {
  const TOKEN_KEY = 'airlock.token';
  const MAX_EVENTS = 2000;
  const SHOWN_EVENTS = 500;
  const HISTORY_SECONDS = 3600;
  const SANDBOX_POLL_MS = 5000;
  const DECISIONS = ['allow', 'deny', 'pending'];

  const $ = (id) => document.getElementById(id);

  /** A new element with an optional class and text (set as text, never parsed). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function time(iso) {
    const at = new Date(iso);
    if (Number.isNaN(at.getTime())) return '';
    return at.toLocaleTimeString([], { hour12: false }) + '.' + String(at.getMilliseconds()).padStart(3, '0');
  }

  function dateTime(iso) {
    const at = new Date(iso);
    return Number.isNaN(at.getTime()) ? '' : at.toLocaleString([], { hour12: false });
  }

  // ---- the API ----------------------------------------------------------------------------------------------

  let token = sessionStorage.getItem(TOKEN_KEY);

  class ApiError extends Error {
    constructor(status, problem) {
      super(problemText(status, problem));
      this.status = status;
      this.problem = problem;
    }
  }

  /** A Problem Details answer as one line a person can act on. */
  function problemText(status, problem) {
    if (!problem) return `the gateway answered ${status}`;
    const parts = [problem.title, problem.detail].filter(Boolean);
    for (const [field, messages] of Object.entries(problem.errors || {})) {
      for (const message of messages) parts.push(`${field}: ${message}`);
    }
    return parts.length ? parts.join(' — ') : `the gateway answered ${status}`;
  }

  async function readProblem(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set('Authorization', 'Bearer ' + token);
    const response = await fetch(path, { ...options, headers, cache: 'no-store' });
    if (response.status === 401) {
      signOut('The token is unknown, expired or revoked: sign in again.');
      throw new ApiError(401, await readProblem(response));
    }

    if (!response.ok) throw new ApiError(response.status, await readProblem(response));
    return response.status === 204 ? null : response.json();
  }

  /**
   * A server-sent event stream read with fetch (EventSource cannot send an Authorization header). It reconnects
   * with Last-Event-ID after a drop, with a backoff from 250 ms to 10 s; a refusal (4xx) ends it with a message.
   */
  class EventStream {
    constructor(url, handlers) {
      this.url = url;
      this.handlers = handlers;
      this.lastId = null;
      this.stopped = false;
      this.controller = null;
    }

    start() {
      this.run();
      return this;
    }

    stop() {
      this.stopped = true;
      if (this.controller) this.controller.abort();
    }

    state(name, text) {
      if (!this.stopped && this.handlers.onState) this.handlers.onState(name, text || '');
    }

    async run() {
      let delay = 250;
      while (!this.stopped) {
        this.controller = new AbortController();
        try {
          const headers = { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' };
          if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
          const response = await fetch(this.url, { headers, signal: this.controller.signal, cache: 'no-store' });
          if (response.status === 401) {
            signOut('The token is unknown, expired or revoked: sign in again.');
            return;
          }

          if (response.status >= 400 && response.status < 500 && response.status !== 429) {
            this.state('refused', problemText(response.status, await readProblem(response)));
            return;
          }

          if (!response.ok) throw new Error(`the gateway answered ${response.status}`);
          if (this.handlers.onOpen) this.handlers.onOpen();
          this.state('live');
          delay = 250;
          await this.read(response.body);
          this.state('reconnecting', 'the stream ended');
        } catch (error) {
          if (this.stopped) return;
          this.state('reconnecting', error.message);
        }

        await sleep(delay);
        delay = Math.min(delay * 2, 10000);
      }
    }

    async read(body) {
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let type = 'message';
      let data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.stopped) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n')) >= 0) {
          let line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (data.length) this.handlers.onEvent(type, data.join('\n'), this.lastId);
            type = 'message';
            data = [];
            continue;
          }

          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? '' : line.slice(colon + 1);
          if (text.startsWith(' ')) text = text.slice(1);
          if (field === 'id') this.lastId = text;
          else if (field === 'event') type = text;
          else if (field === 'data') data.push(text);
        }
      }
    }
  }

  // ---- sign in ----------------------------------------------------------------------------------------------

  const streams = { feed: null, approvals: null };
  let sandboxTimer = null;
  let signedIn = false;

  async function signIn(candidate) {
    const response = await fetch('/v1/sandboxes?limit=1', { headers: { Authorization: 'Bearer ' + candidate }, cache: 'no-store' });
    if (response.status === 401) return 'That token is unknown, expired or revoked.';
    if (!response.ok) return problemText(response.status, await readProblem(response));
    token = candidate;
    sessionStorage.setItem(TOKEN_KEY, candidate);
    signedIn = true;
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
    startApp();
    return null;
  }

  function signOut(message) {
    signedIn = false;
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    for (const key of Object.keys(streams)) {
      if (streams[key]) streams[key].stop();
      streams[key] = null;
    }

    clearInterval(sandboxTimer);
    $('app').hidden = true;
    $('logout').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('status').textContent = '';
    $('status').className = 'status';
    $('token').value = '';
    $('token').focus();
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const candidate = $('token').value.trim();
    $('login-error').textContent = '';
    $('login-submit').disabled = true;
    try {
      const error = await signIn(candidate);
      if (error) $('login-error').textContent = error;
    } catch (error) {
      $('login-error').textContent = 'Cannot reach the gateway: ' + error.message;
    } finally {
      $('login-submit').disabled = false;
    }
  });

  $('logout').addEventListener('click', () => signOut(''));

  function startApp() {
    state.events = [];
    state.eventIds = new Set();
    state.counts = new Map();
    state.counted = new Set();
    state.approvals = new Map();
    state.scope = null;
    refreshSandboxes();
    sandboxTimer = setInterval(refreshSandboxes, SANDBOX_POLL_MS);
    openFeed();
    openApprovals();
    loadPolicyList();
    validatePolicy();
  }

  // ---- shared state -----------------------------------------------------------------------------------------

  const state = {
    scope: null, // the sandbox whose events are shown, or null for all
    sandboxes: [],
    events: [], // the feed's events, oldest first
    eventIds: new Set(),
    counts: new Map(), // session -> { allow, deny, pending }, over every event seen since sign-in
    counted: new Set(),
    approvals: new Map(),
  };

  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    setTimeout(() => {
      renderPending = false;
      renderFeed();
      renderChart();
      renderSandboxes();
    }, 50);
  }

  // ---- sandboxes --------------------------------------------------------------------------------------------

  async function refreshSandboxes() {
    if (!signedIn) return;
    const states = $('show-deleted').checked ? '' : 'state=pending,ready,failed,deleting&';
    try {
      const all = [];
      let after = null;
      for (let page = 0; page < 10; page++) {
        const answer = await api(`/v1/sandboxes?${states}limit=1000` + (after ? '&after=' + encodeURIComponent(after) : ''));
        all.push(...answer.items);
        after = answer.next;
        if (!after) break;
      }

      state.sandboxes = all.reverse();
      $('sandboxes-error').textContent = '';
    } catch (error) {
      if (error.status !== 401) $('sandboxes-error').textContent = 'Cannot list sandboxes: ' + error.message;
    }

    renderSandboxes();
  }

  // Rows are kept per sandbox and updated in place, so a row a person is looking at (or clicking) is not replaced.
  const sandboxRows = new Map();

  function sandboxRow(sandbox) {
    let entry = sandboxRows.get(sandbox.id);
    if (!entry) {
      const row = el('tr', 'sandbox');
      row.dataset.id = sandbox.id;
      const idCell = el('td');
      const pick = el('button', 'link', sandbox.id);
      pick.type = 'button';
      pick.title = 'Show this sandbox\'s events';
      pick.addEventListener('click', () => selectScope(sandbox.id));
      idCell.append(pick);
      const stateCell = el('td');
      const badge = el('span', 'badge');
      stateCell.append(badge);
      entry = {
        row, badge,
        driver: el('td'), policy: el('td'), labels: el('td'), created: el('td'),
        allow: el('td', 'num count-allow'), deny: el('td', 'num count-deny'), pending: el('td', 'num count-pending'),
      };
      row.append(idCell, stateCell, entry.driver, entry.policy, entry.labels, entry.created, entry.allow, entry.deny, entry.pending);
      sandboxRows.set(sandbox.id, entry);
    }

    const set = (node, text) => {
      const value = String(text ?? '');
      if (node.textContent !== value) node.textContent = value;
    };
    entry.row.dataset.state = sandbox.state;
    entry.row.classList.toggle('selected', sandbox.id === state.scope);
    set(entry.badge, sandbox.state);
    entry.badge.className = 'badge state-' + sandbox.state;
    entry.badge.title = sandbox.stateReason || '';
    set(entry.driver, sandbox.driver);
    set(entry.policy, sandbox.policyName ? `${sandbox.policyName} v${sandbox.activePolicyVersion ?? sandbox.policyVersion ?? '?'}` : 'inline');
    set(entry.labels, Object.entries(sandbox.labels || {}).map(([k, v]) => `${k}=${v}`).join(', '));
    set(entry.created, dateTime(sandbox.createdAt));
    const counts = state.counts.get(sandbox.id) || { allow: 0, deny: 0, pending: 0 };
    for (const decision of DECISIONS) set(entry[decision], counts[decision]);
    return entry.row;
  }

  function renderSandboxes() {
    const body = $('sandboxes').tBodies[0];
    const rows = state.sandboxes.map(sandboxRow);
    const shown = new Set(state.sandboxes.map((s) => s.id));
    for (const id of sandboxRows.keys()) if (!shown.has(id)) sandboxRows.delete(id);
    if (rows.length !== body.children.length || rows.some((row, i) => body.children[i] !== row)) body.replaceChildren(...rows);
    $('sandboxes-empty').hidden = state.sandboxes.length > 0;
  }

  $('show-deleted').addEventListener('change', refreshSandboxes);
  $('scope-all').addEventListener('click', () => selectScope(null));

  function selectScope(id) {
    if (state.scope === id && streams.feed) return;
    state.scope = id;
    openFeed();
    renderSandboxes();
  }

  // ---- the event feed ---------------------------------------------------------------------------------------

  function openFeed() {
    if (streams.feed) streams.feed.stop();
    state.events = [];
    state.eventIds = new Set();
    eventRows = new Map();
    const from = new Date(Date.now() - HISTORY_SECONDS * 1000).toISOString();
    // after=0 with from=: the last hour from the store, then live events, in one stream with no gap.
    let url = '/v1/events/stream?after=0&from=' + encodeURIComponent(from);
    if (state.scope) url += '&session=' + encodeURIComponent(state.scope);
    $('feed-scope').textContent = state.scope ? 'of ' + state.scope : 'of every sandbox';
    $('feed-status').textContent = 'connecting…';
    const stream = new EventStream(url, {
      onEvent: (type, data) => {
        if (type !== 'egress' || stream !== streams.feed) return;
        let egress;
        try {
          egress = JSON.parse(data);
        } catch {
          return;
        }

        addEvent(egress);
      },
      onState: (name, text) => {
        if (stream !== streams.feed) return;
        $('status').textContent = name === 'live' ? 'live' : name;
        $('status').className = 'status ' + name;
        $('feed-status').textContent = name === 'live' ? '' : text;
      },
    });
    streams.feed = stream.start();
    scheduleRender();
  }

  let lastUnknownRefresh = 0;

  function addEvent(egress) {
    if (!egress || typeof egress.id !== 'string') return;
    if (!state.counted.has(egress.id) && DECISIONS.includes(egress.decision) && egress.type !== 'close') {
      state.counted.add(egress.id);
      const counts = state.counts.get(egress.session) || { allow: 0, deny: 0, pending: 0 };
      counts[egress.decision]++;
      state.counts.set(egress.session, counts);
    }

    if (state.eventIds.has(egress.id)) return;
    state.eventIds.add(egress.id);
    state.events.push(egress);
    if (state.events.length > MAX_EVENTS) {
      for (const dropped of state.events.splice(0, state.events.length - MAX_EVENTS)) {
        state.eventIds.delete(dropped.id);
        eventRows.delete(dropped.id);
      }
    }

    // A sandbox the list does not have yet: list again, at most once a second however many events it sends.
    if (egress.session && !state.sandboxes.some((s) => s.id === egress.session) && Date.now() - lastUnknownRefresh > 1000) {
      lastUnknownRefresh = Date.now();
      refreshSandboxes();
    }
    scheduleRender();
  }

  function ruleText(rule) {
    if (!rule) return '';
    return `#${rule.index} ${rule.kind}` + (rule.name ? ` “${rule.name}”` : '');
  }

  function destination(egress) {
    let text = '';
    if (egress.method) text += egress.method + ' ';
    if (egress.scheme) text += egress.scheme + '://';
    text += egress.host ?? '';
    if (egress.port !== undefined && egress.port !== null) text += ':' + egress.port;
    if (egress.path) text += egress.path;
    return text;
  }

  function matchesFilter(egress) {
    const decision = $('filter-decision').value;
    if (decision && egress.decision !== decision) return false;
    if (!$('filter-close').checked && egress.type === 'close') return false;
    const needle = $('filter-text').value.trim().toLowerCase();
    if (!needle) return true;
    const haystack = [egress.session, egress.host, egress.path, egress.method, egress.reason, egress.detail, egress.type,
      egress.rule ? ruleText(egress.rule) : '', egress.port].join(' ').toLowerCase();
    return haystack.includes(needle);
  }

  // An event's row is built once and kept while the event is in the feed: re-rendering moves rows, never rebuilds them.
  let eventRows = new Map();

  function renderFeed() {
    const body = $('feed').tBodies[0];
    const rows = [];
    let matching = 0;
    for (let i = state.events.length - 1; i >= 0; i--) {
      const egress = state.events[i];
      if (!matchesFilter(egress)) continue;
      matching++;
      if (matching > SHOWN_EVENTS) continue;
      let row = eventRows.get(egress.id);
      if (!row) {
        row = eventRow(egress);
        eventRows.set(egress.id, row);
      }

      rows.push(row);
    }

    if (rows.length !== body.children.length || rows.some((row, i) => body.children[i] !== row)) body.replaceChildren(...rows);
    $('feed-count').textContent = `${Math.min(matching, SHOWN_EVENTS)} shown of ${state.events.length}`;
  }

  function eventRow(egress) {
    const decision = egress.decision || 'none';
    const row = el('tr', 'event decision-' + decision);
    row.dataset.id = egress.id;
    row.dataset.decision = decision;
    row.dataset.session = egress.session ?? '';
    row.dataset.host = egress.host ?? '';
    const decisionCell = el('td');
    decisionCell.append(el('span', 'badge decision-' + decision, egress.decision === 'pending' ? 'ask' : (egress.decision || '—')));
    if (egress.would_deny) decisionCell.append(el('span', 'badge would-deny', 'would deny'));
    row.append(
      el('td', 'time', time(egress.ts)),
      el('td', 'session', egress.session),
      decisionCell,
      el('td', 'type', egress.type),
      el('td', 'destination', destination(egress)),
      el('td', 'reason', egress.reason ?? ''),
      el('td', 'rule', ruleText(egress.rule)),
      el('td', 'detail', egress.detail ?? (egress.status ? 'status ' + egress.status : '')));
    return row;
  }

  for (const id of ['filter-decision', 'filter-close']) $(id).addEventListener('change', renderFeed);
  $('filter-text').addEventListener('input', renderFeed);

  // ---- the chart --------------------------------------------------------------------------------------------

  const BUCKETS = 30;

  function renderChart() {
    const windowSeconds = Number($('chart-window').value);
    const bucketMs = (windowSeconds * 1000) / BUCKETS;
    const end = Math.ceil(Date.now() / bucketMs) * bucketMs;
    const start = end - BUCKETS * bucketMs;
    const buckets = Array.from({ length: BUCKETS }, () => ({ allow: 0, deny: 0, pending: 0 }));
    const totals = { allow: 0, deny: 0, pending: 0 };
    for (const egress of state.events) {
      if (!DECISIONS.includes(egress.decision) || egress.type === 'close') continue;
      const at = Date.parse(egress.ts);
      if (!(at >= start && at < end)) continue;
      buckets[Math.floor((at - start) / bucketMs)][egress.decision]++;
      totals[egress.decision]++;
    }

    for (const decision of DECISIONS) $('chart-total-' + decision).textContent = totals[decision];
    const width = 600;
    const height = 160;
    const left = 32;
    const bottom = 18;
    const plotHeight = height - bottom - 6;
    const slot = (width - left) / BUCKETS;
    // An even top of at least 2, so the axis labels (0, half, top) are whole numbers.
    const highest = Math.max(...buckets.map((b) => b.allow + b.deny + b.pending));
    const max = Math.max(2, highest + (highest % 2));
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'Requests over time by decision' });
    for (const fraction of [0, 0.5, 1]) {
      const y = 6 + plotHeight * (1 - fraction);
      chart.append(svg('line', { x1: left, x2: width, y1: y, y2: y, class: 'grid' }));
      const label = svg('text', { x: left - 4, y: y + 4, class: 'axis', 'text-anchor': 'end' });
      label.textContent = String(max * fraction);
      chart.append(label);
    }

    buckets.forEach((bucket, i) => {
      let y = 6 + plotHeight;
      const x = left + i * slot + 1;
      const at = new Date(start + i * bucketMs);
      for (const decision of DECISIONS) {
        const count = bucket[decision];
        if (!count) continue;
        const h = (count / max) * plotHeight;
        y -= h;
        const bar = svg('rect', { x, y, width: Math.max(1, slot - 2), height: h, class: 'bar bar-' + decision, 'data-decision': decision, 'data-count': count });
        const title = svg('title');
        title.textContent = `${at.toLocaleTimeString([], { hour12: false })}: ${count} ${decision === 'pending' ? 'asked' : decision === 'allow' ? 'allowed' : 'denied'}`;
        bar.append(title);
        chart.append(bar);
      }
    });

    for (const i of [0, BUCKETS / 2, BUCKETS]) {
      const label = svg('text', { x: left + i * slot, y: height - 4, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === BUCKETS ? 'end' : 'middle' });
      label.textContent = new Date(start + i * bucketMs).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit' });
      chart.append(label);
    }

    $('chart').replaceChildren(chart);
  }

  $('chart-window').addEventListener('change', renderChart);
  setInterval(() => {
    if (signedIn) renderChart();
  }, 5000);

  // ---- approvals --------------------------------------------------------------------------------------------

  function openApprovals() {
    if (streams.approvals) streams.approvals.stop();
    $('approvals-status').textContent = 'connecting…';
    const stream = new EventStream('/v1/approvals/stream', {
      // The stream starts with every pending approval: what was pending before is replaced by it.
      onOpen: () => {
        for (const [id, view] of state.approvals) if (view.state === 'pending') state.approvals.delete(id);
      },
      onEvent: (type, data) => {
        if (type !== 'approval' || stream !== streams.approvals) return;
        try {
          const view = JSON.parse(data);
          if (view && typeof view.id === 'string') state.approvals.set(view.id, view);
        } catch {
          return;
        }

        renderApprovals();
      },
      onState: (name, text) => {
        if (stream !== streams.approvals) return;
        $('approvals-status').textContent = name === 'live' ? '' : name === 'refused' ? 'Approvals are not available: ' + text : text;
        renderApprovals();
      },
    });
    streams.approvals = stream.start();
  }

  function secondsLeft(view) {
    return Math.max(0, Math.round((Date.parse(view.expiresAt) - Date.now()) / 1000));
  }

  // Items are kept per approval and state, updated in place (the countdown ticks every second), never rebuilt.
  const approvalItems = new Map();

  function pendingItem(view) {
    let entry = approvalItems.get(view.id + ':pending');
    if (!entry) {
      const item = el('li', 'approval pending');
      item.dataset.id = view.id;
      item.dataset.session = view.session;
      item.dataset.host = view.host;
      const what = el('div', 'what');
      what.append(el('strong', 'destination', `${view.host}:${view.port}`), el('span', 'muted', ` from ${view.session}`));
      const why = el('div', 'muted');
      const scope = el('select', 'scope');
      scope.setAttribute('aria-label', 'Scope');
      scope.append(new Option('once', 'once'), new Option('for the session', 'session'));
      const approve = el('button', 'approve', 'Approve');
      const deny = el('button', 'deny', 'Deny');
      approve.type = deny.type = 'button';
      const message = el('div', 'error');
      approve.addEventListener('click', () => decide(view, 'approve', scope.value, message, [approve, deny]));
      deny.addEventListener('click', () => decide(view, 'deny', scope.value, message, [approve, deny]));
      const actions = el('div', 'actions');
      actions.append(scope, approve, deny);
      item.append(what, why, actions, message);
      entry = { item, why };
      approvalItems.set(view.id + ':pending', entry);
    }

    const why = (view.rule ? `rule ${view.rule}, ` : '') + `asked ${time(view.requestedAt)}, ${secondsLeft(view)} s left`;
    if (entry.why.textContent !== why) entry.why.textContent = why;
    return entry.item;
  }

  function decidedItem(view) {
    const key = view.id + ':' + view.state;
    let entry = approvalItems.get(key);
    if (!entry) {
      const item = el('li', 'approval state-' + view.state);
      item.dataset.id = view.id;
      item.append(
        el('span', 'badge state-' + view.state, view.state),
        el('span', null, ` ${view.host}:${view.port} from ${view.session}` + (view.scope ? ` (${view.scope})` : '') + (view.decidedBy ? ` by ${view.decidedBy}` : '')));
      entry = { item };
      approvalItems.set(key, entry);
    }

    return entry.item;
  }

  function replaceIfChanged(parent, nodes) {
    if (nodes.length !== parent.children.length || nodes.some((node, i) => parent.children[i] !== node)) parent.replaceChildren(...nodes);
  }

  let nothingWaiting = null;

  function renderApprovals() {
    const all = [...state.approvals.values()];
    const pending = all.filter((v) => v.state === 'pending').sort((a, b) => Date.parse(a.requestedAt) - Date.parse(b.requestedAt));
    const decided = all.filter((v) => v.state !== 'pending').sort((a, b) => Date.parse(b.decidedAt || b.expiresAt) - Date.parse(a.decidedAt || a.expiresAt)).slice(0, 10);
    const items = pending.map(pendingItem);
    if (!items.length && !$('approvals-status').textContent) items.push(nothingWaiting ??= el('li', 'muted empty', 'Nothing is waiting.'));
    replaceIfChanged($('approvals'), items);
    replaceIfChanged($('approvals-decided'), decided.map(decidedItem));
    const shown = new Set([...pending.map((v) => v.id + ':pending'), ...decided.map((v) => v.id + ':' + v.state)]);
    for (const key of approvalItems.keys()) if (!shown.has(key)) approvalItems.delete(key);
  }

  async function decide(view, decision, scope, message, buttons) {
    for (const button of buttons) button.disabled = true;
    message.textContent = '';
    try {
      const decided = await api('/v1/approvals/' + encodeURIComponent(view.id), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ decision, scope }),
      });
      state.approvals.set(decided.id, decided);
      renderApprovals();
    } catch (error) {
      message.textContent = error.status === 409 ? 'Already decided or timed out.' : error.message;
      for (const button of buttons) button.disabled = false;
      if (error.status === 409 || error.status === 404) {
        try {
          const current = await api('/v1/approvals/' + encodeURIComponent(view.id));
          state.approvals.set(current.id, current);
        } catch {
          state.approvals.delete(view.id);
        }

        renderApprovals();
      }
    }
  }

  setInterval(() => {
    if (signedIn && [...state.approvals.values()].some((v) => v.state === 'pending')) renderApprovals();
  }, 1000);

  // ---- the policy editor ------------------------------------------------------------------------------------

  const editor = $('policy-text');
  let problems = [];
  let validateTimer = null;
  let validation = 0;

  function renderGutter() {
    const lines = editor.value.split('\n').length;
    const byLine = new Map();
    for (const problem of problems) {
      const list = byLine.get(problem.line) || [];
      list.push(problem);
      byLine.set(problem.line, list);
    }

    const gutter = document.createDocumentFragment();
    for (let line = 1; line <= lines; line++) {
      const mark = el('div', 'line', line);
      mark.dataset.line = line;
      const here = byLine.get(line);
      if (here) {
        mark.classList.add(here.some((p) => p.severity === 'error') ? 'error' : 'warning');
        mark.title = here.map((p) => `${p.line}:${p.column}: ${p.message}` + (p.suggestion ? `; ${p.suggestion}` : '')).join('\n');
      }

      gutter.append(mark);
    }

    $('policy-gutter').replaceChildren(gutter);
    $('policy-gutter').scrollTop = editor.scrollTop;
  }

  function renderProblems() {
    const list = document.createDocumentFragment();
    for (const problem of problems) {
      const item = el('li', 'problem ' + problem.severity);
      item.dataset.line = problem.line;
      item.dataset.column = problem.column;
      const at = el('button', 'link at', `${problem.line}:${problem.column}`);
      at.type = 'button';
      at.title = 'Go to the line';
      at.addEventListener('click', () => goToLine(problem.line, problem.column));
      item.append(at, el('span', 'severity', ` ${problem.severity}: `), el('span', 'message', problem.message));
      if (problem.suggestion) item.append(el('span', 'suggestion', `; ${problem.suggestion}`));
      list.append(item);
    }

    $('policy-problems').replaceChildren(list);
    renderGutter();
  }

  function goToLine(line, column) {
    const lines = editor.value.split('\n');
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    const at = offset + Math.max(0, (column || 1) - 1);
    editor.focus();
    editor.setSelectionRange(at, offset + (lines[line - 1] ?? '').length);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  function setPolicyStatus(text, kind) {
    $('policy-status').textContent = text;
    $('policy-status').className = kind || 'muted';
  }

  async function validatePolicy() {
    if (!signedIn) return;
    const mine = ++validation;
    try {
      const answer = await api('/v1/policies/validate', { method: 'POST', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: editor.value });
      if (mine !== validation) return;
      problems = answer.problems || [];
      const errors = problems.filter((p) => p.severity === 'error').length;
      setPolicyStatus(answer.valid
        ? (problems.length ? `valid, ${problems.length} warning${problems.length === 1 ? '' : 's'}` : 'valid')
        : `${errors} error${errors === 1 ? '' : 's'}`, answer.valid ? 'ok' : 'error');
    } catch (error) {
      if (mine !== validation) return;
      setPolicyStatus('Cannot validate: ' + error.message, 'error');
    }

    renderProblems();
  }

  async function savePolicy() {
    const name = $('policy-name').value.trim();
    if (!name) {
      setPolicyStatus('Give the policy a name.', 'error');
      $('policy-name').focus();
      return;
    }

    validation++;
    try {
      const stored = await api('/v1/policies/' + encodeURIComponent(name), { method: 'PUT', headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: editor.value });
      problems = stored.problems || [];
      setPolicyStatus(`saved ${stored.name} version ${stored.version}`, 'ok');
      await loadPolicyList(stored.name);
    } catch (error) {
      // A refused policy's errors read "name:line:col: message": put them at their lines too.
      const messages = error.problem && error.problem.errors && error.problem.errors.policy;
      if (error.status === 400 && Array.isArray(messages)) {
        problems = messages.map((text) => {
          const m = /^[^:]*:(\d+):(\d+): (.*)$/s.exec(text);
          return m ? { line: Number(m[1]), column: Number(m[2]), severity: 'error', message: m[3] } : { line: 0, column: 0, severity: 'error', message: text };
        });
        setPolicyStatus('not saved: the policy has errors', 'error');
      } else {
        setPolicyStatus('Not saved: ' + error.message, 'error');
      }
    }

    renderProblems();
  }

  async function loadPolicyList(select) {
    try {
      const answer = await api('/v1/policies');
      const list = $('policy-list');
      const options = [new Option('new policy', '')];
      for (const policy of answer.items) options.push(new Option(`${policy.name} (v${policy.latestVersion})`, policy.name));
      list.replaceChildren(...options);
      if (select) list.value = select;
    } catch (error) {
      if (error.status !== 401) setPolicyStatus('Cannot list policies: ' + error.message, 'error');
    }
  }

  async function loadPolicy(name) {
    if (!name) return;
    try {
      const stored = await api('/v1/policies/' + encodeURIComponent(name));
      editor.value = stored.text;
      $('policy-name').value = stored.name;
      setPolicyStatus(`${stored.name} version ${stored.version}`, 'muted');
      validatePolicy();
    } catch (error) {
      setPolicyStatus('Cannot load: ' + error.message, 'error');
    }
  }

  editor.addEventListener('input', () => {
    renderGutter();
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validatePolicy, 500);
  });
  editor.addEventListener('scroll', () => {
    $('policy-gutter').scrollTop = editor.scrollTop;
  });
  editor.addEventListener('keydown', (event) => {
    // Tab indents (two spaces) instead of leaving the editor: YAML is indented by hand.
    if (event.key === 'Tab' && !event.shiftKey && !event.ctrlKey && !event.altKey) {
      event.preventDefault();
      editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end');
      editor.dispatchEvent(new Event('input'));
    }
  });
  $('policy-validate').addEventListener('click', validatePolicy);
  $('policy-save').addEventListener('click', savePolicy);
  $('policy-list').addEventListener('change', (event) => loadPolicy(event.target.value));

  // ---- start ------------------------------------------------------------------------------------------------

  renderGutter();
  if (token) {
    signIn(token).then((error) => {
      if (error) signOut(error);
    }, (error) => signOut('Cannot reach the gateway: ' + error.message));
  } else {
    signOut('');
  }
})();
