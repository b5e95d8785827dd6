"""A scripted stand-in for Zoho's HTTP answers over `httpx.MockTransport`, for edge cases the sandbox
cannot produce on demand (timeouts mid-request, odd bodies). It fakes Zoho, never our own code."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import httpx

from bot.zoho.clients import ZohoClients, build_clients
from bot.zoho.endpoints import endpoints_for
from bot.zoho.transport import RetryPolicy, ZohoLimits

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]

ACCOUNTS = "https://accounts.zoho.eu"
API_DOMAIN = "https://www.zohoapis.eu"


class FakeZoho:
    """Queue answers per path; anything unscripted answers `default(path)` (204 unless set)."""

    def __init__(self, *, api_domain: str = API_DOMAIN) -> None:
        self.api_domain = api_domain
        self.token_requests: list[httpx.Request] = []
        self.token_answers: deque[httpx.Response] = deque()
        self.requests: list[httpx.Request] = []
        self.auth_headers: list[str] = []  # as sent (a retried request object is re-used and re-stamped)
        self.scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {}
        self.issued = 0

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path].extend(answers)

    def route(self, path: str, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.routes[path] = handler

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            self.token_requests.append(request)
            if self.token_answers:
                return self.token_answers.popleft()
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"1000.token{self.issued}",
                    "expires_in": 3600,
                    "api_domain": self.api_domain,
                    "token_type": "Bearer",
                },
            )
        self.requests.append(request)
        self.auth_headers.append(request.headers.get("Authorization", ""))
        path = request.url.path
        if self.scripts[path]:
            answer = self.scripts[path].popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        if path in self.routes:
            return self.routes[path](request)
        return httpx.Response(204)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def tiny_retry(attempts: int = 4, **kw: Any) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, initial_wait=0.001, max_wait=0.005, jitter=0.001, **kw)


def fake_clients(
    fake: FakeZoho,
    *,
    retry: RetryPolicy | None = None,
    limits: ZohoLimits | None = None,
    dc: str = "eu",
    **overrides: str,
) -> ZohoClients:
    return build_clients(
        http=fake.client(),
        endpoints=endpoints_for(dc, **overrides),
        client_id="cid",
        client_secret="csecret",
        refresh_token="1000.refresh",
        books_org_id="777",
        desk_org_id="888",
        limits=limits or ZohoLimits(),
        retry=retry or tiny_retry(),
        owns_http=True,
    )


def crm_error(status: int, code: str, message: str, **details: Any) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "details": details, "message": message, "status": "error"})
