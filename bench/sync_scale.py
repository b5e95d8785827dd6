"""Full sync at 1,000 and 10,000 accounts: does the time grow with the rows (linear), or faster?

The sandbox answers from a thread of this process (a loopback uvicorn), so besides wall time each size reports
CPU seconds by thread, per stream: the event loop (our Zoho clients: HTTP, JSON, parsing), the store's threads
(our mirror writes) and the server threads (the sandbox standing in for Zoho, whose cost in production is not
ours). On a shared machine wall time swings; the CPU ratios are the figures to compare.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import Clock, environment, make_deps
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox

PARTS = ("client", "store", "sandbox")


def _thread_cpu() -> dict[str, float]:
    """CPU seconds so far of each live thread, by part (this thread: client; store pool; the rest: servers)."""
    me = threading.get_ident()
    out = dict.fromkeys(PARTS, 0.0)
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            seconds = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, AttributeError):  # the thread just ended / not on this platform
            continue
        part = "client" if thread.ident == me else "store" if thread.name.startswith("store") else "sandbox"
        out[part] += seconds
    return out


class PhaseMeter:
    """Per-stream wall, CPU by part and Zoho calls, from the sync's progress callbacks (a stream's share runs
    from the previous stream's last stored batch to its own last)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.phases: dict[str, dict[str, float]] = {}
        self._mark = self._now()
        self._start = self._mark
        self._current = ""
        self._base = self._mark

    def _now(self) -> tuple[float, dict[str, float], int]:
        return time.perf_counter(), _thread_cpu(), len(self.sandbox.calls)

    def __call__(self, name: str, total: int) -> None:
        if name != self._current:
            self._current, self._base = name, self._mark
        now = self._mark = self._now()
        wall, cpu, calls = self._base
        self.phases[name] = {
            "rows": total,
            "calls": now[2] - calls,
            "wall": now[0] - wall,
            **{part: now[1][part] - cpu[part] for part in PARTS},
        }

    def totals(self) -> dict[str, float]:
        now = self._now()
        return {"wall": now[0] - self._start[0], **{p: now[1][p] - self._start[1][p] for p in PARTS}}


async def run(sizes: tuple[int, ...] = (1_000, 10_000), seed: int = 7) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for accounts in sizes:
        sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
        async with environment(sandbox) as env:
            with tempfile.TemporaryDirectory() as tmp:
                clock = Clock()
                deps = make_deps(env, Path(tmp) / "sync.db", clock)
                meter = PhaseMeter(sandbox)
                started, cpu = time.perf_counter(), time.process_time()
                report = await MirrorSync(deps.store, deps.zoho, clock).run(meter)
                seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
                totals = meter.totals()
                rows = sum(report.counts.values())
                ours = totals["client"] + totals["store"]
                out[str(accounts)] = {
                    "seconds": round(seconds, 1),
                    "rows": rows,
                    "rows_per_second": round(rows / seconds),
                    "cpu_seconds": round(cpu, 2),
                    "cpu_by_part": {p: round(totals[p], 2) for p in PARTS},
                    "client_and_store_cpu": round(ours, 2),
                    "zoho_calls": len(sandbox.calls),
                    "phases": {
                        name: {k: round(v, 3) if isinstance(v, float) else v for k, v in p.items()}
                        for name, p in meter.phases.items()
                    },
                }
                print(
                    f"full sync, {accounts:,} accounts: {seconds:.1f} s for {rows:,} rows "
                    f"({rows / seconds:,.0f} rows/s); CPU {cpu:.1f} s = client {totals['client']:.1f} + store "
                    f"{totals['store']:.1f} + sandbox {totals['sandbox']:.1f}; {len(sandbox.calls):,} Zoho calls"
                )
                for name, p in meter.phases.items():
                    print(
                        f"  {name:20s} {int(p['rows']):7,} rows {int(p['calls']):5,} calls  wall {p['wall']:6.2f}  "
                        f"client {p['client']:6.2f}  store {p['store']:6.2f}  sandbox {p['sandbox']:6.2f} s"
                    )
                # After the last stream: the report indexes a first sync builds (bot/store/indexes.py) and the
                # overdue scan; before the first: the watermark reads and dropping those indexes.
                rest = {k: totals[k] - sum(p[k] for p in meter.phases.values()) for k in ("wall", *PARTS)}
                out[str(accounts)]["outside_streams"] = {k: round(v, 3) for k, v in rest.items()}
                print(
                    f"  {'outside the streams':20s} {'':23s}  wall {rest['wall']:6.2f}  client {rest['client']:6.2f}"
                    f"  store {rest['store']:6.2f}  sandbox {rest['sandbox']:6.2f} s"
                )
                await deps.aclose()
                deps.store.close()
    small, large = out[str(sizes[0])], out[str(sizes[-1])]
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
    print(
        f"  {out['time_ratio']}× the wall time, {out['cpu_ratio']}× the CPU (client and store: "
        f"{out['client_and_store_cpu_ratio']}×) for {out['row_ratio']}× the rows; by part "
        + ", ".join(f"{p} {r}×" for p, r in out["part_cpu_ratios"].items())
    )
    return out
