from pathlib import Path

import pytest

from bot.config import OperatingStructure, Settings, load_settings, load_structure, parse_structure
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_is_valid_and_documents_every_section():
    structure = load_structure(ROOT / "throughline.example.toml", required=True)
    assert structure.timezone == "Europe/Berlin"
    assert structure.handoff.won_stage == "Closed Won"
    text = (ROOT / "throughline.example.toml").read_text()
    for section in OperatingStructure.model_fields:
        if section != "timezone":
            assert f"[{section}" in text, f"throughline.example.toml does not show [{section}]"


def test_defaults_when_the_default_file_is_absent(tmp_path):
    structure = load_structure(tmp_path / "throughline.toml")
    assert structure.timezone == "UTC"
    assert "billing_address" in structure.handoff.required


def test_required_file_missing_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.toml: file not found"):
        load_structure(tmp_path / "missing.toml", required=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('timezone = "Mars/Olympus"', r"x\.toml: timezone: 'Mars/Olympus' is not an IANA time zone"),
        ('[handoff]\nrequired = ["vat_number"]', r"x\.toml: handoff\.required\.0: Input should be 'account'"),
        ('[chanels]\nsales = "C1"', r"x\.toml: chanels: unknown key"),
        ('[approvers]\ninvoice = ["bob"]', r"approvers\.invoice: 'bob' is not a Slack user id"),
        ("timezone =", r"x\.toml: not valid TOML"),
        ("[lookup]\nfreshness_minutes = -1", r"lookup\.freshness_minutes: Input should be greater than or equal"),
        ('[digests.finance]\ntime = "nine"', r"digests\.finance\.time"),
    ],
)
def test_bad_structure_names_file_and_key(text, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_structure(text, source="x.toml")


def test_unreadable_file_is_a_config_error(tmp_path):
    path = tmp_path / "throughline.toml"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_structure(path)


def test_settings_use_the_contract_names(monkeypatch):
    monkeypatch.setenv("ZOHO_DC", "ca")
    monkeypatch.setenv("THROUGHLINE_DB", "/tmp/x.db")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    settings = load_settings()
    assert settings.zoho_dc == "ca"
    assert settings.db_path == "/tmp/x.db"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_bad_data_centre_names_the_variable(monkeypatch):
    monkeypatch.setenv("ZOHO_DC", "us")
    with pytest.raises(ConfigError, match="environment: ZOHO_DC: unknown Zoho data centre 'us'"):
        load_settings()


def test_missing_credentials_name_the_variable(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "ZOHO_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        settings.require_slack()
    with pytest.raises(ConfigError, match="ZOHO_CLIENT_ID"):
        settings.require_zoho()
    socket = load_settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1")
    socket.require_slack()  # Socket Mode needs no signing secret


# ---- Settings read the environment as pydantic-settings did (it is no longer imported by the commands) --------

ENV_NAMES = [f.alias for f in Settings.model_fields.values() if f.alias]


def _oracle() -> type:
    """What Settings was: the same fields, read by pydantic-settings' BaseSettings with env_file=".env"."""
    from pydantic import Field, create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    fields: dict = {name: (str, Field(f.default, alias=f.alias)) for name, f in Settings.model_fields.items()}
    oracle = create_model("Oracle", __base__=BaseSettings, **fields)
    oracle.model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)
    oracle.model_rebuild(force=True)
    return oracle


@pytest.mark.parametrize(
    ("environ", "dotenv", "given"),
    [
        ({}, None, {}),
        ({"ZOHO_DC": "eu", "THROUGHLINE_DB": "/data/t.db", "SLACK_BOT_TOKEN": ""}, None, {}),
        ({"zoho_dc": "jp", "Throughline_Config": "x.toml"}, None, {}),  # any case, as pydantic-settings matched
        ({}, 'ZOHO_DC=in\nexport THROUGHLINE_DB="/q/a b.db"\n# a comment\nNOT_OURS=1\nSLACK_APP_TOKEN\n', {}),
        ({"ZOHO_DC": "eu"}, "ZOHO_DC=in\nzoho_books_org_id='77'\n", {}),  # the environment beats .env
        ({"THROUGHLINE_DB": "/env.db", "ZOHO_DC": "eu"}, "ZOHO_DESK_ORG_ID=9", {"db_path": "/arg.db", "ZOHO_DC": "ca"}),
    ],
)
def test_settings_read_the_environment_as_pydantic_settings_did(monkeypatch, tmp_path, environ, dotenv, given):
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    ours, theirs = Settings(**given), _oracle()(**given)
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_fields_set == theirs.model_fields_set  # `serve --sandbox` asks whether THROUGHLINE_DB was set


def test_a_bad_variable_in_dotenv_is_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOHO_DC", raising=False)
    (tmp_path / ".env").write_text("ZOHO_DC=us\n")
    with pytest.raises(ConfigError, match="environment: ZOHO_DC: unknown Zoho data centre 'us'"):
        load_settings()
