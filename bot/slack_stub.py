"""The local stand-in for Slack's Web API and response URLs used by the demo and the tests.

It is the Slack Web API emulator of `bot.console.emulator` in its lenient mode (`strict=False`): Slack's
argument checks and error names, any channel or trigger accepted. Point `SLACK_API_URL` at `{base}/api/`.
"""

from __future__ import annotations

from bot.console.emulator import SlackCall, SlackEmulator
from bot.console.workspace import BOT_USER_ID, TEAM_ID

SlackStub = SlackEmulator

__all__ = ["BOT_USER_ID", "TEAM_ID", "SlackCall", "SlackStub"]
