"""Build and sign Slack HTTP requests the way Slack sends them (for the demo, benchmarks and tests)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier


def signed_headers(
    body: str,
    signing_secret: str,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or "", "Content-Type": content_type}


def command_body(
    command: str,
    text: str,
    *,
    response_url: str,
    user_id: str = "U0DEMOUSER",
    channel_id: str = "C0DEMOCHAN",
    team_id: str = "T0DEMO0001",
    trigger_id: str = "1.2.demo",
) -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": team_id,
            "team_domain": "demo",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "demo",
            "command": command,
            "text": text,
            "api_app_id": "A0THROUGHL",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def block_action_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = "U0DEMOUSER",
    channel_id: str = "C0DEMOCHAN",
    team_id: str = "T0DEMO0001",
    block_id: str = "b1",
    message: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "demo"},
        "user": {"id": user_id, "username": "demo", "team_id": team_id},
        "api_app_id": "A0THROUGHL",
        "token": "legacy-unused",
        "trigger_id": "1.2.demo",
        "container": container or {"type": "message", "channel_id": channel_id, "is_ephemeral": True},
        "channel": {"id": channel_id, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if message is not None:
        payload["message"] = message
    return urlencode({"payload": json.dumps(payload)})
