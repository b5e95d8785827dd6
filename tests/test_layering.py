"""The import rules the layout promises, checked on the source: the composition root points down only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Entry points and runners: they build Deps (or receive it from the one that does).
COMPOSITION = {
    "bot/app.py",
    "bot/serve.py",
    "bot/cli.py",
    "bot/cli_support.py",
    "bot/scheduler.py",
    "bot/console/run.py",
    "bot/intake/cli.py",
    "bot/reports/cli.py",
    "bot/deps.py",
}
# Still reading Deps directly; changed on the reports branch in flight (issue 14 leaves them to it).
PENDING: set[str] = set()


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _modules(under: str) -> list[tuple[str, set[str]]]:
    return [(str(p.relative_to(ROOT)), _imports(p)) for p in sorted((ROOT / under).rglob("*.py"))]


def test_nothing_below_the_composition_root_imports_deps_or_handlers():
    offenders = [
        name
        for name, imports in _modules("bot")
        if name not in COMPOSITION | PENDING
        and not name.startswith("bot/demo/")
        and ({"bot.deps", "handlers"} & imports or any(i.startswith("handlers.") for i in imports))
    ]
    assert offenders == []


def test_zoho_knows_neither_the_store_nor_slack():
    offenders = [
        name
        for name, imports in _modules("bot/zoho")
        if any(i.startswith(("bot.store", "slack_sdk", "slack_bolt", "bot.blocks")) for i in imports)
    ]
    assert offenders == []
