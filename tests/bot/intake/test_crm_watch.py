from datetime import timedelta

import pytest

from bot.errors import ConfigError
from bot.intake import crm_watch


async def test_subscribe_renew_and_stop(deps, sandbox, clock):
    state = await crm_watch.subscribe(
        deps.zoho.crm, deps.store, "hook-secret-123", clock, crm_watch.notify_url_for("https://bot.example.com/")
    )
    assert state.notify_url == "https://bot.example.com/zoho/crm"
    [channel] = sandbox.state.watch_channels.values()
    assert set(channel["events"]) == {"Deals.create", "Deals.edit"} and channel["token"] == "hook-secret-123"
    assert not await crm_watch.renew_if_due(deps.zoho.crm, deps.store, "hook-secret-123", clock)

    # Six days later the channel is within a day of lapsing.
    nearly = state.model_copy(update={"expiry": clock() + timedelta(hours=12)})
    deps.store.set_watermark(crm_watch.WATCH_KEY, nearly.model_dump_json())
    assert await crm_watch.renew_if_due(deps.zoho.crm, deps.store, "hook-secret-123", clock)
    renewed = crm_watch.current(deps.store)
    assert renewed.channel_id == state.channel_id and renewed.expiry - nearly.expiry >= timedelta(days=6)
    assert len(sandbox.state.watch_channels) == 1
    # Renewed with the documented update of the live channel (then re-read), not a second subscription.
    watch_calls = [m for app, m, path in sandbox.calls if path.endswith("/actions/watch")]
    assert watch_calls == ["POST", "PATCH", "GET"]
    [channel] = sandbox.state.watch_channels.values()
    assert channel["channel_expiry"][:16] == renewed.expiry.strftime("%Y-%m-%dT%H:%M")

    assert await crm_watch.stop(deps.zoho.crm, deps.store)
    assert crm_watch.current(deps.store) is None
    assert sandbox.state.watch_channels == {}


async def test_needs_a_url_and_a_short_secret(deps, clock):
    with pytest.raises(ConfigError, match="--url"):
        await crm_watch.subscribe(deps.zoho.crm, deps.store, "s3cret", clock)
    with pytest.raises(ConfigError, match="THROUGHLINE_WEBHOOK_SECRET"):
        await crm_watch.subscribe(deps.zoho.crm, deps.store, "x" * 51, clock, "https://bot.example.com")
    with pytest.raises(ConfigError, match="--url"):
        crm_watch.notify_url_for("bot.example.com")


async def test_a_lapsed_channel_is_subscribed_again(deps, sandbox, clock):
    state = await crm_watch.subscribe(
        deps.zoho.crm, deps.store, "hook-secret-123", clock, crm_watch.notify_url_for("https://bot.example.com/")
    )
    sandbox.state.watch_channels.clear()  # Zoho dropped it (lapsed while the bot was down)
    nearly = state.model_copy(update={"expiry": clock() + timedelta(hours=1)})
    deps.store.set_watermark(crm_watch.WATCH_KEY, nearly.model_dump_json())
    assert await crm_watch.renew_if_due(deps.zoho.crm, deps.store, "hook-secret-123", clock)
    assert [m for _, m, path in sandbox.calls if path.endswith("/actions/watch")] == ["POST", "PATCH", "POST"]
    assert list(sandbox.state.watch_channels) == [state.channel_id]
