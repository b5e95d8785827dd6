"""Zoho webhooks in: the durable inbox, the worker that processes it, change detection shared with sync,
CRM notification channels, Slack retry dedupe."""
