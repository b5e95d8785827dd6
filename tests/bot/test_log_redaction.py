import logging

from bot.log_redaction import RedactSecrets, install, redact


def test_query_secrets_are_redacted():
    assert redact('POST /zoho/desk?secret=abc123&x=1 HTTP/1.1') == "POST /zoho/desk?secret=***&x=1 HTTP/1.1"
    assert redact("/zoho/crm?token=s3cr3t") == "/zoho/crm?token=***"
    assert redact("/healthz") == "/healthz"


def test_access_log_lines_never_show_the_secret(caplog):
    install()
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "POST", "/zoho/books?secret=hunter2", "1.1", 200)
    assert "hunter2" not in caplog.text and "secret=***" in caplog.text
    assert sum(isinstance(f, RedactSecrets) for f in logger.filters) == 1
