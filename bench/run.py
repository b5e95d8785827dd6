"""`make bench`: run every benchmark and write the figures to bench/results/latest.json.

Each part runs in its own process with a deadline (`--deadline`, seconds): a part that hangs is killed and
recorded as timed out, and the others still run, so `make bench` always ends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PARTS = (
    "handoff",
    "account",
    "contention",
    "reports",
    "intake",
    "intake_wrk",
    "sync",
    "books_sync",
    "replicas",
    "serve_rss",
)
KEYS = {
    "handoff": "handoff",
    "account": "account_lookup",
    "contention": "contention",
    "reports": "reports",
    "intake": "intake",
    "intake_wrk": "intake_wrk",
    "sync": "sync_scale",
    "books_sync": "books_sync",
    "replicas": "replicas",
    "serve_rss": "serve_rss",
}
DEADLINES = {
    "handoff": 300,
    "account": 900,
    "contention": 600,
    "reports": 900,
    "intake": 600,
    "intake_wrk": 300,
    "sync": 900,
    "books_sync": 900,
    "replicas": 900,
    "serve_rss": 1500,
}  # seconds, at 10,000 accounts


def run_part(part: str, args: argparse.Namespace) -> Any:
    """The figures of one part, run in this process."""
    from bench import account_lookup, contention, handoff, intake_wrk, sync_scale
    from bench import books_sync as books_sync_bench
    from bench import intake as intake_bench
    from bench import reports as reports_bench

    if part == "handoff":
        return asyncio.run(handoff.run())
    if part == "account":
        return asyncio.run(account_lookup.run(args.accounts, args.warm, args.cold))
    if part == "contention":
        return asyncio.run(contention.run(args.accounts))
    if part == "sync":
        return asyncio.run(sync_scale.run((max(args.accounts // 10, 1), args.accounts)))
    if part == "intake_wrk":
        return asyncio.run(intake_wrk.run())
    if part == "books_sync":
        return asyncio.run(books_sync_bench.run(args.accounts))
    if part == "reports":
        return reports_bench.run(args.accounts)
    if part == "replicas":
        from bench import replicas

        return asyncio.run(replicas.run(min(args.accounts, 1000)))
    if part == "serve_rss":
        from bench import serve_rss

        return asyncio.run(serve_rss.run(args.accounts))
    return asyncio.run(intake_bench.run())


def run_isolated(part: str, args: argparse.Namespace) -> Any:
    """One part in a child process, killed at its deadline."""
    deadline = args.deadline or DEADLINES[part]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [
            sys.executable,
            "-m",
            "bench.run",
            "--only",
            part,
            "--out",
            str(out),
            "--accounts",
            str(args.accounts),
            "--warm",
            str(args.warm),
            "--cold",
            str(args.cold),
        ]
        try:
            subprocess.run(command, check=False, timeout=deadline)
        except subprocess.TimeoutExpired:
            print(f"!! {part}: no result within its {deadline} s deadline; killed")
            return {"timed_out_after_s": deadline}
        if not out.exists():
            print(f"!! {part}: failed (see above)")
            return {"failed": True}
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--warm", type=int, default=300, help="warm /account lookups")
    parser.add_argument("--cold", type=int, default=20, help="cold /account lookups per scenario")
    parser.add_argument("--only", default="", choices=("", *PARTS), help="run one benchmark, in this process")
    parser.add_argument("--deadline", type=int, default=0, help="seconds per part (default: each part's own)")
    parser.add_argument("--out", default="", help="with --only: where to write that part's figures")
    args = parser.parse_args()
    if args.only:
        figures = run_part(args.only, args)
        if args.out:
            Path(args.out).write_text(json.dumps(figures, default=str))
        else:
            print(json.dumps(figures, indent=2, default=str))
        return
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    results = {KEYS[part]: run_isolated(part, args) for part in PARTS}
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"figures written to {out / 'latest.json'}")


if __name__ == "__main__":
    main()
