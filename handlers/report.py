"""`/report [revenue | invoicing | support | renewals] [period]`: acknowledged at once, answered through the
response URL when the report is built: revenue and support are counted by SQL, so they are built in this
process on the store's threads; invoicing and renewals still read many records, so they are built in a child
process (bot/reports/isolated.py) where that work takes neither this event loop's GIL nor its memory."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.blocks import Message, context, error_message
from bot.deps import deps_of
from bot.errors import ReportUsageError
from bot.reports.service import SQL_COUNTED, parse_request, render, run_report, usage


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
    # Revenue and support are counted by SQL on the store's threads; the others build in a child process, so the
    # serving process's event loop and memory are not touched by their reads. A failure reaches the one Bolt error
    # handler, which replaces "Building…" with its message.
    if request.kind in SQL_COUNTED:
        report = await deps.store.run(run_report, deps.store, deps.structure, request, deps.clock())
    else:
        report = await deps.reports.run(deps.store.path, deps.structure, request, deps.clock())
    answer = render(report, deps.structure)
    await respond(response_type="ephemeral", replace_original=True, **answer.as_kwargs())
