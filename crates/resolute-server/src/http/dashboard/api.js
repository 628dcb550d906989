// Talking to the server: GETs with `Authorization: Bearer`, RPC envelopes with `head.auth`
// (the protocol ignores the header for RPC, so the token has to travel both ways).

const TOKEN_KEY = "resolute.dashboard.token";
const VERSION = "2026-04-01";
// A request that takes longer than this is reported as a failure instead of hanging the refresh.
const REQUEST_TIMEOUT_MS = 8000;

let corrId = 0;

/** The server refused the token (401) or the token's rights (403). */
export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function send(path, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    return await fetch(path, { ...init, signal: controller.signal, cache: "no-store" });
  } finally {
    clearTimeout(timer);
  }
}

function refuse(status, detail) {
  if (status === 401) return new AuthError(401, "token required");
  return new AuthError(403, detail || "token not allowed");
}

/** GET a JSON document. Returns { status, body }; any status but 401/403 is data, not an error
 *  (/health answers 503 with the same body when a loop is stale). */
export async function getJson(path) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await send(path, { headers });
  const text = await response.text();
  if (response.status === 401 || response.status === 403) throw refuse(response.status, text);
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: text };
  }
  return { status: response.status, body };
}

/** One RPC call. Returns { status, data } with the protocol status (data is a message string on
 *  errors). */
export async function rpc(kind, data) {
  corrId += 1;
  const head = { corrId: `dashboard-${corrId}`, version: VERSION };
  if (token()) head.auth = token();
  const response = await send("/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind, head, data }),
  });
  const text = await response.text();
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch {
    envelope = { head: { status: response.status }, data: text };
  }
  const status = envelope?.head?.status ?? response.status;
  if (status === 401 || status === 403) throw refuse(status, String(envelope.data || ""));
  return { status, data: envelope.data };
}
