// Drives resolute's /dashboard in a real headless chromium against a running server:
//   node e2e/dashboard/dashboard.test.mjs http://127.0.0.1:PORT
// The server must run with a small --stuck-after-ms (e.g. 500) so the amber banner shows quickly.
// Exit 0 when every check passes, 1 on a failed check, 2 when the whole run exceeds 60 s.
// A full-page screenshot is written to target/dashboard.png (not committed) for a human look.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HARD_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 15_000;
const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCREENSHOT = join(ROOT, "target", "dashboard.png");

const hardTimeout = setTimeout(() => {
  console.error(`dashboard e2e: hard timeout after ${HARD_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, HARD_TIMEOUT_MS);

const server = (process.argv[2] || "").replace(/\/$/, "");
if (!server) {
  console.error("usage: node dashboard.test.mjs <serverUrl>");
  process.exit(1);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

async function rpc(kind, data) {
  const head = { corrId: "e2e", version: "2026-04-01" };
  const response = await fetch(`${server}/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind, head, data }),
  });
  return response.json();
}

async function createPromise(id, tags) {
  const reply = await rpc("promise.create", { id, timeoutAt: Date.now() + 3_600_000, tags });
  if (reply.head.status !== 200) throw new Error(`create ${id}: ${JSON.stringify(reply)}`);
}

async function health() {
  const response = await fetch(`${server}/health?queues=1`);
  return response.json();
}

async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "resolute-dashboard-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  return { context, profile };
}

/** Watches the page for script errors: a dashboard that throws is a failed dashboard. */
function collectErrors(page) {
  const errors = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // RPC answers 404 for a missing record by design; the browser logs that as a failed load.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      errors.push(`console: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    if (response.url().includes("/dashboard") && response.status() !== 200) {
      errors.push(`${response.url()} answered ${response.status()}`);
    }
  });
  return errors;
}

async function checkLoops(page) {
  const expected = (await health()).loops.map((loop) => loop.name).sort();
  await page.waitForSelector("#loops tbody tr", { timeout: STEP_TIMEOUT_MS });
  const shown = (await page.$$eval("#loops tbody tr", (rows) =>
    rows.map((row) => row.cells[0].textContent))).sort();
  check(JSON.stringify(shown) === JSON.stringify(expected),
    `loops table lists the server's loops (${shown.join(", ")})`);
  check((await health()).status === "ok", "/health says ok");
  check(await page.locator("#banner-red").isHidden(), "no red banner on a healthy server");
  const runtime = (await health()).runtime;
  await page.waitForFunction((threads) => document.getElementById("runtime").textContent
    .startsWith(`Runtime: ${threads} thread`), runtime.threads, { timeout: STEP_TIMEOUT_MS });
  check((await page.locator("#runtime").textContent()).includes("no stall since start"),
    `runtime line: ${await page.locator("#runtime").textContent()}`);
  await page.waitForFunction(() => document.querySelectorAll("#rate-chart svg path").length === 3,
    null, { timeout: STEP_TIMEOUT_MS });
  check(true, "delivery-rate chart is drawn");
}

async function checkStuck(page) {
  const amber = page.locator("#banner-amber");
  await amber.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  const text = await amber.textContent();
  check(text.includes("poll:nobody") && text.includes("no worker connected"),
    `amber banner names the stuck lane: ${text.trim().replace(/\s+/g, " ")}`);
  const row = page.locator("#queues tbody tr", { hasText: "poll:nobody" });
  await row.waitFor({ timeout: STEP_TIMEOUT_MS });
  const cells = await row.locator("td").allTextContents();
  check(Number(cells[1]) >= 1 && cells[3].startsWith("STUCK") && cells[4] === "0",
    `queue table shows the lane: ${cells.join(" | ")}`);
  check(await page.locator("#banner-red").isHidden(), "stuck work is amber, not red");
}

