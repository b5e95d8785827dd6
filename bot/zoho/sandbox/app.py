"""`Sandbox`: the in-memory fake Zoho and its one ASGI app.

    sb = Sandbox.seeded(accounts=25, seed=7)
    app = sb.asgi_app()      # POST /oauth/v2/token, /crm/v{N}/..., /books/v3/..., /api/v1/...

Every API call is recorded in ``sb.calls`` as (app, method, path), then delayed by ``sb.faults.latency``,
then answered by a forced fault if one is armed, then checked for ``Authorization: Zoho-oauthtoken <token>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.zoho.sandbox import books, crm, desk
from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.errors import books_error, crm_error, desk_error, forced_error
from bot.zoho.sandbox.faults import Faults, ForcedFault
from bot.zoho.sandbox.oauth import TOO_MANY_TOKEN_REQUESTS, TokenStore, check_refresh, token_answer
from bot.zoho.sandbox.state import Credentials, SandboxState

Handler = Callable[[Ctx], Awaitable[Response]]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class Sandbox:
    def __init__(self, state: SandboxState, credentials: Credentials | None = None) -> None:
        self.state = state
        self.credentials = credentials or Credentials()
        self.tokens = TokenStore()
        self.faults = Faults(self.tokens)
        self.calls: list[tuple[str, str, str]] = []
        self.token_requests = 0

    @classmethod
    def seeded(cls, accounts: int = 25, seed: int = 7, today: date | None = None) -> Sandbox:
        from bot.zoho.sandbox.seed import build_state

        return cls(build_state(accounts=accounts, seed=seed, today=today or date.today()))

    # ---- ASGI --------------------------------------------------------------------------------------------
    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/v2/token", self._token, methods=["POST"]),
                Route("/crm/{version}/{rest:path}", self._entry("crm", crm.dispatch), methods=METHODS),
                Route("/books/v3/{rest:path}", self._entry("books", books.dispatch), methods=METHODS),
                Route("/api/v1/{rest:path}", self._entry("desk", desk.dispatch), methods=METHODS),
            ]
        )

    async def _token(self, request: Request) -> Response:
        self.token_requests += 1
        if self.faults.token_latency:
            await asyncio.sleep(self.faults.token_latency)
        fault = self.faults.take("oauth", request.url.path)
        if fault is not None:
            return forced_error("oauth", fault.status)
        if not self.tokens.note_request(self.faults.token_rate_limit):
            return JSONResponse(TOO_MANY_TOKEN_REQUESTS, status_code=400)
        form = dict(await request.form())
        fields = {k: str(v) for k, v in form.items()}
        fields.update({k: v for k, v in request.query_params.items() if k not in fields})  # Zoho takes either
        problem = check_refresh(fields, self.credentials)
        if problem is not None:
            return JSONResponse(problem)  # Zoho answers HTTP 200 with an error body
        return JSONResponse(token_answer(self.tokens.issue(), _base_url(request)))

    def _entry(self, app: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def entry(request: Request) -> Response:
            path = request.url.path
            self.calls.append((app, request.method, path))
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            fault = self.faults.take(app, path, request.method)
            if fault is not None:
                return _fault_response(app, fault)
            denied = self._check_token(app, request)
            if denied is not None:
                return denied
            if app == "crm" and request.path_params.get("version") not in _CRM_VERSIONS:
                return crm_error(404)
            rest = request.path_params.get("rest", "")
            parts = [p for p in rest.split("/") if p]
            ctx = Ctx(self.state, self.credentials, request, _base_url(request), parts)
            response = await handler(ctx)
            lost = self.faults.take(app, path, request.method, after=True)
            return _fault_response(app, lost) if lost is not None else response

        return entry

    def _check_token(self, app: str, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            if app == "crm":
                return crm_error(401, "AUTHENTICATION_FAILURE", "Authentication failed")
            if app == "desk":
                return desk_error(401, "UNAUTHORIZED", "You are not authenticated to perform this operation.")
            return books_error(401, 57)
        if scheme != "Zoho-oauthtoken" or not self.tokens.valid(token.strip()):
            if app == "books":  # GUESSED: Books' code for a refused access token (57 is the scope error)
                return books_error(401, 14, "Invalid value passed for authtoken.")
            return forced_error(app, 401)
        return None


_CRM_VERSIONS = {"v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"}


def _fault_response(app: str, fault: ForcedFault) -> Response:
    """The app's own error body; Retry-After as Zoho sends it (Books/Desk on 429, never CRM)."""
    response = forced_error(app, fault.status)
    seconds = fault.retry_after
    if seconds is None and fault.status == 429 and app in ("books", "desk"):
        seconds = 1
    if seconds is not None and app != "crm":
        response.headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    return response


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")
