// Small shared helpers: human durations and flicker-free table updates.

/** A duration in words an operator reads at a glance: "0.4 s", "12 s", "4 m 12 s", "2 h 5 m". */
export function human(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${(abs / 1000).toFixed(1)} s`;
  const s = Math.floor(abs / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} m`;
  const d = Math.floor(h / 24);
  return `${d} d ${h % 24} h`;
}

/** How long ago `at` was, seen from `now` (both server milliseconds). */
export function ago(at, now) {
  if (at === null || at === undefined) return "never";
  return `${human(now - at)} ago`;
}

/** A future or past instant relative to `now`: "in 5 m 0 s" or "3 s ago". */
export function relative(at, now) {
  if (at === null || at === undefined) return "—";
  return at >= now ? `in ${human(at - now)}` : `${human(now - at)} ago`;
}

/** A wall-clock instant as local time, for tooltips. */
export function clock(at) {
  if (at === null || at === undefined) return "";
  return new Date(at).toLocaleString();
}

/** Creates an element with optional class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets text and class only when they change, so a refresh does not repaint what stayed put. */
function setCell(td, cell) {
  const spec = typeof cell === "object" && cell !== null ? cell : { text: cell };
  const text = spec.text === undefined || spec.text === null ? "" : String(spec.text);
  const className = spec.cls || "";
  const title = spec.title || "";
  if (td.textContent !== text) td.textContent = text;
  if (td.className !== className) td.className = className;
  if (td.title !== title) td.title = title;
}

/**
 * Brings `tbody` in line with `items`, reusing the row of each key: rows are not rebuilt every
 * 2 s, so nothing flickers and a hovered or selected row stays where it is.
 * `cells(item)` returns the cells as text or {text, cls, title}; `rowClass(item)` a class.
 */
export function syncRows(tbody, items, key, cells, rowClass) {
  const existing = new Map();
  for (const row of tbody.rows) existing.set(row.dataset.key, row);
  let previous = null;
  for (const item of items) {
    const id = String(key(item));
    let row = existing.get(id);
    existing.delete(id);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.key = id;
    }
    const specs = cells(item);
    while (row.cells.length < specs.length) row.appendChild(document.createElement("td"));
    while (row.cells.length > specs.length) row.lastChild.remove();
    specs.forEach((spec, index) => setCell(row.cells[index], spec));
    const cls = rowClass ? rowClass(item) || "" : "";
    // Only the status class is ours; others (e.g. "selected") belong to the caller.
    if ((row.dataset.cls || "") !== cls) {
      if (row.dataset.cls) row.classList.remove(row.dataset.cls);
      if (cls) row.classList.add(cls);
      row.dataset.cls = cls;
    }
    const expected = previous ? previous.nextSibling : tbody.firstChild;
    if (expected !== row) tbody.insertBefore(row, expected);
    previous = row;
  }
  for (const row of existing.values()) row.remove();
}

/** Shows or hides `node`, touching the DOM only on a change. */
export function show(node, visible) {
  if (node.hidden === visible) node.hidden = !visible;
}
