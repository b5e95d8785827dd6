"""`/report [revenue | invoicing | support | renewals] [period]`: acknowledged at once, answered through the
response URL when the card is built. Every card is built and rendered in a child process
(bot/reports/isolated.py), where its Python work takes neither this event loop's GIL nor its memory."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.blocks import Message, context, error_message
from bot.deps import deps_of
from bot.errors import ReportUsageError
from bot.reports.service import parse_request, usage


def register(app: AsyncApp) -> None:
    app.command("/report")(report_command)


def working(kind: str) -> Message:
    text = f"Building the {kind} report…"
    return Message(text, [{**context(f"⏳ {text}"), "block_id": "working"}])


async def report_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    text = str(command.get("text") or "")[:300]
    if not text.strip() or text.strip().lower() == "help":
        await ack(response_type="ephemeral", **usage().as_kwargs())
        return
    try:
        request = parse_request(text, deps.clock(), deps.structure)
    except ReportUsageError as exc:
        message = usage()
        message.blocks.insert(0, error_message(exc.user_message()).blocks[0])
        await ack(response_type="ephemeral", text=exc.user_message(), blocks=message.blocks)
        return
    await ack(response_type="ephemeral", **working(request.kind).as_kwargs())
    # A failure reaches the one Bolt error handler, which replaces "Building…" with its message.
    answer = await deps.reports.run(deps.store.path, deps.structure, request, deps.clock())
    await respond(response_type="ephemeral", replace_original=True, **answer.as_kwargs())
