"""Slack listeners and Zoho webhook routes, one module per feature, each with `register(...)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import account, audit, handoff, home, report, unfurl


def register_all(app: AsyncApp) -> None:
    """Attach every Slack listener. Listeners read their dependencies with
    `bot.deps.deps_of(context)` (typed)."""
    account.register(app)
    handoff.register(app)
    unfurl.register(app)
    audit.register(app)
    report.register(app)
    home.register(app)
