"""The audit's use case and CLI: few Zoho calls, the mirror refreshed only when stale, table / CSV / JSON out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.audit.drift import KIND_TITLES, KINDS, won_deals_needing_products
from bot.audit.service import AuditService
from bot.cli import cli
from bot.config import OperatingStructure, parse_structure
from bot.deps import Deps, app_links
from bot.localserver import LocalServer
from bot.zoho.sandbox import Sandbox
from tests.bot.audit.test_drift import expected_ids

runner = CliRunner()


def _service(deps: Deps, structure: OperatingStructure | None = None) -> AuditService:
    structure = structure or deps.structure
    return AuditService(deps.store, deps.zoho, structure, app_links(deps.settings, structure), deps.clock)


async def test_first_run_syncs_later_runs_read_only_product_lines(deps, sandbox, clock):
    service = _service(deps)
    first = await service.run("U1")
    assert first.synced is not None and not first.notes
    assert {f.id for f in first.findings} == expected_ids(sandbox.state)
    assert service.runs.load(first.id).findings == first.findings  # kept for the Slack buttons

    sandbox.calls.clear()
    clock.advance(minutes=5)
    second = await service.run("U1")
    assert second.synced is None and {f.id for f in second.findings} == expected_ids(sandbox.state)
    from bot.audit.service import load_mirror

    wanted = won_deals_needing_products(load_mirror(deps.store), deps.structure.vocabulary.effective())
    assert sorted(p for _, _, p in sandbox.calls) == sorted(f"/crm/v8/Deals/{d}/Products" for d in wanted)
    assert 0 < len(wanted) < 10  # only won deals with no invoice yet

    clock.advance(minutes=30)  # stale again: an incremental sync first
    assert (await service.run("U1")).synced is not None


async def test_sync_modes_and_no_product_reads_when_products_are_not_required(deps, sandbox):
    structure = parse_structure('[handoff]\nrequired = ["billing_address"]\n')
    service = _service(deps, structure)
    await service.run("U1", sync="always")
    sandbox.calls.clear()
    run = await service.run("U1", sync="never")
    assert sandbox.calls == [] and run.synced is None
    assert any(f.kind == "handoff_fields" for f in run.findings)


async def test_zoho_down_still_answers_and_says_why(deps, sandbox):
    sandbox.faults.force("crm", 503, times=50)
    run = await _service(deps).run("U1")
    assert run.findings == []
    assert any("could not be refreshed" in n for n in run.notes)
    assert any("throughline sync" in n for n in run.notes)


@pytest.fixture
def zoho_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    sandbox = Sandbox.seeded(accounts=25, seed=7)
    creds = sandbox.credentials
    with LocalServer(sandbox.asgi_app()) as server:
        yield (
            sandbox,
            {
                "ZOHO_CLIENT_ID": creds.client_id,
                "ZOHO_CLIENT_SECRET": creds.client_secret,
                "ZOHO_REFRESH_TOKEN": creds.refresh_token,
                "ZOHO_BOOKS_ORG_ID": creds.books_org_id,
                "ZOHO_DESK_ORG_ID": creds.desk_org_id,
                "ZOHO_ACCOUNTS_URL": server.url,
                "ZOHO_API_URL": server.url,
                "ZOHO_DESK_URL": server.url,
                "THROUGHLINE_DB": str(tmp_path / "t.db"),
                "THROUGHLINE_CONFIG": str(tmp_path / "throughline.toml"),
            },
        )


def test_cli_prints_a_table_writes_csv_and_json(zoho_env, tmp_path):
    sandbox, env = zoho_env
    expected = expected_ids(sandbox.state)
    out = tmp_path / "drift.csv"
    result = runner.invoke(cli, ["audit", "--csv", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "mirror synced first" in result.output
    for kind in KINDS:
        assert KIND_TITLES[kind] in result.output
    assert f"{len(expected)} findings written to {out}" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["id"] for r in rows} == expected
    assert any(r["suggestion"].startswith("link Books customer") for r in rows)

    result = runner.invoke(cli, ["audit", "--json", "--sync", "never"], env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert {f["id"] for f in payload["findings"]} == expected and payload["synced"] is False
    assert sum(payload["counts"].values()) == len(expected)


def test_cli_bad_input_is_named(zoho_env, tmp_path):
    sandbox, env = zoho_env
    result = runner.invoke(cli, ["audit", "--sync", "sometimes"], env=env)
    assert result.exit_code == 2 and "--sync must be auto, always or never" in result.output
    result = runner.invoke(cli, ["audit", "--csv", str(tmp_path / "missing" / "x.csv")], env=env)
    assert result.exit_code == 1 and "Cannot write" in result.output
    (tmp_path / "throughline.toml").write_text('[vocabulary.crm_stages]\n"Closed Won" = "winning"\n')
    result = runner.invoke(cli, ["audit"], env=env)
    assert result.exit_code == 2 and "throughline.toml: vocabulary.crm_stages" in result.output
    (tmp_path / "throughline.toml").unlink()
    result = runner.invoke(cli, ["audit"], env={**env, "ZOHO_CLIENT_ID": ""})
    assert result.exit_code == 2 and "ZOHO_CLIENT_ID" in result.output
    sandbox.calls.clear()  # without credentials, --sync never audits the mirror alone
    result = runner.invoke(cli, ["audit", "--sync", "never"], env={**env, "ZOHO_CLIENT_ID": ""})
    assert result.exit_code == 0 and "Labels not in the vocabulary" in result.output and sandbox.calls == []
