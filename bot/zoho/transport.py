"""The one road every Zoho API call takes: limits, auth, retries, error mapping, call counting.

- Retries (tenacity): 429 always (Zoho did not do the work), connection failures always, 5xx and timeouts only
  for idempotent calls (GET/PUT/DELETE, or `idempotent=True` such as COQL), so a slow `POST /invoices` is never
  sent twice. `Retry-After` is honoured (capped); otherwise exponential backoff with jitter.
- Client-side limits: a sliding window (Books: at most 100 requests in any 60 s per org) and a semaphore on calls in
  flight (CRM 5, Books 5, Desk 5), all in `ZohoLimits`.
- Errors: each app's error body is read, and its codes mapped to `bot.errors`, by that app's table in
  `bot/zoho/error_tables.py`; `map_error` here applies the table (status first) and words the message.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bot.errors import (
    TokenEndpointUnavailable,
    ZohoAuthError,
    ZohoError,
    ZohoNotFound,
    ZohoRateLimited,
    ZohoRequestError,
    ZohoUnavailable,
)
from bot.zoho.auth import SCOPE_ERRORS, TokenCache, ZohoAuth
from bot.zoho.error_tables import table_for
from bot.zoho.rate_window import SlidingWindowLimiter

log = logging.getLogger(__name__)

APPS = ("crm", "books", "desk")
SCOPES = {
    "crm": "ZohoCRM.modules.ALL, ZohoCRM.coql.READ, ZohoSearch.securesearch.READ, ZohoCRM.notifications.ALL",
    "books": "ZohoBooks.contacts.ALL, ZohoBooks.invoices.ALL, ZohoBooks.estimates.ALL, ZohoBooks.customerpayments.READ",
    "desk": "Desk.tickets.READ, Desk.contacts.ALL, Desk.basic.READ, Desk.search.READ",
}
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# The scope each call needs, by the first matching path fragment (the scope names of SCOPES above); the last
# entry of each app is its default. A scope error names the one to add rather than the whole list.
_SCOPE_BY_PATH: dict[str, tuple[tuple[str, str], ...]] = {
    "crm": (
        ("/coql", "ZohoCRM.coql.READ"),
        ("/search", "ZohoSearch.securesearch.READ"),
        ("/actions/watch", "ZohoCRM.notifications.ALL"),
        ("/settings/fields", "ZohoCRM.settings.fields.READ"),
        ("/users", "ZohoCRM.users.READ"),
        ("", "ZohoCRM.modules.ALL"),
    ),
    "books": (
        ("/customerpayments", "ZohoBooks.customerpayments.READ"),
        ("/estimates", "ZohoBooks.estimates.ALL"),
        ("/invoices", "ZohoBooks.invoices.ALL"),
        ("/organizations", "ZohoBooks.settings.READ"),
        ("/items", "ZohoBooks.settings.READ"),
        ("", "ZohoBooks.contacts.ALL"),
    ),
    "desk": (
        ("/search", "Desk.search.READ"),
        ("/tickets", "Desk.tickets.READ"),
        ("/accounts", "Desk.contacts.ALL"),
        ("/contacts", "Desk.contacts.ALL"),
        ("", "Desk.basic.READ"),
    ),
}


def scope_for(app: str, path: str) -> str:
    """The OAuth scope a call to `path` needs (see `_SCOPE_BY_PATH`)."""
    return next(scope for fragment, scope in _SCOPE_BY_PATH.get(app, (("", ""),)) if fragment in path)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry. Tests pass tiny waits (and may swap `sleep` to record the waits)."""

    attempts: int = 4
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)


@dataclass(frozen=True)
class ZohoLimits:
    """Client-side limits, kept below Zoho's own (CRM: 5+ concurrent per org; Books: 100/min per org)."""

    crm_concurrency: int = 5
    books_concurrency: int = 5
    desk_concurrency: int = 5
    books_rate: float = 100
    books_period: float = 60.0
    desk_rate: float | None = None
    desk_period: float = 60.0


