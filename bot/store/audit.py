"""The audit trail (`audit_log`) and the drift audit's runs (`drift_runs`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.engine import Engine


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    outcome: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class DriftRunRow:
    id: int
    at: datetime
    actor: str
    findings: list[dict[str, Any]]
    applied: dict[str, dict[str, Any]]
    notes: list[str]


class AuditTables:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, at: datetime, actor: str, action: str, subject: str, outcome: str, detail: dict[str, Any]) -> None:
        with self.engine.write() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [at.isoformat(), actor, action, subject, outcome, json.dumps(detail, default=str)],
            )

    def entries(self, subject: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
        where, params = [], []
        if subject is not None:
            where.append("subject = ?")
            params.append(subject)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        sql = "SELECT id, at, actor, action, subject, outcome, detail FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self.engine.all(sql, [*params, limit])
        return [
            AuditEntry(
                r["id"],
                datetime.fromisoformat(r["at"]),
                r["actor"],
                r["action"],
                r["subject"],
                r["outcome"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]

    # ---- drift runs ----------------------------------------------------------------------------------------

    def save_drift_run(
        self, at: datetime, actor: str, findings: list[dict[str, Any]], notes: list[str], *, forget_before: datetime
    ) -> int:
        with self.engine.write() as conn:
            conn.execute("DELETE FROM drift_runs WHERE at < ?", [forget_before.isoformat()])
            cursor = conn.execute(
                "INSERT INTO drift_runs (at, actor, findings, notes) VALUES (?, ?, ?, ?) RETURNING id",
                [at.isoformat(), actor, json.dumps(findings), json.dumps(notes)],
            )
            return int(cursor.fetchone()[0])

    def drift_run(self, run_id: int) -> DriftRunRow | None:
        row = self.engine.one("SELECT id, at, actor, findings, applied, notes FROM drift_runs WHERE id = ?", [run_id])
        if row is None:
            return None
        return DriftRunRow(
            row["id"],
            datetime.fromisoformat(row["at"]),
            row["actor"],
            json.loads(row["findings"]),
            json.loads(row["applied"]),
            json.loads(row["notes"]),
        )

    def claim_finding(self, run_id: int, finding_id: str, actor: str, at: datetime) -> dict[str, Any] | None:
        """Mark the finding as being applied; the existing mark instead when another click got there first."""
        with self.engine.write() as conn:
            sql = f"SELECT applied FROM drift_runs WHERE id = ?{self.engine.for_update}"
            row = conn.execute(sql, [run_id]).fetchone()
            applied = json.loads(row[0]) if row else {}
            if finding_id in applied and applied[finding_id].get("state") != "failed":
                return dict(applied[finding_id])
            applied[finding_id] = {"state": "applying", "by": actor, "at": at.isoformat()}
            conn.execute("UPDATE drift_runs SET applied = ? WHERE id = ?", [json.dumps(applied), run_id])
        return None

    def mark_finding(self, run_id: int, finding_id: str, state: str, actor: str, at: datetime, message: str) -> None:
        with self.engine.write() as conn:
            sql = f"SELECT applied FROM drift_runs WHERE id = ?{self.engine.for_update}"
            row = conn.execute(sql, [run_id]).fetchone()
            applied = json.loads(row[0]) if row else {}
            applied[finding_id] = {"state": state, "by": actor, "at": at.isoformat(), "message": message}
            conn.execute("UPDATE drift_runs SET applied = ? WHERE id = ?", [json.dumps(applied), run_id])
