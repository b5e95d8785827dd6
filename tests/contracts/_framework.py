"""Contract tests: what Zoho's own specs say each endpoint Throughline calls takes and answers, as test data.

One data module per app (`desk_spec.py`, `crm_spec.py`, `books_spec.py`) lists `Endpoint`s, each naming the spec
file it was copied from. The app's test module (`test_desk_contract.py`, …) asks the embedded sandbox for each
endpoint and checks the answer with `answer_problems` and the parameter handling with `refuses_param`: a sandbox
answer with a key outside the documented set (a "convenient" key the real API does not send), or a sandbox that
accepts a parameter the spec does not list, fails a test.

Adding an app (CRM, Books): write `<app>_spec.py` with `ENDPOINTS: tuple[Endpoint, ...]` (for Books set
`records="invoices"` etc. and `envelope={"code", "message", "invoices", "page_context"}`; for CRM `records="data"`,
`envelope={"data", "info"}`), then `test_<app>_contract.py` asking the sandbox for each endpoint and asserting
`answer_problems(...) == []`, that `PROBE_PARAM` is refused, and that the client's recorded requests give
`request_problems(...) == []` (see `test_desk_contract.py`). Nothing here is Desk-specific.

Keys are compared one level deep (the record's own keys); nested objects are named in `keys` like any other.
`absent` repeats, for emphasis and for readable failures, keys Zoho is known NOT to send on that endpoint although
a sibling endpoint does (Desk ticket list rows: no modifiedTime / isEscalated / isOverDue).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROBE_PARAM = "throughlineUndocumentedProbe"  # a query parameter no Zoho spec lists


@dataclass(frozen=True)
class Endpoint:
    """One operation of one Zoho app, as its published spec describes it."""

    app: str  # crm, books, desk
    name: str  # short id used in test ids: "tickets/search"
    method: str  # GET, POST, PATCH, PUT
    path: str  # template with {placeholders}: "/api/v1/accounts/{account_id}"
    source: str  # where the facts come from: "zoho/zohodesk-oas v1.0/Search.json searchTickets"
    params: frozenset[str] = frozenset()  # documented query parameters (auth/org headers aside)
    keys: frozenset[str] = frozenset()  # documented keys of one record in the answer
    envelope: frozenset[str] = frozenset()  # documented top-level keys of the answer (list answers)
    records: str | None = "data"  # the envelope key holding the record list; None: the body is one record
    absent: frozenset[str] = frozenset()  # keys this endpoint is documented NOT to answer with
    body_keys: frozenset[str] = frozenset()  # documented keys of the request body (create / update)
    used_params: Mapping[str, str] = field(default_factory=dict)  # what Throughline sends: name → sample value
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)  # param → documented values ("-" prefix ok)
    notes: str = ""

    def __post_init__(self) -> None:
        undocumented = set(self.used_params) - self.params
        if undocumented:
            raise ValueError(f"{self.app} {self.name}: Throughline sends undocumented {sorted(undocumented)}")
        if self.absent & self.keys:
            raise ValueError(f"{self.app} {self.name}: {sorted(self.absent & self.keys)} both documented and absent")

    @property
    def id(self) -> str:
        return f"{self.app}:{self.method} {self.name}"


def keyset(*names: str | Iterable[str]) -> frozenset[str]:
    """`keyset("a", "b", ("c", "d"))` → frozenset of all names (spec lists copied as written)."""
    out: set[str] = set()
    for n in names:
        out.update([n] if isinstance(n, str) else n)
    return frozenset(out)


def records_of(endpoint: Endpoint, body: Any) -> list[Mapping[str, Any]]:
    if endpoint.records is None:
        return [body] if isinstance(body, Mapping) else []
    rows = body.get(endpoint.records) if isinstance(body, Mapping) else None
    return [r for r in rows or [] if isinstance(r, Mapping)]


def answer_problems(endpoint: Endpoint, body: Any, *, extra_keys: Iterable[str] = ()) -> list[str]:
    """Why `body` is not an answer the spec allows (empty when it is). `extra_keys`: keys a documented
    option of the request adds (for example Desk's `include=contacts` nesting `contact`)."""
    problems: list[str] = []
    if endpoint.records is not None:
        if not isinstance(body, Mapping):
            return [f"{endpoint.id}: answer is {type(body).__name__}, not an object"]
        outside = sorted(set(body) - endpoint.envelope)
        if outside:
            problems.append(f"{endpoint.id}: undocumented top-level keys {outside} ({endpoint.source})")
    allowed = endpoint.keys | frozenset(extra_keys)
    rows = records_of(endpoint, body)
    if not rows:
        problems.append(f"{endpoint.id}: no records to check")
    for row in rows:
        outside = sorted(set(row) - allowed)
        if outside:
            problems.append(f"{endpoint.id}: undocumented keys {outside} in a record ({endpoint.source})")
        banned = sorted(set(row) & endpoint.absent)
        if banned:
            problems.append(f"{endpoint.id}: {banned} answered, but the spec has no such keys here")
        if outside or banned:
            break
    return problems


def fill(path: str, values: Mapping[str, str]) -> str:
    return path.format(**values)


def matches(endpoint: Endpoint, method: str, path: str) -> bool:
    """Whether a concrete request (method, path) is this endpoint's (each {placeholder} is one path segment)."""
    want, got = endpoint.path.strip("/").split("/"), path.strip("/").split("/")
    return (
        method.upper() == endpoint.method
        and len(want) == len(got)
        and all(w == g or (w.startswith("{") and w.endswith("}") and g) for w, g in zip(want, got, strict=True))
    )


def request_problems(endpoints: Iterable[Endpoint], method: str, path: str, query: Mapping[str, str]) -> list[str]:
    """Why a request Throughline sent is not one the specs allow: an unknown endpoint, an undocumented
    parameter, or a value outside a documented enum."""
    found = [e for e in endpoints if matches(e, method, path)]
    if not found:
        return [f"{method} {path}: no documented endpoint in the contract data"]
    e = max(found, key=lambda x: x.path.count("{") == 0)  # a literal segment beats a placeholder
    problems = [f"{e.id}: undocumented parameter {k!r} ({e.source})" for k in sorted(set(query) - e.params)]
    for name, allowed in e.enums.items():
        if name in query and query[name].lstrip("-") not in allowed:
            problems.append(f"{e.id}: {name}={query[name]!r} is not one of {sorted(allowed)} ({e.source})")
    return problems
