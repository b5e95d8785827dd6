"""An in-memory fake Zoho (accounts server, CRM v8, Books v3, Desk v1) as one ASGI app, in Zoho's own shapes.

    from bot.zoho.sandbox import Sandbox
    sb = Sandbox.seeded(accounts=25, seed=7)   # deterministic for (accounts, seed, today); today= defaults to today
    app = sb.asgi_app()                         # POST /oauth/v2/token, /crm/v8/..., /books/v3/..., /api/v1/...
    sb.credentials      # client_id, client_secret, refresh_token, books_org_id, desk_org_id (fixed strings)
    sb.faults           # latency, token_latency, force(app, status, times, retry_after, path_contains),
                        # expire_tokens(), clear(), token_rate_limit (opt-in)
    sb.calls            # [(app, method, path)] for every API call (not the token endpoint)
    sb.token_requests   # how many times the token endpoint was called
    sb.state            # SandboxState: plain dicts + indexes; demo_account_id, untidy, notifications

Run it on a port: ``bot.zoho.sandbox.server.start_in_thread(sb)`` -> (base_url, stop), or ``serve(sb, host, port)``.
"""

from bot.zoho.sandbox.app import Sandbox
from bot.zoho.sandbox.faults import Faults, ForcedFault
from bot.zoho.sandbox.state import Credentials, SandboxState

__all__ = ["Credentials", "Faults", "ForcedFault", "Sandbox", "SandboxState"]
