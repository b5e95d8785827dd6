"""The accounts server: ``POST /oauth/v2/token`` (refresh grant) and the access-token registry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.zoho.sandbox.state import Credentials
from bot.zoho.sandbox.timefmt import utcnow

TOKEN_TTL = 3600
RATE_WINDOW = timedelta(minutes=10)


@dataclass
class TokenStore:
    """Issued access tokens and when each expires; Zoho keeps at most 10 live per refresh token."""

    live_limit: int = 10
    issued: dict[str, datetime] = field(default_factory=dict)
    request_times: list[datetime] = field(default_factory=list)

    def issue(self) -> str:
        token = "1000." + secrets.token_hex(16) + "." + secrets.token_hex(16)
        self.issued[token] = utcnow() + timedelta(seconds=TOKEN_TTL)
        while len(self.issued) > self.live_limit:  # oldest first (dicts keep insertion order)
            del self.issued[next(iter(self.issued))]
        return token

    def valid(self, token: str) -> bool:
        expiry = self.issued.get(token)
        return expiry is not None and expiry > utcnow()

    def expire_all(self) -> None:
        past = utcnow() - timedelta(seconds=1)
        for token in self.issued:
            self.issued[token] = past

    def note_request(self, limit: int | None) -> bool:
        """Record a token request; False when it is over `limit` requests in the last 10 minutes."""
        now = utcnow()
        self.request_times = [t for t in self.request_times if now - t < RATE_WINDOW]
        self.request_times.append(now)
        return limit is None or len(self.request_times) <= limit


def check_refresh(form: dict[str, str], creds: Credentials) -> dict[str, str] | None:
    """Zoho's error body for a bad refresh request (answered with HTTP 200), or None when it is good."""
    if form.get("grant_type") != "refresh_token":
        return {"error": "unsupported_grant_type"}
    if form.get("client_id") != creds.client_id or form.get("client_secret") != creds.client_secret:
        return {"error": "invalid_client"}
    if form.get("refresh_token") != creds.refresh_token:
        return {"error": "invalid_code"}
    return None


def token_answer(token: str, api_domain: str) -> dict[str, object]:
    return {"access_token": token, "api_domain": api_domain, "token_type": "Bearer", "expires_in": TOKEN_TTL}


TOO_MANY_TOKEN_REQUESTS = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}
