// The delivery-rate chart: samples /health's cumulative `deliveries` counters at each refresh and
// draws the per-interval rate (per second) of the last five minutes as an inline SVG. Built once,
// then only path data and labels change, so it never flickers.

import { el } from "./format.js";

const WINDOW_MS = 5 * 60 * 1000;
const HEIGHT = 150;
const PAD = { left: 38, right: 8, top: 8, bottom: 18 };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

/** A round upper bound for the y axis: 1, 2, 5, 10, 20, 50, … */
function niceMax(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatRate(rate) {
  if (rate === null || rate === undefined) return "—";
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2);
}

export class DeliveryChart {
  constructor(container, figures) {
    this.samples = [];
    this.container = container;
    this.figures = figures;
    this.root = svg("svg", { role: "img", "aria-label": "Deliveries per second" });
    this.gridLines = [0, 1, 2].map(() => this.root.appendChild(svg("line", { class: "grid-line" })));
    this.yLabels = [0, 1, 2].map(() => this.root.appendChild(svg("text", { class: "axis" })));
    this.xLabels = ["5 min ago", "now"].map((text) => {
      const label = this.root.appendChild(svg("text", { class: "axis" }));
      label.textContent = text;
      return label;
    });
    this.area = this.root.appendChild(svg("path", { class: "delivered-area" }));
    this.delivered = this.root.appendChild(svg("path", { class: "delivered" }));
    this.failed = this.root.appendChild(svg("path", { class: "failed" }));
    container.appendChild(this.root);
    this.values = {};
    for (const [key, label, cls] of [
      ["deliveredRate", "delivered / s", "legend-delivered"],
      ["failedRate", "failed / s", "legend-failed"],
      ["delivered", "delivered total", ""],
      ["failed", "failed total", ""],
    ]) {
      const box = figures.appendChild(el("div"));
      this.values[key] = box.appendChild(el("span", `value ${cls}`, "—"));
      box.appendChild(el("span", "label", label));
    }
  }

  /** Records one sample of the cumulative counters at server time `now`. */
  add(now, deliveries) {
    if (!deliveries) return;
    const last = this.samples[this.samples.length - 1];
    // Counters only go down when the server restarted: the old history no longer subtracts.
    if (last && (deliveries.delivered < last.delivered || deliveries.failed < last.failed)) {
      this.samples = [];
    }
    if (last && now <= last.t) return;
    this.samples.push({ t: now, delivered: deliveries.delivered, failed: deliveries.failed });
    while (this.samples.length > 2 && this.samples[1].t < now - WINDOW_MS) this.samples.shift();
    this.draw(now);
  }

  /** Rate per second between consecutive samples, placed at the later sample. */
  rates() {
    const points = [];
    for (let i = 1; i < this.samples.length; i += 1) {
      const [a, b] = [this.samples[i - 1], this.samples[i]];
      const seconds = (b.t - a.t) / 1000;
      points.push({
        t: b.t,
        delivered: (b.delivered - a.delivered) / seconds,
        failed: (b.failed - a.failed) / seconds,
      });
    }
    return points;
  }

  draw(now) {
    const width = Math.max(this.container.clientWidth, 200);
    this.root.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    const points = this.rates();
    const top = niceMax(Math.max(0, ...points.map((p) => Math.max(p.delivered, p.failed))));
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const x = (t) => PAD.left + plotW * (1 - (now - t) / WINDOW_MS);
    const y = (v) => PAD.top + plotH * (1 - v / top);
    [top, top / 2, 0].forEach((value, i) => {
      const yy = y(value).toFixed(1);
      Object.entries({ x1: PAD.left, x2: width - PAD.right, y1: yy, y2: yy })
        .forEach(([name, v]) => this.gridLines[i].setAttribute(name, v));
      const label = this.yLabels[i];
      label.setAttribute("x", PAD.left - 4);
      label.setAttribute("y", Number(yy) + 3);
      label.setAttribute("text-anchor", "end");
      label.textContent = formatRate(value).replace(/\.0+$/, "");
    });
    this.xLabels[0].setAttribute("x", PAD.left);
    this.xLabels[1].setAttribute("x", width - PAD.right);
    this.xLabels[1].setAttribute("text-anchor", "end");
    this.xLabels.forEach((label) => label.setAttribute("y", HEIGHT - 4));
    const line = (key) => points.map((p, i) =>
      `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join("");
    const delivered = line("delivered");
    this.delivered.setAttribute("d", delivered);
    this.failed.setAttribute("d", line("failed"));
    this.area.setAttribute("d", points.length
      ? `${delivered}L${x(points[points.length - 1].t).toFixed(1)},${y(0)}` +
        `L${x(points[0].t).toFixed(1)},${y(0)}Z`
      : "");
    this.drawFigures(points);
  }

  drawFigures(points) {
    const latest = points[points.length - 1];
    const totals = this.samples[this.samples.length - 1];
    const set = (key, text) => {
      if (this.values[key].textContent !== text) this.values[key].textContent = text;
    };
    set("deliveredRate", formatRate(latest?.delivered));
    set("failedRate", formatRate(latest?.failed));
    set("delivered", String(totals?.delivered ?? "—"));
    set("failed", String(totals?.failed ?? "—"));
  }
}
