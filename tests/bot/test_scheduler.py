import logging
from datetime import timedelta

from bot.scheduler import create_scheduler, sync_job


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
    sandbox.state.update_crm("Accounts", account_id, {"Account_Name": "Renamed During Outage",
                                                      "Modified_Time": changed_at})
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