class CallCounter:
    """API requests actually sent, per app (retries and the 401 re-send included; token requests are not)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def record(self, app: str) -> None:
        self._counts[app] += 1

    def snapshot(self) -> dict[str, int]:
        return {app: self._counts[app] for app in APPS}

    @property
    def total(self) -> int:
        return sum(self._counts.values())

    def reset(self) -> None:
        self._counts.clear()


# --- error mapping ----------------------------------------------------------------------------------------


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def error_fields(app: str, body: Any) -> tuple[str | int | None, str, dict[str, Any]]:
    """(code, message, details) from an app's error body, as its table reads it."""
    return table_for(app).fields(body)


def _api_name(details: Mapping[str, Any]) -> str:
    name = details.get("api_name") or details.get("param_name") or ""
    if not name and isinstance(details.get("errors"), list) and details["errors"]:
        first = details["errors"][0]
        name = first.get("fieldName", "") if isinstance(first, Mapping) else ""
    return str(name)


def _auth_message(app: str, code: str, message: str, path: str = "") -> str:
    if code in SCOPE_ERRORS:
        return (
            f"the refresh token lacks the OAuth scope {scope_for(app, path)} that this call needs ({code}): create a "
            f"new self-client refresh token with that scope added (Throughline needs {SCOPES[app]})"
        )
    if code == "OAUTH_ORG_MISMATCH":
        return f"the Desk orgId is not an organisation of this Zoho user ({code}): check the Desk org id setting"
    if code == "6041":
        return (
            f"the Books organization_id is not an organisation of this Zoho user ({code}): check the Books "
            "organization id setting"
        )
    if code == "NO_PERMISSION":
        return (
            f"the Zoho user behind the refresh token may not do this ({code}: {message}); give that user the "
            "permission in Zoho, or create the refresh token as a user who has it"
        )
    return (
        f"Zoho refused the access token even after a refresh ({code or 'HTTP 401'}: {message}); check that the "
        "refresh token was created for this data centre (ZOHO_DC) and organisation, or create a new one"
    )


def _request_message(code: str, message: str, details: Mapping[str, Any]) -> str:
    field_name = _api_name(details)
    if code == "MANDATORY_NOT_FOUND":
        return f"a required field is missing: {field_name or message} ({code})"
    if code == "DUPLICATE_DATA":
        return f"a record with the same {field_name or 'unique value'} already exists ({code}): {message}"
    if field_name:
        return f"Zoho rejected the value of {field_name} ({code}): {message}"
    return f"Zoho rejected the request ({code or 'HTTP 4xx'}): {message or 'no details given'}"


def map_error(app: str, response: httpx.Response, *, attempts: int = 1) -> ZohoError:
    """Turn any Zoho error answer into the error tree. The one place that reads error bodies."""
    status = response.status_code
    raw_code, message, details = error_fields(app, _body(response))
    code = "" if raw_code is None else str(raw_code)
    kw: dict[str, Any] = {"app": app, "status": status, "code": raw_code, "details": details}
    table = table_for(app)
    by_code = table.code_class(code)
    if status == 429 or by_code is ZohoRateLimited:
        retry_after = retry_after_seconds(response)
        return ZohoRateLimited(
            f"Zoho is rate-limiting us (HTTP 429 after {_attempts(attempts)}); try again "
            + (f"in {retry_after:.0f} s" if retry_after else "in a minute"),
            retry_after=retry_after,
            **kw,
        )
    if status >= 500:
        return ZohoUnavailable(
            f"Zoho is not answering properly (HTTP {status}{f', code {code}' if code else ''}, after "
            f"{_attempts(attempts)}): {message or 'server error'}; try again shortly",
            **kw,
        )
    if by_code is ZohoAuthError or status in (401, 403):
        return ZohoAuthError(_auth_message(app, code, message, _request_path(response)), **kw)
    if by_code is ZohoNotFound or status == 404 or table.not_found(code, message, details):
        return ZohoNotFound(f"not found ({code or status}): {message or 'no such record'}", **kw)
    return ZohoRequestError(_request_message(code, message, details), **kw)


def _request_path(response: httpx.Response) -> str:
    try:
        return response.request.url.path
    except RuntimeError:  # a response built without a request (tests)
        return ""


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date), or None."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- the transport ----------------------------------------------------------------------------------------


