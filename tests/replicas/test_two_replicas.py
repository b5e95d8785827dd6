"""Two `throughline serve` processes on one PostgreSQL database, as behind a load balancer: the Zoho sandbox and
the Slack stand-in are served from this process on loopback ports, every request is a real signed HTTP request to
one replica or the other. Exactly one invoice and one customer however clicks and replays are spread, and each of
2,000 webhook deliveries is processed once with no duplicate post."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.handoff.blocks import CREATE
from bot.localserver import LocalServer
from bot.slack_requests import block_action_body, signed_headers
from bot.slack_stub import SlackStub
from bot.store import Store
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw

EXPANSION = "5725767000000100037"  # the demo account's open deal (nothing invoiced yet): tests/handlers
APPROVER, FINANCE, SUPPORT, SALES = "U0APPROVER", "C0FINANCE1", "C0SUPPORT1", "C0SALES001"
OWNER, OWNER_ID, OWNER_DM = "maria.lopez@example.com", "U0MARIA001", "D0MARIA001"
SECRET = "replica-webhook-secret-0123456789"
SIGNING = "replica-signing-secret"
CONFIG = f"""
timezone = "Europe/Berlin"
[channels]
finance = "{FINANCE}"
support = "{SUPPORT}"
sales = "{SALES}"
[approvers]
invoice = ["{APPROVER}"]
[routing]
group_window_seconds = 0
per_channel_per_second = 50
"""
THROUGHLINE = Path(sys.executable).parent / "throughline"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    """A deadline for a condition, not a timing claim: poll until `check()` is truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


class Replica:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [str(THROUGHLINE), "serve", "--port", str(self.port)],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"replica exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Cluster:
    def __init__(self, sandbox: Sandbox, stub: SlackStub, replicas: list[Replica], db: str) -> None:
        self.sandbox, self.stub, self.replicas, self.db = sandbox, stub, replicas, db
        self.http = httpx.Client(timeout=30)

    def webhook(self, replica: int, app: str, body: Any) -> httpx.Response:
        return self.http.post(
            f"{self.replicas[replica].url}/zoho/{app}?secret={SECRET}",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    def click(self, replica: int, action_id: str, value: str, user: str) -> httpx.Response:
        body = block_action_body(
            action_id,
            value,
            response_url=f"{self.stub_url}/response/r",
            user_id=user,
            channel_id=FINANCE,
            container={"type": "message", "channel_id": FINANCE, "is_ephemeral": False},
        )
        return self.http.post(
            f"{self.replicas[replica].url}/slack/events", content=body, headers=signed_headers(body, SIGNING)
        )

    stub_url = ""


@pytest.fixture
def cluster(postgres: Any, tmp_path: Path) -> Iterator[Cluster]:
    sandbox = Sandbox.seeded(accounts=25, seed=7)
    stub = SlackStub()
    stub.users_by_email[OWNER] = OWNER_ID
    db = postgres.new_database()
    (tmp_path / "throughline.toml").write_text(CONFIG)
    with LocalServer(sandbox.asgi_app()) as zoho, LocalServer(stub.asgi_app()) as slack:
        creds = sandbox.credentials
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING,
            "SLACK_API_URL": f"{slack.url}/api/",
            "ZOHO_CLIENT_ID": creds.client_id,
            "ZOHO_CLIENT_SECRET": creds.client_secret,
            "ZOHO_REFRESH_TOKEN": creds.refresh_token,
            "ZOHO_BOOKS_ORG_ID": creds.books_org_id,
            "ZOHO_DESK_ORG_ID": creds.desk_org_id,
            "ZOHO_ACCOUNTS_URL": zoho.url,
            "ZOHO_API_URL": zoho.url,
            "ZOHO_DESK_URL": zoho.url,
            "THROUGHLINE_DATABASE_URL": db,
            "THROUGHLINE_DB": str(tmp_path / "unused.db"),
            "THROUGHLINE_CONFIG": str(tmp_path / "throughline.toml"),
            "THROUGHLINE_WEBHOOK_SECRET": SECRET,
        }
        env.pop("SLACK_APP_TOKEN", None)
        replicas = [Replica(env, tmp_path / f"replica{i}.log") for i in range(2)]
        try:
            for r in replicas:
                _until("the replica to answer", r.ready)
            c = Cluster(sandbox, stub, replicas, db)
            c.stub_url = slack.url
            with Store(db) as store:  # the leader's first sync (5 s after start) fills the mirror
                _until("the first sync", lambda: store.counts()["deals"] == len(sandbox.state.crm["Deals"]), 90)
            yield c
        finally:
            for r in replicas:
                r.stop()
            c_http = locals().get("c")
            if c_http is not None:
                c_http.http.close()


def _invoices(sandbox: Sandbox, deal_id: str) -> list[dict[str, Any]]:
    return [i for i in sandbox.state.books_invoices.values() if i.get("reference_number") == deal_id]


