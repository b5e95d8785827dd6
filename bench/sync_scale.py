"""Full sync at 1,000 and 10,000 accounts: does the time grow with the rows (linear), or faster?"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Clock, environment, make_deps
from bot.sync import MirrorSync
from bot.zoho.sandbox import Sandbox


async def run(sizes: tuple[int, ...] = (1_000, 10_000), seed: int = 7) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for accounts in sizes:
        sandbox = Sandbox.seeded(accounts=accounts, seed=seed)
        async with environment(sandbox) as env:
            with tempfile.TemporaryDirectory() as tmp:
                clock = Clock()
                deps = make_deps(env, Path(tmp) / "sync.db", clock)
                started = time.perf_counter()
                report = await MirrorSync(deps.store, deps.zoho, clock).run()
                seconds = time.perf_counter() - started
                rows = sum(report.counts.values())
                out[str(accounts)] = {
                    "seconds": round(seconds, 1),
                    "rows": rows,
                    "rows_per_second": round(rows / seconds),
                }
                print(
                    f"full sync, {accounts:,} accounts: {seconds:.1f} s for {rows:,} rows "
                    f"({rows / seconds:,.0f} rows/s)"
                )
                await deps.aclose()
                deps.store.close()
    small, large = out[str(sizes[0])], out[str(sizes[-1])]
    out["time_ratio"] = round(large["seconds"] / small["seconds"], 1)
    out["row_ratio"] = round(large["rows"] / small["rows"], 1)
    print(f"  {out['time_ratio']}× the time for {out['row_ratio']}× the rows")
    return out
