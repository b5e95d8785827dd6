"""The demo's last step: each team's daily digest for the sandbox data, as it would be posted (nothing is sent)."""

from __future__ import annotations

import asyncio
import json
from typing import TextIO

from bot.deps import Deps
from bot.reports.charts import revenue_chart
from bot.reports.digest_runs import build_outgoing, schedule_for
from bot.reports.digests import TEAMS
from bot.sync import MirrorSync
from bot.textrender import render_text


async def show_digests(deps: Deps, out: TextIO, json_out: bool) -> None:
    out.write("\n$ throughline digest <team> --dry-run   (each team's daily digest, after a full sync)\n")
    await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    for team in TEAMS:
        schedule = schedule_for(deps.structure, team)
        _, outgoing = await asyncio.to_thread(build_outgoing, deps, team)
        for item in outgoing:
            channel = f"#{schedule.channel}" if schedule.channel else f"the {team} channel (none configured)"
            where = f"{item.recipient_name} (direct message)" if item.recipient else channel
            out.write(f"\n→ {team} digest to {where}, daily at {schedule.at:%H:%M} {schedule.tz.key}\n\n")
            message = item.message.to_dict()
            out.write((json.dumps(message, indent=2) if json_out else render_text(message)) + "\n")
            if item.chart is not None:
                png = await asyncio.to_thread(revenue_chart, item.chart, item.chart.title.rsplit("(", 1)[-1][:-1])
                out.write(f"[chart uploaded with it: {item.chart.title}, PNG of {len(png):,} bytes]\n")
