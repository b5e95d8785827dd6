import logging
from datetime import timedelta

from bot.scheduler import EVERY_REPLICA, create_scheduler, intake_job, sync_job


async def test_sync_job_is_scheduled_at_the_configured_interval(deps):
    scheduler = create_scheduler(deps)
    job = scheduler.get_job("mirror-sync")
    assert job is not None
    assert job.trigger.interval.total_seconds() == deps.structure.sync.interval_minutes * 60


async def test_no_job_when_turned_off(deps):
    deps.structure.sync.interval_minutes = 0
    assert create_scheduler(deps).get_job("mirror-sync") is None


async def test_sync_job_survives_zoho_failure_and_catches_up_after(deps, sandbox, clock, caplog):
    await sync_job(deps)
    accounts = len(sandbox.state.crm["Accounts"])
    assert deps.store.counts()["accounts"] == accounts
    account_id = next(iter(sandbox.state.crm["Accounts"]))
    changed_at = (clock.now + timedelta(seconds=1)).replace(microsecond=0).isoformat()
    sandbox.state.update_crm(
        "Accounts", account_id, {"Account_Name": "Renamed During Outage", "Modified_Time": changed_at}
    )
    sandbox.faults.force("crm", 500, times=100)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        await sync_job(deps)  # logs, does not raise
    assert "mirror sync failed, will retry at the next interval: Zoho CRM" in caplog.text
    assert deps.store.counts()["accounts"] == accounts  # the mirror keeps what it had
    assert deps.store.get_account(account_id).name != "Renamed During Outage"
    sandbox.faults.clear()
    clock.advance(minutes=20)
    await sync_job(deps)  # the next run starts from the same watermark: the change made meanwhile arrives
    assert deps.store.get_account(account_id).name == "Renamed During Outage"


async def test_on_postgresql_only_the_leader_syncs_and_another_takes_over_when_it_goes(
    settings, structure, sandbox, clock, postgres
):
    """Two replicas' schedulers on one database: the follower's scheduled sync does nothing; when the leader's
    session ends (as when its process dies) the follower's next check leads and its sync runs."""
    import httpx

    from bot.deps import build_deps
    from tests.conftest import FAST_RETRY

    shared = settings.model_copy(update={"database_url": postgres.new_database()})
    replicas = []
    for _ in range(2):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.asgi_app()), timeout=5)
        replicas.append(build_deps(shared, structure, http=http, clock=clock, retry=FAST_RETRY))
    try:
        leader, follower = (create_scheduler(d) for d in replicas)
        assert "inbox-drain" in EVERY_REPLICA and leader.get_job("inbox-drain").func is intake_job
        leading = leader.get_job("leader-check").func.__self__
        following = follower.get_job("leader-check").func.__self__
        assert await leading.check() is True
        sync = follower.get_job("mirror-sync")
        await sync.func(*sync.args)  # a follower: returns at once, reads nothing from Zoho
        assert following.leading is False and replicas[1].store.counts()["accounts"] == 0
        leading.lock.release()  # the leader's session ends, as when its process dies
        assert await following.check() is True
        await sync.func(*sync.args)
        assert replicas[1].store.counts()["accounts"] == len(sandbox.state.crm["Accounts"]) > 0
        assert await leading.check() is False
    finally:
        for d in replicas:
            await d.aclose()
