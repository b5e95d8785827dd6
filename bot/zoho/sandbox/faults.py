"""Fault injection: added latency, forced error statuses, expired tokens.

    sb.faults.latency = 0.2                       # every API call sleeps 0.2 s first (not the token endpoint)
    sb.faults.token_latency = 0.1                 # the token endpoint sleeps too
    sb.faults.force("books", 429, times=2, retry_after=3)
    sb.faults.force("crm", 500, path_contains="/Deals")
    sb.faults.force("oauth", 500)                 # the token endpoint fails once
    sb.faults.expire_tokens()                     # every issued token now answers 401 until refreshed
    sb.faults.token_rate_limit = 10               # opt-in: Zoho's 10 token requests per 10 minutes
    sb.faults.clear()

The error bodies for a forced status are each app's own (see ``errors.py``). Books and Desk send
``Retry-After`` on a forced 429 (``retry_after`` or 1 second); CRM never does, as Zoho documents none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.zoho.sandbox.oauth import TokenStore

APPS = ("crm", "books", "desk", "oauth")


@dataclass
class ForcedFault:
    app: str
    status: int
    times: int = 1
    retry_after: float | None = None
    path_contains: str | None = None
    method: str | None = None
    # After the call was handled: the write happened in Zoho, but the caller sees the failure (a lost answer).
    after: bool = False

    def matches(self, app: str, path: str, method: str = "", after: bool = False) -> bool:
        return (
            self.app == app
            and self.times > 0
            and self.after == after
            and (not self.path_contains or self.path_contains in path)
            and (not self.method or not method or self.method == method)
        )


@dataclass
class Faults:
    tokens: TokenStore
    latency: float = 0.0
    token_latency: float = 0.0
    token_rate_limit: int | None = None
    forced: list[ForcedFault] = field(default_factory=list)

    def force(
        self,
        app: str,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        path_contains: str | None = None,
        method: str | None = None,
        after: bool = False,
    ) -> ForcedFault:
        if app not in APPS:
            raise ValueError(f"app must be one of {APPS}, not {app!r}")
        fault = ForcedFault(app, status, times, retry_after, path_contains, method, after)
        self.forced.append(fault)
        return fault

    def take(self, app: str, path: str, method: str = "", after: bool = False) -> ForcedFault | None:
        """The first armed fault for this call, used up by one; None when the call should go through."""
        for fault in self.forced:
            if fault.matches(app, path, method, after):
                fault.times -= 1
                if fault.times <= 0:
                    self.forced.remove(fault)
                return fault
        return None

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def clear(self) -> None:
        self.latency = 0.0
        self.token_latency = 0.0
        self.token_rate_limit = None
        self.forced.clear()
