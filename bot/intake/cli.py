"""`throughline inbox`: look at the webhook inbox and replay entries (see README: The inbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

# Only typer at import: bot/cli.py registers this group for every command, so the settings, the inbox and the
# store are imported when an `inbox` command runs (tests/bot/test_cli_start.py checks `report` never loads them).
if TYPE_CHECKING:
    from bot.intake.inbox import Inbox, InboxEntry

# The inbox's states (bot.intake.inbox.STATES; tests/bot/test_cli_start.py keeps them equal), for the help text.
STATES_HELP = "pending, failed, done, rejected"

inbox_cli = typer.Typer(help="The webhook inbox: list, show and replay deliveries.", no_args_is_help=True)


def _inbox() -> Inbox:
    from bot.config import load_settings
    from bot.errors import ConfigError, ThroughlineError
    from bot.intake.inbox import Inbox
    from bot.store import Store

    try:
        settings = load_settings()
        return Inbox(Store(settings.store_location), lambda: datetime.now(UTC))
    except (ConfigError, ThroughlineError) as exc:
        typer.secho(f"Cannot open the inbox: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _state(e: InboxEntry) -> str:
    """A baseline row (a change already there when watching began, marked seen and never processed) is shown as
    such, so it does not read like a notice that was sent."""
    return "baseline" if e.state == "done" and e.attempts == 0 else e.state


def _row(e: InboxEntry) -> str:
    error = f"  {e.error[:60]}" if e.error else ""
    return f"{e.id:>6}  {e.source:<6} {_state(e):<8} {e.attempts:>3}  {_when(e.received_at)}  {e.identity[:48]}{error}"


@inbox_cli.command("list")
def list_entries(
    state: Annotated[str, typer.Option(help=f"Only this state: {STATES_HELP}")] = "",
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
) -> None:
    """Entries newest first, with their state, attempts and last error."""
    from bot.intake.inbox import STATES

    if state and state not in STATES:
        typer.secho(f"Unknown state {state!r}: use one of {', '.join(STATES)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    inbox = _inbox()
    counts = inbox.counts()
    typer.echo("  ".join(f"{name}: {counts[name]}" for name in STATES))
    entries = inbox.list(state or None, limit=max(1, min(limit, 10_000)))
    if not entries:
        typer.echo("No entries." if not state else f"No {state} entries.")
        return
    typer.echo(f"{'id':>6}  {'source':<6} {'state':<8} {'try':>3}  {'received (UTC)':<19}  identity / error")
    for entry in entries:
        typer.echo(_row(entry))


@inbox_cli.command("show")
def show(entry_id: Annotated[int, typer.Argument(help="Entry id (see `inbox list`)")]) -> None:
    """One entry in full: identity, times, error and body."""
    import json

    from bot.config import load_settings
    from bot.intake.inbox import without_secrets

    entry = _inbox().get(entry_id)
    if entry is None:
        typer.secho(f"No inbox entry {entry_id}.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    for label, value in (
        ("id", entry.id),
        ("source", entry.source),
        ("identity", entry.identity),
        (
            "state",
            entry.state
            if _state(entry) == entry.state
            else f"{entry.state} (baseline: recorded as already seen; nothing was processed or sent)",
        ),
        ("attempts", entry.attempts),
        ("received", _when(entry.received_at)),
        ("processed", _when(entry.processed_at)),
        ("next try", _when(entry.next_attempt_at)),
        ("error", entry.error or "—"),
    ):
        typer.echo(f"{label:>9}: {value}")
    text = without_secrets(entry.body)  # rows stored before secrets were masked at rest are masked here
    secret = load_settings().webhook_secret
    if secret:
        text = text.replace(secret, "***")
    try:
        body = json.dumps(json.loads(text), indent=2, sort_keys=True)
    except (ValueError, RecursionError):
        body = text
    typer.echo("     body:")
    typer.echo(body)


@inbox_cli.command("replay")
def replay(entry_id: Annotated[int, typer.Argument(help="Entry id (see `inbox list`)")]) -> None:
    """Queue one entry to be processed again (the running server picks it up within a minute)."""
    inbox = _inbox()
    entry = inbox.get(entry_id)
    if entry is None or entry.state == "rejected":
        why = "does not exist" if entry is None else "was rejected at the door and has nothing to process"
        typer.secho(f"Entry {entry_id} {why}.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    inbox.replay(entry_id)
    typer.echo(
        f"Entry {entry_id} queued again; `throughline serve` processes it within a minute "
        "(or run `throughline inbox process`)."
    )


@inbox_cli.command("replay-failed")
def replay_failed() -> None:
    """Queue every failed entry to be processed again now."""
    count = _inbox().replay_failed()
    typer.echo(f"{count} failed entr{'y' if count == 1 else 'ies'} queued again.")


@inbox_cli.command("process")
def process() -> None:
    """Process every entry due now in this process (re-reads Zoho, posts to Slack)."""
    import asyncio

    from bot.config import load_settings, load_structure
    from bot.deps import build_deps
    from bot.errors import ConfigError

    async def run() -> None:
        settings = load_settings()
        settings.require_zoho()
        deps = build_deps(settings, load_structure(settings.config_path))
        try:
            from bot.db_identity import check_org, identity_of

            check_org(deps.store, identity_of(settings))
            report = await deps.intake.drain()
            typer.echo(f"{report.done} processed, {report.failed} failed (kept for retry with backoff).")
        finally:
            await deps.aclose()

    try:
        asyncio.run(run())
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
