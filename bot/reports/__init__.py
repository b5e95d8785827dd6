"""Reports, daily digests and the App Home: pure figures over the mirror, their Slack and terminal output."""
