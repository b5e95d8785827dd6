"""What every `throughline` command shares: clear failures, settings, running async work, opening the deps."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import typer

from bot.errors import ConfigError, ThroughlineError

if TYPE_CHECKING:  # bot.config (pydantic models) is imported by the commands that read it, when they run
    from bot.config import OperatingStructure, Settings

T = TypeVar("T")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` in red on stderr; raise the returned Exit. Code 2: set-up problem, 1: the work failed."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    from bot.config import load_settings

    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(f"Configuration error: {exc}") from exc


def run_async(work: Callable[[], Coroutine[Any, Any, T]], what: str) -> T:
    """Run `work()`; a configuration problem exits 2 and names the key, any other failure of ours exits 1."""
    import asyncio

    try:
        return asyncio.run(work())
    except ConfigError as exc:
        raise fail(f"Configuration error: {exc}") from exc
    except ThroughlineError as exc:
        raise fail(f"{what} failed: {exc.user_message()}", code=1) from exc


@asynccontextmanager
async def opened_deps(
    settings: Settings, structure: OperatingStructure | None = None, *, need_zoho: bool = True
) -> AsyncIterator[Any]:
    """The real dependencies for one command, closed afterwards."""
    from bot.config import load_structure
    from bot.deps import build_deps

    if need_zoho:
        settings.require_zoho()
    from bot.db_identity import check_org, identity_of

    deps = build_deps(settings, structure or load_structure(settings.config_path))
    try:
        check_org(deps.store, identity_of(settings))  # a mirror of one org is never synced from another
        yield deps
    finally:
        await deps.aclose()


class JsonOnly(io.TextIOBase):
    """A text stream for `--json` output: each write that is a JSON document goes to `data`, anything else
    (narration, blank lines) to `notes`, so `data` can be piped to jq."""

    def __init__(self, data: TextIO, notes: TextIO) -> None:
        self.data = data
        self.notes = notes

    def write(self, text: str) -> int:
        try:
            json.loads(text)
            is_json = bool(text.strip())
        except ValueError:
            is_json = False
        (self.data if is_json else self.notes).write(text)
        return len(text)

    def flush(self) -> None:
        self.data.flush()
        self.notes.flush()
