"""The store's tests run on both engines: SQLite (the default) and PostgreSQL (THROUGHLINE_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(params=ENGINES)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh, empty store lives: a SQLite file or a new PostgreSQL database."""
    if request.param == "postgresql":
        cluster: Any = request.getfixturevalue("postgres")
        return str(cluster.new_database())
    return str(tmp_path / "t.db")


@pytest.fixture
def open_store(location: str) -> Iterator[Callable[[], Store]]:
    """Open the same store again (as another replica would); all closed at the end."""
    opened: list[Store] = []

    def open_() -> Store:
        opened.append(Store(location))
        return opened[-1]

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()
