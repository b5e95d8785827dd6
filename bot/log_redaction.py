"""Keep secrets out of logs: webhook secrets travel in query strings, which access logs would print."""

from __future__ import annotations

import logging
import re

_SECRET_IN_QUERY = re.compile(r"((?:secret|token)=)[^&\s\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_IN_QUERY.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """Rewrites `secret=…` and `token=…` query values in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        return True


def _redacted(arg: object) -> object:
    """Strings, and objects printed as text (httpx logs an `httpx.URL`, not a str)."""
    if isinstance(arg, str):
        return redact(arg)
    if isinstance(arg, int | float) or arg is None:
        return arg
    text = str(arg)
    cleaned = redact(text)
    return cleaned if cleaned != text else arg


def install() -> None:
    """Attach the filter to the loggers that print request URLs (uvicorn's access log, httpx)."""
    for name in ("uvicorn.access", "uvicorn.error", "httpx"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


class OnlyOurRoutes(logging.Filter):
    """With the sandbox and Slack stand-in in the same process (`serve --sandbox`), uvicorn's access log would mix
    their requests with ours: keep the lines for Throughline's own routes only."""

    PREFIXES = ("/slack/", "/zoho/", "/healthz")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        path = args[2] if len(args) > 2 and isinstance(args[2], str) else ""
        return not path or path.startswith(self.PREFIXES)


def keep_only_our_routes() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, OnlyOurRoutes) for f in logger.filters):
        logger.addFilter(OnlyOurRoutes())
