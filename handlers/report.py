"""`/report [revenue | invoicing | support | renewals] [period]`: acknowledged at once, answered through the
response URL when the report is built (it reads the whole mirror, in a worker thread)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.blocks import Message
from bot.errors import ReportUsageError, ThroughlineError
from bot.reports import blocks as rb
from bot.reports.isolated import report_processes
from bot.reports.service import parse_request, render, usage

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.command("/report")(report_command)


def working(kind: str) -> Message:
    text = f"Building the {kind} report…"
    return Message(text, [{**rb.context(f"⏳ {text}"), "block_id": "working"}])


async def report_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         context: AsyncBoltContext) -> None:
    deps = context["deps"]
    text = str(command.get("text") or "")[:300]
    if not text.strip() or text.strip().lower() == "help":
        await ack(response_type="ephemeral", **usage().as_kwargs())
        return
    try:
        request = parse_request(text, deps.clock(), deps.structure)
    except ReportUsageError as exc:
        message = usage()
        message.blocks.insert(0, rb.error_message(exc.user_message()).blocks[0])
        await ack(response_type="ephemeral", text=exc.user_message(), blocks=message.blocks)
        return
    except ThroughlineError as exc:  # a period we cannot read
        await ack(response_type="ephemeral", **rb.error_message(exc.user_message()).as_kwargs())
        return
    await ack(response_type="ephemeral", **working(request.kind).as_kwargs())
    try:
        # In a child process: the serving process's event loop and memory are not touched by the mirror read.
        report = await report_processes(deps.extras).run(deps.store.path, deps.structure, request, deps.clock())
        answer = render(report, deps.structure)
    except ThroughlineError as exc:
        answer = rb.error_message(exc.user_message())
    except Exception:
        log.exception("report %s failed", request.kind)
        answer = rb.error_message("Something went wrong on our side while building that report. It has been logged.")
    await respond(response_type="ephemeral", replace_original=True, **answer.as_kwargs())
