"""Small CLI things from issue 11: `sandbox` prints export lines, `audit --kind`, baseline inbox rows, `make` says
what it is doing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import cli
from bot.intake.inbox import Inbox
from bot.store import Store
from tests.bot.audit.test_service import zoho_env  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_sandbox_prints_lines_a_shell_can_take(monkeypatch):
    import bot.zoho.sandbox.server as server

    async def serve(*_: object) -> None:  # do not listen: only the printed environment matters here
        return None

    monkeypatch.setattr(server, "serve", serve)
    result = runner.invoke(cli, ["sandbox", "--accounts", "2", "--port", "8799"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line and not line.startswith("#")]
    assert lines and all(line.startswith("export ZOHO_") and "=" in line for line in lines)
    assert "export ZOHO_API_URL=http://127.0.0.1:8799" in lines


def test_audit_kind_filter(zoho_env):  # noqa: F811
    sandbox, env = zoho_env
    result = runner.invoke(cli, ["audit", "--json", "--kind", "invoice_no_deal", "--kind", "won_no_desk"], env=env)
    assert result.exit_code == 0, result.output
    kinds = {f["kind"] for f in json.loads(result.output)["findings"]}
    assert kinds and kinds <= {"invoice_no_deal", "won_no_desk"}
    bad = runner.invoke(cli, ["audit", "--kind", "nonsense", "--sync", "never"], env=env)
    assert bad.exit_code == 2 and "won_no_books" in bad.output


def test_baseline_rows_do_not_look_like_sent_notices(tmp_path, clock, monkeypatch):
    db = tmp_path / "t.db"
    store = Store(db)
    inbox = Inbox(store, clock)
    inbox.add_many("changes", [("deal:1:won", {"kind": "deal"})], state="done")  # a baseline
    inbox.add("desk", "Ticket_Add:1:100", '{"kind": "ticket", "id": "1"}')
    inbox.mark_done(inbox.pending()[0].id)  # a processed one
    store.close()
    monkeypatch.setenv("THROUGHLINE_DB", str(db))
    listed = runner.invoke(cli, ["inbox", "list"]).output
    assert "baseline" in next(line for line in listed.splitlines() if "deal:1:won" in line)
    assert "baseline" not in next(line for line in listed.splitlines() if "Ticket_Add" in line)
    shown = runner.invoke(cli, ["inbox", "show", "1"]).output
    assert "nothing was processed or sent" in shown


def test_make_says_what_it_is_doing_on_first_install():
    makefile = (ROOT / "Makefile").read_text()
    install = makefile[makefile.index("$(STAMP):") : makefile.index("install: $(STAMP)")]
    assert "--quiet" not in install and install.count("@echo") >= 3
