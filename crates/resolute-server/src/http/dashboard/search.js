// The promise/task table and the detail view. promise.search and task.search filter by state and
// page by id but take no id pattern, so the pattern is matched here: an exact id is one get, a
// pattern with a literal prefix starts its scan at that prefix and stops past it, and every scan
// is bounded so a huge store cannot freeze the page.

import { getJson, rpc } from "./api.js";
import { ago, clock, el, relative, show, syncRows } from "./format.js";

const $ = (id) => document.getElementById(id);
const PAGE_LIMIT = 500;
const PAGES_MAX = 20;
const RESULTS_MAX = 200;

const STATES = {
  promise: ["pending", "resolved", "rejected", "rejected_canceled", "rejected_timedout"],
  task: ["pending", "acquired", "suspended", "halted", "fulfilled"],
};

const COLUMNS = {
  promise: ["Id", "State", "Times out", "Created", "Target"],
  task: ["Id", "State", "Version", "Resumes", "Lease"],
};

let serverNow = () => Date.now();
let last = null; // { kind, pattern, state, pages }
let sequence = 0;
let selected = null;

/** `*` matches any run of characters; everything else is literal. */
export function globToRegex(pattern) {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/** A cursor just below every id that starts with `prefix` (the search returns ids > cursor). */
function cursorBefore(prefix) {
  const lastCode = prefix.charCodeAt(prefix.length - 1);
  if (lastCode === 0) return undefined;
  return `${prefix.slice(0, -1)}${String.fromCharCode(lastCode - 1)}\u{10FFFF}`;
}

async function getOne(kind, id, state) {
  const { status, data } = await rpc(`${kind}.get`, { id });
  if (status === 404) return { items: [], pages: 0, note: "" };
  if (status !== 200) throw new Error(`${kind}.get: ${status} ${data}`);
  const record = data[kind];
  return { items: state && record.state !== state ? [] : [record], pages: 0, note: "" };
}

async function scan(kind, pattern, state) {
  const star = pattern.indexOf("*");
  if (star < 0) return getOne(kind, pattern, state);
  const prefix = pattern.slice(0, star);
  const regex = globToRegex(pattern);
  const items = [];
  let cursor = prefix ? cursorBefore(prefix) : undefined;
  for (let pages = 1; pages <= PAGES_MAX; pages += 1) {
    // "*" keeps every record, so one page of the result size is enough.
    const data = { limit: pattern === "*" ? RESULTS_MAX : PAGE_LIMIT };
    if (state) data.state = state;
    if (cursor !== undefined) data.cursor = cursor;
    const reply = await rpc(`${kind}.search`, data);
    if (reply.status !== 200) throw new Error(`${kind}.search: ${reply.status} ${reply.data}`);
    for (const record of reply.data[`${kind}s`] || []) {
      // Ids come sorted: once past the prefix, nothing later can match.
      if (prefix && !record.id.startsWith(prefix) && record.id > prefix) {
        return { items, pages, note: "" };
      }
      if (regex.test(record.id)) items.push(record);
      if (items.length >= RESULTS_MAX) return { items, pages, note: `first ${RESULTS_MAX} shown` };
    }
    cursor = reply.data.cursor;
    if (cursor === undefined || cursor === null) return { items, pages, note: "" };
  }
  return { items, pages: PAGES_MAX, note: `stopped after ${PAGES_MAX * PAGE_LIMIT} records` };
}

function cells(kind, record) {
  const now = serverNow();
  const state = { text: record.state, cls: `state state-${record.state}` };
  if (kind === "promise") {
    return [
      { text: record.id, cls: "mono wrap" },
      state,
      { text: relative(record.timeoutAt, now), title: clock(record.timeoutAt) },
      { text: ago(record.createdAt, now), title: clock(record.createdAt) },
      { text: (record.tags || {})["resonate:target"] || "", cls: "mono" },
    ];
  }
  const lease = record.ttl ? `ttl ${record.ttl} ms${record.pid ? `, ${record.pid}` : ""}` : "";
  return [
    { text: record.id, cls: "mono wrap" },
    state,
    { text: record.version, cls: "num" },
    { text: record.resumes, cls: "num" },
    { text: lease, cls: "mono" },
  ];
}

function renderResults(kind, items) {
  const table = $("results");
  const head = COLUMNS[kind];
  if (table.tHead.dataset.kind !== kind) {
    const row = el("tr");
    head.forEach((name) => row.appendChild(el("th", name === "Version" || name === "Resumes"
      ? "num" : "", name)));
    table.tHead.replaceChildren(row);
    table.tHead.dataset.kind = kind;
    table.tBodies[0].replaceChildren();
  }
  syncRows(table.tBodies[0], items, (record) => record.id, (record) => cells(kind, record));
  for (const row of table.tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.key === selected);
  }
}