class _Retry(Exception):
    """A failure worth retrying; carries the error to raise when attempts run out."""

    def __init__(self, error: ZohoError, *, safe: bool, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.safe = safe  # Zoho certainly did not act on the request
        self.retry_after = retry_after


class ZohoTransport:
    """Sends one app's requests. `base_url()` is read per call (the token answer's api_domain may change it)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app: str,
        base_url: Callable[[], str],
        auth: ZohoAuth,
        retry: RetryPolicy = RetryPolicy(),
        limiter: SlidingWindowLimiter | None = None,
        concurrency: asyncio.Semaphore | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.app = app
        self._base_url = base_url
        self.auth = auth
        self.retry = retry
        self.limiter = limiter
        self.concurrency = concurrency
        self._params = dict(params or {})
        self._headers = dict(headers or {})
        self._backoff = wait_exponential_jitter(initial=retry.initial_wait, max=retry.max_wait, jitter=retry.jitter)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send and return the parsed JSON body, or None for 204 / an empty body. Raises `ZohoError`s."""
        method = method.upper()
        retry_unsafe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.retry.attempts)),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retry) and (e.safe or retry_unsafe)),
            sleep=self.retry.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    return await self._send_once(method, path, params, json, headers, number)
        except _Retry as exc:
            cause = exc.__cause__
            raise exc.error from (exc.error.__cause__ if cause is exc.error else cause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
        attempt: int,
    ) -> Any:
        try:
            await self.auth.cache.token()  # learn api_domain before building the URL
        except TokenEndpointUnavailable as exc:
            raise _Retry(exc, safe=True) from exc
        url = f"{self._base_url()}{path}"
        query = {**self._params, **{k: v for k, v in (params or {}).items() if v is not None}}
        async with AsyncExitStack() as stack:
            if self.limiter is not None:
                await stack.enter_async_context(self.limiter)
            if self.concurrency is not None:
                await stack.enter_async_context(self.concurrency)
            try:
                response = await self.http.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    headers={**self._headers, **(headers or {})},
                    auth=self.auth,
                )
            except TokenEndpointUnavailable as exc:
                raise _Retry(exc, safe=True) from exc
            except httpx.TimeoutException as exc:
                safe = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                error = self._unavailable(f"did not answer in time ({type(exc).__name__})", attempt)
                raise _Retry(error, safe=safe) from exc
            except httpx.TransportError as exc:
                safe = isinstance(exc, httpx.ConnectError)
                error = self._unavailable(f"could not be reached ({type(exc).__name__})", attempt)
                raise _Retry(error, safe=safe) from exc
        return self._handle(response, attempt)

    def _handle(self, response: httpx.Response, attempt: int) -> Any:
        status = response.status_code
        if status == 429:
            error = map_error(self.app, response, attempts=attempt)
            raise _Retry(error, safe=True, retry_after=retry_after_seconds(response))
        if status >= 500:
            raise _Retry(map_error(self.app, response, attempts=attempt), safe=False)
        if status >= 400:
            raise map_error(self.app, response, attempts=attempt)
        body = _body(response)
        if table_for(self.app).error_in_ok_body(body):
            raise map_error(self.app, response, attempts=attempt)
        return body

    def _unavailable(self, what: str, attempt: int) -> ZohoUnavailable:
        return ZohoUnavailable(f"{what} after {_attempts(attempt)}; try again shortly", app=self.app)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry.max_retry_after)
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning("%s call failed (%s); retry %d", self.app, exc, state.attempt_number)


def build_transport(
    http: httpx.AsyncClient,
    *,
    app: str,
    base_url: Callable[[], str],
    auth_cache: TokenCache,
    counter: CallCounter | None,
    retry: RetryPolicy,
    limits: ZohoLimits,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ZohoTransport:
    """A transport for `app` with its limits from `limits` and counting into `counter`."""
    rate, period = {
        "books": (limits.books_rate, limits.books_period),
        "desk": (limits.desk_rate, limits.desk_period),
    }.get(app, (None, 60.0))
    concurrency = {"crm": limits.crm_concurrency, "books": limits.books_concurrency}.get(app, limits.desk_concurrency)

    def on_send(_request: httpx.Request) -> None:
        if counter is not None:
            counter.record(app)

    return ZohoTransport(
        http,
        app=app,
        base_url=base_url,
        auth=ZohoAuth(auth_cache, on_send=on_send),
        retry=retry,
        limiter=SlidingWindowLimiter(int(rate), period) if rate else None,
        concurrency=asyncio.Semaphore(concurrency) if concurrency > 0 else None,
        params=params,
        headers=headers,
    )
