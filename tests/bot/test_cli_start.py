"""A fast start for the commands that only read the mirror: `throughline report …` and `digest … --dry-run`
import what they need, never the Slack app, the web server, the Zoho clients, the scheduler or the sandbox
(bench/reports.py times them; here only which modules load, which is deterministic)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.config import DIGEST_TEAMS, OperatingStructure, Settings
from bot.intake.cli import STATES_HELP
from bot.intake.inbox import STATES
from bot.reports.cli import TEAMS_HELP
from bot.store import Store
from bot.zoho.links import app_links
from tests.bot.reports import fixtures as fx

# Never needed to read the mirror: each is the server, Slack, Zoho, the scheduler, charts, the sandbox or the
# console (the whole composition root, bot.deps, pulls in all of them).
HEAVY = (
    "aiohttp",
    "apscheduler.schedulers",
    "bot.app",
    "bot.console",
    "bot.deps",
    "bot.serve",
    "bot.sync",
    "bot.zoho.clients",
    "bot.zoho.sandbox",
    "fastapi",
    "httpx",
    "matplotlib",
    "slack_bolt",
    "slack_sdk.web.async_client",
    "starlette",
    "uvicorn",
)

# Nor these, loaded lazily by the commands that use them: pydantic-settings is no longer used to read the
# environment (bot.config.Settings reads it; .env via python-dotenv only when the file exists), the inbox and its
# settings load when an `inbox` command runs, rapidfuzz at the first fuzzy name match, rich only when typer prints
# help or an error.
LAZY = ("bot.intake.inbox", "dotenv", "pydantic_settings", "rapidfuzz", "rich")

# A report never needs the event loop: the store imports asyncio where it runs work for the server. (A digest still
# loads it and slack_sdk: bot.reports.digest_runs imports them for sending.)
REPORT_NEVER = ("asyncio",)

# `--help` only lists the commands: no configuration, store, pydantic or event loop.
HELP_NEVER = ("asyncio", "bot.config", "bot.models", "bot.store", "pydantic", "sqlite3")

SCRIPT = """
import json, sys
sys.argv = ["throughline", *json.loads(sys.argv[1])]
from bot.cli import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
import gc
with open(OUT, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules), "gc": [gc.isenabled(), gc.get_freeze_count()]}, handle)
"""


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cli-start")
    db = tmp / "mirror.db"
    with Store(db) as store:
        fx.fill(store)
    config = tmp / "throughline.toml"
    config.write_text('timezone = "Europe/Berlin"\n[channels]\nfinance = "C0FINANCE1"\n')
    return {"THROUGHLINE_DB": str(db), "THROUGHLINE_CONFIG": str(config), "dir": str(tmp)}


def imported_by(args: list[str], mirror: dict[str, str]) -> set[str]:
    """The modules loaded by one `throughline …` run in a fresh interpreter (it must succeed)."""
    return run_alone(args, mirror)[0]


def run_alone(args: list[str], mirror: dict[str, str]) -> tuple[set[str], bool, int]:
    """(modules loaded, cyclic collector still enabled, objects frozen) after one `throughline …` run in a fresh
    interpreter (it must succeed)."""
    out = Path(mirror["dir"]) / "modules.json"
    env = {"PATH": "/usr/bin:/bin", "THROUGHLINE_DB": mirror["THROUGHLINE_DB"]}
    env["THROUGHLINE_CONFIG"] = mirror["THROUGHLINE_CONFIG"]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("OUT", repr(str(out))), json.dumps(args)],
        cwd=mirror["dir"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(out.read_text())
    assert result["code"] == 0, done.stdout + done.stderr
    return set(result["modules"]), result["gc"][0], result["gc"][1]


def heavy_in(modules: set[str], heavy: tuple[str, ...] = HEAVY) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy))


@pytest.mark.parametrize(
    "args",
    [
        ["report", "revenue", "2026-09..2026-10"],
        ["report", "renewals"],
        ["digest", "finance", "--dry-run"],
        ["digest", "leadership", "--dry-run"],  # has a chart: described, not drawn
        ["--help"],
    ],
)
def test_reading_the_mirror_imports_only_what_it_needs(args: list[str], mirror: dict[str, str]) -> None:
    modules = imported_by(args, mirror)
    assert heavy_in(modules) == []
    help_prints_with_rich = ("rich",) if args[0] == "--help" else ()
    assert heavy_in(modules, tuple(m for m in LAZY if m not in help_prints_with_rich)) == []
    if args[0] == "report":
        assert "bot.reports.service" in modules  # the check above looked at a run that did the work
        assert heavy_in(modules, REPORT_NEVER) == []
    if args[0] == "digest":
        assert "bot.reports.digest_runs" in modules and "bot.config" in modules
    if args[0] == "--help":
        assert heavy_in(modules, HELP_NEVER) == []


@pytest.mark.parametrize(
    ("args", "one_shot"),
    [
        (["report", "invoicing"], True),
        (["digest", "support", "--dry-run"], True),
        (["--help"], True),
        (["inbox", "list", "--limit", "1"], False),
        (["sandbox", "--help"], False),  # by its name, a command that serves until stopped
    ],
)
def test_one_shot_commands_run_without_the_cyclic_collector(
    args: list[str], one_shot: bool, mirror: dict[str, str]
) -> None:
    """`report`, `digest` and the help print once and exit: no collections during the run, none over the heap at
    exit (frozen). Other commands, `serve` among them, keep the collector."""
    _, enabled, frozen = run_alone(args, mirror)
    assert enabled is not one_shot
    assert (frozen > 10_000) is one_shot


def test_the_inbox_commands_still_find_what_they_import_lazily(mirror: dict[str, str]) -> None:
    """`inbox list` loads the inbox when it runs (the lists above hold only because it no longer loads at start)."""
    modules = imported_by(["inbox", "list", "--limit", "1"], mirror)
    assert {"bot.intake.inbox", "bot.config", "bot.store"} <= modules
    assert heavy_in(modules) == []


def test_the_heavy_list_would_catch_the_composition_root(mirror: dict[str, str]) -> None:
    """The other commands do load it: the assertion above is not vacuous."""
    out = Path(mirror["dir"]) / "deps.json"
    code = f"import json, sys, bot.deps; json.dump(sorted(sys.modules), open({str(out)!r}, 'w'))"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    found = heavy_in(set(json.loads(out.read_text())))
    assert {"aiohttp", "bot.deps", "httpx", "slack_sdk.web.async_client"} <= set(found)


def test_tenant_links_follow_the_data_centre_or_the_given_address() -> None:
    """One definition (bot/zoho/links.py) for the app and the commands that only read the mirror."""
    default = app_links(Settings(), OperatingStructure())
    assert default.crm_base == "https://crm.zoho.com/crm" and default.books_base == "https://books.zoho.com"
    eu = app_links(
        Settings(ZOHO_DC="eu", ZOHO_BOOKS_ORG_ID="123"),
        OperatingStructure.model_validate({"zoho": {"crm_url": "https://crm.example.com/crm/org9"}}),
    )
    assert eu.crm_base == "https://crm.example.com/crm/org9"
    assert eu.books_base == "https://books.zoho.eu" and eu.books_org_id == "123"


def test_digest_help_names_every_team() -> None:
    assert TEAMS_HELP == ", ".join(DIGEST_TEAMS[:-1]) + " or " + DIGEST_TEAMS[-1]


def test_inbox_help_names_every_state() -> None:
    assert STATES_HELP == ", ".join(STATES)


def test_an_up_to_date_store_opens_without_the_writer(tmp_path: Path) -> None:
    """Opening checks the schema with one read: a command reading the mirror starts while `serve` writes."""
    db = tmp_path / "mirror.db"
    Store(db).close()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock (a sync in progress)
    opened: list[int] = []

    def open_store() -> None:
        with Store(db) as store:
            opened.append(store.schema_version())

    thread = threading.Thread(target=open_store, daemon=True)
    try:
        thread.start()
        thread.join(20)  # a writer's lock would hold it for SQLite's 30-second busy timeout
        assert opened and opened[0] > 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        thread.join()


def test_migrating_a_new_store_does_not_load_sqlite_utils(tmp_path: Path) -> None:
    """Migrations get `execute` on the writer, not sqlite-utils (which loads numpy, 12 MB, into `serve`)."""
    out = tmp_path / "modules.json"
    code = (
        "import json, sys; from bot.store import Store; "
        f"Store({str(tmp_path / 'new.db')!r}).close(); "
        f"json.dump(sorted(sys.modules), open({str(out)!r}, 'w'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    modules = set(json.loads(out.read_text()))
    assert "bot.store.migrations" in modules
    assert not {"sqlite_utils", "numpy"} & modules


@pytest.mark.parametrize(
    "args",
    [
        ["report"],  # usage
        ["report", "--help"],
        ["report", "nonsense"],
        ["report", "revenue", "--bogus"],
        ["digest"],  # a missing argument
        ["digest", "nobody", "--dry-run"],
        ["inbox"],
        ["inbox", "list", "--help"],
        ["zoho", "--help"],
        ["sandbox", "--help"],
        ["audit", "--sync", "sometimes"],
        ["--help"],
        ["no-such-command"],
        [],
    ],
)
def test_running_one_command_alone_answers_as_the_whole_cli(
    args: list[str], mirror: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`main` hands typer only the command it runs (typer reads every command's signature first); what the
    operator sees, help and errors included, is the same as from the whole `cli`."""
    from typer.testing import CliRunner

    from bot.cli import app_for, cli

    monkeypatch.setenv("THROUGHLINE_DB", mirror["THROUGHLINE_DB"])
    monkeypatch.setenv("THROUGHLINE_CONFIG", mirror["THROUGHLINE_CONFIG"])
    runner = CliRunner()
    alone, whole = runner.invoke(app_for(args[:1]), args), runner.invoke(cli, args)
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
    assert alone.exit_code in (0, 1, 2) and alone.output
    if args[:1] in (["report"], ["digest"], ["inbox"], ["zoho"], ["sandbox"], ["audit"]):
        assert app_for(args[:1]) is not cli  # these ran the reduced app
