// Runs one version of the official TypeScript SDK end to end against a running resolute:
//   node sdk.mjs sdk-0.11.5 http://127.0.0.1:8001
// The first argument is the npm alias of the SDK version (see package.json). A poll worker
// (group `workers`) and a client run in this process; every call goes through the server.
// Exit code: 0 all results right, 1 a wrong result or an error, 2 the hard timeout.

// Hard bound first, so that nothing below (imports included) can hang a CI job.
const deadline = setTimeout(() => {
  console.error("TIMEOUT: the SDK run did not finish in 60 s");
  process.exit(2);
}, 60_000);

// The SDK uses Promise.withResolvers (Node ≥ 22); Node 20 lacks it, so define it before loading.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const [sdkName, url] = process.argv.slice(2);
if (!sdkName || !url) {
  console.error("usage: node sdk.mjs <sdk alias> <server url>");
  process.exit(1);
}
const { Resonate } = await import(sdkName);
const target = "poll://any@workers";

// The durable functions. `parent` exercises both kinds of child: a remote one through the
// server (rpc, its own task on the worker group) and a local one (run, same task).
function* add(ctx, a, b) {
  return a + b;
}
function* double(ctx, x) {
  return 2 * x;
}
function* square(ctx, x) {
  return x * x;
}
function* parent(ctx, x) {
  const doubled = yield* ctx.rpc("double", x, ctx.options({ target }));
  const squared = yield* ctx.run(square, x);
  return { doubled, squared, sum: doubled + squared };
}
// A function body replays after the sleep, so the start time is read durably (ctx.run records
// it) rather than with a bare Date.now(), which would give the replay's time.
function now(ctx) {
  return Date.now();
}
function* sleeper(ctx, ms) {
  const before = yield* ctx.run(now);
  yield* ctx.sleep(ms);
  const after = yield* ctx.run(now);
  return { slept: after - before };
}

const worker = new Resonate({ url, group: "workers", logLevel: "error" });
worker.register("add", add);
worker.register("double", double);
worker.register("square", square);
worker.register("parent", parent);
worker.register("sleeper", sleeper);
const client = new Resonate({ url, group: "clients", logLevel: "error" });

// Ids are unique per run so that a rerun against a kept database starts fresh.
const run = `${sdkName}-${Date.now()}`;
const call = (name, ...args) => client.rpc(`${run}-${name}`, name, ...args, client.options({ target }));

const failures = [];
function check(what, actual, ok) {
  const line = `${what}: ${JSON.stringify(actual)}`;
  console.log(ok ? `ok   ${line}` : `FAIL ${line}`);
  if (!ok) failures.push(line);
}

try {
  const a = await call("add", 2, 3);
  check("add(2, 3)", a, a === 5);
  const p = await call("parent", 7);
  check("parent(7)", p, p?.doubled === 14 && p?.squared === 49 && p?.sum === 63);
  const started = Date.now();
  const s = await call("sleeper", 1000);
  const elapsed = Date.now() - started;
  check("sleeper(1000) call time", elapsed, elapsed >= 900);
  // The timer promise resolves on the server's clock; allow a little skew below 1 s.
  check("sleeper(1000)", s, typeof s?.slept === "number" && s.slept >= 900);
} catch (error) {
  console.error("ERROR", error);
  failures.push(String(error));
}

await Promise.race([
  Promise.allSettled([worker.stop?.(), client.stop?.()]),
  new Promise((resolve) => setTimeout(resolve, 2000)),
]);
clearTimeout(deadline);
console.log(failures.length === 0 ? "PASS" : `FAILED: ${failures.length}`);
process.exit(failures.length === 0 ? 0 : 1);
