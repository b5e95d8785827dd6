"""`throughline` — the operator's command line."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.main import get_command_name
from typer.models import CommandInfo

# Only typer here: each command imports what it needs when it runs, so `throughline report …` never pays for
# the Slack app, the web server, the Zoho clients or the sandbox (see tests/bot/test_cli_start.py).

cli = typer.Typer(
    help="Throughline: Zoho CRM, Books and Desk as one system, through Slack.",
    no_args_is_help=True,
    add_completion=False,
)


@cli.command()
def serve(
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Run the embedded Zoho sandbox in this process")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 3000,
    accounts: Annotated[int, typer.Option(help="Sandbox size (with --sandbox)")] = 25,
) -> None:
    """Serve Slack (HTTP or Socket Mode) and the Zoho webhook routes."""
    import asyncio
    import logging

    from bot.cli_support import fail
    from bot.errors import ConfigError
    from bot.serve import run_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Zoho call is noise; errors still show
    from bot.config import check_startup
    from bot.db_identity import SANDBOX_DB

    try:
        # Every missing or malformed variable and config value at once, not one per attempt.
        settings, structure = check_startup(zoho=not sandbox, slack=not sandbox)
        if sandbox and "db_path" not in settings.model_fields_set:
            settings = settings.model_copy(update={"db_path": SANDBOX_DB})  # never the real deployment's file
        asyncio.run(run_server(settings, structure, host=host, port=port, sandbox_accounts=accounts if sandbox else 0))
    except ConfigError as exc:
        raise fail(f"Configuration error: {exc}") from exc
    except KeyboardInterrupt:
        pass


@cli.command()
def demo(
    json_out: Annotated[bool, typer.Option("--json", help="Print the Block Kit JSON instead of text")] = False,
) -> None:
    """Run the whole bot on the embedded sandbox with a local Slack stand-in; no credentials, no network."""
    import asyncio
    import logging
    import sys
    from typing import TextIO, cast

    from bot.cli_support import JsonOnly
    from bot.demo.run import run_demo

    logging.basicConfig(level=logging.WARNING)
    # With --json, standard output carries only the JSON documents (one per message); narration goes to stderr.
    out = cast(TextIO, JsonOnly(sys.stdout, sys.stderr)) if json_out else sys.stdout
    code = asyncio.run(run_demo(json_out=json_out, out=out))
    raise typer.Exit(code)


@cli.command()
def console(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 3000,
    accounts: Annotated[int, typer.Option(help="Sandbox size")] = 25,
) -> None:
    """Try Throughline without Slack or Zoho: the real app on the embedded sandbox, with a Slack-like console
    page (http://127.0.0.1:3000) and a Zoho panel. Ctrl-C stops."""
    import logging

    from bot.cli_support import fail
    from bot.console.run import PortInUse, run_console

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_console(host, port, accounts=accounts, echo=typer.echo)
    except PortInUse as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        typer.echo("Stopped.")


@cli.command("sandbox")
def sandbox_cmd(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8765,
    accounts: Annotated[int, typer.Option(help="How many accounts to generate")] = 25,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 7,
    latency: Annotated[float, typer.Option(help="Seconds added to every API call")] = 0.0,
) -> None:
    """Run the embedded Zoho sandbox alone (OAuth, CRM v8, Books v3, Desk v1)."""
    import asyncio

    from bot.zoho.sandbox import Sandbox
    from bot.zoho.sandbox.server import serve as serve_sandbox

    sb = Sandbox.seeded(accounts=accounts, seed=seed)
    sb.faults.latency = latency
    creds = sb.credentials
    base = f"http://127.0.0.1:{port}"
    typer.echo(
        f"# Zoho sandbox on {base} ({accounts} accounts, seed {seed}). Paste these lines into the shell "
        "that runs the bot:"
    )
    for name, value in (
        ("ZOHO_ACCOUNTS_URL", base),
        ("ZOHO_API_URL", base),
        ("ZOHO_DESK_URL", base),
        ("ZOHO_CLIENT_ID", creds.client_id),
        ("ZOHO_CLIENT_SECRET", creds.client_secret),
        ("ZOHO_REFRESH_TOKEN", creds.refresh_token),
        ("ZOHO_BOOKS_ORG_ID", creds.books_org_id),
        ("ZOHO_DESK_ORG_ID", creds.desk_org_id),
    ):
        typer.echo(f"export {name}={value}")
    try:
        asyncio.run(serve_sandbox(sb, "127.0.0.1", port))
    except KeyboardInterrupt:
        pass


@cli.command()
def sync() -> None:
    """Read what changed in CRM, Books and Desk since the last sync into the local mirror."""
    from bot.cli_support import opened_deps, run_async, settings_or_exit
    from bot.sync import MirrorSync, summarise

    settings = settings_or_exit()

    async def run() -> None:
        async with opened_deps(settings) as deps:

            def progress(name: str, total: int) -> None:
                typer.echo(f"\r  {name.replace('_', ' ')}: {total}", nl=False)

            report = await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run(progress)
            typer.echo("\rSync finished." + " " * 40)
            for line in summarise(report):
                typer.echo(f"  {line}")
            if report.events:
                typer.echo(
                    f"  {report.events} change(s) to tell people about, queued in the inbox "
                    "(`throughline serve` posts them; or run `throughline inbox process`)"
                )

    run_async(run, "Sync")


zoho_cli = typer.Typer(help="Zoho-side set-up: CRM notifications.", no_args_is_help=True)
cli.add_typer(zoho_cli, name="zoho")


@zoho_cli.command("watch")
def zoho_watch(
    url: Annotated[str, typer.Option(help="Public base URL of `throughline serve` (https://…)")] = "",
    stop: Annotated[bool, typer.Option("--stop", help="Unsubscribe instead")] = False,
) -> None:
    """Subscribe CRM Deals notifications to /zoho/crm (renewed automatically), or --stop them."""
    from bot.cli_support import opened_deps, run_async, settings_or_exit
    from bot.intake import crm_watch

    settings = settings_or_exit()

    async def run() -> None:
        async with opened_deps(settings) as deps:
            if stop:
                stopped = await crm_watch.stop(deps.zoho.crm, deps.store)
                typer.echo("Unsubscribed." if stopped else "There was no subscription to stop.")
                return
            state = await crm_watch.subscribe(
                deps.zoho.crm,
                deps.store,
                settings.webhook_secret,
                deps.clock,
                crm_watch.notify_url_for(url) if url else None,
            )
            typer.echo(
                f"CRM Deals notifications go to {state.notify_url} until {state.expiry:%Y-%m-%d %H:%M} UTC; "
                "`throughline serve` renews the channel a day before it expires."
            )

    run_async(run, "Subscribing")


@cli.command()
def audit(
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write the findings to this CSV file")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the findings as JSON instead of a table")] = False,
    sync_mode: Annotated[str, typer.Option("--sync", help="auto (when the mirror is stale), always or never")] = "auto",
    kinds: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only findings of this kind (repeatable), e.g. --kind won_no_books"),
    ] = None,
) -> None:
    """Drift between CRM, Books and Desk, from the local mirror: what is wrong, where, and the fix."""
    import dataclasses

    from bot.audit.drift import KINDS
    from bot.audit.output import table, to_csv, to_json
    from bot.audit.service import AuditService
    from bot.cli_support import fail, opened_deps, run_async, settings_or_exit
    from bot.config import load_structure
    from bot.zoho.links import app_links

    if sync_mode not in ("auto", "always", "never"):
        raise fail(f"--sync must be auto, always or never, not {sync_mode!r}")
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        raise fail(f"Unknown --kind {', '.join(unknown)}: use one of {', '.join(KINDS)}")
    settings = settings_or_exit()

    async def run() -> None:
        structure = load_structure(settings.config_path)
        async with opened_deps(settings, structure, need_zoho=sync_mode != "never") as deps:
            service = AuditService(deps.store, deps.zoho, structure, app_links(settings, structure), deps.clock)
            result = await service.run(
                "cli",
                sync=sync_mode,  # type: ignore[arg-type]
                check_products=settings.has_zoho_credentials(),
            )
        if kinds:
            result = dataclasses.replace(result, findings=[f for f in result.findings if f.kind in kinds])
        if csv_path is not None:
            try:
                csv_path.write_text(to_csv(result.findings), encoding="utf-8")
            except OSError as exc:
                raise fail(f"Cannot write {csv_path}: {exc.strerror or exc}", code=1) from exc
        typer.echo(to_json(result) if json_out else table(result), nl=False)
        if csv_path is not None and not json_out:
            typer.echo(f"{len(result.findings)} findings written to {csv_path}")

    run_async(run, "Audit")


