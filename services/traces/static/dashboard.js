// CQRS Lab trace dashboard: history from /api/traces, then live updates
// from /api/stream. Every string from the collector is shown with
// textContent, never parsed as HTML.
"use strict";

const PAGE_SIZE = 100;
const HISTORY_LIMIT = 10000;
const ACTIVE_WINDOW_MS = 60000;
const RENDER_EVERY_MS = 250;
const STAGE_LABELS = {
  created: "created",
  stock_reserved: "stock reserved",
  payment_pending: "payment pending",
  payment_confirmed: "payment confirmed",
  payment_declined: "payment declined",
  confirmed: "confirmed",
  ready_for_delivery: "ready for delivery",
  rejected: "rejected",
  cancelled: "cancelled",
  refunded: "refunded",
  stock_released: "stock released",
};
const KNOWN_SERVICES = ["gateway", "orders", "inventory", "payments"];

const state = {
  collector: "",
  traces: new Map(),      // traceId -> summary
  details: new Map(),     // traceId -> spans (fetched when a group opens)
  expanded: new Set(),    // group keys
  rows: new Map(),        // row key -> {signature, row} drawn last time
  services: new Set(KNOWN_SERVICES),
  page: 0,
  dirty: false,
  renderTimer: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function serviceClass(name) {
  const index = KNOWN_SERVICES.indexOf(name);
  return index >= 0 ? "svc-" + name : "svc-other";
}

// ---- data --------------------------------------------------------------

function upsert(summary) {
  if (!summary || typeof summary.traceId !== "string") return;
  const known = state.traces.get(summary.traceId);
  // A summary only grows; never let an older copy replace a newer one.
  if (known && known.spanCount > summary.spanCount) return;
  summary.startMs = Date.parse(summary.start);
  state.traces.set(summary.traceId, summary);
  for (const name of summary.services || []) addService(name);
  if (known && state.details.has(summary.traceId)) {
    state.details.delete(summary.traceId);
  }
  scheduleRender();
}

function addService(name) {
  if (state.services.has(name)) return;
  state.services.add(name);
  const option = el("option", null, name);
  option.value = name;
  $("f-service").appendChild(option);
}

function groupKey(trace) {
  return trace.correlationId || trace.orderId || trace.traceId;
}

function buildGroups(traces) {
  const groups = new Map();
  for (const trace of traces) {
    const key = groupKey(trace);
    let group = groups.get(key);
    if (!group) {
      group = { key, traces: [], startMs: Infinity, endMs: 0 };
      groups.set(key, group);
    }
    group.traces.push(trace);
    group.startMs = Math.min(group.startMs, trace.startMs);
    group.endMs = Math.max(group.endMs, trace.startMs + trace.durationMs);
  }
  for (const group of groups.values()) finishGroup(group);
  return [...groups.values()].sort((a, b) => b.startMs - a.startMs);
}

function finishGroup(group) {
  group.traces.sort((a, b) => a.startMs - b.startMs);
  const first = group.traces.find((t) => t.orderId) || group.traces[0];
  group.orderId = first.orderId || "";
  group.correlationId = group.traces[0].correlationId || "";
  group.services = [...new Set(group.traces.flatMap((t) => t.services))];
  group.stages = mergeStages(group.traces);
  group.status = groupStatus(group);
}

function mergeStages(traces) {
  const byStage = new Map();
  for (const trace of traces) {
    for (const stage of trace.stages || []) {
      if (!byStage.has(stage.stage)) byStage.set(stage.stage, stage);
    }
  }
  return [...byStage.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function groupStatus(group) {
  if (group.stages.some((s) => s.failure)) return "failed";
  if (group.traces.some((t) => t.status === "failed")) return "failed";
  if (group.stages.some((s) => s.stage === "ready_for_delivery")) return "completed";
  if (group.stages.some((s) => s.stage === "cancelled")) return "cancelled";
  if (group.traces.some((t) => t.status === "pending")) return "pending";
  if (group.orderId && group.stages.length) return "in progress";
  return "completed";
}

function filtered() {
  const text = $("f-correlation").value.trim().toLowerCase();
  const service = $("f-service").value;
  const result = [];
  for (const trace of state.traces.values()) {
    if (text && !(trace.correlationId || "").toLowerCase().includes(text)) continue;
    if (service && !(trace.services || []).includes(service)) continue;
    result.push(trace);
  }
  return result;
}

// The status filter keeps whole groups by the status their row shows, so a
// declined order shown as failed is found under "failed".
function withStatus(groups) {
  const status = $("f-status").value;
  return status ? groups.filter((g) => g.status === status) : groups;
}

// ---- metrics -----------------------------------------------------------

function metrics(traces) {
  const orders = new Map();
  for (const trace of traces) {
    if (!trace.orderId) continue;
    let order = orders.get(trace.orderId);
    if (!order) {
      order = { traces: [], stages: new Set(), failed: false,
                startMs: Infinity, readyMs: null };
      orders.set(trace.orderId, order);
    }
    order.traces.push(trace);
    order.startMs = Math.min(order.startMs, trace.startMs);
    for (const stage of trace.stages || []) {
      order.stages.add(stage.stage);
      if (stage.failure) order.failed = true;
      if (stage.stage === "ready_for_delivery") order.readyMs = Date.parse(stage.at);
    }
    if (trace.status === "failed") order.failed = true;
  }
  let completed = 0;
  let failed = 0;
  const durations = [];
  for (const order of orders.values()) {
    if (order.stages.has("ready_for_delivery")) {
      completed += 1;
      // An order's duration: from its first span to ready for delivery.
      if (order.readyMs !== null && !Number.isNaN(order.readyMs)) {
        durations.push(Math.max(0, order.readyMs - order.startMs));
      }
    } else if (order.failed) {
      failed += 1;
    }
  }
  const now = Date.now();
  const active = new Set();
  for (const trace of traces) {
    const end = trace.startMs + trace.durationMs;
    if (trace.correlationId && now - end <= ACTIVE_WINDOW_MS) {
      active.add(trace.correlationId);
    }
  }
  return { orders: orders.size, completed, failed, durations, active: active.size };
}

function mean(values) {
  if (!values.length) return null;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

function formatMs(value) {
  if (value === null || !Number.isFinite(value)) return "—";
  if (value >= 1000) return (value / 1000).toFixed(2) + " s";
  return value.toFixed(1) + " ms";
}

function renderMetrics(traces) {
  const m = metrics(traces);
  $("m-orders").textContent = String(m.orders);
  $("m-completed").textContent = String(m.completed);
  $("m-mean").textContent = formatMs(mean(m.durations));
  $("m-p95").textContent = formatMs(percentile(m.durations, 95));
  const settled = m.completed + m.failed;
  $("m-success").textContent = settled
    ? ((100 * m.completed) / settled).toFixed(1) + " %"
    : "—";
  $("m-active").textContent = String(m.active);
}

// ---- table -------------------------------------------------------------

function scheduleRender() {
  state.dirty = true;
  if (state.renderTimer !== null) return;
  // Bursts of stream events are drawn together, at most four times a second.
  state.renderTimer = setTimeout(() => {
    state.renderTimer = null;
    window.requestAnimationFrame(render);
  }, RENDER_EVERY_MS);
}

function render() {
  if (!state.dirty) return;
  state.dirty = false;
  trimOldest();
  const groups = withStatus(buildGroups(filtered()));
  const traces = groups.flatMap((g) => g.traces);
  renderMetrics(traces);
  const pages = Math.max(1, Math.ceil(groups.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const visible = groups.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  const body = document.createDocumentFragment();
  const kept = new Map();
  for (const group of visible) {
    body.appendChild(cachedRow(kept, group.key, groupSignature(group),
                               () => groupRow(group)));
    if (state.expanded.has(group.key)) {
      body.appendChild(cachedRow(kept, group.key + "\u0000detail",
                                 detailSignature(group), () => detailRow(group)));
    }
  }
  state.rows = kept;
  $("rows").replaceChildren(body);
  $("empty").hidden = groups.length > 0;
  $("page").textContent = `page ${state.page + 1} of ${pages}`;
  $("prev").disabled = state.page === 0;
  $("next").disabled = state.page >= pages - 1;
  $("shown").textContent =
    `${groups.length} correlations · ${traces.length} of ${state.traces.size} traces`;
}

// Live traces arrive on top of the history: past the limit by a margin,
// the oldest go, so a page left open for hours draws as fast as a new one.
function trimOldest() {
  if (state.traces.size <= HISTORY_LIMIT * 1.05) return;
  const byAge = [...state.traces.values()].sort((a, b) => a.startMs - b.startMs);
  for (const trace of byAge.slice(0, state.traces.size - HISTORY_LIMIT)) {
    state.traces.delete(trace.traceId);
    state.details.delete(trace.traceId);
  }
}

// Rows whose content did not change are reused, so a busy stream does not
// rebuild (and steal clicks or hover from) the rows under the pointer.
function cachedRow(kept, key, signature, build) {
  const known = state.rows.get(key);
  const row = known && known.signature === signature ? known.row : build();
  kept.set(key, { signature, row });
  return row;
}

function groupSignature(group) {
  return JSON.stringify([group.startMs, group.endMs, group.correlationId,
    group.orderId, group.services, group.stages.map((s) => s.stage),
    group.status, state.expanded.has(group.key)]);
}

function detailSignature(group) {
  return JSON.stringify([$("f-db").checked, group.traces.map((t) =>
    [t.traceId, t.spanCount, state.details.has(t.traceId)])]);
}

function groupRow(group) {
  const row = el("tr", "group");
  row.dataset.key = group.key;
  row.tabIndex = 0;
  row.setAttribute("aria-expanded", String(state.expanded.has(group.key)));
  row.appendChild(el("td", "time", new Date(group.startMs).toLocaleTimeString()));
  row.appendChild(el("td", "mono", group.correlationId || "—"));
  row.appendChild(el("td", "mono", group.orderId || "—"));
  const services = el("td", "services");
  for (const name of group.services) {
    services.appendChild(el("span", "svc " + serviceClass(name), name));
  }
  row.appendChild(services);
  const stages = el("td", "stages");
  for (const stage of group.stages) {
    const label = STAGE_LABELS[stage.stage] || stage.stage;
    const badge = el("span", "stage" + (stage.failure ? " failure" : ""), label);
    badge.dataset.stage = stage.stage;
    badge.title = `${stage.event} · ${stage.service} · ${stage.at}`;
    stages.appendChild(badge);
  }
  row.appendChild(stages);
  const status = el("td");
  status.appendChild(el("span", "status status-" + group.status.replace(" ", "-"),
                        group.status));
  row.appendChild(status);
  row.appendChild(el("td", "num", formatMs(group.endMs - group.startMs)));
  return row;
}

function toggle(key) {
  if (state.expanded.has(key)) state.expanded.delete(key);
  else state.expanded.add(key);
  state.dirty = true;
  render();
}

function detailRow(group) {
  const row = el("tr", "detail");
  const cell = el("td");
  cell.colSpan = 7;
  row.appendChild(cell);
  const missing = group.traces.filter((t) => !state.details.has(t.traceId));
  if (missing.length) {
    cell.appendChild(el("p", "loading", "loading spans…"));
    loadDetails(missing);
    return row;
  }
  cell.appendChild(waterfall(group));
  return row;
}

async function loadDetails(traces) {
  const pending = traces.filter((t) => !t.loading);
  pending.forEach((t) => { t.loading = true; });
  await Promise.all(pending.map(async (trace) => {
    try {
      const url = `${state.collector}/api/traces/${encodeURIComponent(trace.traceId)}`;
      const response = await fetch(url);
      const body = await response.json();
      state.details.set(trace.traceId, response.ok ? body.data.spans : []);
    } catch (error) {
      state.details.set(trace.traceId, []);
    } finally {
      trace.loading = false;
    }
  }));
  if (pending.length) scheduleRender();
}

function waterfall(group) {
  const showDb = $("f-db").checked;
  let spans = [];
  for (const trace of group.traces) {
    for (const span of state.details.get(trace.traceId) || []) {
      spans.push({ ...span, startMs: Date.parse(span.start) });
    }
  }
  const all = spans.length;
  if (!showDb) spans = spans.filter((s) => !isDatabase(s));
  spans.sort((a, b) => a.startMs - b.startMs || a.startOffsetMs - b.startOffsetMs);
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(end - start, 1);
  const box = el("div", "waterfall");
  const caption = el("p", "caption",
    `${spans.length} spans (${all - spans.length} database spans hidden) · ` +
    `${formatMs(end - start)} across ${group.services.join(", ")}`);
  box.appendChild(caption);
  box.appendChild(legend(group.services));
  for (const span of spans) box.appendChild(spanRow(span, start, total));
  return box;
}

function isDatabase(span) {
  const attrs = span.attributes || {};
  return span.kind === "client" && ("db.system" in attrs || "db.system.name" in attrs);
}

function legend(services) {
  const box = el("div", "legend");
  for (const name of services) {
    box.appendChild(el("span", "svc " + serviceClass(name), name));
  }
  return box;
}

function spanRow(span, start, total) {
  const row = el("div", "span-row" + (span.status === "error" ? " error" : ""));
  row.appendChild(el("span", "svc-name " + serviceClass(span.service), span.service));
  const name = el("span", "span-name", span.name);
  name.title = `${span.kind} · ${span.name}`;
  row.appendChild(name);
  const track = el("div", "track");
  const bar = el("div", "bar " + serviceClass(span.service));
  const left = ((span.startMs - start) / total) * 100;
  const width = Math.max((span.durationMs / total) * 100, 0.4);
  bar.style.left = `${Math.min(left, 99.6).toFixed(3)}%`;
  bar.style.width = `${Math.min(width, 100 - Math.min(left, 99.6)).toFixed(3)}%`;
  bar.title = `${span.service} · ${span.name} · ${formatMs(span.durationMs)}`;
  track.appendChild(bar);
  row.appendChild(track);
  row.appendChild(el("span", "num", formatMs(span.durationMs)));
  return row;
}

// ---- wiring ------------------------------------------------------------

function setConnection(stateName, text) {
  const node = $("connection");
  node.dataset.state = stateName;
  node.textContent = text;
}

function subscribe() {
  const source = new EventSource(`${state.collector}/api/stream`);
  source.addEventListener("open", () => setConnection("live", "live"));
  source.addEventListener("error", () => setConnection("down", "reconnecting…"));
  source.addEventListener("trace", (event) => {
    try {
      upsert(JSON.parse(event.data));
    } catch (error) {
      console.warn("bad trace event", error);
    }
  });
}

async function loadHistory() {
  const url = `${state.collector}/api/traces?limit=${HISTORY_LIMIT}`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`history: HTTP ${response.status}`);
  const body = await response.json();
  for (const summary of body.data) upsert(summary);
}

function wire() {
  const refilter = () => { state.page = 0; scheduleRender(); };
  $("f-correlation").addEventListener("input", refilter);
  $("f-service").addEventListener("change", refilter);
  $("f-status").addEventListener("change", refilter);
  $("f-db").addEventListener("change", scheduleRender);
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("prev").addEventListener("click", () => { state.page -= 1; scheduleRender(); });
  $("next").addEventListener("click", () => { state.page += 1; scheduleRender(); });
  $("rows").addEventListener("click", (event) => {
    const row = event.target.closest("tr.group");
    if (row) toggle(row.dataset.key);
  });
  $("rows").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr.group");
    if (row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle(row.dataset.key);
    }
  });
  // The active-correlations card depends on the clock, not only on data.
  setInterval(scheduleRender, 5000);
}

async function main() {
  wire();
  state.dirty = true;
  render();
  const config = await (await fetch("/config.json")).json();
  state.collector = config.collectorUrl;
  // Subscribe first so nothing that arrives while history loads is lost.
  subscribe();
  try {
    await loadHistory();
  } catch (error) {
    setConnection("down", "collector unreachable");
    console.error(error);
  }
  document.body.dataset.ready = "true";
  scheduleRender();
}

main();
