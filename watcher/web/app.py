"""The review site: one Starlette app over a config and a store; ``build_app`` assembles it."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import render
from ..config import Config
from .actions import Effect, Models
from .present import local_path
from .security import Guard

FLASH_COOKIE = "watcher_flash"
TEMPLATES = Path(__file__).parent / "templates"


class Site:
    """The state the pages share: config, engine, templates, topic models, the CSRF token, flashes."""

    def __init__(self, cfg: Config, engine: sa.Engine) -> None:
        self.cfg, self.engine = cfg, engine
        self.models = Models(cfg, engine)
        self.csrf = secrets.token_urlsafe(32)
        self.env = render.make_env()
        self.env.loader = jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(str(TEMPLATES)), jinja2.PackageLoader("watcher", "templates")]
        )
        self.env.filters["when"] = self.when
        self._flashes: OrderedDict[str, Effect] = OrderedDict()
        self._lock = threading.Lock()

    def when(self, value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "–"
        return str(value.astimezone(ZoneInfo(self.cfg.schedule.timezone)).strftime(fmt))

    def page(
        self, request: Request, template: str, context: Mapping[str, object], status: int = 200
    ) -> Response:
        effect = self._take(request.cookies.get(FLASH_COOKIE))
        html = self.env.get_template(template).render(
            csrf=self.csrf,
            effect=effect,
            path=request.url.path,
            here=local_path(request.url.path + (f"?{request.url.query}" if request.url.query else "")),
            topics=[t.name for t in self.cfg.topics],
            tz=self.cfg.schedule.timezone,
            **context,
        )
        response = HTMLResponse(html, status)
        if effect is not None:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def redirect(self, to: str, effect: Effect) -> Response:
        """POST, then redirect (303) to a page that shows the effect once."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._flashes[key] = effect
            while len(self._flashes) > 256:
                self._flashes.popitem(last=False)
        response = RedirectResponse(local_path(to), 303)
        response.set_cookie(FLASH_COOKIE, key, httponly=True, samesite="strict")
        return response

    def _take(self, key: str | None) -> Effect | None:
        if not key:
            return None
        with self._lock:
            return self._flashes.pop(key, None)


def build_app(cfg: Config, engine: sa.Engine, *, token: str | None = None) -> Starlette:
    """The review site; ``token`` (required off loopback) guards every request."""
    from . import forms, pages  # the handlers need Site; Site does not need them

    site = Site(cfg, engine)
    get, post = pages.Pages(site), forms.Forms(site)
    routes = [
        Route("/", get.matches, methods=["GET"]),
        Route("/near", get.near, methods=["GET"]),
        Route("/article/{entry_id:int}", get.article, methods=["GET"]),
        Route("/article/{entry_id:int}/copy", get.stored_copy, methods=["GET"]),
        Route("/feeds", get.feeds, methods=["GET"]),
        Route("/try", get.try_page, methods=["GET"]),
        Route("/digests", get.digests, methods=["GET"]),
        Route("/digests/{digest_id:str}", get.digest, methods=["GET"]),
        Route("/label", post.label, methods=["POST"]),
        Route("/feeds/add", post.add_feed, methods=["POST"]),
        Route("/feeds/toggle", post.toggle_feed, methods=["POST"]),
        Route("/try", post.try_it, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token)])
