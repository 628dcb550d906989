// Measures call→result latency of the TypeScript SDK against a running resolute.
//   npm ci && npm run latency -- http://127.0.0.1:8001
// runs it on the Node 22 this package installs: the SDK declares node >= 22. The polyfill below
// lets it run on the machine's Node 20 too, measurably slower (docs/benchmarks.md). Direct forms:
//   node latency.mjs http://127.0.0.1:8001            worker and client in two processes (default)
//   node latency.mjs http://127.0.0.1:8001 worker      only the worker (group `workers`)
//   node latency.mjs http://127.0.0.1:8001 client      only the client (needs a worker running)
// Every call goes through the server: the client's rpc creates the promise, the server dispatches
// the task to the worker over SSE, the worker's result settles it, the client is unblocked.
if (!Promise.withResolvers) { Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; }; }
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
const { Resonate } = await import("@resonatehq/sdk");
const [url, mode = "both"] = process.argv.slice(2);
// Hard bound: never hang a CI job or a benchmark run.
setTimeout(() => process.exit(2), 90000).unref();

function* noop(ctx) { return 1; }
function* child(ctx) { return 1; }
function* withChild(ctx) { return yield* ctx.rpc(child, ctx.options({ target: "poll://any@workers" })); }

function startWorker() {
  const worker = new Resonate({ url, group: "workers", logLevel: "error" });
  worker.register("noop", noop); worker.register("child", child); worker.register("withChild", withChild);
  return worker;
}

async function measure(client, name, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.rpc(`${name}-${Date.now()}-${i}`, name, client.options({ target: "poll://any@workers" }));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(name, "p50", times[Math.floor(n / 2)].toFixed(2), "ms p90", times[Math.floor(n * 0.9)].toFixed(2), "ms n", n);
}

async function runClient() {
  const client = new Resonate({ url, group: "clients", logLevel: "error" });
  await measure(client, "noop", 10); // warm-up
  await measure(client, "noop", 200);
  await measure(client, "withChild", 200);
}

if (mode === "worker") {
  startWorker(); // runs until killed
} else if (mode === "client") {
  await runClient();
  process.exit(0);
} else {
  // The worker in a second process, as a deployment has it; ours to stop, by its handle.
  const worker = spawn(process.execPath, [fileURLToPath(import.meta.url), url, "worker"], { stdio: "inherit" });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  try { await runClient(); } finally { worker.kill(); }
  process.exit(0);
}
