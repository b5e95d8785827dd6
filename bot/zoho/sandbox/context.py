"""What an app handler gets for one request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import QueryParams
from starlette.requests import Request

from bot.zoho.sandbox.state import Credentials, SandboxState


@dataclass
class Ctx:
    state: SandboxState
    credentials: Credentials
    request: Request
    base_url: str  # e.g. http://127.0.0.1:8123 (no trailing slash)
    parts: list[str]  # path segments after the app's prefix

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    async def json_body(self) -> Any:
        """The JSON body; Books also takes it as a form field ``JSONString``. None when absent or broken."""
        raw = await self.request.body()
        if not raw:
            return None
        ctype = self.request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in ctype:
            form = dict(parse_qsl(raw.decode("utf-8", "replace")))
            raw = form.get("JSONString", "").encode()
            if not raw:
                return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def int_param(self, name: str, default: int) -> int | None:
        """The integer query parameter, `default` when absent, None when not an integer."""
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            return None