def test_clicks_and_replays_on_both_replicas_create_one_invoice_and_one_customer(cluster: Cluster):
    st = cluster.sandbox.state
    account_id = st.crm["Deals"][EXPANSION]["Account_Name"]["id"]
    customers_before = [c for c in st.books_contacts.values() if c.get("zcrm_account_id") == account_id]
    st.update_crm("Deals", EXPANSION, {"Stage": "Closed Won"})
    note = zw.crm_notification(st, "Deals", [EXPANSION], token=SECRET)
    assert [cluster.webhook(i, "crm", note).status_code for i in (0, 1)] == [200, 200]  # replayed to each

    def ready() -> bool:
        with Store(cluster.db) as store:
            row = store.handoffs.get(EXPANSION)
        return bool(row and row["state"] == "ready" and row["finance_ts"])

    _until("the handoff to be posted to #finance", ready)
    with ThreadPoolExecutor(10) as pool:  # 10 approver clicks at once, split across the replicas
        replies = list(pool.map(lambda i: cluster.click(i % 2, CREATE, EXPANSION, APPROVER), range(10)))
    assert [r.status_code for r in replies] == [200] * 10

    def done() -> bool:
        with Store(cluster.db) as store:
            row = store.handoffs.get(EXPANSION)
        return bool(row and row["state"] == "done")

    _until("the handoff to finish", done)
    assert len(_invoices(cluster.sandbox, EXPANSION)) == 1
    customers = [c for c in st.books_contacts.values() if c.get("zcrm_account_id") == account_id]
    assert len(customers) == max(len(customers_before), 1)
    finance_posts = [c for c in cluster.stub.calls_to("chat.postMessage") if c["channel"] == FINANCE]
    assert len(finance_posts) == 1  # the handoff message, posted once and then updated


def test_2000_deliveries_over_both_replicas_are_each_processed_once(cluster: Cluster):
    st = cluster.sandbox.state
    desk_account = st.desk_account_by_crm[st.demo_account_id]
    tickets = [zw.open_ticket(st, desk_account, f"Load {n:04d} stuck") for n in range(2000)]
    bodies = [[zw.desk_event(st, "Ticket_Add", t) for t in tickets[i : i + 20]] for i in range(0, 2000, 20)]
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda ib: cluster.webhook(ib[0] % 2, "desk", ib[1]), enumerate(bodies)))
    assert all(r.status_code == 200 and r.json()["stored"] == 20 for r in replies)

    def settled() -> bool:
        with Store(cluster.db) as store:
            counts = store.inbox.counts()
        return counts["done"] >= 2000 and counts["pending"] == 0

    _until("every delivery to be processed", settled, 180)
    ids = {t["id"] for t in tickets}
    reads: dict[str, int] = {}
    for app, method, path in list(cluster.sandbox.calls):
        tid = path.rsplit("/", 1)[-1]
        if app == "desk" and method == "GET" and "/tickets/" in path and tid in ids:
            reads[tid] = reads.get(tid, 0) + 1
    assert len(reads) == 2000 and set(reads.values()) == {1}  # each delivery processed by one replica, once
    told = [c for c in cluster.stub.calls_to("chat.postMessage") if c["channel"] == OWNER_DM]
    subjects = [json.dumps(c["blocks"]) for c in told if "stuck" in json.dumps(c["blocks"])]
    assert len(subjects) == len(set(subjects)) == 2000  # each new ticket told to its owner once


def test_a_replica_killed_mid_handoff_leaves_it_to_the_other(cluster: Cluster):
    st = cluster.sandbox.state
    account_id = st.crm["Deals"][EXPANSION]["Account_Name"]["id"]
    st.update_crm("Deals", EXPANSION, {"Stage": "Closed Won"})
    assert cluster.webhook(1, "crm", zw.crm_notification(st, "Deals", [EXPANSION], token=SECRET)).status_code == 200
    with Store(cluster.db) as store:
        _until("the handoff to be posted", lambda: (store.handoffs.get(EXPANSION) or {}).get("finance_ts"))
        cluster.sandbox.faults.latency = 0.5  # Zoho answers slowly: the kill lands between the writes
        calls_before = len(cluster.sandbox.calls)
        assert cluster.click(0, CREATE, EXPANSION, APPROVER).status_code == 200
        _until(
            "replica 0 to start writing to Books",
            lambda: any(m == "POST" for _, m, _ in cluster.sandbox.calls[calls_before:]),
        )
        cluster.replicas[0].proc.send_signal(signal.SIGKILL)
        cluster.replicas[0].proc.wait(10)
        row = store.handoffs.get(EXPANSION)
        assert row is not None and row["state"] == "creating"
        cluster.sandbox.faults.latency = 0
        # Its claim would run out after the lease (2 minutes); the test lets that time pass at once.
        with store.transaction() as db:
            db.execute("UPDATE handoffs SET claimed_until = '' WHERE deal_id = ?", [EXPANSION])
        _until(
            "replica 1 to finish the handoff", lambda: (store.handoffs.get(EXPANSION) or {}).get("state") == "done", 120
        )
    assert len(_invoices(cluster.sandbox, EXPANSION)) == 1
    assert len([c for c in st.books_contacts.values() if c.get("zcrm_account_id") == account_id]) == 1
