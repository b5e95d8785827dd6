"""Moved to `bot.account.lookup`; this name stays while bot/store (changed on another branch) still imports it.
Remove once nothing does."""

from bot.account.lookup import *  # noqa: F403
