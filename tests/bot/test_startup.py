"""Start-up (issue 11): every configuration problem in one message naming README sections that exist, a wrong Slack
token caught by auth.test, channel names refused with the fix, an unusable THROUGHLINE_DB in one line, and a
database that knows which Zoho org (and whether a sandbox) it holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import check_startup, parse_structure
from bot.db_identity import SANDBOX_DB, OrgIdentity, check_org, recorded
from bot.errors import ConfigError, DatabaseMismatch
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_BOOKS_ORG_ID",
    "ZOHO_DESK_ORG_ID",
    "ZOHO_DC",
    "ZOHO_ACCOUNTS_URL",
    "ZOHO_API_URL",
    "ZOHO_DESK_URL",
    "THROUGHLINE_DB",
    "THROUGHLINE_CONFIG",
    "THROUGHLINE_WEBHOOK_SECRET",
)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env, no throughline.toml, databases land here
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_problem_is_named_in_one_message(clean_env, tmp_path):
    (tmp_path / "throughline.toml").write_text('timezone = "Nowhere/Land"\n[channels]\nsales = "#sales"\n')
    clean_env.setenv("ZOHO_DC", "mars")
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 2
    for name in (
        "ZOHO_DC",
        "ZOHO_CLIENT_ID",
        "ZOHO_REFRESH_TOKEN",
        "ZOHO_DESK_ORG_ID",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "throughline.toml: timezone",
        "throughline.toml: channels.sales",
    ):
        assert name in result.output, name
    assert "Traceback" not in result.output


def test_channel_names_are_refused_with_the_fix():
    with pytest.raises(ConfigError) as err:
        parse_structure('[channels]\nsales = "#sales"\n', "t.toml")
    assert err.value.key == "channels.sales" and "channel id" in str(err.value) and "About tab" in str(err.value)
    with pytest.raises(ConfigError):
        parse_structure('[digests.sales]\nchannel = "sales"\n', "t.toml")
    assert parse_structure('[channels]\nsales = "C0SALES001"\n').channels.sales == "C0SALES001"


def test_readme_sections_named_in_messages_exist():
    headings = [
        line.lstrip("#").strip().lower()
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("#")
    ]
    named = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]:
        named |= {
            m.strip().rstrip(".,").lower() for m in re.findall(r"README: ([A-Za-z`() -]+?)(?:[,)]|$)", path.read_text())
        }
    assert named
    missing = {n for n in named if not any(h.startswith(n) or n in h for h in headings)}
    assert not missing, f"README sections named but not found: {sorted(missing)}"


def test_check_startup_reads_the_good_values_past_a_bad_one(clean_env):
    clean_env.setenv("ZOHO_DC", "mars")
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError) as err:
        check_startup(zoho=False, slack=True)
    assert err.value.problems == [
        "ZOHO_DC: unknown Zoho data centre 'mars'; use one of com, eu, in, com.au, jp, ca, sa, com.cn",
        "SLACK_SIGNING_SECRET must be set (see README: Slack app)",
    ]


def test_an_unusable_database_is_one_line_naming_the_variable(clean_env, tmp_path):
    clean_env.setenv("THROUGHLINE_DB", str(tmp_path / "no" / "such" / "dir" / "x.db"))
    result = runner.invoke(cli, ["serve", "--sandbox", "--accounts", "2"])
    assert result.exit_code == 2
    assert "THROUGHLINE_DB" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_wrong_slack_token_stops_at_start(clean_env, slack, tmp_path):
    slack.stub.fail_next["auth.test"] = "invalid_auth"
    clean_env.setenv("SLACK_BOT_TOKEN", "bogus")
    clean_env.setenv("SLACK_SIGNING_SECRET", "s")
    clean_env.setenv("SLACK_API_URL", f"{slack.url}/api/")
    result = runner.invoke(cli, ["serve", "--sandbox", "--accounts", "2"])
    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN" in result.output and "invalid_auth" in result.output
    # --sandbox wrote its own file, not the one a real deployment uses
    assert (tmp_path / SANDBOX_DB).exists() and not (tmp_path / "throughline.db").exists()
    store = Store(tmp_path / SANDBOX_DB)
    assert recorded(store).sandbox is True
    store.close()


def test_sandbox_data_never_goes_into_a_real_database(clean_env, slack, tmp_path):
    real = Store(tmp_path / "throughline.db")
    check_org(real, OrgIdentity("111", "222", sandbox=False))
    real.close()
    clean_env.setenv("THROUGHLINE_DB", str(tmp_path / "throughline.db"))
    result = runner.invoke(cli, ["serve", "--sandbox", "--accounts", "2"])
    assert result.exit_code == 2
    assert "sandbox and real data must not mix" in result.output and "THROUGHLINE_DB" in result.output
    assert "Traceback" not in result.output


def test_the_database_knows_its_org(tmp_path):
    store = Store(tmp_path / "t.db")
    check_org(store, OrgIdentity("111", "222", sandbox=False))
    check_org(store, OrgIdentity("111", "222", sandbox=False))  # the same org again: fine
    with pytest.raises(DatabaseMismatch) as err:
        check_org(store, OrgIdentity("999", "222", sandbox=False))
    message = str(err.value)
    assert "Books org 111" in message and "not 999" in message and "THROUGHLINE_DB" in message
    assert "move" in message and "README: The local database" in message
    with pytest.raises(DatabaseMismatch):
        check_org(store, OrgIdentity("111", "222", sandbox=True))
    check_org(store, OrgIdentity("", "222", sandbox=False))  # a start without the Books id does not forget it
    assert recorded(store) == OrgIdentity("111", "222", sandbox=False)
    store.close()


def test_commands_refuse_a_mirror_of_another_org(clean_env, tmp_path):
    store = Store(tmp_path / "throughline.db")
    check_org(store, OrgIdentity("111", "222", sandbox=False))
    store.close()
    for name, value in (
        ("ZOHO_CLIENT_ID", "a"),
        ("ZOHO_CLIENT_SECRET", "b"),
        ("ZOHO_REFRESH_TOKEN", "c"),
        ("ZOHO_BOOKS_ORG_ID", "333"),
        ("ZOHO_DESK_ORG_ID", "222"),
    ):
        clean_env.setenv(name, value)
    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 2 and "Books org 111" in result.output and "not 333" in result.output
