"""The drift audit for the terminal, CSV and JSON (pure)."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Iterable
from typing import Any

from bot.audit.drift import KIND_TITLES, KINDS, Finding, RecordRef, counts
from bot.audit.service import AuditRun

WIDTH = 100
CSV_COLUMNS = ("kind", "title", "id", "what", "fix", "score", "suggestion", "records")


def _ref(r: RecordRef) -> str:
    name = f" “{r.name}”" if r.name and r.name != r.id else ""
    return f"{r.app} {r.kind} {r.id}{name}" + (f" <{r.url}>" if r.url else "")


def _suggestion(f: Finding) -> str:
    s = f.suggestion
    if s is None:
        return ""
    record = "Books customer" if s.action == "link_books_customer" else "Desk account"
    return f"link {record} {s.record_id} to CRM account {s.crm_account_id} (similarity {s.score:.0f})"


def _wrap(label: str, text: str) -> list[str]:
    lead = f"    {label:<6} "
    return textwrap.wrap(text, WIDTH, initial_indent=lead, subsequent_indent=" " * len(lead)) or [lead.rstrip()]


def table(run: AuditRun) -> str:
    """A count per kind, then each finding: what, where, fix (and the suggested link, if any)."""
    per_kind = counts(run.findings)
    width = max(len(t) for t in KIND_TITLES.values())
    lines = [
        f"Drift audit (run {run.id}, {run.at:%Y-%m-%d %H:%M} UTC)" + (", mirror synced first" if run.synced else ""),
        "",
    ]
    lines += [f"  {'kind'.ljust(width)}  findings", f"  {'-' * width}  --------"]
    lines += [f"  {KIND_TITLES[k].ljust(width)}  {per_kind[k]:>8}" for k in KINDS]
    lines += [f"  {'total'.ljust(width)}  {len(run.findings):>8}"]
    lines += [f"\n! {note}" for note in run.notes]
    for kind in KINDS:
        found = [f for f in run.findings if f.kind == kind]
        if not found:
            continue
        lines += ["", f"{KIND_TITLES[kind]} ({len(found)})", "=" * min(len(KIND_TITLES[kind]) + 6, WIDTH)]
        for f in found:
            lines += textwrap.wrap(f.what, WIDTH, initial_indent="  • ", subsequent_indent="    ")
            for ref in f.records:
                lines += _wrap("where:", _ref(ref))
            lines += _wrap("fix:", f.fix)
            if f.suggestion:
                lines += _wrap("link:", _suggestion(f) + " — apply it from Slack with /audit")
    return "\n".join(lines) + "\n"


def to_csv(findings: Iterable[Finding]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow(
            [
                f.kind,
                KIND_TITLES[f.kind],
                f.id,
                f.what,
                f.fix,
                "" if f.score is None else f.score,
                _suggestion(f),
                "; ".join(_ref(r) for r in f.records),
            ]
        )
    return out.getvalue()


def to_json(run: AuditRun) -> str:
    payload: dict[str, Any] = {
        "run": run.id,
        "at": run.at.isoformat(),
        "synced": run.synced is not None,
        "notes": run.notes,
        "counts": counts(run.findings),
        "findings": [f.model_dump(mode="json") for f in run.findings],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
