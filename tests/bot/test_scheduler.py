from bot.scheduler import create_scheduler, sync_job


async def test_sync_job_is_scheduled_at_the_configured_interval(deps):
    scheduler = create_scheduler(deps)
    job = scheduler.get_job("mirror-sync")
    assert job is not None
    assert job.trigger.interval.total_seconds() == deps.structure.sync.interval_minutes * 60


async def test_no_job_when_turned_off(deps):
    deps.structure.sync.interval_minutes = 0
    assert create_scheduler(deps).get_job("mirror-sync") is None


async def test_sync_job_fills_the_mirror_and_survives_zoho_failure(deps, sandbox):
    await sync_job(deps)
    assert deps.store.counts()["accounts"] == len(sandbox.state.crm["Accounts"])
    sandbox.faults.force("crm", 500, times=100)
    await sync_job(deps)  # logs, does not raise
