"""The operator's CLI: documented, and clear about configuration problems."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import cli

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _commands() -> list[str]:
    return [c.name or (c.callback.__name__ if c.callback else "") for c in cli.registered_commands]


def test_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text()
    for name in _commands():
        assert f"throughline {name}" in readme, f"README.md does not mention `throughline {name}`"


def test_help_lists_the_commands():
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in _commands():
        assert name in result.output


def test_serve_without_credentials_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "ZOHO_CLIENT_ID" in result.output


def test_serve_with_a_broken_config_file_names_file_and_key(monkeypatch, tmp_path):
    config = tmp_path / "throughline.toml"
    config.write_text('timezone = "Nowhere/Land"\n')
    monkeypatch.setenv("THROUGHLINE_CONFIG", str(config))
    result = runner.invoke(cli, ["serve", "--sandbox"])
    assert result.exit_code == 2
    assert "throughline.toml: timezone" in result.output


def test_bad_data_centre_stops_with_the_variable(monkeypatch):
    monkeypatch.setenv("ZOHO_DC", "mars")
    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 2
    assert "ZOHO_DC" in result.output


def test_zoho_watch_needs_credentials(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOHO_CLIENT_ID", raising=False)
    result = runner.invoke(cli, ["zoho", "watch", "--url", "https://bot.example.com"])
    assert result.exit_code == 2
    assert "ZOHO_CLIENT_ID" in result.output
