"""Sorted, paged list answers without re-sorting 50,000 records on every page.

A whole collection's order is cached per (collection, sort) and rebuilt when ``state.version`` or the
collection's size changes (every ``add_*``/``update_crm`` and every API write bumps the version). A filtered
subset up to ``FRESH_LIMIT`` rows is always sorted afresh, so incremental reads (``If-Modified-Since``,
``last_modified_time``) see in-place edits made by tests at once. After editing a sort field of many
records in place, call ``state.touch()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bot.zoho.sandbox.state import Record, SandboxState

FRESH_LIMIT = 5000

SortKey = Callable[[Record], Any]


def keep(rows: list[Record] | None, store: dict[str, Record], test: Callable[[Record], bool]) -> list[Record]:
    """Filter `rows` (None: the whole store) by `test`."""
    source: Iterable[Record] = store.values() if rows is None else rows
    return [r for r in source if test(r)]


def ordered_page(
    state: SandboxState,
    name: str,
    store: dict[str, Record],
    key: SortKey,
    reverse: bool,
    rows: list[Record] | None,
    start: int,
    count: int,
) -> tuple[list[Record], int]:
    """One page (`count` rows from `start`) of `rows` (None: all of `store`) in sort order, and the total."""
    if rows is not None and len(rows) <= FRESH_LIMIT:
        pairs = sorted(((key(r), _id(r)), r) for r in rows)
        out = [r for _, r in pairs]
        if reverse:
            out.reverse()
        return out[start : start + count], len(out)
    cached = state.sort_cache.get(name)
    if cached is None or cached[0] != state.version or cached[1] != len(store):
        ids = sorted(store, key=lambda i: (key(store[i]), i))
        if reverse:
            ids.reverse()
        cached = (state.version, len(store), ids)
        state.sort_cache[name] = cached
    ids = cached[2]
    if rows is None:
        return [store[i] for i in ids[start : start + count]], len(ids)
    wanted = {id(r) for r in rows}
    selected = [i for i in ids if id(store[i]) in wanted]
    return [store[i] for i in selected[start : start + count]], len(selected)


def _id(record: Record) -> str:
    for k in ("id", "invoice_id", "estimate_id", "contact_id", "payment_id"):
        if k in record:
            return str(record[k])
    return ""
