// Renders one /health?queues=1 answer: the overall pill, the red and amber banners, the loops
// and the queues. The banners use the same fields /health judges by, so they always agree.

import { ago, clock, el, human, show, syncRows } from "./format.js";

const $ = (id) => document.getElementById(id);

/** Red: /health's own verdict ("status" is "stale" exactly when a loop is stale or the listener
 *  is failing). Amber: any stuck lane. */
export function verdict(health) {
  const red = health.status !== "ok";
  const amber = (health.stuck || []).length > 0;
  return { red, amber };
}

function fillBanner(node, title, lines) {
  node.replaceChildren(el("strong", "", title));
  const list = el("ul");
  for (const line of lines) list.appendChild(el("li", "", line));
  node.appendChild(list);
}

function renderBanners(health, now) {
  const { red, amber } = verdict(health);
  const redBanner = $("banner-red");
  const amberBanner = $("banner-amber");
  if (red) {
    const lines = (health.loops || [])
      .filter((loop) => loop.stale)
      .map((loop) =>
        `Loop “${loop.name}” is stale: last completed ${ago(loop.lastCompletedAt, now)}, ` +
        `last started ${ago(loop.lastStartedAt, now)}, ${loop.restarts} restart(s).`);
    if (health.listener && health.listener.ok === false) {
      lines.push(`The API listener stopped accepting or answering its own probe ` +
        `${ago(health.listener.failingSince, now)} (${health.listener.acceptErrors ?? 0} ` +
        `accept error(s) so far): clients may not reach this server.`);
    }
    fillBanner(redBanner, "Work is not moving — a background loop is wedged or the listener " +
      "is failing (/health answers 503).", lines);
  }
  show(redBanner, red);
  if (amber) {
    const lines = health.stuck.map((lane) =>
      `${lane.lane}: ${lane.reason} — ${lane.pending} pending, oldest waiting ` +
      `${human(lane.oldestAgeMs)}.`);
    fillBanner(amberBanner, "Work is stuck — ready messages that nothing can take " +
      "(start or fix the workers for these lanes).", lines);
  }
  show(amberBanner, amber);
  const pill = $("overall");
  const [text, cls] = red ? ["not moving", "pill-red"] : amber ? ["stuck", "pill-amber"]
    : ["healthy", "pill-ok"];
  pill.textContent = text;
  pill.className = `pill ${cls}`;
  // The tab shows the verdict too, for an operator who has the dashboard in a background tab.
  const title = red ? "✖ NOT MOVING · resolute"
    : amber ? "▲ STUCK · resolute" : "resolute · dashboard";
  if (document.title !== title) document.title = title;
  setFavicon(red ? "#e5484d" : amber ? "#f5a524" : "#4cc38a");
}

function setFavicon(colour) {
  const svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>" +
    `<circle cx='8' cy='8' r='7' fill='${colour}'/></svg>`;
  const href = `data:image/svg+xml,${encodeURIComponent(svg)}`;
  const link = $("favicon");
  if (link && link.getAttribute("href") !== href) link.setAttribute("href", href);
}

function renderLoops(health, now) {
  syncRows($("loops").tBodies[0], health.loops || [], (loop) => loop.name, (loop) => [
    { text: loop.name, cls: "mono" },
    loop.stale ? { text: "STALE", cls: "state state-stale" }
      : { text: "ok", cls: "state state-ok" },
    { text: ago(loop.lastStartedAt, now), title: clock(loop.lastStartedAt) },
    { text: ago(loop.lastCompletedAt, now), title: clock(loop.lastCompletedAt) },
    { text: loop.iterations, cls: "num" },
    { text: loop.restarts, cls: loop.restarts > 0 ? "num state-stuck" : "num" },
  ], (loop) => (loop.stale ? "row-red" : ""));
  const listener = health.listener || {};
  $("listener").textContent = listener.ok === false
    ? `API listener: FAILING since ${ago(listener.failingSince, now)}`
    : `API listener: answering its own probe; ${listener.openConnections ?? "?"} of ` +
      `${listener.maxConnections ?? "?"} connections open.`;
  $("listener").className = listener.ok === false ? "small state-stale" : "small muted";
  renderRuntime(health.runtime || {});
}

/** The runtime watch: a stall (a call that blocked the runtime's thread) stopped every loop and
 *  request while it lasted, so even one that ended is worth a look at the logs. */
function renderRuntime(runtime) {
  const threads = `${runtime.threads ?? "?"} thread${runtime.threads === 1 ? "" : "s"}`;
  const stalls = runtime.stalls ?? 0;
  $("runtime").textContent = stalls === 0
    ? `Runtime: ${threads}; no stall since start.`
    : `Runtime: ${threads}; ${stalls} stall${stalls === 1 ? "" : "s"} since start, the longest ` +
      `${(runtime.longestStallMs / 1000).toFixed(1)} s: something blocked its thread (see the logs).`;
  $("runtime").className = stalls === 0 ? "small muted" : "small state-stuck";
}

/** Every lane with a backlog; stuck lanes from `stuck[]` are merged in (and marked) so the table
 *  never misses a lane the amber banner names. */
function queueRows(health) {
  const stuck = new Map((health.stuck || []).map((lane) => [lane.lane, lane]));
  const rows = (health.queues || []).map((lane) => ({ ...lane, stuck: stuck.get(lane.lane) }));
  for (const lane of stuck.values()) {
    if (!rows.some((row) => row.lane === lane.lane)) {
      rows.push({ ...lane, blocked: lane.reason, workers: null, stuck: lane });
    }
  }
  return rows;
}

function queueState(lane) {
  if (lane.stuck) return { text: `STUCK — ${lane.stuck.reason}`, cls: "state state-stuck" };
  if (lane.blocked) return { text: `waiting — ${lane.blocked}`, cls: "state state-blocked" };
  return { text: "moving", cls: "state state-ok" };
}

function renderQueues(health) {
  const rows = queueRows(health);
  syncRows($("queues").tBodies[0], rows, (lane) => lane.lane, (lane) => [
    { text: lane.lane, cls: "mono wrap" },
    { text: lane.pending, cls: "num" },
    human(lane.oldestAgeMs),
    queueState(lane),
    { text: lane.workers === null || lane.workers === undefined ? "push" : lane.workers,
      cls: lane.workers === 0 ? "num state-stuck" : "num" },
  ], (lane) => (lane.stuck ? "row-amber" : ""));
  // With auth on, lanes are listed only for a token that may see every id.
  show($("queues-empty"), rows.length === 0 && Array.isArray(health.queues) && !health.namesHidden);
  const poll = health.poll || {};
  const groups = (poll.groups || []).map((g) => `${g.group}: ${g.connections}`);
  let text = `Poll workers connected: ${poll.connections ?? 0}`;
  if (groups.length) text += ` (${groups.join(", ")})`;
  // Executes out at workers and not acquired yet: when high, creates are being held back.
  if (health.unacquiredExecutes) text += ` · ${health.unacquiredExecutes} executes not yet acquired`;
  if (health.queues === null) text += " · queue backlog unavailable (the store did not answer)";
  if (health.namesHidden) text += " · queues and group names need a token that may see every id";
  $("groups").textContent = text;
}

/** Renders one /health body (from a 200 or a 503). */
export function renderHealth(health) {
  const now = health.now ?? Date.now();
  renderBanners(health, now);
  renderLoops(health, now);
  renderQueues(health);
}
