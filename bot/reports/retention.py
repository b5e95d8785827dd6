"""Retention (pure): health over the whole mirror, renewals due, customers going quiet, accounts at risk.

- *Renewal due*: an account's last won deal (latest closing date) plus `renewal_term_days` falls in the window
  (`renewal_window_days` either side of today, or a period asked for) and the account has no open renewal deal:
  an open deal whose CRM type is in `renewal_deal_types` or whose name contains "renew" (any open deal when that
  list is empty).
- *Going quiet*: a customer (a won deal or a counting invoice) whose latest activity (deal created, changed or
  closed; invoice date; payment date; ticket created or changed) is at least `quiet_days` old.
- *At risk*: `bot.health.assess` says at_risk.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from operator import attrgetter
from typing import Any, Generic, TypeVar, overload

from bot.account.health import (
    AccountFigures,
    Health,
    HealthFigures,
    HealthRules,
    assess,
    figures,
    is_billed,
    is_closed_deal,
    is_won_deal,
)
from bot.models import Account, AccountSnapshot, Deal
from bot.reports.compute import MirrorData, ReportConfig, local_date
from bot.reports.periods import Period

# ---- account health over the whole mirror --------------------------------------------------------------------


@dataclass(slots=True)  # not frozen (as AccountHealth): reports list thousands
class AccountRef:
    """What account lists show of an account: read from typed columns, no record decoded."""

    id: str
    name: str
    owner_name: str = ""
    owner_email: str = ""  # as given

    @classmethod
    def of(cls, account: Account) -> AccountRef:
        return cls(account.id, account.name, account.owner.name, account.owner.email)


@dataclass(slots=True)
class AccountHealth:
    account: Account | AccountRef
    health: Health
    figures: AccountFigures | HealthFigures  # the card's figures, or the part of them SQL works out


def group_by_account(data: MirrorData) -> dict[str, AccountSnapshot]:
    """One in-memory snapshot per mirrored account (records without a CRM account are left out)."""
    snaps: dict[str, dict[str, list[Any]]] = {
        a: {"deals": [], "invoices": [], "payments": [], "tickets": []} for a in data.accounts
    }
    for kind, records in (
        ("deals", data.deals),
        ("invoices", data.invoices),
        ("payments", data.payments),
        ("tickets", data.tickets),
    ):
        for r in records:
            if r.account_id in snaps:
                snaps[r.account_id][kind].append(r)
    epoch = datetime(1970, 1, 1)
    return {
        a: AccountSnapshot.model_construct(
            account=data.accounts[a],
            contacts=[],
            books_customer=None,
            desk_account=None,
            read_at=epoch,
            stale=False,
            stale_reason="",
            deals=s["deals"],
            invoices=s["invoices"],
            payments=s["payments"],
            tickets=s["tickets"],
        )
        for a, s in snaps.items()
    }


def account_health(
    data: MirrorData, today: date, config: ReportConfig = ReportConfig(), only: Callable[[Account], bool] | None = None
) -> list[AccountHealth]:
    out = []
    for snap in group_by_account(data).values():
        if only is not None and not only(snap.account):
            continue
        figs = figures(snap, today, config.rules)
        out.append(AccountHealth(snap.account, assess(snap, today, config.rules, figs=figs), figs))
    return out


# ---- renewals, quiet accounts, accounts at risk --------------------------------------------------------------

Row = TypeVar("Row")
Item = TypeVar("Item")


class Later(Sequence[Item]):
    """A list whose items are made when first read, from `entries` already in the list's order (the renewals due
    keep the JSON of their last won deal, decoded for the ten a card shows, not for the hundreds due). Equal to any
    sequence of equal items in the same order."""

    __slots__ = ("_entries", "_make", "_made")

    def __init__(self, entries: Sequence[Any], make: Callable[[Any], Item]) -> None:
        self._entries = entries
        self._make = make
        self._made: dict[int, Item] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _item(self, index: int) -> Item:
        if (made := self._made.get(index)) is None:
            made = self._made[index] = self._make(self._entries[index])
        return made

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...

    def __getitem__(self, index: int | slice) -> Item | list[Item]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self._entries)))]
        return self._item(range(len(self._entries))[index])  # negative and out-of-range indexes as a list's

    def __iter__(self) -> Iterator[Item]:
        return map(self._item, range(len(self._entries)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # as the list it stands for

    def __repr__(self) -> str:
        return f"Later({list(self)!r})"


def _in_order(found: list[AccountHealth]) -> list[AccountHealth]:
    """Largest overdue amount first, then most escalations, then by name (case-folded) and id: one stable pass per
    key, last key first (thousands of accounts: cheaper than one tuple key per account, with a Decimal negated in
    each)."""
    found.sort(key=attrgetter("account.id"))
    found.sort(key=lambda h: h.account.name.casefold())
    found.sort(key=attrgetter("figures.escalated_tickets"), reverse=True)
    found.sort(key=attrgetter("figures.overdue_amount"), reverse=True)
    return found


class AtRisk(Sequence[AccountHealth], Generic[Row]):
    """The accounts at risk in the report's order (`_in_order`), counted at once but put in order and made only when
    read, as `compute.SupportReport`: at 10,000 accounts thousands are at risk and a card shows ten. Holds those
    `built` already (any order) and `pending` rows (SQL's, certainly at risk): `ranks` gives the rows' overdue amounts
    and escalations (the order's first keys; all at once: one call for thousands), `build` a row's `AccountHealth`.
    Reading the first `k` (`[:k]`) builds only the pending rows that may be among them (the `k` ranked highest and
    their ties); anything else builds them all.
    Equal to any sequence of the same accounts in the same order (a list, as the oracle's)."""

    __slots__ = ("_built", "_pending", "_ranks", "_build", "_all")

    def __init__(
        self,
        built: list[AccountHealth],
        pending: Sequence[Row] = (),
        ranks: Callable[[Sequence[Row]], list[tuple[Decimal, int]]] | None = None,
        build: Callable[[Row], AccountHealth] | None = None,
    ) -> None:
        self._built = built
        self._pending = pending
        self._ranks = ranks
        self._build = build
        self._all: list[AccountHealth] | None = None if pending else _in_order(built)

    def __len__(self) -> int:
        return len(self._built) + len(self._pending) if self._all is None else len(self._all)

    def _every(self) -> list[AccountHealth]:
        if self._all is None:
            assert self._build is not None
            self._all = _in_order(self._built + list(map(self._build, self._pending)))
            self._pending = ()
        return self._all

    def top(self, limit: int) -> list[AccountHealth]:
        """The first `limit` accounts."""
        if self._all is not None or limit <= 0:
            return self._every()[: max(limit, 0)]
        assert self._ranks is not None and self._build is not None
        ranks = self._ranks(self._pending)
        if limit < len(ranks):  # only rows ranked at least as high as the `limit`-th can be among the first
            least = heapq.nlargest(limit, ranks)[-1]
            shown = [row for row, rank in zip(self._pending, ranks, strict=True) if rank >= least]
        else:
            shown = list(self._pending)
        return _in_order(self._built + list(map(self._build, shown)))[:limit]

    @overload
    def __getitem__(self, index: int) -> AccountHealth: ...

    @overload
    def __getitem__(self, index: slice) -> list[AccountHealth]: ...

    def __getitem__(self, index: int | slice) -> AccountHealth | list[AccountHealth]:
        if isinstance(index, slice) and not index.start and index.step in (None, 1):
            if index.stop is not None and 0 <= index.stop < len(self):
                return self.top(index.stop)
        return self._every()[index]

    def __iter__(self) -> Iterator[AccountHealth]:
        return iter(self._every())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and self._every() == list(other)

    __hash__ = None  # type: ignore[assignment]  # as the list it stands for

    def __repr__(self) -> str:
        return f"AtRisk({self._every()!r})"


@dataclass(frozen=True)
class RenewalDue:
    account: AccountRef
    last_won: Deal
    due: date
    days: int  # due − today; negative when the date has passed


@dataclass(frozen=True)
class QuietAccount:
    account: AccountRef
    last_activity: date
    days: int


@dataclass(frozen=True)
class RenewalsReport:
    today: date
    window: Period
    due: list[RenewalDue] | Later[RenewalDue]  # by due date, then name (case-folded) and id
    quiet: list[QuietAccount]  # most recently gone quiet first
    at_risk: AtRisk[Any]  # largest overdue amount first (`HealthFigures`)
    quiet_days: int


def renewal_window(today: date, config: ReportConfig) -> Period:
    w = timedelta(days=config.renewal_window_days)
    return Period(today - w, today + w, f"due within {config.renewal_window_days} days either side of today")


def is_renewal_deal(deal: Deal, config: ReportConfig) -> bool:
    if is_closed_deal(deal, config.rules):
        return False
    if not config.renewal_deal_types:
        return True
    return deal.deal_type.strip().casefold() in config.renewal_deal_types or "renew" in deal.name.casefold()


def _last_activity(snap: AccountSnapshot, tz: tzinfo | None, rules: HealthRules) -> date | None:
    days: list[date | None] = []
    for d in snap.deals:
        days += [local_date(d.created_time, tz), local_date(d.modified_time, tz)]
        if is_closed_deal(d, rules):
            days.append(d.closing_date)
    days += [i.date for i in snap.invoices if is_billed(i, rules)]
    days += [p.date for p in snap.payments]
    for t in snap.tickets:
        days += [local_date(t.created_time, tz), local_date(t.modified_time, tz)]
    known = [d for d in days if d is not None]
    return max(known) if known else None


def renewals(
    data: MirrorData,
    today: date,
    tz: tzinfo | None,
    config: ReportConfig = ReportConfig(),
    window: Period | None = None,
) -> RenewalsReport:
    """Over records (the whole mirror, or every record of the accounts it may list): the oracle of the SQL path,
    bot/reports/data.py `renewals_report`."""
    window = window or renewal_window(today, config)
    term = timedelta(days=config.renewal_term_days)
    due: list[RenewalDue] = []
    quiet: list[QuietAccount] = []
    at_risk: list[AccountHealth] = []
    for snap in group_by_account(data).values():
        ref = AccountRef.of(snap.account)
        won = [(d.closing_date, d) for d in snap.deals if d.closing_date and is_won_deal(d, config.rules)]
        if won:
            closed, last = max(won, key=lambda w: (w[0], w[1].id))
            when = closed + term
            if when in window and not any(is_renewal_deal(d, config) for d in snap.deals):
                due.append(RenewalDue(ref, last, when, (when - today).days))
        if won or any(is_billed(i, config.rules) for i in snap.invoices):
            seen = _last_activity(snap, tz, config.rules)
            if seen is not None and (today - seen).days >= config.quiet_days:
                quiet.append(QuietAccount(ref, seen, (today - seen).days))
        figs = figures(snap, today, config.rules)
        verdict = assess(snap, today, config.rules, figs=figs)
        if verdict.level == "at_risk":
            at_risk.append(AccountHealth(ref, verdict, HealthFigures.of(figs)))
    return renewals_of(today, window, config, due, quiet, at_risk)


def renewals_of(
    today: date,
    window: Period,
    config: ReportConfig,
    due: list[RenewalDue] | Later[RenewalDue],
    quiet: list[QuietAccount],
    at_risk: list[AccountHealth] | AtRisk[Any],
) -> RenewalsReport:
    """The report, each list in its order (the accounts at risk when read; renewals due made later come in order)."""
    if isinstance(due, list):
        due.sort(key=lambda r: (r.due, r.account.name.casefold(), r.account.id))
    quiet.sort(key=lambda q: (q.days, q.account.name.casefold(), q.account.id))
    risk = at_risk if isinstance(at_risk, AtRisk) else AtRisk(at_risk)
    return RenewalsReport(today, window, due, quiet, risk, config.quiet_days)


def last_activity_of(days: list[str], instants: list[str], tz: tzinfo | None) -> date | None:
    """The latest of ISO dates and UTC instants (as stored), the instants on their local date in `tz`."""
    seen = [date.fromisoformat(d) for d in days]
    seen += [d for d in (local_date(datetime.fromisoformat(i), tz) for i in instants) if d is not None]
    return max(seen) if seen else None
