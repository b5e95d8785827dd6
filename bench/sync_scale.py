"""Full sync at several sizes (1,000 to 10,000 accounts): does the time grow with the rows (linear), or faster?

Besides wall time each size reports CPU seconds by part, per stream: the event loop (our Zoho clients: HTTP, JSON,
parsing), the store's threads (our mirror writes) and the sandbox standing in for Zoho (whose cost in production
is not ours). On a shared machine wall time swings; the CPU figures are the ones to compare.

How it is measured, so that the figures say what they seem to:
- The sandbox serves from a process of its own, as Zoho does from its servers (its CPU is read from /proc). In the
  measured process it held every seeded record (≈ 1 GB at 10,000 accounts), caches and the garbage of 1,400 JSON
  answers, and shared the interpreter lock with us: our parts' figures carried its weight.
- Four sizes, not two (the smallest, a quarter, a half and all of `--accounts`): linear means the same CPU per row at
  every size, a flat line; one ratio between two sizes hides where the growth starts and is at the mercy of one
  noisy run. The summary also fits CPU = c * rows^k over the sizes (k = 1.00 is linear).
- The smaller sizes run several times (about as many rows in all at each size; 5, 3, 1, 1 runs) and the run with
  the median CPU counts: a short run is the noisiest, and it is the denominator of every ratio.
- Each run is a fresh process, after a small warm-up sync there: what a process pays once (imports, the first
  call of each code path, pydantic's first serialisations) is not counted as a per-row cost of whichever size runs
  first, and no size inherits the heap of another.
- Garbage collection is reported by part (it runs on whichever thread allocates when a threshold is crossed, and
  its cost grows with everything alive, the sandbox's caches included).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.harness import Clock, Env, make_deps
from bot.localserver import LocalServer
from bot.serve import settle_heap
from bot.slack_stub import SlackStub
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox.state import Credentials

PARTS = ("client", "store", "sandbox")
IN_PROCESS = ("client", "store", "other")  # this process's threads: the event loop, the store's, the rest
WARM_UP_ACCOUNTS = 100  # a first sync of this size runs before the measured one, in the same process


class SandboxProcess:
    """The seeded sandbox served by a child process (`--serve`); `cpu()` is that process's CPU seconds so far."""

    def __init__(self, accounts: int, seed: int) -> None:
        command = [sys.executable, "-m", "bench.sync_scale", "--serve", str(accounts), "--seed", str(seed)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.close()
            raise RuntimeError(f"the sandbox process did not start: {self.url!r}")
        self._tick = os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime, every thread

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the child serves until its stdin ends
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(accounts: int, seed: int) -> None:
    """The child's side: seed, serve on a loopback port, print the URL, serve until stdin ends."""
    sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
    gc.freeze()  # seeded records are never garbage: keep the collector from rescanning them
    with LocalServer(sandbox.asgi_app()) as server:
        print(server.url, flush=True)
        sys.stdin.read()


@asynccontextmanager
async def sandbox_environment(accounts: int, seed: int) -> AsyncIterator[tuple[Env, SandboxProcess]]:
    """`bench.harness.environment` with the sandbox in a process of its own (the Slack stand-in stays here: a sync
    never calls it)."""
    remote = SandboxProcess(accounts, seed)
    try:
        with LocalServer(SlackStub().asgi_app()) as slack:
            holder: Any = SimpleNamespace(credentials=Credentials())  # what make_deps reads of the sandbox
            yield Env(holder, remote.url, SlackStub(), slack.url, secrets.token_hex(16)), remote
    finally:
        remote.close()


def _part_of(thread: threading.Thread | None, main: int) -> str:
    if thread is None:
        return "other"
    return "client" if thread.ident == main else "store" if thread.name.startswith("store") else "other"


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread of this process, by part (this thread: client; store pool; the rest:
    other, the idle Slack stand-in)."""
    me = threading.get_ident()
    out = dict.fromkeys(IN_PROCESS, 0.0)
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):  # the thread just ended / not on this platform
            continue
        out[_part_of(thread, me)] += seconds
    return out


class GcMeter:
    """CPU seconds the cyclic collector took, by the part whose thread ran it (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.main = threading.get_ident()
        self.seconds = dict.fromkeys(IN_PROCESS, 0.0)
        self.collections = dict.fromkeys(IN_PROCESS, 0)
        self._started: dict[int, float] = {}

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        ident = threading.get_ident()
        if phase == "start":
            self._started[ident] = time.thread_time()
            return
        began = self._started.pop(ident, None)
        if began is not None:
            part = _part_of(threading.current_thread(), self.main)
            self.seconds[part] += time.thread_time() - began
            self.collections[part] += 1

    def __enter__(self) -> GcMeter:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


class PhaseMeter:
    """Per-stream wall, CPU by part and Zoho calls, from the sync's progress callbacks (a stream's share runs
    from the previous stream's last stored batch to its own last)."""

    def __init__(self, sandbox: SandboxProcess, calls: Any) -> None:
        self.sandbox = sandbox
        self.calls = calls  # the clients' CallCounter: requests actually sent
        self.phases: dict[str, dict[str, float]] = {}
        self._mark = self._now()
        self._start = self._mark
        self._current = ""
        self._base = self._mark

    def _now(self) -> tuple[float, dict[str, float], int]:
        return time.perf_counter(), {**_thread_cpu(), "sandbox": self.sandbox.cpu()}, self.calls.total

    def __call__(self, name: str, total: int) -> None:
        if name != self._current:
            self._current, self._base = name, self._mark
        now = self._mark = self._now()
        wall, cpu, calls = self._base
        self.phases[name] = {
            "rows": total,
            "calls": now[2] - calls,
            "wall": now[0] - wall,
            **{part: now[1][part] - cpu[part] for part in (*PARTS, "other")},
        }

    def totals(self) -> dict[str, float]:
        now = self._now()
        return {"wall": now[0] - self._start[0], **{p: now[1][p] - self._start[1][p] for p in (*PARTS, "other")}}


async def _sync(accounts: int, seed: int, *, quiet: bool = False) -> dict[str, Any]:
    """One first full sync of a fresh mirror from a sandbox of `accounts`, measured."""
    async with sandbox_environment(accounts, seed) as (env, sandbox):
        with tempfile.TemporaryDirectory() as tmp:
            clock = Clock()
            deps = make_deps(env, Path(tmp) / "sync.db", clock)
            meter = PhaseMeter(sandbox, deps.zoho.counter)
            with GcMeter() as collector:
                started, cpu = time.perf_counter(), time.process_time()
                report = await MirrorSync(deps.store, deps.zoho, clock).run(meter)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                totals = meter.totals()
            calls = deps.zoho.counter.total
            await deps.aclose()
            deps.store.close()
    rows = sum(report.counts.values())
    ours = totals["client"] + totals["store"]
    # After the last stream: the indexes a first sync builds (bot/store/indexes.py), the health aggregates and the
    # overdue scan; before the first: the watermark reads and dropping those indexes.
    rest = {k: totals[k] - sum(p[k] for p in meter.phases.values()) for k in ("wall", *PARTS)}
    out: dict[str, Any] = {
        "accounts": accounts,
        "seconds": round(seconds, 1),
        "rows": rows,
        "rows_per_second": round(rows / seconds),
        "cpu_seconds": round(cpu, 2),  # this process (client, store, other), as `process_time`
        "cpu_by_part": {p: round(totals[p], 2) for p in (*PARTS, "other")},
        "client_and_store_cpu": round(ours, 2),
        "us_per_row": {
            **{p: round(totals[p] / rows * 1e6, 1) for p in PARTS},
            "client_and_store": round(ours / rows * 1e6, 1),
            "process": round(cpu / rows * 1e6, 1),
            "wall": round(seconds / rows * 1e6, 1),
        },
        "gc_seconds": {p: round(s, 3) for p, s in collector.seconds.items()},
        "gc_collections": collector.collections,
        "zoho_calls": calls,
        "phases": {
            name: {k: round(v, 3) if isinstance(v, float) else v for k, v in p.items()}
            for name, p in meter.phases.items()
        },
        "outside_streams": {k: round(v, 3) for k, v in rest.items()},
    }
    if not quiet:
        print(
            f"full sync, {accounts:,} accounts: {seconds:.1f} s for {rows:,} rows ({rows / seconds:,.0f} rows/s); "
            f"CPU: client {totals['client']:.1f} + store {totals['store']:.1f} + other {totals['other']:.1f} (this "
            f"process: {cpu:.1f}), sandbox process {totals['sandbox']:.1f}; {calls:,} Zoho calls; collector: "
            + ", ".join(f"{p} {s:.2f} s" for p, s in collector.seconds.items())
        )
        for name, p in meter.phases.items():
            print(
                f"  {name:20s} {int(p['rows']):7,} rows {int(p['calls']):5,} calls  wall {p['wall']:6.2f}  "
                f"client {p['client']:6.2f}  store {p['store']:6.2f}  sandbox {p['sandbox']:6.2f} s"
            )
        print(
            f"  {'outside the streams':20s} {'':23s}  wall {rest['wall']:6.2f}  client {rest['client']:6.2f}"
            f"  store {rest['store']:6.2f}  sandbox {rest['sandbox']:6.2f} s"
        )
    return out


async def one_size(accounts: int, seed: int = 7) -> dict[str, Any]:
    """A warm-up sync, then the measured one (what the child process for one size runs)."""
    await _sync(min(WARM_UP_ACCOUNTS, accounts), seed, quiet=True)
    settle_heap()  # as `throughline serve` does once started: the sync then runs in the heap it would have there
    return await _sync(accounts, seed)


def ladder(smallest: int, largest: int) -> tuple[int, ...]:
    """The sizes measured: the smallest, a quarter, a half and all of the largest (those above the smallest)."""
    return tuple(sorted({smallest, *(n for n in (largest // 4, largest // 2) if n > smallest), largest}))


def exponent(points: list[tuple[float, float]]) -> float | None:
    """k of the least-squares fit y = c * x^k (log-log); 1.0 is linear."""
    logs = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(logs) < 2:
        return None
    mx = sum(x for x, _ in logs) / len(logs)
    my = sum(y for _, y in logs) / len(logs)
    var = sum((x - mx) ** 2 for x, _ in logs)
    return round(sum((x - mx) * (y - my) for x, y in logs) / var, 3) if var else None


def _measure_in_child(accounts: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "size.json"
        command = [sys.executable, "-m", "bench.sync_scale", "--accounts", str(accounts), "--seed", str(seed)]
        subprocess.run([*command, "--out", str(out)], check=True)
        figures: dict[str, Any] = json.loads(out.read_text())
        return figures


def repeats(size: int, largest: int) -> int:
    """How many runs a size gets: about as many rows in all at every size (a short run is the noisiest), odd, ≤ 5."""
    n = max(1, min(5, round(largest / size / 2)))
    return n + (n % 2 == 0)


def _median_run(accounts: int, largest: int, seed: int) -> dict[str, Any]:
    """The run with the median CPU (client and store) of `repeats` fresh runs; every run's µs per row kept."""
    runs = sorted(
        (_measure_in_child(accounts, seed) for _ in range(repeats(accounts, largest))),
        key=lambda f: float(f["client_and_store_cpu"]),
    )
    chosen = runs[(len(runs) - 1) // 2]
    chosen["runs_us_per_row"] = [f["us_per_row"]["client_and_store"] for f in runs]
    return chosen


async def run(sizes: tuple[int, ...] = (1_000, 10_000), seed: int = 7) -> dict[str, Any]:
    """Measure the sizes of `ladder(min(sizes), max(sizes))`, each run in a process of its own."""
    measured = ladder(min(sizes), max(sizes))
    out: dict[str, Any] = {str(n): _median_run(n, measured[-1], seed) for n in measured}
    small, large = out[str(measured[0])], out[str(measured[-1])]
    out["sizes"] = list(measured)
    out["time_ratio"] = round(large["seconds"] / small["seconds"], 1)
    out["row_ratio"] = round(large["rows"] / small["rows"], 1)
    out["cpu_ratio"] = round(large["cpu_seconds"] / small["cpu_seconds"], 2)
    out["client_and_store_cpu_ratio"] = round(large["client_and_store_cpu"] / small["client_and_store_cpu"], 2)
    out["part_cpu_ratios"] = {
        p: round(large["cpu_by_part"][p] / small["cpu_by_part"][p], 2) if small["cpu_by_part"][p] else None
        for p in PARTS
    }
    out["phase_cpu_ratios"] = {
        name: round(
            sum(p[k] for k in PARTS) / max(1e-9, sum(small["phases"][name][k] for k in PARTS)),
            2,
        )
        for name, p in large["phases"].items()
        if name in small["phases"]
    }
    keys = (*PARTS, "client_and_store", "process", "wall")
    each = [out[str(n)] for n in measured]
    out["us_per_row"] = {key: [f["us_per_row"][key] for f in each] for key in keys}
    out["exponent"] = {key: exponent([(f["rows"], f["us_per_row"][key] * f["rows"]) for f in each]) for key in keys}
    print(
        f"  µs per row ({', '.join(f'{n:,}' for n in measured)} accounts; median of "
        f"{', '.join(str(repeats(n, measured[-1])) for n in measured)} runs; flat = linear), fit of rows^k:"
    )
    for key in keys:
        line = "  ".join(f"{v:7.1f}" for v in out["us_per_row"][key])
        print(f"    {key:17s} {line}   k = {out['exponent'][key]}")
    print("  client and store, every run: " + "; ".join(str(out[str(n)]["runs_us_per_row"]) for n in measured))
    print(
        f"  {measured[0]:,} → {measured[-1]:,}: {out['time_ratio']}× the wall time, {out['cpu_ratio']}× the CPU "
        f"(client and store: {out['client_and_store_cpu_ratio']}×) for {out['row_ratio']}× the rows; by part "
        + ", ".join(f"{p} {r}×" for p, r in out["part_cpu_ratios"].items())
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="One size of the sync benchmark, in this process.")
    parser.add_argument("--accounts", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="", help="where to write the figures (JSON)")
    parser.add_argument("--serve", type=int, default=0, help="serve a sandbox of this many accounts until stdin ends")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.seed)
        return
    figures = asyncio.run(one_size(args.accounts, args.seed))
    Path(args.out).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