/** Runs the search in the form; `quiet` for the background refresh (no "searching…"). */
export async function search(quiet) {
  const kind = $("search-kind").value;
  const pattern = $("search-id").value.trim() || "*";
  const state = $("search-state").value;
  const mine = ++sequence;
  const status = $("search-status");
  if (!quiet) status.textContent = "searching…";
  try {
    const result = await scan(kind, pattern, state);
    if (mine !== sequence) return;
    last = { kind, pattern, state, pages: result.pages };
    renderResults(kind, result.items);
    const count = `${result.items.length} ${kind}${result.items.length === 1 ? "" : "s"}`;
    const note = result.note ? ` (${result.note})` : "";
    status.textContent = `${count}${note} · as of ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (mine === sequence) status.textContent = `search failed: ${error.message}`;
    throw error;
  }
}

/** Re-runs the last search in the background when it was cheap (at most one page). */
export async function refreshSearch() {
  if (last && last.pages <= 1) await search(true);
}

function pretty(value) {
  return value === null || value === undefined ? "none" : JSON.stringify(value, null, 2);
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Loads (or reloads) the detail of the selected id: explain text and both records. */
export async function refreshDetail() {
  if (selected === null) return;
  const id = selected;
  const path = `/explain/${encodeURIComponent(id)}`;
  const [explained, promise, task] = await Promise.all([
    getJson(path), rpc("promise.get", { id }), rpc("task.get", { id }),
  ]);
  if (id !== selected) return;
  const lines = explained.status === 200
    ? explained.body.explanation || []
    : [explained.body.error || `explain answered ${explained.status}`];
  const list = $("detail-explain");
  if (list.dataset.text !== lines.join("\n")) {
    list.replaceChildren(...lines.map((line) => el("li", "", line)));
    list.dataset.text = lines.join("\n");
  }
  setText($("detail-promise"), promise.status === 200 ? pretty(promise.data.promise)
    : `no promise (${promise.status}: ${promise.data})`);
  setText($("detail-task"), task.status === 200 ? pretty(task.data.task)
    : `no task (${task.status}: ${task.data})`);
}

export function openDetail(id) {
  selected = id;
  $("detail-id").textContent = id;
  $("detail-explain").replaceChildren(el("li", "muted", "loading…"));
  $("detail-explain").dataset.text = "";
  $("detail-promise").textContent = "";
  $("detail-task").textContent = "";
  show($("detail"), true);
  for (const row of $("results").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.key === id);
  }
  $("detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
  return refreshDetail();
}

function fillStates() {
  const select = $("search-state");
  const options = [el("option", "", "any state")];
  options[0].value = "";
  for (const state of STATES[$("search-kind").value]) {
    const option = el("option", "", state);
    option.value = state;
    options.push(option);
  }
  select.replaceChildren(...options);
}

/** Wires the form and the table; `now` gives the server's clock for relative times. */
export function initSearch(now, onError) {
  serverNow = now;
  fillStates();
  $("search-kind").addEventListener("change", fillStates);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search(false).catch(onError);
  });
  $("results").tBodies[0].addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (row) openDetail(row.dataset.key).catch(onError);
  });
  $("detail-close").addEventListener("click", () => {
    selected = null;
    show($("detail"), false);
    for (const row of $("results").tBodies[0].rows) row.classList.remove("selected");
  });
}
