"""Zoho OAuth: one process-wide access-token cache and the `httpx.Auth` that uses it.

Zoho allows 10 access-token requests per 10 minutes per refresh token and 10 live access tokens, so CRM,
Books and Desk share ONE `TokenCache`; it refreshes only when the token is missing, near expiry, or after a
401. Concurrent callers share ONE in-flight refresh (and its outcome, good or bad). When the accounts server
throttles us, no token request is made until a back-off has passed: every caller in between gets
`ZohoRateLimited` at once. Throttling is recognised by HTTP status and Zoho's `error` code, never by the English
`error_description` (the China data centre answers in Chinese). Tokens and secrets never appear in logs, reprs
or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from bot.errors import TokenEndpointUnavailable, ZohoAuthError, ZohoRateLimited

log = logging.getLogger(__name__)

REFRESH_MARGIN = 300.0  # refresh this many seconds before Zoho's expiry
DEFAULT_EXPIRES_IN = 3600.0

# 401 codes that a new access token cannot fix: never refresh for these. Scope errors: CRM OAUTH_SCOPE_MISMATCH,
# Desk SCOPE_MISMATCH, Books 57 ("You are not authorized to perform this operation"). Books 6041: the
# organization_id is not one of this user's organisations; Desk OAUTH_ORG_MISMATCH: the orgId is not.
SCOPE_ERRORS = frozenset({"OAUTH_SCOPE_MISMATCH", "SCOPE_MISMATCH", "57"})
NOT_A_TOKEN_PROBLEM = SCOPE_ERRORS | {"OAUTH_ORG_MISMATCH", "NO_PERMISSION", "6041"}

# The token endpoint's throttling answer is HTTP 400 `{"error": "Access Denied", "error_description": <localised
# text>, "status": "failure"}`; 429 is treated the same. Errors about the credentials themselves (these codes) are
# not throttling even when `status: failure` comes with them.
THROTTLE_ERRORS = frozenset({"Access Denied", "access_denied"})
CREDENTIAL_ERRORS = frozenset(
    {
        "invalid_client",
        "invalid_code",
        "invalid_grant",
        "invalid_client_secret",
        "unsupported_grant_type",
        "invalid_redirect_uri",
        "invalid_request",
        "unauthorized_client",
    }
)
# Zoho allows 10 token requests per 10 minutes: back off 1, 2, 4, 8 then 10 minutes.
THROTTLE_BACKOFF = 60.0
THROTTLE_BACKOFF_MAX = 600.0


_NO_AUTH = httpx.Auth()  # the token request must not carry (or wait for) a token


class TokenCache:
    """The access token, its expiry and the `api_domain` from Zoho's answer, shared by every client.

    `token()` returns a valid token (refreshing under the lock when needed); `refresh(stale)` forces a refresh
    unless another caller already replaced `stale`. `token_requests` counts calls to the token endpoint.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        margin: float = REFRESH_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        self._margin = margin
        self._clock = clock
        self._inflight: asyncio.Future[str] | None = None
        self._blocked_until = 0.0
        self._throttles = 0
        self._access_token: str | None = None
        self._refresh_at = 0.0
        self.expires_at = 0.0
        self.api_domain: str | None = None
        self.token_requests = 0

    def __repr__(self) -> str:  # never show the token or the credentials
        state = "valid" if self.is_fresh() else "empty" if self._access_token is None else "stale"
        return f"TokenCache({self._token_url!r}, token={state}, api_domain={self.api_domain!r})"

    def is_fresh(self) -> bool:
        return self._access_token is not None and self._clock() < self._refresh_at

    def invalidate(self) -> None:
        """Forget the token (the next call refreshes)."""
        self._access_token = None
        self._refresh_at = self.expires_at = 0.0

    def blocked_for(self) -> float:
        """Seconds left in the back-off after the accounts server throttled us (0 when token calls may go)."""
        return max(0.0, self._blocked_until - self._clock())

    async def token(self) -> str:
        """A token that is valid for at least the refresh margin; refreshes at most once for all callers."""
        if self.is_fresh():
            assert self._access_token is not None
            return self._access_token
        return await self._shared_refresh()

    async def refresh(self, stale: str) -> str:
        """Replace `stale` (a token Zoho just refused) unless a concurrent caller already did."""
        if self._access_token is not None and self._access_token != stale and self.is_fresh():
            return self._access_token
        return await self._shared_refresh()

    async def _shared_refresh(self) -> str:
        """Join the refresh in flight, or start one. Everyone waiting gets the same token or the same error."""
        if self._inflight is None:
            left = self.blocked_for()
            if left > 0:
                raise _throttled(left, status=None, code="backoff")
            self._inflight = asyncio.ensure_future(self._request_token())
            self._inflight.add_done_callback(self._clear_inflight)
        return await asyncio.shield(self._inflight)

    def _clear_inflight(self, future: asyncio.Future[str]) -> None:
        if self._inflight is future:
            self._inflight = None
        if not future.cancelled():
            future.exception()  # retrieved: a failure nobody awaited any more is not "never retrieved"

    async def _request_token(self) -> str:
        self.token_requests += 1
        log.info("refreshing Zoho access token at %s", self._token_url)
        try:
            response = await self._http.post(self._token_url, data=self._form, auth=_NO_AUTH)
        except httpx.HTTPError as exc:
            raise TokenEndpointUnavailable(
                f"could not reach the Zoho accounts server {self._token_url} ({type(exc).__name__}); "
                "check ZOHO_DC and the network",
            ) from exc
        body = _json(response)
        if response.status_code >= 500 or body is None:
            raise TokenEndpointUnavailable(
                f"the Zoho accounts server answered HTTP {response.status_code} to a token refresh",
                status=response.status_code,
            )
        return self._store(response.status_code, body)

    def _store(self, status: int, body: dict[str, Any]) -> str:
        error = body.get("error")
        token = body.get("access_token")
        if is_throttled(status, body):
            self._throttles += 1
            backoff = min(THROTTLE_BACKOFF * 2 ** (self._throttles - 1), THROTTLE_BACKOFF_MAX)
            self._blocked_until = self._clock() + backoff
            log.warning("the Zoho accounts server is throttling token requests; none sent for %.0f s", backoff)
            raise _throttled(backoff, status=status, code=str(error or status))
        if error or not token:
            raise _refresh_error(status, str(error or "no access_token"))
        self._throttles = 0
        expires_in = _seconds(body.get("expires_in"), DEFAULT_EXPIRES_IN)
        now = self._clock()
        self._access_token = str(token)
        self.expires_at = now + expires_in
        self._refresh_at = self.expires_at - min(self._margin, expires_in / 2)
        api_domain = body.get("api_domain")
        if api_domain:
            self.api_domain = str(api_domain).rstrip("/")
        return self._access_token


