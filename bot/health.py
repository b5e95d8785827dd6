"""Moved to `bot.account.health`; this name stays while bot/reports and bot/intake (changed on other branches)
still import it. Remove once nothing does."""

from bot.account.health import *  # noqa: F403
