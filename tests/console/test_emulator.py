"""The Slack Web API emulator over HTTP: Slack's argument checks and error names, and the workspace it keeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.checks import SlackError
from bot.console.emulator import SlackEmulator
from bot.console.workspace import Message, ResponseContext, User
from bot.localserver import LocalServer

CHANNEL, USER, OTHER = "C0FINANCE1", "U0FINANCE1", "U0JCHEN001"
TOKEN = {"Authorization": "Bearer xoxb-test"}


class Api:
    def __init__(self, emulator: SlackEmulator, url: str) -> None:
        self.emulator = emulator
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def __call__(self, method: str, headers: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
        reply = self.http.post(f"/api/{method}", json=args, headers=TOKEN if headers is None else headers)
        assert reply.status_code == 200
        return reply.json()

    def form(self, method: str, **args: str) -> dict[str, Any]:
        return self.http.post(f"/api/{method}", data=args, headers=TOKEN).json()


@pytest.fixture
def api() -> Iterator[Api]:
    emulator = SlackEmulator(strict=True)
    emulator.add_channel(CHANNEL, "finance")
    emulator.add_user(User(USER, "Fatima Rahman", "Fatima Rahman", "fatima@example.com"))
    emulator.add_user(User(OTHER, "James Chen", "James Chen", "james@example.com"))
    with LocalServer(emulator.asgi_app()) as server:
        emulator.base_url = server.url
        yield Api(emulator, server.url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_a_token_is_required(api: Api) -> None:
    assert api("auth.test", headers={})["error"] == "not_authed"
    assert api("auth.test", headers={"Authorization": "Bearer nonsense"})["error"] == "invalid_auth"
    assert api("auth.test")["ok"] is True
    assert api("no.such.method")["error"] == "unknown_method"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"text": "hi"}, "channel_not_found"),
        ({"channel": "C0NOWHERE1", "text": "hi"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CHANNEL, "text": "t", "blocks": [section("b")] * 51}, "invalid_blocks"),
        ({"channel": CHANNEL, "text": "t", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({"channel": CHANNEL, "text": "t", "blocks": [{"type": "carousel"}]}, "invalid_blocks"),
        ({"channel": CHANNEL, "text": "t", "blocks": {"type": "section"}}, "invalid_blocks_format"),
        (
            {"channel": CHANNEL, "text": "t", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
            "invalid_blocks",
        ),
        (
            {
                "channel": CHANNEL,
                "text": "t",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "action_id": "a"}
                        ],
                    }
                ],
            },
            "invalid_blocks",
        ),
    ],
)
def test_post_message_is_checked_as_slack_checks_it(api: Api, args: dict[str, Any], error: str) -> None:
    answer = api("chat.postMessage", **args)
    assert answer == {
        "ok": False,
        "error": error,
        **({"response_metadata": answer["response_metadata"]} if "response_metadata" in answer else {}),
    }
    assert api.emulator.messages[CHANNEL] == []


def test_too_many_blocks_names_the_limit(api: Api) -> None:
    answer = api("chat.postMessage", channel=CHANNEL, text="t", blocks=[section("b")] * 51)
    assert "no more than 50 items" in answer["response_metadata"]["messages"][0]


def test_a_posted_message_is_kept_and_can_be_updated_and_deleted(api: Api) -> None:
    posted = api("chat.postMessage", channel=CHANNEL, text="first", blocks=[section("*first*")])
    assert posted["ok"] and posted["channel"] == CHANNEL and posted["message"]["text"] == "first"
    assert api("chat.update", channel=CHANNEL, ts="1.000001", text="x")["error"] == "message_not_found"
    updated = api("chat.update", channel=CHANNEL, ts=posted["ts"], text="second", blocks=[section("second")])
    assert updated["ok"] and api.emulator.find(CHANNEL, posted["ts"]).text == "second"
    history = api("conversations.history", channel=CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["second"]
    link = api("chat.getPermalink", channel=CHANNEL, message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/{CHANNEL}/p{posted['ts'].replace('.', '')}")
    assert api("chat.getPermalink", channel=CHANNEL, message_ts="9.9")["error"] == "message_not_found"
    assert api("chat.delete", channel=CHANNEL, ts=posted["ts"])["ok"]
    assert api("chat.delete", channel=CHANNEL, ts=posted["ts"])["error"] == "message_not_found"
    assert api("conversations.history", channel=CHANNEL)["messages"] == []


def test_ephemeral_messages_cannot_be_updated_and_stay_out_of_history(api: Api) -> None:
    assert api("chat.postEphemeral", channel=CHANNEL, user="U0NOBODY01", text="x")["error"] == "user_not_found"
    answer = api("chat.postEphemeral", channel=CHANNEL, user=USER, text="only you")
    assert answer["ok"] and answer["message_ts"]
    assert api("chat.update", channel=CHANNEL, ts=answer["message_ts"], text="y")["error"] == "message_not_found"
    assert api("conversations.history", channel=CHANNEL)["messages"] == []


def test_threads_and_direct_messages(api: Api) -> None:
    parent = api("chat.postMessage", channel=CHANNEL, text="parent")
    assert api("chat.postMessage", channel=CHANNEL, text="r", thread_ts="1.5")["error"] == "thread_not_found"
    api("chat.postMessage", channel=CHANNEL, text="reply", thread_ts=parent["ts"])
    replies = api("conversations.replies", channel=CHANNEL, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["parent", "reply"]
    assert [m["text"] for m in api("conversations.history", channel=CHANNEL)["messages"]] == ["parent"]
    assert api("conversations.replies", channel=CHANNEL, ts="1.5")["error"] == "thread_not_found"
    dm = api("chat.postMessage", channel=USER, text="to you")
    assert dm["channel"] == "D" + USER[1:]
    opened = api("conversations.open", users=USER)
    assert opened["channel"]["id"] == dm["channel"] and opened["channel"]["is_im"]
    assert api("conversations.open")["error"] == "users_list_not_supplied"
    assert api("conversations.open", users="U0NOBODY01")["error"] == "user_not_found"
    assert api("conversations.info", channel="C0NOWHERE1")["error"] == "channel_not_found"
    assert api("conversations.info", channel=CHANNEL)["channel"]["name"] == "finance"


def test_users_and_groups(api: Api) -> None:
    assert api.form("users.info", user=USER)["user"]["profile"]["email"] == "fatima@example.com"
    assert api.form("users.info", user="U0NOBODY01")["error"] == "user_not_found"
    assert api.form("users.lookupByEmail", email="JAMES@example.com")["user"]["id"] == OTHER
    assert api.form("users.lookupByEmail", email="nobody@example.com")["error"] == "users_not_found"
    assert {u["id"] for u in api.form("users.list")["members"]} == {USER, OTHER}
    assert api.form("usergroups.users.list", usergroup="S0NONE0001")["error"] == "no_such_subteam"
    api.emulator.usergroups["S0FINANCE1"] = [USER]
    assert api.form("usergroups.users.list", usergroup="S0FINANCE1")["users"] == [USER]


def modal(blocks: int = 1, title: str = "Edit handoff") -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [section(f"b{n}") for n in range(blocks)],
    }


def test_views_need_a_fresh_trigger_and_respect_their_limits(api: Api) -> None:
    em = api.emulator
    assert api("views.open", trigger_id="made.up", view=modal())["error"] == "invalid_trigger_id"
    assert api("views.open", trigger_id=em.issue_trigger(USER), view=modal(101))["error"] == "invalid_blocks"
    assert (
        api("views.open", trigger_id=em.issue_trigger(USER), view=modal(title="A title longer than twenty-four"))[
            "error"
        ]
        == "invalid_arguments"
    )
    assert (
        api("views.open", trigger_id=em.issue_trigger(USER), view={**modal(), "type": "home"})["error"]
        == "invalid_arguments"
    )
    trigger = em.issue_trigger(USER)
    opened = api("views.open", trigger_id=trigger, view=modal(100))
    assert opened["ok"] and [v.id for v in em.view_stack(USER)] == [opened["view"]["id"]]
    assert api("views.open", trigger_id=trigger, view=modal())["error"] == "invalid_trigger_id"  # used once
    em.trigger_ttl = 0.0
    assert api("views.open", trigger_id=em.issue_trigger(USER), view=modal())["error"] == "expired_trigger_id"
    em.trigger_ttl = 60.0
    for _ in range(2):
        assert api("views.push", trigger_id=em.issue_trigger(USER), view=modal())["ok"]
    assert api("views.push", trigger_id=em.issue_trigger(USER), view=modal())["error"] == "push_limit_reached"
    view_id = opened["view"]["id"]
    assert api("views.update", view_id=view_id, hash="stale", view=modal(2))["error"] == "hash_conflict"
    updated = api("views.update", view_id=view_id, hash=opened["view"]["hash"], view=modal(2))
    assert updated["ok"] and len(em.views[view_id].view["blocks"]) == 2
    assert api("views.update", view_id="V0NOPE", view=modal())["error"] == "not_found"


def test_view_submission_answers_update_push_and_clear_the_stack(api: Api) -> None:
    em = api.emulator
    opened = api("views.open", trigger_id=em.issue_trigger(USER), view=modal())["view"]
    em.replace_view(USER, opened["id"], modal(3))  # response_action: update
    assert len(em.view_stack(USER)[0].view["blocks"]) == 3
    em.push_view(USER, modal(1, title="Second"))  # response_action: push
    assert [v.view["title"]["text"] for v in em.view_stack(USER)] == ["Edit handoff", "Second"]
    with pytest.raises(SlackError):
        em.push_view(USER, {"type": "home"})
    em.close_views(USER)  # an empty acknowledgement closes the top view
    assert [v.id for v in em.view_stack(USER)] == [opened["id"]]
    em.close_views(USER, all_of_them=True)  # response_action: clear
    assert em.view_stack(USER) == []


def test_the_home_tab(api: Api) -> None:
    home = {"type": "home", "blocks": [section(f"row {n}") for n in range(100)]}
    assert api("views.publish", user_id=USER, view=home)["ok"]
    assert len(api.emulator.homes[USER].view["blocks"]) == 100
    assert api("views.publish", user_id=USER, view={**home, "blocks": home["blocks"] * 2})["error"] == "invalid_blocks"
    assert api("views.publish", user_id="U0NOBODY01", view=home)["error"] == "user_not_found"
    assert api("views.publish", user_id=USER, view=modal())["error"] == "invalid_arguments"


async def test_the_files_upload_flow_through_slack_sdk(api: Api) -> None:
    posted = api("chat.postMessage", channel=CHANNEL, text="digest")
    client = AsyncWebClient(token="xoxb-test", base_url=f"{api.url}/api/")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    await client.files_upload_v2(
        channel=CHANNEL, thread_ts=posted["ts"], file=png, filename="chart.png", title="Revenue", alt_txt="a chart"
    )
    reply = api("conversations.replies", channel=CHANNEL, ts=posted["ts"])["messages"][1]
    shared = reply["files"][0]
    assert shared["title"] == "Revenue" and shared["mimetype"] == "image/png" and shared["size"] == len(png)
    async with httpx.AsyncClient() as http:
        assert (await http.get(shared["url_private"])).content == png
    assert api("files.getUploadURLExternal", filename="x.png")["error"] == "invalid_arguments"  # no length
    assert api("files.completeUploadExternal", files=[{"id": "F0NOPE"}])["error"] == "file_not_found"


def test_unfurls_attach_to_their_message(api: Api) -> None:
    posted = api("chat.postMessage", channel=CHANNEL, text="<https://crm.zoho.com/crm/tab/Accounts/1>")
    assert api("chat.unfurl", channel=CHANNEL, ts=posted["ts"])["error"] == "missing_unfurls"
    assert api("chat.unfurl", channel=CHANNEL, ts=posted["ts"], unfurls=["x"])["error"] == "invalid_unfurls_format"
    url = "https://crm.zoho.com/crm/tab/Accounts/1"
    assert (
        api("chat.unfurl", channel=CHANNEL, ts="1.1", unfurls={url: {"blocks": [section("card")]}})["error"]
        == "cannot_find_message"
    )
    assert api("chat.unfurl", channel=CHANNEL, ts=posted["ts"], unfurls={url: {"blocks": [section("card")]}})["ok"]
    assert api.emulator.find(CHANNEL, posted["ts"]).attachments[0]["app_unfurl_url"] == url


def test_response_urls_replace_delete_and_wear_out(api: Api) -> None:
    em = api.emulator
    original = em.post(Message(em.new_ts(), CHANNEL, "UTHROUGHL1", "card", ephemeral_for=USER, bot=True))
    url = em.response_url(ResponseContext(channel=CHANNEL, user=USER, ts=original.ts, kind="action"))
    assert httpx.post(url, json={"replace_original": True, "text": "new card"}).text == "ok"
    assert em.find(CHANNEL, original.ts).text == "new card" and em.find(CHANNEL, original.ts).ephemeral_for == USER
    bad = httpx.post(url, json={"text": "t", "blocks": [section("x" * 3001)]})
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    assert httpx.post(url, json={"response_type": "in_channel", "text": "shared"}).text == "ok"
    assert [m.text for m in em.messages[CHANNEL] if m.ephemeral_for is None] == ["shared"]
    assert httpx.post(url, json={"delete_original": True}).text == "ok"
    assert em.find(CHANNEL, original.ts) is None
    assert httpx.post(url, json={"text": "fifth"}).text == "ok"
    assert httpx.post(url, json={"text": "sixth"}).text == "used_url"  # five posts per response URL
    assert httpx.post(f"{api.url}/response/unknown", json={"text": "x"}).status_code == 404
    assert httpx.post(url, content=b"{not json").status_code == 400


def test_the_lenient_stand_in_accepts_what_it_has_not_seen() -> None:
    stub = SlackEmulator()
    with LocalServer(stub.asgi_app()) as server:
        api = Api(stub, server.url)
        assert api("chat.postMessage", channel="C0ANYWHERE", text="hi")["ok"]
        assert api("views.open", trigger_id="1.2.demo", view=modal())["ok"]
        assert api("chat.update", channel="C0ANYWHERE", ts="1.1", text="x")["ok"]
        assert api("chat.postMessage", channel="C0ANYWHERE")["error"] == "no_text"  # the checks still hold
        assert json.loads(json.dumps(stub.calls_to("chat.postMessage")[0]))["text"] == "hi"
