"""Optional Prometheus metrics (``--metrics-port``; needs the ``metrics`` extra: prometheus-client)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .pipeline import CycleReport

log = logging.getLogger(__name__)


class Metrics:
    """Counters of polls by status, new entries, matches, extraction failures; cycle durations."""

    def __init__(self, port: int | None) -> None:
        self.port = port
        self._m: dict[str, Any] = {}
        self._server: Any = None
        if port is None:
            return
        try:
            import prometheus_client as prom
        except ImportError as e:
            raise ConfigError(
                "--metrics-port needs prometheus-client: pip install 'watcher[metrics]'"
            ) from e
        registry = prom.CollectorRegistry()
        self._registry = registry
        self._m = {
            "polls": prom.Counter(
                "watcher_polls", "Feed polls by status", ["status"], registry=registry
            ),
            "entries": prom.Counter(
                "watcher_new_entries", "New entries recorded", registry=registry
            ),
            "matches": prom.Counter("watcher_matches", "Matches recorded", registry=registry),
            "extract_failures": prom.Counter(
                "watcher_extraction_failures",
                "Article pages that fell back to the feed's text",
                registry=registry,
            ),
            "cycle": prom.Histogram(
                "watcher_cycle_seconds", "Poll cycle duration", registry=registry
            ),
        }

    def start(self) -> None:
        if self.port is None:
            return
        import prometheus_client as prom

        self._server, _thread = prom.start_http_server(
            self.port, addr="127.0.0.1", registry=self._registry
        )
        log.info("metrics on http://127.0.0.1:%d/metrics", self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def cycle(self, report: CycleReport, seconds: float) -> None:
        if not self._m:
            return
        for feed in report.feeds:
            self._m["polls"].labels(status=feed.status).inc()
        self._m["entries"].inc(report.new_entries)
        self._m["matches"].inc(len(report.matches))
        self._m["extract_failures"].inc(report.extract_failures)
        self._m["cycle"].observe(seconds)
