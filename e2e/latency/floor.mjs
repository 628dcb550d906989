// The client-side floor under the SDK figures: the round trip of a trivial RPC (promise.get of a
// missing id, ~60 µs inside the server) from Node, once with fetch (what the SDK uses) and once
// with node:http on a keep-alive agent.
//   node floor.mjs http://127.0.0.1:8001
import http from "node:http";
const url = new URL(process.argv[2] ?? "http://127.0.0.1:8001");
// Hard bound: never hang a benchmark run.
setTimeout(() => process.exit(2), 60000).unref();

const body = (i) => JSON.stringify({ kind: "promise.get", head: { corrId: `floor-${i}`, version: "2026-04-01" }, data: { id: "floor-missing" } });

async function viaFetch(i) {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: body(i) });
  await response.json();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function viaHttp(i) {
  const text = body(i);
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path: "/", method: "POST", agent, headers }, (response) => {
      response.on("data", () => {});
      response.on("end", resolve);
    });
    request.on("error", reject);
    request.end(text);
  });
}

async function measure(name, call) {
  for (let i = 0; i < 200; i++) await call(i); // warm-up
  const times = [];
  for (let i = 0; i < 1000; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(name, "p50", times[500].toFixed(3), "ms p90", times[900].toFixed(3), "ms n", times.length);
}

await measure("fetch", viaFetch);
await measure("node:http", viaHttp);
process.exit(0);
