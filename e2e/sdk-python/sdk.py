"""Runs the official Python SDK (resonate-sdk 0.7.x or 0.8.x) end to end against a resolute.

    python sdk.py http://127.0.0.1:8001

A poll worker (group ``workers``) and a client (group ``clients``) run in this process; every
call goes through the server. Exit code: 0 all results right, 1 a wrong result or an error,
2 the hard timeout. The same program serves both generations: the parts of the API it uses
(``Resonate(url=, group=)``, ``register``, ``options(target=)``, ``rpc``, ``ctx.run``,
``ctx.rpc``, ``ctx.sleep``) are the same in both.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import traceback
from datetime import timedelta
from importlib.metadata import version

from resonate.context import Context
from resonate.resonate import Resonate

HARD_TIMEOUT_SECS = 60
TARGET = "workers"


def arm_hard_timeout() -> None:
    """Exits 2 after the bound whatever the event loop is doing, so CI never hangs."""

    def expire() -> None:
        print(f"TIMEOUT: the SDK run did not finish in {HARD_TIMEOUT_SECS} s", flush=True)
        os._exit(2)

    timer = threading.Timer(HARD_TIMEOUT_SECS, expire)
    timer.daemon = True
    timer.start()


# The durable functions. `parent` exercises both kinds of child: a remote one through the
# server (rpc, its own task on the worker group) and a local one (run, same task).
async def add(ctx: Context, a: int, b: int) -> int:
    return a + b


async def double(ctx: Context, x: int) -> int:
    return 2 * x


async def square(ctx: Context, x: int) -> int:
    return x * x


async def parent(ctx: Context, x: int) -> dict:
    doubled = await ctx.options(target=TARGET).rpc("double", x)
    squared = await ctx.run(square, x)
    return {"doubled": doubled, "squared": squared, "sum": doubled + squared}


# A function body replays after the sleep, so the times are read durably (ctx.run records
# them) rather than with a bare clock call, which would give the replay's time.
async def now_ms(ctx: Context) -> int:
    return time.time_ns() // 1_000_000


async def sleeper(ctx: Context, ms: int) -> dict:
    before = await ctx.run(now_ms)
    await ctx.sleep(timedelta(milliseconds=ms))
    after = await ctx.run(now_ms)
    return {"slept": after - before}


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, what: str, actual: object, ok: bool) -> None:
        line = f"{what}: {actual!r}"
        print(f"ok   {line}" if ok else f"FAIL {line}", flush=True)
        if not ok:
            self.failures.append(line)


async def exercise(client: Resonate, run: str, checks: Checks) -> None:
    rpc = client.options(target=TARGET).rpc

    total = await rpc(f"{run}-add", "add", 2, 3).result()
    checks.check("add(2, 3)", total, total == 5)

    p = await rpc(f"{run}-parent", "parent", 7).result()
    ok = isinstance(p, dict) and (p.get("doubled"), p.get("squared"), p.get("sum")) == (14, 49, 63)
    checks.check("parent(7)", p, ok)

    started = time.monotonic()
    s = await rpc(f"{run}-sleeper", "sleeper", 1000).result()
    elapsed = int((time.monotonic() - started) * 1000)
    checks.check("sleeper(1000) call time", elapsed, elapsed >= 900)
    # The timer promise resolves on the server's clock; allow a little skew below 1 s.
    ok = isinstance(s, dict) and isinstance(s.get("slept"), int) and s["slept"] >= 900
    checks.check("sleeper(1000)", s, ok)


async def main(url: str) -> int:
    worker = Resonate(url=url, group="workers")
    for fn in (add, double, square, parent, sleeper):
        worker.register(fn)
    client = Resonate(url=url, group="clients")

    # Ids are unique per run so that a rerun against a kept database starts fresh.
    run = f"py-{version('resonate-sdk')}-{int(time.time() * 1000)}"
    checks = Checks()
    try:
        await exercise(client, run, checks)
    except Exception:
        traceback.print_exc()
        checks.failures.append("exception")
    finally:
        await asyncio.wait_for(asyncio.gather(worker.stop(), client.stop()), timeout=5)

    print("PASS" if not checks.failures else f"FAILED: {len(checks.failures)}", flush=True)
    return 0 if not checks.failures else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python sdk.py <server url>", file=sys.stderr)
        sys.exit(1)
    arm_hard_timeout()
    sys.exit(asyncio.run(main(sys.argv[1])))