@cli.command()
def doctor() -> None:
    """Check the set-up: config and vocabulary, Slack token, scopes and channels, Zoho credentials and orgs,
    CRM notifications, the webhook secret. Exits non-zero when a check fails; never prints a secret."""
    from bot.audit.doctor import Doctor, failed, render, secrets_of
    from bot.cli_support import opened_deps, run_async, settings_or_exit
    from bot.config import OperatingStructure, load_structure
    from bot.errors import ConfigError

    settings = settings_or_exit()
    config_error: ConfigError | None = None
    try:
        structure = load_structure(settings.config_path)
    except ConfigError as exc:
        config_error, structure = exc, OperatingStructure()

    async def run() -> bool:
        async with opened_deps(settings, structure, need_zoho=False) as deps:
            checks = await Doctor(
                settings,
                structure,
                config_error=config_error,
                store=deps.store,
                zoho=deps.zoho,
                slack=deps.slack,
                clock=deps.clock,
            ).run()
        typer.echo(render(checks, secrets_of(settings)), nl=False)
        return failed(checks)

    bad = run_async(run, "Doctor")
    raise typer.Exit(1 if bad else 0)


from bot.intake.cli import inbox_cli  # noqa: E402  (the `inbox` command group lives in its own module)

cli.add_typer(inbox_cli, name="inbox")

