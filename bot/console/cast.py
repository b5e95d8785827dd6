"""Who is in the console's workspace and how Throughline is configured there: the channels of `[channels]`,
the people (a sales rep, the finance approver, a support agent, a leader, someone who approves nothing) and the
manifest's slash commands and unfurl domains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.console.emulator import SlackEmulator
from bot.console.workspace import BOT_USER_ID, User
from bot.manifest import MANIFEST
from bot.zoho.sandbox import Sandbox

SALES, FINANCE, SUPPORT, LEADERSHIP = "C0SALES001", "C0FINANCE1", "C0SUPPORT1", "C0LEADERS1"
APPROVER, AGENT, LEADER, NON_APPROVER = "U0FINANCE1", "U0SUPPORT1", "U0LEADER01", "U0JCHEN001"


def structure_toml(tz: str) -> str:
    """The operating structure the console runs with (see throughline.example.toml)."""
    return (
        f'timezone = "{tz}"\n'
        f'[channels]\nsales = "{SALES}"\nfinance = "{FINANCE}"\nsupport = "{SUPPORT}"\n'
        f'leadership = "{LEADERSHIP}"\n'
        f'[approvers]\ninvoice = ["{APPROVER}"]\naudit = ["{LEADER}"]\n'
        f"[handoff]\ndefault_payment_terms = 30\n"
    )


def _user_id(name: str) -> str:
    first, _, last = name.partition(" ")
    return ("U0" + (first[:1] + last).upper().replace(" ", "") + "0000000")[:10]


def populate(emulator: SlackEmulator, sandbox: Sandbox) -> str:
    """Channels and people, with Zoho's CRM users as Slack users of the same email; answers the user the
    console starts as (the owner of the sandbox's demo account)."""
    st = sandbox.state
    for channel_id, name in ((SALES, "sales"), (FINANCE, "finance"), (SUPPORT, "support"), (LEADERSHIP, "leadership")):
        emulator.add_channel(channel_id, name)
    emulator.add_user(User(BOT_USER_ID, "Throughline", "Throughline", is_bot=True))
    demo = st.crm["Accounts"].get(st.demo_account_id) or {}
    owner_email = str((demo.get("Owner") or {}).get("email") or "").lower()
    starter = ""
    for crm_user in st.crm_users:
        email = str(crm_user.get("email") or "").lower()
        name = str(crm_user.get("name") or email)
        user_id = NON_APPROVER if name == "James Chen" else _user_id(name)
        if email == owner_email:
            role = f"Sales rep · owns {demo.get('Account_Name', 'the demo account')}"
            starter = user_id
        elif user_id == NON_APPROVER:
            role = "Sales rep · not an approver"
        else:
            role = "Sales rep"
        emulator.add_user(User(user_id, name, name, email, "Account Executive", role))
    agent = next(iter(st.desk_agents), {})
    agent_name = f"{agent.get('firstName', 'Sam')} {agent.get('lastName', 'Ortiz')}".strip()
    emulator.add_user(
        User(
            AGENT,
            agent_name,
            agent_name,
            str(agent.get("emailId") or "support@example.com"),
            "Support Engineer",
            "Support agent",
        )
    )
    emulator.add_user(
        User(
            APPROVER,
            "Fatima Rahman",
            "Fatima Rahman",
            "fatima.rahman@example.com",
            "Finance Manager",
            "Finance · invoice approver",
        )
    )
    emulator.add_user(
        User(LEADER, "Grace Kim", "Grace Kim", "grace.kim@example.com", "VP Revenue", "Leadership · may run /audit")
    )
    return starter or NON_APPROVER


def picker_order(emulator: SlackEmulator, starter: str) -> list[str]:
    """The "Acting as" list: the five people of the tour first, then everyone else."""
    first = [starter, APPROVER, AGENT, LEADER, NON_APPROVER]
    rest = [u for u, user in emulator.users.items() if u not in first and not user.is_bot]
    return [u for u in first if u in emulator.users] + sorted(rest, key=lambda u: emulator.users[u].name)


def read_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def manifest_commands(manifest: dict[str, Any]) -> list[dict[str, str]]:
    commands = ((manifest.get("features") or {}).get("slash_commands")) or []
    return [
        {
            "command": str(c.get("command")),
            "description": str(c.get("description") or ""),
            "usage_hint": str(c.get("usage_hint") or ""),
        }
        for c in commands
        if c.get("command")
    ]


def messages_tab_read_only(manifest: dict[str, Any]) -> bool:
    home = (manifest.get("features") or {}).get("app_home") or {}
    return bool(home.get("messages_tab_read_only_enabled", False))


def unfurl_domains(manifest: dict[str, Any]) -> list[str]:
    return [str(d) for d in ((manifest.get("features") or {}).get("unfurl_domains")) or []]