/** A worker connects to the stuck group: the message goes out, the lane drains, amber clears. */
async function checkStuckClears(page, stuckId) {
  const worker = new AbortController();
  const response = await fetch(`${server}/poll/nobody/w1`, { signal: worker.signal });
  check(response.status === 200, "a worker connects to the stuck group");
  const reader = response.body.getReader();
  let seen = "";
  const received = (async () => {
    while (!seen.includes(stuckId)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
  })();
  try {
    await received;
    check(seen.includes(stuckId), "the stuck task is delivered to the new worker");
    await page.locator("#banner-amber").waitFor({ state: "hidden", timeout: STEP_TIMEOUT_MS });
    check(true, "amber banner clears once the queue drains");
    // The worker took the execute off its stream but never acquired it: the page says so.
    await page.waitForFunction(
      () => document.querySelector("#groups").textContent.includes("1 executes not yet acquired"),
      null, { timeout: STEP_TIMEOUT_MS });
    check(true, "the execute the worker has not acquired is counted");
  } finally {
    worker.abort();
  }
}

async function checkSearch(page, stuckId, okId, suffix) {
  await page.fill("#search-id", `dash.*.${suffix}`);
  await page.click("#search-form button[type=submit]");
  const rows = page.locator("#results tbody tr");
  await page.waitForFunction((ids) => {
    const shown = [...document.querySelectorAll("#results tbody tr")].map((r) => r.dataset.key);
    return shown.length === ids.length && ids.every((id) => shown.includes(id));
  }, [okId, stuckId], { timeout: STEP_TIMEOUT_MS });
  check(await rows.count() === 2, "wildcard search finds exactly the two created promises");
  await page.fill("#search-id", okId);
  await page.click("#search-form button[type=submit]");
  await page.waitForFunction((id) => {
    const shown = [...document.querySelectorAll("#results tbody tr")].map((r) => r.dataset.key);
    return shown.length === 1 && shown[0] === id;
  }, okId, { timeout: STEP_TIMEOUT_MS });
  check(true, `exact search finds ${okId}`);
  await page.fill("#search-id", `dash.*.${suffix}`);
  await page.click("#search-form button[type=submit]");
  await page.locator("#results tbody tr", { hasText: stuckId }).click({ timeout: STEP_TIMEOUT_MS });
  const explain = page.locator("#detail-explain");
  await page.waitForFunction(() => /no worker connected/.test(
    document.getElementById("detail-explain").textContent), null, { timeout: STEP_TIMEOUT_MS });
  check(true, `detail explains: ${(await explain.textContent()).trim().slice(0, 100)}…`);
  const record = JSON.parse(await page.locator("#detail-promise").textContent());
  check(record.id === stuckId && record.state === "pending", "detail shows the promise record");
  check((await page.locator("#detail-task").textContent()).includes('"version"'),
    "detail shows the task record");
}

/** Red follows /health's verdict: the real body with one loop stale, answered with 503. */
async function checkRed(page) {
  const stale = async (route) => {
    const body = await (await route.fetch()).json();
    body.status = "stale";
    body.loops[0].stale = true;
    const answer = { status: 503, contentType: "application/json", body: JSON.stringify(body) };
    await route.fulfill(answer);
  };
  await page.route("**/health?queues=1", stale);
  const red = page.locator("#banner-red");
  await red.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  const text = await red.textContent();
  const name = (await health()).loops[0].name;
  check(text.includes(`“${name}” is stale`), `red banner names the stale loop "${name}"`);
  await page.unroute("**/health?queues=1", stale);
  await red.waitFor({ state: "hidden", timeout: STEP_TIMEOUT_MS });
  check(true, "red banner clears when /health is healthy again");
}

/** The token travels both ways: `Authorization: Bearer` on GETs and `head.auth` on RPC. */
async function checkToken(page) {
  const seen = { get: false, rpc: false };
  const watch = (request) => {
    if (request.url().includes("/health") &&
        request.headers().authorization === "Bearer e2e-token") seen.get = true;
    if (request.method() === "POST" &&
        JSON.parse(request.postData() || "{}")?.head?.auth === "e2e-token") seen.rpc = true;
  };
  page.on("request", watch);
  await page.fill("#token", "e2e-token");
  await page.click("#token-form button[type=submit]");
  await page.click("#search-form button[type=submit]");
  const stored = () => sessionStorage.getItem("resolute.dashboard.token") === "e2e-token";
  await page.waitForFunction(stored,
    null, { timeout: STEP_TIMEOUT_MS });
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(seen.get && seen.rpc) && Date.now() < deadline) await page.waitForTimeout(100);
  page.off("request", watch);
  check(seen.get && seen.rpc, "token sent as Bearer on GET and as head.auth on RPC");
  // A server with auth on answers 401: the page must say a token is needed.
  await page.route("**/health?queues=1", (route) =>
    route.fulfill({ status: 401, contentType: "application/json", body: '{"error":"no"}' }));
  await page.click("#token-clear");
  const banner = page.locator("#banner-auth");
  await banner.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS });
  check((await banner.textContent()).includes("Token required"), "401 shows 'Token required'");
  await page.unroute("**/health?queues=1");
  await banner.waitFor({ state: "hidden", timeout: STEP_TIMEOUT_MS });
}

async function main() {
  const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const okId = `dash.ok.${suffix}`;
  const stuckId = `dash.stuck.${suffix}`;
  await createPromise(okId, {});
  await createPromise(stuckId, { "resonate:target": "poll://any@nobody" });
  const { context, profile } = await launch();
  try {
    const page = context.pages()[0] || (await context.newPage());
    const errors = collectErrors(page);
    const response = await page.goto(`${server}/dashboard`, { timeout: STEP_TIMEOUT_MS });
    check(response.status() === 200, "GET /dashboard answers 200");
    check((await page.title()).includes("resolute"), "page title names resolute");
    await checkLoops(page);
    await checkStuck(page);
    await checkSearch(page, stuckId, okId, suffix);
    await page.waitForTimeout(2500); // one more refresh: the chart has two samples, no flicker
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}`);
    await checkStuckClears(page, stuckId);
    await checkRed(page);
    await checkToken(page);
    check(errors.length === 0, `no script or asset errors${errors.length ? `: ${errors}` : ""}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => {
    clearTimeout(hardTimeout);
    console.log("dashboard e2e: all checks passed");
    process.exit(0);
  },
  (error) => {
    console.error(`dashboard e2e: FAILED: ${error.stack || error}`);
    process.exit(1);
  },
);
