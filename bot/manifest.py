"""manifest.yml, read by the code that must agree with it (the doctor's scope check, the Slack stand-in)."""

from __future__ import annotations

from pathlib import Path

import yaml

# bot/manifest.yml links to the top-level manifest.yml, so an installed wheel carries the file as package data.
MANIFEST = Path(__file__).with_name("manifest.yml")


def manifest_scopes(path: Path = MANIFEST) -> list[str]:
    """The bot scopes the manifest asks for; [] when the file is missing or unreadable."""
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    return [str(s) for s in ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []]
