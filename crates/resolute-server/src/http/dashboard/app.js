// The dashboard's main loop: read /health?queues=1 every 2 s (one request at a time, never
// overlapping), render it, sample the delivery counters, refresh the cheap views; plus the token.

import { AuthError, getJson, setToken, token } from "./api.js";
import { DeliveryChart } from "./chart.js";
import { show } from "./format.js";
import { renderHealth } from "./health.js";
import { initSearch, refreshDetail, refreshSearch, search } from "./search.js";

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

// Server clock minus browser clock, so ages are computed on the server's time line.
let clockOffset = 0;
let chart = null;
let timer = null;
// Bumped by each (re)start of the loop, so a restart never leaves two loops running.
let generation = 0;

function serverNow() {
  return Date.now() + clockOffset;
}

/** Shows why the server refused us; `null` hides the message. */
function showAuth(error) {
  const banner = $("banner-auth");
  if (error) {
    banner.textContent = error.status === 401
      ? (token()
        ? "Token rejected (401): the server did not accept this token. Paste a valid one above."
        : "Token required (401): this server has auth on. Paste a token in the field above.")
      : `Token not allowed (403): ${error.message || "this token may not read this data"}.`;
  }
  show(banner, Boolean(error));
}

function showOffline(error) {
  const banner = $("banner-offline");
  if (error) {
    banner.textContent = `Cannot reach the server (${error.message}). Figures below are from ` +
      `${$("updated").dataset.at || "never"}; retrying every 2 s.`;
    $("overall").textContent = "unreachable";
    $("overall").className = "pill pill-red";
  }
  show(banner, Boolean(error));
}

/** Errors of the search and detail views: auth goes to the banner, the rest to the console. */
function onError(error) {
  if (error instanceof AuthError) showAuth(error);
  else console.warn(error);
}

async function refresh() {
  try {
    const { status, body } = await getJson("/health?queues=1");
    if (!body || !Array.isArray(body.loops)) throw new Error(`/health answered ${status}`);
    if (typeof body.now === "number") clockOffset = body.now - Date.now();
    renderHealth(body);
    chart.add(body.now ?? Date.now(), body.deliveries);
    showAuth(null);
    showOffline(null);
    const at = new Date().toLocaleTimeString();
    $("updated").dataset.at = at;
    $("updated").textContent = `updated ${at}`;
    await Promise.all([refreshSearch(), refreshDetail()]).catch(onError);
  } catch (error) {
    if (error instanceof AuthError) {
      showAuth(error);
      $("overall").textContent = "token required";
      $("overall").className = "pill pill-unknown";
    } else {
      showOffline(error);
    }
  }
}

/** Refreshes now and then every 2 s after each refresh ends (a slow server is never piled on). */
async function loop() {
  clearTimeout(timer);
  const mine = ++generation;
  await refresh();
  if (mine === generation) timer = setTimeout(loop, REFRESH_MS);
}

function initToken() {
  const input = $("token");
  input.value = token();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    loop();
    search(true).catch(onError);
  });
  $("token-clear").addEventListener("click", () => {
    input.value = "";
    setToken("");
    loop();
  });
}

function start() {
  chart = new DeliveryChart($("rate-chart"), $("rate-figures"));
  initToken();
  initSearch(serverNow, onError);
  loop();
  // A first listing, so the table is not empty on arrival; bounded like any search.
  search(true).catch(onError);
}

start();
