"""CRM search criteria (``((Field:op:value)and(Field:op:value))``) and the value helpers COQL shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.zoho.sandbox.crm_schema import (
    DATETIMES,
    FIELDS,
    LOOKUPS,
    NUMERIC,
    USER_FIELDS,
    USER_SUBFIELDS,
    time_key,
)
from bot.zoho.sandbox.state import Record, SandboxState

Predicate = Callable[[Record], bool]


class QueryError(Exception):
    """Bad criteria or query; `code` and `details` go into CRM's error body."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


# ---- values -------------------------------------------------------------------------------------------------
def resolve(state: SandboxState, module: str, record: Record, path: str) -> Any:
    """A field's value, following one lookup hop for ``Account_Name.Account_Name`` or ``Owner.email``."""
    if "." not in path:
        return record.get(path)
    base, sub = path.split(".", 1)
    value = record.get(base)
    if not isinstance(value, dict):
        return None
    target = LOOKUPS[module].get(base)
    if target:
        other = state.crm[target].get(str(value.get("id")))
        return other.get(sub) if other else None
    return value.get(sub)


def scalar(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("id")
    return value


def compare(left: Any, right: Any, field: str) -> int | None:
    """-1/0/1 comparing a stored value with a query value; None when not comparable."""
    left = scalar(left)
    if left is None or right is None:
        return None
    if field.split(".")[-1] in NUMERIC or isinstance(left, int | float):
        try:
            a, b = float(left), float(right)
        except (TypeError, ValueError):
            return None
        return (a > b) - (a < b)
    if field.split(".")[-1] in DATETIMES:
        a_s, b_s = time_key(left), time_key(str(right))
        return (a_s > b_s) - (a_s < b_s)
    if isinstance(left, bool):
        b_bool = str(right).lower() == "true"
        return 0 if left == b_bool else 1
    a_t, b_t = str(left).lower(), str(right).lower()
    return (a_t > b_t) - (a_t < b_t)


def check_field(module: str, path: str) -> None:
    base, _, sub = path.partition(".")
    if base not in FIELDS[module]:
        raise QueryError(
            "INVALID_QUERY", "invalid query formed", column_name=path, reason="column given seems to be invalid"
        )
    if sub:
        target = LOOKUPS[module].get(base)
        ok = (target and sub in FIELDS[target]) or (base in USER_FIELDS and sub in USER_SUBFIELDS)
        if not ok:
            raise QueryError(
                "INVALID_QUERY", "invalid query formed", column_name=path, reason="column given seems to be invalid"
            )


# ---- search criteria ------------------------------------------------------------------------------------------
_CRITERIA_OPS = {
    "equals",
    "not_equal",
    "starts_with",
    "in",
    "not_in",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "between",
}


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, buf, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _text_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(v).lower() for k, v in value.items() if k in ("id", "name", "email") and v is not None]
    return [] if value is None else [str(value).lower()]


def _criterion(module: str, field: str, op: str, raw: str) -> Predicate:
    if field not in FIELDS[module]:
        raise QueryError("INVALID_QUERY", "invalid query formed", api_name=field, reason="invalid field")
    if op not in _CRITERIA_OPS:
        raise QueryError("INVALID_QUERY", "invalid query formed", operator=op, reason="invalid operator")
    values = _split_unescaped(raw, ",")
    value = values[0]

    if op in ("equals", "not_equal", "in", "not_in", "starts_with") and field not in NUMERIC:
        wanted = [v.lower() for v in values] if op in ("in", "not_in") else [value.lower()]

        def text_match(record: Record) -> bool:
            have = _text_of(record.get(field))
            if op == "starts_with":
                return any(h.startswith(w) for h in have for w in wanted)
            if op == "not_equal":
                return all(h != w for h in have for w in wanted)
            hit = any(w in h for h in have for w in wanted)  # search's equals behaves like contains
            return hit if op in ("equals", "in") else not hit

        return text_match

    def ordered(record: Record) -> bool:
        have = record.get(field)
        if op == "between":
            lo, hi = (values + [value])[:2]
            c1, c2 = compare(have, lo, field), compare(have, hi, field)
            return c1 is not None and c2 is not None and c1 >= 0 and c2 <= 0
        if op in ("in", "not_in"):
            hit = any(compare(have, v, field) == 0 for v in values)
            return hit if op == "in" else not hit
        c = compare(have, value, field)
        if c is None:
            return op == "not_equal"
        return {
            "equals": c == 0,
            "not_equal": c != 0,
            "greater_than": c > 0,
            "greater_equal": c >= 0,
            "less_than": c < 0,
            "less_equal": c <= 0,
        }.get(op, False)

    return ordered


def parse_criteria(module: str, criteria: str) -> Predicate:
    text = criteria.strip()
    pos = 0

    def fail() -> QueryError:
        return QueryError("INVALID_QUERY", "invalid query formed", reason="invalid criteria", criteria=criteria)

    def parse_expr() -> Predicate:
        nonlocal pos
        result = parse_group()
        while True:
            rest = text[pos:].lstrip()
            skipped = len(text) - pos - len(rest)
            low = rest[:4].lower()
            if low.startswith("and"):
                pos += skipped + 3
                right, left = parse_group(), result
                result = (lambda a, b: lambda r: a(r) and b(r))(left, right)
            elif low.startswith("or"):
                pos += skipped + 2
                right, left = parse_group(), result
                result = (lambda a, b: lambda r: a(r) or b(r))(left, right)
            else:
                return result

    def parse_group() -> Predicate:
        nonlocal pos
        while pos < len(text) and text[pos] == " ":
            pos += 1
        if pos >= len(text) or text[pos] != "(":
            raise fail()
        pos += 1
        if pos < len(text) and text[pos] == "(":
            inner = parse_expr()
        else:
            start = pos
            while pos < len(text) and text[pos] != ")":
                pos += 2 if text[pos] == "\\" else 1
            parts = text[start:pos].split(":", 2)
            if len(parts) != 3:
                raise fail()
            inner = _criterion(module, parts[0].strip(), parts[1].strip().lower(), parts[2])
        if pos >= len(text) or text[pos] != ")":
            raise fail()
        pos += 1
        return inner

    pred = parse_expr()
    if text[pos:].strip():
        raise fail()
    return pred
