import logging

from bot.log_redaction import RedactSecrets, install, redact


def test_query_secrets_are_redacted():
    assert redact("POST /zoho/desk?secret=abc123&x=1 HTTP/1.1") == "POST /zoho/desk?secret=***&x=1 HTTP/1.1"
    assert redact("/zoho/crm?token=s3cr3t") == "/zoho/crm?token=***"
    assert redact("/healthz") == "/healthz"


def test_access_log_lines_never_show_the_secret(caplog):
    install()
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "POST", "/zoho/books?secret=hunter2", "1.1", 200)
    assert "hunter2" not in caplog.text and "secret=***" in caplog.text
    assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1


def test_sandbox_requests_are_kept_out_of_the_access_log(caplog):
    from bot.log_redaction import keep_only_our_routes

    keep_only_our_routes()
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/crm/v8/Accounts?fields=x", "1.1", 200)
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "POST", "/slack/events", "1.1", 200)
    assert "/crm/v8" not in caplog.text and "/slack/events" in caplog.text
