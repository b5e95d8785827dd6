"""`throughline report` and `throughline digest` on a fixed mirror."""

from __future__ import annotations

import csv

import pytest
import time_machine
from typer.testing import CliRunner

from bot.cli import cli
from bot.store import Store
from tests.bot.reports import fixtures as fx

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    db = tmp_path / "mirror.db"
    with Store(db) as store:
        fx.fill(store)
    config = tmp_path / "throughline.toml"
    config.write_text(
        'timezone = "Europe/Berlin"\n[channels]\nfinance = "C0FINANCE1"\n[digests.finance]\ntime = 08:30:00\n'
    )
    monkeypatch.setenv("THROUGHLINE_DB", str(db))
    monkeypatch.setenv("THROUGHLINE_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_report_prints_and_writes_csv(env):
    result = runner.invoke(cli, ["report", "revenue", "2026-09..2026-10", "--csv", "out.csv"])
    assert result.exit_code == 0, result.output
    assert "Revenue · 1 Sep – 31 Oct 2026" in result.output and "€30,000.00" in result.output
    rows = list(csv.reader((env / "out.csv").open()))
    assert rows[0][:4] == ["section", "key", "currency", "sold"]
    assert ["month", "2026-09", "EUR", "24000", "18500", "10000", "5500", "8500"] in rows
    assert ["other_currency", "USD", "USD", "7000", "7000", "2000", "0", "5000"] in rows


@pytest.mark.parametrize("kind", ["invoicing 2026-Q3", "support last 3 months", "renewals"])
def test_every_report_has_a_csv(env, kind):
    result = runner.invoke(cli, ["report", *kind.split(), "--csv", "out.csv"])
    assert result.exit_code == 0, result.output
    assert len(list(csv.reader((env / "out.csv").open()))) >= 2


def test_report_mistakes_are_explained(env, monkeypatch):
    assert "/report revenue" in runner.invoke(cli, ["report"]).output
    bad = runner.invoke(cli, ["report", "profit"])
    assert bad.exit_code == 2 and "There is no “profit” report" in bad.output
    bad = runner.invoke(cli, ["report", "revenue", "someday"])
    assert bad.exit_code == 2 and "can't read “someday”" in bad.output
    monkeypatch.setenv("THROUGHLINE_DB", str(env / "missing.db"))
    bad = runner.invoke(cli, ["report", "revenue"])
    assert bad.exit_code == 2 and "run `throughline sync` first" in bad.output


@time_machine.travel("2026-10-15T06:35:00+00:00", tick=False)  # 08:35 in Berlin
def test_digest_dry_run_prints_without_sending(env):
    result = runner.invoke(cli, ["digest", "sales", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "→ Ann Archer <ann@example.com>" in result.output and "Handoffs missing fields (1)" in result.output
    result = runner.invoke(cli, ["digest", "leadership", "--dry-run"])
    assert "[chart image: Month to date vs last month (EUR)]" in result.output


def test_digest_sends_once(env, monkeypatch, slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    monkeypatch.setenv("SLACK_API_URL", f"{slack.url}/api/")
    with time_machine.travel("2026-10-15T05:00:00+00:00", tick=True):  # 07:00 Berlin: not due yet
        early = runner.invoke(cli, ["digest", "finance"])
        assert early.exit_code == 1 and "has not come yet today" in early.output
        sent = runner.invoke(cli, ["digest", "finance", "--now"])
        assert sent.exit_code == 0, sent.output
        assert "1 sent" in sent.output
        again = runner.invoke(cli, ["digest", "finance", "--now"])
        assert "0 sent, 1 already sent" in again.output
    assert [c["channel"] for c in slack.stub.calls_to("chat.postMessage")] == ["C0FINANCE1"]


def test_digest_names_unknown_teams(env):
    result = runner.invoke(cli, ["digest", "ops"])
    assert result.exit_code == 2 and "Unknown team 'ops'" in result.output
