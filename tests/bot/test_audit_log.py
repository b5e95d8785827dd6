from datetime import UTC, datetime

from bot.audit_log import AuditLog
from bot.store import Store


def test_records_and_reads_back_newest_first(tmp_path):
    store = Store(tmp_path / "t.db")
    log = AuditLog(store, lambda: datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    log.record("U1", "handoff.approve", "deal:1", detail={"amount": 10})
    log.record("U2", "handoff.reject", "deal:1", outcome="refused")
    log.record("U3", "handoff.approve", "deal:2")
    entries = log.entries(subject="deal:1")
    assert [e.actor for e in entries] == ["U2", "U1"]
    assert entries[1].detail == {"amount": 10}
    assert [e.subject for e in log.entries(action="handoff.approve")] == ["deal:2", "deal:1"]
    store.close()
    reopened = Store(tmp_path / "t.db")
    assert len(AuditLog(reopened, datetime.now).entries()) == 3
