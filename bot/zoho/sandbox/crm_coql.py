"""A small COQL subset for ``POST /coql``.

``select f1, Lookup.Field from Module [where <cond>] [order by f [asc|desc], ...]
[limit N | limit offset, N | limit N offset M]`` with ``=, !=, >, >=, <, <=, [not] in, [not] like,
is [not] null, between a and b``, ``and`` / ``or`` and brackets. Lookups come back as ``{"id": ...}``
unless a dotted field (``Account_Name.Account_Name``) is selected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.zoho.sandbox.crm_query import Predicate, QueryError, check_field, compare, resolve, scalar
from bot.zoho.sandbox.crm_schema import DATETIMES, NUMERIC, module_name, time_key
from bot.zoho.sandbox.state import Record, SandboxState

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|<>|=|>|<)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_$][\w$.]*))"
)
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "order",
    "by",
    "asc",
    "desc",
    "limit",
    "offset",
    "is",
    "not",
    "null",
    "in",
    "like",
    "between",
    "true",
    "false",
}


@dataclass
class Tok:
    kind: str
    text: str

    @property
    def kw(self) -> str:
        return self.text.lower() if self.kind == "word" and self.text.lower() in _KEYWORDS else ""


def _tokens(query: str) -> list[Tok]:
    out, pos, q = [], 0, query.strip().rstrip(";")
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if not m or m.end() == pos:
            if q[pos:].strip() == "":
                break
            raise QueryError("SYNTAX_ERROR", "error occurred while parsing the query", near=q[pos : pos + 20])
        kind = m.lastgroup or ""
        out.append(Tok(kind, m.group(kind)))
        pos = m.end()
    return out


@dataclass
class Coql:
    module: str
    fields: list[str]
    where: Predicate | None
    order: list[tuple[str, bool]]
    offset: int
    limit: int


class _Parser:
    def __init__(self, state: SandboxState, query: str) -> None:
        self.state = state
        self.toks = _tokens(query)
        self.i = 0
        self.module = ""

    def peek(self, ahead: int = 0) -> Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def error(self, clause: str) -> QueryError:
        tok = self.peek()
        near = tok.text if tok else "end of query"
        return QueryError("SYNTAX_ERROR", "error occurred while parsing the query", clause=clause, near=near)

    def take_kw(self, *words: str) -> str:
        tok = self.peek()
        if tok and tok.kw in words:
            self.i += 1
            return tok.kw
        return ""

    def expect_kw(self, word: str, clause: str) -> None:
        if not self.take_kw(word):
            raise self.error(clause)

    def take_punct(self, ch: str) -> bool:
        tok = self.peek()
        if tok and tok.kind == "punct" and tok.text == ch:
            self.i += 1
            return True
        return False

    def field(self, clause: str) -> str:
        tok = self.peek()
        if not tok or tok.kind != "word" or tok.kw:
            raise self.error(clause)
        self.i += 1
        return tok.text

    def value(self, clause: str) -> Any:
        tok = self.peek()
        if not tok:
            raise self.error(clause)
        self.i += 1
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'").replace("\\'", "'")
        if tok.kind == "num":
            return float(tok.text) if "." in tok.text else int(tok.text)
        if tok.kw in ("true", "false"):
            return tok.kw == "true"
        if tok.kw == "null":
            return None
        raise self.error(clause)

    def parse(self) -> Coql:
        self.expect_kw("select", "select")
        fields = [self.field("select")]
        while self.take_punct(","):
            fields.append(self.field("select"))
        self.expect_kw("from", "from")
        raw_module = self.field("from")
        module = module_name(raw_module)
        if not module:
            raise QueryError("INVALID_QUERY", "invalid query formed", module=raw_module, reason="invalid module")
        self.module = module
        for f in fields:
            check_field(module, f)
        where = self.condition() if self.take_kw("where") else None
        order: list[tuple[str, bool]] = []
        if self.take_kw("order"):
            self.expect_kw("by", "order by")
            while True:
                name = self.field("order by")
                check_field(module, name)
                desc = self.take_kw("asc", "desc") == "desc"
                order.append((name, desc))
                if not self.take_punct(","):
                    break
        offset, limit = 0, 200
        if self.take_kw("limit"):
            first = self.value("limit")
            if self.take_punct(","):
                offset, limit = int(first), int(self.value("limit"))
            else:
                limit = int(first)
                if self.take_kw("offset"):
                    offset = int(self.value("offset"))
        elif self.take_kw("offset"):
            offset = int(self.value("offset"))
        if self.peek() is not None:
            raise self.error("end")
        if limit > 2000 or limit < 1 or offset < 0:
            raise QueryError("LIMIT_EXCEEDED", "limit exceeded", by=limit, maximum=2000)
        return Coql(module, fields, where, order, offset, limit)

    def condition(self) -> Predicate:
        left = self.conjunction()
        while self.take_kw("or"):
            right, prev = self.conjunction(), left
            left = (lambda a, b: lambda r: a(r) or b(r))(prev, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.primary()
        while self.take_kw("and"):
            right, prev = self.primary(), left
            left = (lambda a, b: lambda r: a(r) and b(r))(prev, right)
        return left

    def primary(self) -> Predicate:
        if self.take_punct("("):
            inner = self.condition()
            if not self.take_punct(")"):
                raise self.error("where")
            return inner
        name = self.field("where")
        check_field(self.module, name)
        state, module = self.state, self.module

        def get(r: Record) -> Any:
            return scalar(resolve(state, module, r, name))

        if self.take_kw("is"):
            negate = bool(self.take_kw("not"))
            self.expect_kw("null", "where")
            return lambda r: (get(r) in (None, "")) != negate
        negate = bool(self.take_kw("not"))
        if self.take_kw("in"):
            if not self.take_punct("("):
                raise self.error("where")
            values = [self.value("where")]
            while self.take_punct(","):
                values.append(self.value("where"))
            if not self.take_punct(")"):
                raise self.error("where")
            return lambda r: any(compare(get(r), v, name) == 0 for v in values) != negate
        if self.take_kw("like"):
            pattern = str(self.value("where"))
            rx = re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$", re.IGNORECASE | re.DOTALL)
            return lambda r: (get(r) is not None and bool(rx.match(str(get(r))))) != negate
        if self.take_kw("between"):
            lo = self.value("where")
            self.expect_kw("and", "where")
            hi = self.value("where")

            def between(r: Record) -> bool:
                a, b = compare(get(r), lo, name), compare(get(r), hi, name)
                return (a is not None and b is not None and a >= 0 and b <= 0) != negate

            return between
        if negate:
            raise self.error("where")
        tok = self.peek()
        if not tok or tok.kind != "op":
            raise self.error("where")
        self.i += 1
        op = "!=" if tok.text == "<>" else tok.text
        value = self.value("where")

        def compare_op(r: Record) -> bool:
            c = compare(get(r), value, name)
            if c is None:
                return op == "!=" and value is not None
            return {"=": c == 0, "!=": c != 0, ">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0}[op]

        return compare_op


def parse_coql(state: SandboxState, query: str) -> Coql:
    return _Parser(state, query).parse()


def run_coql(state: SandboxState, q: Coql) -> tuple[list[Record], bool]:
    """The projected rows of one page and whether more rows follow."""
    rows = [r for r in state.crm[q.module].values() if q.where is None or q.where(r)]
    rows.sort(key=lambda r: r["id"])
    for name, desc in reversed(q.order):
        rows.sort(key=lambda r, n=name: _sort_key(resolve(state, q.module, r, n), n), reverse=desc)  # type: ignore[misc]
    page = rows[q.offset : q.offset + q.limit]
    out = []
    for r in page:
        row: Record = {}
        for f in q.fields:
            value = resolve(state, q.module, r, f)
            row[f] = {"id": value.get("id")} if isinstance(value, dict) and "." not in f else value
        row["id"] = r["id"]
        out.append(row)
    return out, q.offset + q.limit < len(rows)


def _sort_key(value: Any, field: str) -> tuple[int, Any]:
    value = scalar(value)
    if value is None:
        return (0, "")
    if field.split(".")[-1] in NUMERIC and isinstance(value, int | float):
        return (1, float(value))
    if field.split(".")[-1] in DATETIMES:
        return (1, time_key(value))
    return (1, str(value).lower())
