"""manifest.yml and the registered listeners must agree, and the manifest must respect Slack's limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from slack_bolt.async_app import AsyncApp

import handlers

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[1] / "manifest.yml").read_text())


class RecordingApp(AsyncApp):
    """The real AsyncApp, noting which commands, events and actions the handlers register."""

    def __init__(self) -> None:
        super().__init__(signing_secret="secret", request_verification_enabled=False, authorize=_authorize)
        self.commands: list[str] = []
        self.events: list[str] = []
        self.actions: list[Any] = []

    def command(self, command, *a, **kw):  # type: ignore[no-untyped-def]
        self.commands.append(command)
        return super().command(command, *a, **kw)

    def event(self, event, *a, **kw):  # type: ignore[no-untyped-def]
        self.events.append(event if isinstance(event, str) else event.get("type"))
        return super().event(event, *a, **kw)

    def action(self, constraints, *a, **kw):  # type: ignore[no-untyped-def]
        self.actions.append(constraints)
        return super().action(constraints, *a, **kw)


async def _authorize(**_: Any) -> None:
    return None


def _registered() -> RecordingApp:
    app = RecordingApp()
    handlers.register_all(app)
    return app


def test_every_manifest_command_has_a_listener_and_back():
    app = _registered()
    manifest_commands = {c["command"] for c in MANIFEST["features"].get("slash_commands", [])}
    assert manifest_commands == set(app.commands)


def test_every_manifest_event_has_a_listener_and_back():
    app = _registered()
    events = set((MANIFEST["settings"].get("event_subscriptions") or {}).get("bot_events", []))
    assert events == set(app.events)


def test_interactivity_is_on_when_there_are_buttons():
    app = _registered()
    assert app.actions
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_manifest_limits_and_urls():
    info = MANIFEST["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    for command in MANIFEST["features"]["slash_commands"]:
        assert len(command["command"]) <= 32 and command["command"].startswith("/")
        assert command["url"].endswith("/slack/events")
    assert MANIFEST["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert len(MANIFEST["features"].get("unfurl_domains", [])) <= 5


def test_scopes_cover_what_the_code_calls():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text() for p in Path("bot").rglob("*.py")) + "\n".join(
        p.read_text() for p in Path("handlers").rglob("*.py")
    )
    needs = {
        r"users_lookupByEmail": {"users:read", "users:read.email"},
        r"chat_postMessage|chat_update": {"chat:write"},
        r"usergroups_users_list": {"usergroups:read"},
        r"chat_unfurl": {"links:write"},
        r"conversations_open": {"im:write"},
    }
    for pattern, wanted in needs.items():
        if re.search(pattern, source):
            assert wanted <= scopes, f"code calls {pattern} but the manifest lacks {wanted - scopes}"
    assert "commands" in scopes


def test_the_package_carries_the_manifest():
    """An installed wheel has no repository around it: the manifest travels as package data beside bot/manifest.py."""
    import fnmatch
    import tomllib

    from bot import manifest

    top = Path(__file__).resolve().parents[1]
    assert manifest.MANIFEST.parent == Path(manifest.__file__).parent
    assert manifest.MANIFEST.read_text() == (top / "manifest.yml").read_text()
    globs = tomllib.loads((top / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bot"]
    assert any(fnmatch.fnmatch("manifest.yml", g) for g in globs)
    assert manifest.manifest_scopes() == MANIFEST["oauth_config"]["scopes"]["bot"]