from bot.reports.cli import digest_cmd, report_cmd  # noqa: E402  (`report` and `digest` live in their own module)

cli.command("report")(report_cmd)
cli.command("digest")(digest_cmd)


# Commands that do one piece of work and exit, and the help. Their process needs no cyclic garbage collector:
# what a report builds is freed by reference counting, while the collector would walk the start-up heap (typer,
# pydantic's schemas, the modules) ≈ 100–230 times during the run and again at exit: 60–180 ms of
# `throughline report renewals` at 10,000 accounts. Long-running commands (serve, console, sync) keep it.
ONE_SHOT = ("report", "digest")


def main() -> None:
    first = sys.argv[1:2]
    one_shot = not first or first[0] in ONE_SHOT or first[0].startswith("-")  # help: no command, or --help
    if one_shot:
        gc.disable()
    try:
        app_for(first)()
    finally:
        if one_shot:
            gc.freeze()  # the interpreter's exit collects every object it still tracks, disabled or not


def app_for(first: list[str]) -> typer.Typer:
    """`cli` reduced to the command or group that the first argument names. Typer reads the signature of every
    command it holds (evaluating each annotation) before it runs one: ≈ 10 ms of `throughline report …`'s start
    for fourteen commands it does not run. Anything else (--help, no argument, an unknown name) gets all of `cli`,
    so help and "No such command" list every command."""
    name = first[0] if first else ""
    commands = [c for c in cli.registered_commands if _command_name(c) == name]
    groups = [g for g in cli.registered_groups if g.name == name]
    if not commands and not groups:
        return cli
    app = typer.Typer(add_completion=False)
    app.registered_commands, app.registered_groups = commands, groups
    app.callback()(_group)  # with a callback typer builds a group, so `report` is read as the command's name
    return app


def _group() -> None:
    pass


def _command_name(info: CommandInfo) -> str:
    return info.name or get_command_name(getattr(info.callback, "__name__", ""))
