"""Assembling one user's App Home from the mirror (blocking SQLite work: run it in a thread)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.config import OperatingStructure
from bot.reports.compute import config_from
from bot.reports.data import account_names, deals_by_id, handoffs_for, home_accounts
from bot.reports.home import HomeInput, home_view
from bot.store import Store
from bot.zoho.links import AppLinks


class HomeDeps(Protocol):
    """What the Home tab reads (the composition root's `Deps` has it)."""

    @property
    def structure(self) -> OperatingStructure: ...
    @property
    def store(self) -> Store: ...
    @property
    def links(self) -> AppLinks: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


RECENT = 10


def build_home(deps: HomeDeps, email: str, approver: bool) -> dict[str, Any]:
    """The Home view for the Slack user with this email: their accounts with health, the handoffs waiting for
    them if they approve, and recent handoffs."""
    now = deps.clock()
    tz = deps.structure.tz
    rows = home_accounts(deps.store, email, now.astimezone(tz).date(), config_from(deps.structure))
    waiting, recent = handoffs_for(deps.store, email, approver, RECENT)
    mentioned = [*(waiting or []), *recent]
    return home_view(
        HomeInput(
            email=email,
            accounts=rows,
            approvals=waiting,
            recent=recent,
            deals=deals_by_id(deps.store, [h.deal_id for h in mentioned]),
            now=now,
            tz=tz,
            links=deps.links,
            account_names=account_names(deps.store, [h.account_id for h in mentioned]),
        )
    )
