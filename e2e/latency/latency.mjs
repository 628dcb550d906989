// Measures call→result latency of the TypeScript SDK against a running resolute:
//   node latency.mjs http://127.0.0.1:8001
// A worker (group `workers`) and a client run in this process; every call goes through the server.
if (!Promise.withResolvers) { Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; }; }
const { Resonate } = await import("@resonatehq/sdk");
const url = process.argv[2];
const worker = new Resonate({ url, group: "workers", logLevel: "error" });
function* noop(ctx) { return 1; }
function* child(ctx) { return 1; }
function* withChild(ctx) { return yield* ctx.rpc(child, ctx.options({ target: "poll://any@workers" })); }
worker.register("noop", noop); worker.register("child", child); worker.register("withChild", withChild);
const client = new Resonate({ url, group: "clients", logLevel: "error" });
// Hard bound: never hang a CI job.
setTimeout(() => process.exit(2), 60000);
async function measure(name, n) {
  const times = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await client.rpc(`${name}-${Date.now()}-${i}`, name, client.options({ target: "poll://any@workers" })); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(name, "p50", times[Math.floor(n / 2)].toFixed(2), "ms p90", times[Math.floor(n * 0.9)].toFixed(2), "ms n", n);
}
await measure("noop", 10); await measure("noop", 200); await measure("withChild", 200);
process.exit(0);
