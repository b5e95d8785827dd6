"""Secondary indexes of the mirror tables built once after a first full sync, instead of entry by entry while it
runs.

A first sync inserts every mirrored record; each insert also adds an entry, at a random place, to every index of its
table (invoices carry twelve). Once an index outgrows the batch, each batch rewrites nearly a page per row per index
(WAL, then checkpoint), so the bytes written per row grow with the table: at 10,000 accounts the store wrote 21x the
bytes of a 1,000-account sync for 10x the rows (1,154 MB). Every secondary index of a mirror table is dropped while
the first sync loads and created after it from the loaded rows, one sorted pass per index: 654 MB, 12.6x, the rest
being the primary keys' own random inserts (Zoho's ids arrive in Zoho's order) and the index builds. The
per-account health aggregates (bot/store/health_summary.py) are likewise not kept at each write while it loads, and
built in one pass when it ends.

What a load's own writes read goes by primary key (the previous rows an upsert compares with, the Books customers
and Desk accounts a record is linked through); the health upkeep, which reads the indexes by Books customer / Desk
account, is off while it loads. Kept throughout: the primary keys and the indexes queries read a table through by
name (`Engine.covering`: SQLite refuses such a query without them, so a report made meanwhile would fail). Anything
else read during a first sync (an `/account` lookup, a report) gets the same answers from the tables, only slower,
and only until the load ends. The dropped statements are kept in a watermark until they are created again, so an
interrupted sync leaves nothing lost: the next sync creates them first. SQLite only (`Engine.index_definitions`);
PostgreSQL keeps its indexes.
"""

from __future__ import annotations

import json
import re

from bot.store import first_invoice, health_summary
from bot.store.engine import Engine, upsert_sql
from bot.store.mirror import MIRROR_TABLES
from bot.store.reports_accounts import ACCOUNT_NAMES_INDEX
from bot.store.reports_money import ACCOUNTS_INDEX, DEAL_OWNERS_INDEX

DEFERRED = health_summary.LOADING  # watermark: the dropped indexes' CREATE statements, as JSON [[name, sql]]
NAMED_IN_QUERIES = frozenset({ACCOUNTS_INDEX, DEAL_OWNERS_INDEX, ACCOUNT_NAMES_INDEX})
KEPT = NAMED_IN_QUERIES  # every other secondary index of a mirror table waits for the end of the load
_CREATE = re.compile(r"^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?!IF\s+NOT\s+EXISTS)", re.I)


def if_not_exists(sql: str) -> str:
    return _CREATE.sub(lambda m: f"CREATE {m.group(1) or ''}INDEX IF NOT EXISTS ", sql, count=1)


class DeferredIndexes:
    """Mixed into `Store`."""

    engine: Engine

    def defer_report_indexes(self) -> list[str]:
        """Drop the secondary indexes of the mirror tables but those named in queries (remembering how to build
        them); answers their names."""
        with self.engine.write() as conn:
            row = conn.execute("SELECT value FROM watermarks WHERE name = ?", [DEFERRED]).fetchone()
            saved: dict[str, str] = dict(json.loads(row[0])) if row else {}
            found = [
                (name, sql) for name, sql in self.engine.index_definitions(conn, MIRROR_TABLES) if name not in KEPT
            ]
            if not found:
                return []
            saved.update(found)
            conn.execute(
                upsert_sql("watermarks", ["name", "value"], key=["name"]), [DEFERRED, json.dumps(sorted(saved.items()))]
            )
            for name, _ in found:
                conn.execute(f"DROP INDEX {name}")
        return [name for name, _ in found]

    def restore_report_indexes(self) -> list[str]:
        """Create the indexes `defer_report_indexes` dropped (none pending: nothing to do); answers their names.

        One transaction per index, then one for the health aggregates: at 10,000 accounts building them all takes
        seconds, and a webhook's delivery waits for the writer meanwhile. Interrupted half way, the watermark still
        lists them all and the next call creates those still missing."""
        row = self.engine.one("SELECT value FROM watermarks WHERE name = ?", [DEFERRED])
        if row is None:
            return []
        pending: list[list[str]] = json.loads(row[0])
        for _, sql in pending:
            with self.engine.write() as conn:
                conn.execute(if_not_exists(sql))
        with self.engine.write() as conn:
            row = conn.execute("SELECT value FROM watermarks WHERE name = ?", [DEFERRED]).fetchone()
            if row is None:  # another sync has just finished the job
                return []
            for _, sql in json.loads(row[0]):  # any deferred since (another first sync): cheap when they exist
                conn.execute(if_not_exists(sql))
            health_summary.rebuild(conn)  # the health aggregates, not kept while it loaded
            first_invoice.rebuild(conn)  # the deals' first invoices, likewise
            conn.execute("DELETE FROM watermarks WHERE name = ?", [DEFERRED])
        return [name for name, _ in pending]

    def first_sync_loading(self) -> bool:
        """A first sync is loading the mirror: the health aggregates are not kept meanwhile (readers ask the
        records) and are built when it ends."""
        with self.engine.read() as conn:
            return health_summary.loading(conn)
