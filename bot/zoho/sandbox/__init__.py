"""An in-memory fake Zoho (CRM v8, Books v3, Desk v1 and the accounts server) as one ASGI app.

    from bot.zoho.sandbox import Sandbox
    sb = Sandbox.seeded(accounts=25, seed=7)
    app = sb.asgi_app()
"""

from bot.zoho.sandbox.app import Sandbox
from bot.zoho.sandbox.faults import Faults, ForcedFault
from bot.zoho.sandbox.state import Credentials, SandboxState

__all__ = ["Credentials", "Faults", "ForcedFault", "Sandbox", "SandboxState"]
