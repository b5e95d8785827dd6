"""`throughline report` and `throughline digest` (registered on the main CLI in bot/cli.py).

Both read the local mirror and nothing else: a report, and a digest with --dry-run, open the store and import
the report modules only, never the Slack app, the Zoho clients or the scheduler (`bot.deps`), so the command is
the query's time plus a short start (tests/bot/test_cli_start.py keeps it so).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli_support import fail, run_async
from bot.errors import ConfigError, ThroughlineError

if TYPE_CHECKING:
    from bot.config import OperatingStructure, Settings
    from bot.store import Store
    from bot.zoho.links import AppLinks

TEAMS_HELP = "finance, sales, support or leadership"  # bot.config.DIGEST_TEAMS (a test keeps them equal)


def _config() -> tuple[Settings, OperatingStructure]:
    from bot.config import load_settings, load_structure

    try:
        settings = load_settings()
        return settings, load_structure(settings.config_path)
    except ConfigError as exc:
        raise fail(f"Configuration error: {exc}") from exc


def _mirror_path(settings: Settings) -> Path | str:
    if settings.database_url:
        return settings.database_url
    path = Path(settings.db_path)
    if not path.exists():
        raise fail(f"No local mirror at {path}: run `throughline sync` first (or set THROUGHLINE_DB).")
    return path


def report_cmd(
    kind: Annotated[str, typer.Argument(help="revenue, invoicing, support or renewals")] = "",
    period: Annotated[list[str] | None, typer.Argument(help="e.g. last month, 2026-Q3, 2026-10, ytd")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write every row to this CSV file")] = None,
) -> None:
    """Print a report from the local mirror (the same as /report in Slack); --csv writes its rows."""
    from bot.errors import ReportUsageError
    from bot.reports.service import csv_rows, parse_request, render, run_report, usage_text
    from bot.store import Store
    from bot.textrender import render_text

    settings, structure = _config()
    if not kind:
        typer.echo(render_text({"text": usage_text()}))
        raise typer.Exit(0)
    now = datetime.now(UTC)  # not bot.deps.utcnow: importing the Slack and Zoho clients would double the start
    try:
        request = parse_request(" ".join([kind, *(period or [])]), now, structure)
    except ReportUsageError as exc:
        raise fail(f"{exc.user_message()}\n\n{render_text({'text': usage_text()})}") from exc
    except ThroughlineError as exc:
        raise fail(exc.user_message()) from exc
    with Store(_mirror_path(settings)) as store:  # open until the CSV is made: a report may read names as it goes
        report = run_report(store, structure, request, now)
        typer.echo(render_text(render(report, structure).to_dict()))
        if csv_file is not None:
            try:
                with csv_file.open("w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows(csv_rows(report))
            except OSError as exc:
                raise fail(f"Cannot write {csv_file}: {exc}", code=1) from exc
            typer.echo(f"\nCSV written to {csv_file}")


def digest_cmd(
    team: Annotated[str, typer.Argument(help=TEAMS_HELP)],
    now_flag: Annotated[bool, typer.Option("--now", help="Send today's digest now, before its time")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print it; send and record nothing")] = False,
) -> None:
    """Send (or with --dry-run print) a team's daily digest; a digest already sent today is not sent again."""
    from bot.config import DIGEST_TEAMS
    from bot.reports.digest_runs import schedule_for

    team = team.strip().lower()
    if team not in DIGEST_TEAMS:
        raise fail(f"Unknown team {team!r}: use one of {', '.join(DIGEST_TEAMS)}.")
    settings, structure = _config()
    location = _mirror_path(settings)
    schedule = schedule_for(structure, team)
    if dry_run:
        raise typer.Exit(_dry_run(settings, structure, location, team, schedule.channel))

    from bot.deps import build_deps
    from bot.reports.digest_runs import last_slot, send_digest

    async def run() -> int:
        deps = build_deps(settings, structure)
        try:
            now = deps.clock()
            today = now.astimezone(schedule.tz).date()
            if not now_flag and last_slot(now, schedule.at, schedule.tz).astimezone(schedule.tz).date() != today:
                typer.echo(
                    f"The {team} digest is due at {schedule.at:%H:%M} ({schedule.tz.key}); that has not come "
                    "yet today. Use --now to send it now, or --dry-run to see it."
                )
                return 1
            settings.require_slack()
            result = await send_digest(deps, team, now=now, day=today)
            typer.echo(result.summary())
            for problem in result.failed + [
                f"{u}: no channel configured and no Slack user" for u in result.undeliverable
            ]:
                typer.echo(f"  {problem}")
            return 1 if result.failed or (result.undeliverable and not result.sent) else 0
        finally:
            await deps.aclose()

    raise typer.Exit(run_async(run, "Digest"))


@dataclass(frozen=True)
class _MirrorOnly:
    """What building a digest reads (`bot.reports.digest_runs.DigestSource`): the mirror, the structure, the
    links and the time; no Slack client, so nothing to start or close."""

    structure: OperatingStructure
    store: Store
    links: AppLinks
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _dry_run(settings: Settings, structure: OperatingStructure, location: Path | str, team: str, channel: str) -> int:
    """Print the team's digests as they would go out now; send and record nothing."""
    from bot.reports.digest_runs import build_outgoing
    from bot.store import Store
    from bot.textrender import render_text
    from bot.zoho.links import app_links

    try:
        with Store(location) as store:
            day, outgoing = build_outgoing(_MirrorOnly(structure, store, app_links(settings, structure)), team)
    except ThroughlineError as exc:
        raise fail(f"Digest failed: {exc.user_message()}", code=1) from exc
    for out in outgoing:
        where = f"{out.recipient_name} <{out.recipient}>" if out.recipient else f"#{channel or team}"
        typer.echo(f"\n→ {where}\n")
        typer.echo(render_text(out.message.to_dict()))
        if out.chart is not None:
            typer.echo(f"[chart image: {out.chart.title}]")
    if not outgoing:
        typer.echo(f"No {team} digest for {day}: nobody has anything to see.")
    return 0
