"""`throughline demo` ends with each team's digest for the sandbox data."""

from __future__ import annotations


def test_demo_prints_every_teams_digest(demo_text: str):
    text = demo_text
    digests = text[text.index("throughline digest <team> --dry-run") :]
    for title in ("Finance digest", "Sales digest", "Support digest", "Leadership digest"):
        assert title in digests
    assert "Overdue invoices" in digests and "Open escalations" in digests
    assert "[chart uploaded with it: Month to date vs last month" in digests
    assert "Northwind Logistics" in text[: text.index("throughline digest")]  # the earlier steps are still there
