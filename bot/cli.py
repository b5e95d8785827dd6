"""`throughline` — the operator's command line."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Annotated

import typer

from bot.config import Settings, load_settings, load_structure
from bot.errors import ConfigError, ThroughlineError

cli = typer.Typer(help="Throughline: Zoho CRM, Books and Desk as one system, through Slack.",
                  no_args_is_help=True, add_completion=False)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _settings_or_exit(**overrides: str) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise _fail(f"Configuration error: {exc}") from exc


@cli.command()
def serve(
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Run the embedded Zoho sandbox in this process")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 3000,
    accounts: Annotated[int, typer.Option(help="Sandbox size (with --sandbox)")] = 25,
) -> None:
    """Serve Slack (HTTP or Socket Mode) and the Zoho webhook routes."""
    from bot.serve import run_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _settings_or_exit()
    try:
        structure = load_structure(settings.config_path)
        asyncio.run(run_server(settings, structure, host=host, port=port, sandbox_accounts=accounts if sandbox else 0))
    except ConfigError as exc:
        raise _fail(f"Configuration error: {exc}") from exc
    except KeyboardInterrupt:
        pass


@cli.command()
def demo(
    json_out: Annotated[bool, typer.Option("--json", help="Print the Block Kit JSON instead of text")] = False,
) -> None:
    """Run the whole bot on the embedded sandbox with a local Slack stand-in; no credentials, no network."""
    from bot.demo import run_demo

    logging.basicConfig(level=logging.WARNING)
    code = asyncio.run(run_demo(json_out=json_out, out=sys.stdout))
    raise typer.Exit(code)


@cli.command("sandbox")
def sandbox_cmd(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8765,
    accounts: Annotated[int, typer.Option(help="How many accounts to generate")] = 25,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 7,
    latency: Annotated[float, typer.Option(help="Seconds added to every API call")] = 0.0,
) -> None:
    """Run the embedded Zoho sandbox alone (OAuth, CRM v8, Books v3, Desk v1)."""
    from bot.zoho.sandbox import Sandbox
    from bot.zoho.sandbox.server import serve as serve_sandbox

    sb = Sandbox.seeded(accounts=accounts, seed=seed)
    sb.faults.latency = latency
    creds = sb.credentials
    base = f"http://127.0.0.1:{port}"
    typer.echo(f"Zoho sandbox on {base} ({accounts} accounts, seed {seed}). Environment for the bot:")
    for name, value in (("ZOHO_ACCOUNTS_URL", base), ("ZOHO_API_URL", base), ("ZOHO_DESK_URL", base),
                        ("ZOHO_CLIENT_ID", creds.client_id), ("ZOHO_CLIENT_SECRET", creds.client_secret),
                        ("ZOHO_REFRESH_TOKEN", creds.refresh_token), ("ZOHO_BOOKS_ORG_ID", creds.books_org_id),
                        ("ZOHO_DESK_ORG_ID", creds.desk_org_id)):
        typer.echo(f"  {name}={value}")
    try:
        asyncio.run(serve_sandbox(sb, "127.0.0.1", port))
    except KeyboardInterrupt:
        pass


@cli.command()
def sync() -> None:
    """Read what changed in CRM, Books and Desk since the last sync into the local mirror."""
    from bot.deps import build_deps
    from bot.sync import MirrorSync, summarise

    settings = _settings_or_exit()

    async def run() -> None:
        settings.require_zoho()
        deps = build_deps(settings, load_structure(settings.config_path))
        try:
            def progress(name: str, total: int) -> None:
                typer.echo(f"\r  {name.replace('_', ' ')}: {total}", nl=False)

            report = await MirrorSync(deps.store, deps.zoho, deps.clock).run(progress)
            typer.echo("\rSync finished." + " " * 40)
            for line in summarise(report):
                typer.echo(f"  {line}")
        finally:
            await deps.aclose()

    try:
        asyncio.run(run())
    except ConfigError as exc:
        raise _fail(f"Configuration error: {exc}") from exc
    except ThroughlineError as exc:
        raise _fail(f"Sync failed: {exc.user_message()}", code=1) from exc


def main() -> None:
    cli()