def is_throttled(status: int, body: dict[str, Any]) -> bool:
    """The accounts server's "too many token requests" answer, by status and error code (never by its text)."""
    if status == 429:
        return True
    error = str(body.get("error") or "")
    if error in THROTTLE_ERRORS:
        return True
    return str(body.get("status") or "").lower() == "failure" and bool(error) and error not in CREDENTIAL_ERRORS


def _throttled(retry_after: float, *, status: int | None, code: str) -> ZohoRateLimited:
    return ZohoRateLimited(
        "Zoho is refusing new access tokens for a while (more than 10 token requests in 10 minutes for this "
        f"refresh token); Throughline waits {retry_after:.0f} s before asking again. Make sure only one process "
        "uses this refresh token",
        retry_after=retry_after,
        status=status,
        code=code,
    )


def _refresh_error(status: int, error: str) -> Exception:
    return ZohoAuthError(
        f"Zoho refused the refresh token ({error}): create a new self-client refresh token in the Zoho API "
        "console for the same data centre as ZOHO_DC, and check the client id and secret",
        status=status,
        code=error,
    )


def _seconds(value: Any, default: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if seconds > 0 else default


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def error_code(response: httpx.Response) -> str:
    """Zoho's error code from any app's body (`code` for CRM/Books, `errorCode` for Desk), or ""."""
    body = _json(response) or {}
    code = body.get("errorCode", body.get("code"))
    return "" if code is None else str(code)


class ZohoAuth(httpx.Auth):
    """Adds `Authorization: Zoho-oauthtoken …`; after a token-style 401 refreshes ONCE and retries ONCE.

    A second 401 is handed back to the caller (the transport turns it into `ZohoAuthError`). `on_send` is
    called for every API request actually sent (retries included): the call counter hooks in here.
    """

    def __init__(self, cache: TokenCache, *, on_send: Callable[[httpx.Request], None] | None = None) -> None:
        self.cache = cache
        self._on_send = on_send

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("ZohoAuth needs an httpx.AsyncClient")
        yield request  # pragma: no cover

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.cache.token()
        response = yield self._authorize(request, token)
        if response.status_code != 401:
            return
        await response.aread()  # overriding async_auth_flow means reading the body ourselves
        if error_code(response) in NOT_A_TOKEN_PROBLEM:
            return
        log.info("Zoho answered 401 (%s) on %s; refreshing the token once", error_code(response), request.url.path)
        token = await self.cache.refresh(stale=token)
        yield self._authorize(request, token)

    def _authorize(self, request: httpx.Request, token: str) -> httpx.Request:
        request.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        if self._on_send is not None:
            self._on_send(request)
        return request
