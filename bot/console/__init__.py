"""A local Slack-like console over the real app: a Web API emulator, its routes and a page (static/)."""
