"""The closed-won handoff: plan, records with their write-ahead log, the service, its Slack messages."""
