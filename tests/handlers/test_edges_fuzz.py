"""Property: no input gets a 5xx on any route, and no failure logs a traceback or a body (issue 11).

Hypothesis draws requests — any route, method, body (bytes, text, JSON, forms, Slack-shaped payloads, deep
nesting, over-size), content type, Slack timestamp, signature (valid or not) and webhook secret — and sends each to
the real FastAPI + Bolt app over ASGI. Fixed seed and a bounded budget (300 inputs; THROUGHLINE_FUZZ_EXAMPLES
raises it for a one-off run), so `make test` is repeatable; the figures (inputs tried, answers by status) are printed
with `pytest -s`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.app import create_app
from bot.deps import build_deps
from bot.slack_requests import signed_headers
from tests.conftest import FAST_RETRY
from tests.feed_helpers import SECRET

BUDGET = int(os.environ.get("THROUGHLINE_FUZZ_EXAMPLES", "300"))  # raise it for a longer one-off run
ROUTES = ("/slack/events", "/zoho/crm", "/zoho/books", "/zoho/desk", "/healthz")
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
header_text = st.text(alphabet=ASCII, max_size=30)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
ids = st.sampled_from(
    [
        "handoff_create",
        "handoff_edit",
        "handoff_reject",
        "handoff_retry",
        "account_share",
        "audit_apply",
        "x",
        "",
        "123",
        "4876876000000350001",
    ]
)
slack_payload = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "block_actions",
                "view_submission",
                "view_closed",
                "event_callback",
                "url_verification",
                "shortcut",
                "message_action",
                "interactive_message",
                "app_rate_limited",
                "nonsense",
            ]
        )
    },
    optional={
        "user": st.none() | st.fixed_dictionaries({"id": st.sampled_from(["U0DEMOUSER", "", "U1"])}) | json_values,
        "actions": st.lists(
            st.dictionaries(st.sampled_from(["action_id", "value", "block_id", "type"]), ids, max_size=4), max_size=2
        )
        | json_values,
        "view": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["modal", "home", ""]) | json_values,
                "callback_id": ids | json_values,
                "private_metadata": ids,
                "state": json_values,
            },
        )
        | json_values,
        "event": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["app_home_opened", "link_shared", "message"]) | json_values,
                "user": st.text(max_size=12),
                "links": json_values,
            },
        )
        | json_values,
        "event_id": st.text(max_size=12),
        "trigger_id": st.text(max_size=12),
        "challenge": st.text(max_size=12),
        "response_url": st.sampled_from(["", "http://127.0.0.1:9/r", "not a url"]),
        "team": json_values,
        "channel": json_values,
        "container": json_values,
        "message": json_values,
    },
)
forms = st.dictionaries(
    st.sampled_from(
        [
            "command",
            "text",
            "user_id",
            "response_url",
            "trigger_id",
            "payload",
            "token",
            "secret",
            "ids",
            "module",
            "JSONString",
            "deal_id",
        ]
    ),
    st.text(max_size=30),
    max_size=5,
).map(urlencode)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    slack_payload.map(lambda p: json.dumps(p).encode()),
    slack_payload.map(lambda p: ("payload=" + quote(json.dumps(p))).encode()),
    forms.map(str.encode),
    st.integers(1, 3000).map(lambda n: ("[" * n + "]" * n).encode()),
    st.integers(1, 3000).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
    st.sampled_from(
        [
            b"payload=",
            b"payload=%ZZ",
            b"payload=null",
            b"payload=1",
            b"{",
            b"[]",
            b"1",
            b"null",
            b'{"ids": [], "module": "Leads", "token": "t"}',
            b"\xff\xfe",
            b"",
        ]
    ),
    st.just(b"x" * 1_000_001),
)
requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["POST"] * 12 + ["GET", "PUT", "DELETE"]),
        "route": st.sampled_from((ROUTES[0],) * 4 + ROUTES),
        "body": bodies,
        "ctype": st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
                "",
                "multipart/form-data; boundary=x",
                "application/json; charset=latin-1",
            ]
        )
        | header_text,
        "secret": st.sampled_from(["none", "query", "header", "wrong"]),
        "signed": st.booleans(),
        "timestamp": st.none() | header_text | st.integers(-(10**12), 10**13).map(str),
        "headers": st.dictionaries(
            st.sampled_from(
                ["X-Slack-Retry-Num", "Content-Encoding", "X-Forwarded-For", "Accept", "X-Slack-Signature"]
            ),
            header_text,
            max_size=2,
        ),
        "query": st.dictionaries(st.text(alphabet=ASCII, max_size=8), st.text(max_size=20), max_size=2),
    }
)


def _send(client: httpx.AsyncClient, signing_secret: str, req: dict[str, Any]) -> Any:
    body: bytes = req["body"]
    headers: dict[str, str] = dict(req["headers"])
    if req["ctype"]:
        headers["Content-Type"] = req["ctype"]
    params = dict(req["query"])
    if req["secret"] == "query":
        params["secret"] = SECRET
    elif req["secret"] == "header":
        headers["X-Throughline-Secret"] = SECRET
    elif req["secret"] == "wrong":
        params["secret"] = "guess"
    if req["signed"]:
        text = body.decode("utf-8", "replace")
        signed = signed_headers(text, signing_secret, content_type=headers.get("Content-Type", ""))
        body = text.encode()
        headers |= {k: v for k, v in signed.items() if k != "Content-Type"}
    if req["timestamp"] is not None and not req["signed"]:
        headers["X-Slack-Request-Timestamp"] = req["timestamp"]
    return client.request(req["method"], req["route"], content=body, headers=headers, params=params)


def test_no_input_gets_a_5xx(settings, structure, sandbox, clock, signing_secret, slack, caplog):
    caplog.set_level(logging.INFO)
    loop = asyncio.new_event_loop()
    zoho_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()), timeout=5)
    deps = build_deps(settings, structure, http=zoho_http, clock=clock, retry=FAST_RETRY)
    app = create_app(deps)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://throughline")
    answers: Counter[int] = Counter()
    five_hundreds: list[dict[str, Any]] = []

    @seed(20261129)
    @hsettings(
        max_examples=BUDGET, deadline=None, database=None, derandomize=False, suppress_health_check=list(HealthCheck)
    )
    @given(req=requests)
    def one(req: dict[str, Any]) -> None:
        reply = loop.run_until_complete(_send(client, signing_secret, req))
        answers[reply.status_code] += 1
        if reply.status_code >= 500:
            five_hundreds.append({k: v for k, v in req.items() if k != "body"} | {"body": req["body"][:200]})
        assert reply.status_code < 500, reply.text

    try:
        one()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:  # gather() with nothing to gather asks for the current loop, which this thread may not have
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(deps.aclose())
        loop.close()
    tried = sum(answers.values())
    print(
        f"\nfuzz: {tried} inputs tried, {len(five_hundreds)} answered 5xx; answers by status: "
        f"{dict(sorted(answers.items()))}"
    )
    assert tried >= BUDGET // 2 and not five_hundreds
    assert len(answers) >= 4  # the budget reached past the first door: 200s, 400s, 401s, 413s …
    tracebacks = [r for r in caplog.records if r.exc_info or r.exc_text or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[0].getMessage()
    assert all("\n" not in r.getMessage() for r in caplog.records if r.name != "httpx")
