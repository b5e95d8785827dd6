"""CRM notifications ("watch") for Deals: subscribe, renew before expiry, unsubscribe.

Zoho keeps a channel for at most a week, so a scheduled job renews it a day before it lapses, with the documented
update of the live channel (`PATCH /actions/watch` with a new `channel_expiry`); only a channel that Zoho no
longer knows (it lapsed, or was deleted) is subscribed again with `POST`. The channel id,
URL and expiry live in the store (watermark `crm_watch`) for the renewal job and `throughline doctor`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from bot.errors import ConfigError, ZohoRequestError
from bot.store import Store
from bot.zoho.crm import CrmClient
from bot.zoho.parse import parse_datetime

log = logging.getLogger(__name__)

WATCH_KEY = "crm_watch"
EVENTS = ("Deals.create", "Deals.edit")
LIFETIME = timedelta(days=6, hours=23)  # just under Zoho's one-week maximum
RENEW_BEFORE = timedelta(days=1)


class WatchState(BaseModel):
    channel_id: str
    notify_url: str
    expiry: datetime


def current(store: Store) -> WatchState | None:
    raw = store.get_watermark(WATCH_KEY)
    return WatchState.model_validate_json(raw) if raw else None


def notify_url_for(public_url: str) -> str:
    url = public_url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(
            "must be the public base URL of `throughline serve`, e.g. https://bot.example.com",
            source="command line",
            key="--url",
        )
    return url if url.endswith("/zoho/crm") else f"{url}/zoho/crm"


def _token(secret: str) -> str:
    if not secret:
        raise ConfigError(
            "must be set: CRM notifications carry it as their token",
            source="environment",
            key="THROUGHLINE_WEBHOOK_SECRET",
        )
    if len(secret) > 50:
        raise ConfigError(
            "is longer than the 50 characters a CRM notification token may have",
            source="environment",
            key="THROUGHLINE_WEBHOOK_SECRET",
        )
    return secret


async def subscribe(
    crm: CrmClient, store: Store, secret: str, clock: Callable[[], datetime], notify_url: str | None = None
) -> WatchState:
    """Subscribe (or renew: same channel id) Deals notifications to `notify_url` (or the one on record)."""
    previous = current(store)
    url = notify_url or (previous.notify_url if previous else "")
    if not url:
        raise ConfigError(
            "is needed the first time: where Zoho should send notifications", source="command line", key="--url"
        )
    channel_id = previous.channel_id if previous else str(10**12 + secrets.randbelow(9 * 10**12))
    expiry = clock() + LIFETIME
    token = _token(secret)
    renewed = False
    if previous is not None and previous.expiry > clock():
        try:
            await crm.update_watch(
                channel_id=channel_id, events=list(EVENTS), notify_url=url, token=token, expiry=expiry
            )
            renewed = await _expiry_moved(crm, channel_id, expiry)
            if not renewed:  # the update's body shape is our reading of the docs: start the channel over
                log.warning(
                    "CRM accepted the renewal of channel %s but its expiry did not move; re-subscribing", channel_id
                )
                await crm.unwatch([channel_id])
        except ZohoRequestError as exc:
            if exc.code != "INVALID_DATA":
                raise  # only "no such channel" means subscribing anew
    if not renewed:
        await crm.watch(channel_id=channel_id, events=list(EVENTS), notify_url=url, token=token, expiry=expiry)
    state = WatchState(channel_id=channel_id, notify_url=url, expiry=expiry)
    store.set_watermark(WATCH_KEY, state.model_dump_json())
    return state


async def _expiry_moved(crm: CrmClient, channel_id: str, expiry: datetime) -> bool:
    """Re-read the channel after the update: does CRM now hold (about) the new expiry?"""
    channel = await crm.watch_channel(channel_id)
    held = parse_datetime((channel or {}).get("channel_expiry"))
    return held is not None and held >= expiry - timedelta(minutes=5)


async def renew_if_due(crm: CrmClient, store: Store, secret: str, clock: Callable[[], datetime]) -> bool:
    state = current(store)
    if state is None or state.expiry - clock() > RENEW_BEFORE:
        return False
    await subscribe(crm, store, secret, clock)
    return True


async def stop(crm: CrmClient, store: Store) -> bool:
    state = current(store)
    if state is None:
        return False
    await crm.unwatch([state.channel_id])
    store.delete_watermark(WATCH_KEY)
    return True


def describe(state: WatchState | None, now: datetime) -> str:
    if state is None:
        return "not subscribed (run `throughline zoho watch --url https://…`)"
    left = state.expiry - now
    return json.dumps(
        {
            "channel_id": state.channel_id,
            "notify_url": state.notify_url,
            "expires": state.expiry.isoformat(),
            "hours_left": round(left.total_seconds() / 3600, 1),
        }
    )
