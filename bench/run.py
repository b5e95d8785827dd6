"""`make bench`: run every benchmark and write the figures to bench/results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
from pathlib import Path

from bench import account_lookup, handoff
from bench import books_sync as books_sync_bench
from bench import intake as intake_bench
from bench import reports as reports_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--warm", type=int, default=300, help="warm /account lookups")
    parser.add_argument("--cold", type=int, default=20, help="cold /account lookups per scenario")
    parser.add_argument("--only", default="", help="run one benchmark: account, handoff, …")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    parser_only = args.only
    figures: dict[str, object] = {}
    if parser_only in ("", "handoff"):
        figures["handoff"] = asyncio.run(handoff.run())
    if parser_only in ("", "account"):
        figures["account_lookup"] = asyncio.run(account_lookup.run(args.accounts, args.warm, args.cold))
    if parser_only in ("", "reports"):
        figures["reports"] = reports_bench.run(args.accounts)
    if parser_only in ("", "intake"):
        figures["intake"] = asyncio.run(intake_bench.run())
    if parser_only in ("", "books_sync"):
        figures["books_sync"] = asyncio.run(books_sync_bench.run(args.accounts))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"figures written to {out / 'latest.json'}")


if __name__ == "__main__":
    main()
