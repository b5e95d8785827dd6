from typer.testing import CliRunner

from bot.cli import cli
from bot.intake.inbox import Inbox
from bot.store import Store


def _seed(path, clock) -> tuple[int, int]:
    store = Store(path)
    inbox = Inbox(store, clock)
    inbox.add("desk", "Ticket_Add:1:100", '{"kind": "ticket", "id": "1"}')
    failed = inbox.pending()[0].id
    inbox.mark_failed(failed, "ZohoUnavailable: Desk answered 503")
    rejected = inbox.reject("books", b"{nope", "400: malformed JSON")
    store.close()
    return failed, rejected


def test_inbox_commands(tmp_path, clock, monkeypatch):
    db = tmp_path / "t.db"
    failed, rejected = _seed(db, clock)
    monkeypatch.setenv("THROUGHLINE_DB", str(db))
    runner = CliRunner()
    listed = runner.invoke(cli, ["inbox", "list"])
    assert listed.exit_code == 0, listed.output
    assert "failed: 1" in listed.output and "rejected: 1" in listed.output and "Desk answered 503" in listed.output
    only = runner.invoke(cli, ["inbox", "list", "--state", "rejected"])
    assert "Ticket_Add" not in only.output and "malformed JSON" in only.output
    shown = runner.invoke(cli, ["inbox", "show", str(failed)])
    assert shown.exit_code == 0 and '"kind": "ticket"' in shown.output and "attempts: 1" in shown.output
    assert runner.invoke(cli, ["inbox", "replay", str(rejected)]).exit_code == 1
    assert runner.invoke(cli, ["inbox", "show", "999"]).exit_code == 1
    assert runner.invoke(cli, ["inbox", "list", "--state", "odd"]).exit_code == 2
    replayed = runner.invoke(cli, ["inbox", "replay", str(failed)])
    assert replayed.exit_code == 0 and "queued again" in replayed.output
    assert "pending: 1" in runner.invoke(cli, ["inbox", "list"]).output
    assert "0 failed entries queued again" in runner.invoke(cli, ["inbox", "replay-failed"]).output
