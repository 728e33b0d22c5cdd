"""The POST forms: label, add a feed, enable/disable a feed, try the topic.

Each checks the CSRF token, does its work in a worker thread (the store and the fetcher block), then
redirects (303) to a page that shows the effect once — except "try", whose result is the page.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from . import actions
from .app import Site
from .present import parse_int
from .security import CsrfError, field, form


class Forms:
    def __init__(self, site: Site) -> None:
        self.site = site

    async def _form(self, request: Request) -> dict[str, str] | Response:
        try:
            data = await form(request, self.site.csrf)
        except CsrfError as e:
            return PlainTextResponse(f"watcher: {e}\n", 403)
        return {k: field(data, k) for k in data}

    async def label(self, request: Request) -> Response:
        data = await self._form(request)
        if isinstance(data, Response):
            return data
        entry_id = parse_int(data.get("entry_id"))
        verdict = data.get("verdict", "")
        back = data.get("next") or "/"
        if entry_id is None or verdict not in ("relevant", "irrelevant"):
            return self.site.redirect(back, actions.Effect(False, "label: an entry and a verdict are needed"))
        site = self.site
        effect = await run_in_threadpool(
            actions.label,
            site.cfg,
            site.engine,
            site.models,
            entry_id,
            data.get("topic", ""),
            verdict == "relevant",
        )
        return site.redirect(back, effect)

    async def add_feed(self, request: Request) -> Response:
        data = await self._form(request)
        if isinstance(data, Response):
            return data
        site = self.site
        effect = await run_in_threadpool(
            actions.add_feed, site.cfg, site.engine, data.get("url", ""), data.get("name", "")
        )
        return site.redirect("/feeds", effect)

    async def toggle_feed(self, request: Request) -> Response:
        data = await self._form(request)
        if isinstance(data, Response):
            return data
        enable = data.get("enabled") == "1"
        effect = await run_in_threadpool(
            actions.set_enabled, self.site.engine, data.get("url", ""), enable
        )
        return self.site.redirect("/feeds", effect)

    async def try_it(self, request: Request) -> Response:
        data = await self._form(request)
        if isinstance(data, Response):
            return data
        site = self.site
        source, topic = data.get("source", ""), data.get("topic") or None
        result = await run_in_threadpool(actions.try_topic, site.cfg, site.models, source, topic)
        if isinstance(result, actions.Effect):
            context = {"trial": None, "failure": result, "source": source, "chosen": topic}
            return site.page(request, "try.html.j2", context, 422)
        return site.page(request, "try.html.j2", {"trial": result, "source": source, "chosen": topic})
