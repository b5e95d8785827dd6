"""The event feed: routing rules, Slack posting with grouping and pacing, link unfurls."""
