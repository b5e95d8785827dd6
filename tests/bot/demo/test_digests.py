"""`throughline demo` ends with each team's digest for the sandbox data."""

from __future__ import annotations

import io

from bot.demo.run import run_demo


async def test_demo_prints_every_teams_digest():
    out = io.StringIO()
    assert await run_demo(json_out=False, out=out) == 0
    text = out.getvalue()
    digests = text[text.index("throughline digest <team> --dry-run"):]
    for title in ("Finance digest", "Sales digest", "Support digest", "Leadership digest"):
        assert title in digests
    assert "Overdue invoices" in digests and "Open escalations" in digests
    assert "[chart uploaded with it: Month to date vs last month" in digests
    assert "Northwind Logistics" in text[: text.index("throughline digest")]  # the earlier steps are still there
