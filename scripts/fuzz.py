"""The long fuzz campaign for hostile input (issue 8): parsers, escaping, config, whole cycles.

    .venv/bin/python scripts/fuzz.py                      # 2000 cases per target
    .venv/bin/python scripts/fuzz.py -n 20000 -t parse_feed,html_to_text --seed 7

Each target draws cases with hypothesis (the strategies of ``tests/security_helpers.py``) and runs
the same checks as the tests.  A finding is an exception, a broken invariant, a warning (the test
suite turns warnings into errors) or a case slower than the target's bound; the campaign goes on
after a finding and prints, per target, the cases run, the time taken and each distinct finding
with its first example.  Exit status 1 if anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import security_helpers as h  # noqa: E402
from tests import test_security_config as cfg_tests  # noqa: E402
from tests import test_security_escaping as esc  # noqa: E402
from tests import test_security_fuzz as fz  # noqa: E402
from tests.server import Server  # noqa: E402
from watcher.bodies import BodyDecoder, DecodeError, UnsupportedEncoding  # noqa: E402
from watcher.config import ExtractConfig  # noqa: E402
from watcher.extract import extract_article  # noqa: E402
from watcher.feeds import discover_feeds, html_to_text  # noqa: E402
from watcher.store import schema  # noqa: E402


@dataclass
class Target:
    """One thing to fuzz: a strategy for its arguments, a check, a share of -n, a time bound."""

    name: str
    strategy: st.SearchStrategy[tuple[Any, ...]]
    check: Callable[..., None]
    share: float = 1.0
    slow: float = 2.0
    cases: int = 0
    seconds: float = 0.0
    findings: dict[str, tuple[str, str]] = field(default_factory=dict)


PATHOLOGICAL = ["<a", "<script", '<a "', "<!", "<?", "<!--", "\u2003", "\x1c", "&", "<p>", "\n "]


def check_html_to_text(text: str) -> None:
    out = html_to_text(text)  # the time bound is the point: crafted text must stay linear
    assert isinstance(out, str) and len(out) <= len(text)


def check_discover(body: bytes) -> None:
    for url in discover_feeds(body, "http://site.example/"):
        assert url.startswith(("http://", "https://")), url


ENCODINGS = ["gzip", "x-gzip", "deflate", "br", "identity", "", "zstd", "compress", "GZIP"]


def compressed(data: bytes, names: list[str]) -> bytes:
    import gzip
    import zlib

    import brotli

    for name in names:  # applied in order, as a server would
        if name in ("gzip", "x-gzip", "GZIP"):
            data = gzip.compress(data)
        elif name == "deflate":
            data = zlib.compress(data)
        elif name == "br":
            data = brotli.compress(data)
    return data


def check_decoder(data: bytes, names: list[str], proper: bool, limit: int, chunk: int) -> None:
    body = compressed(data, names) if proper else data
    try:
        decoder = BodyDecoder(", ".join(names), limit)
        out = b"".join(decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))
        out += decoder.flush()
    except (DecodeError, UnsupportedEncoding):
        assert not proper or any(n in ("zstd", "compress") for n in names)
        return
    assert len(out) <= limit
    if proper and not decoder.too_large:
        assert out == data


EXTRACT = ExtractConfig(max_html_bytes=1 << 20)


def check_extract(body: bytes, content_type: str | None) -> None:
    article = extract_article(body, "http://news.example/a", cfg=EXTRACT, content_type=content_type)
    assert article.status in ("ok", "failed", "too_large"), article.status


class Cycles:
    """Whole poll cycles against one good world; fuzzed feed and pages served each case."""

    def __init__(self) -> None:
        from watcher import netpolicy

        # Hostile links name *.example hosts: resolve nothing, so no DNS query leaves the machine.
        netpolicy._default_resolver = h.loopback_only_resolver
        self.server = Server().start()
        self.tmp = Path(tempfile.mkdtemp(prefix="watcher-fuzz-"))
        self.world = h.good_world(self.server, self.tmp)
        self.stored = self.world.stored()
        self.matches = self.world.count(schema.matches)

    def check(
        self,
        feed: bytes,
        ctype: str | None,
        bodies: list[tuple[bytes, dict[str, str]]],
        extra: list[tuple[str, str]],
    ) -> None:
        if extra:
            feed = h.rss_doc("Extra", [(t, u, t) for t, u in extra])
        h.serve_fuzz(self.world, feed, ctype, bodies)
        self.stored, self.matches = h.check_cycle(self.world, self.stored, self.matches)

    def close(self) -> None:
        self.world.engine.dispose()
        self.server.stop()


def targets(cycles: Callable[[], Cycles]) -> list[Target]:
    stories = esc.stories
    return [
        Target("canonical_url", st.tuples(st.one_of(fz.urls, st.text())), fz.check_canonical),
        Target(
            "parse_feed",
            st.tuples(h.documents, h.content_types, st.booleans()),
            fz.check_parse,
            slow=2.0,
        ),
        Target(
            "html_to_text",
            st.tuples(
                st.one_of(
                    st.text(max_size=2000),
                    st.builds(
                        lambda parts, n: "".join(parts) * n,
                        st.lists(st.sampled_from(PATHOLOGICAL), min_size=1, max_size=4),
                        st.integers(1, 50_000),
                    ),
                )
            ),
            check_html_to_text,
            slow=1.0,
        ),
        Target("discover_feeds", st.tuples(h.documents), check_discover, slow=1.0),
        Target("md_escape", st.tuples(h.hostile_text), esc.check_markdown_escape),
        Target("md_url", st.tuples(h.hostile_url), esc.check_markdown_url),
        Target("digest_formats", st.tuples(stories), esc.check_formats, share=0.25),
        Target(
            "mail_headers",
            st.tuples(stories, st.sampled_from(["{count} new: {top}", "{top}{topics}{x}"])),
            esc.check_mail,
            share=0.25,
        ),
        Target(
            "config_value",
            st.tuples(st.sampled_from(cfg_tests.ALL_PATHS), cfg_tests.values),
            cfg_tests.check_value_anywhere,
        ),
        Target(
            "config_file",
            st.tuples(cfg_tests.toml_text, st.just(Path(tempfile.mkdtemp()) / "config.toml")),
            cfg_tests.check_file,
        ),
        Target(
            "body_decoder",
            st.tuples(
                st.one_of(st.binary(max_size=3000), st.just(b"\0" * 1_000_000)),
                st.lists(st.sampled_from(ENCODINGS), max_size=4),
                st.booleans(),
                st.sampled_from([1024, 65536, 1 << 20]),
                st.sampled_from([1, 7, 4096, 65536]),
            ),
            check_decoder,
            share=0.5,
        ),
        Target(
            "extract_article",
            st.tuples(h.documents, h.content_types),
            check_extract,
            share=0.1,
            slow=20.0,
        ),
        Target(
            "poll_cycle",
            st.tuples(
                h.documents,
                h.content_types,
                fz.pages,
                st.lists(st.tuples(h.hostile_text, h.hostile_url), max_size=3),
            ),
            lambda *a: cycles().check(*a),
            share=0.05,
            slow=30.0,
        ),
    ]


def run(target: Target, n: int, seed_value: int) -> None:
    """Run n cases of one target; record findings instead of stopping at the first."""

    def case(args: tuple[Any, ...]) -> None:
        target.cases += 1
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", "SOCKS support in urllib3")
            try:
                target.check(*args)
            except Exception as e:  # a finding: keep the first example of each kind
                where = traceback.extract_tb(e.__traceback__)[-1]
                key = f"{type(e).__name__} at {Path(where.filename).name}:{where.lineno}"
                target.findings.setdefault(key, (repr(args)[:600], f"{type(e).__name__}: {e}"[:600]))
        took = time.perf_counter() - start
        if took > target.slow:
            target.findings.setdefault(f"slower than {target.slow:g}s", (repr(args)[:600], f"{took:.2f}s"))

    run_cases = seed(seed_value)(
        settings(
            max_examples=n,
            deadline=None,
            database=None,
            phases=[Phase.generate],  # no shrinking: findings are recorded, not raised
            suppress_health_check=list(HealthCheck),
        )(given(target.strategy)(case))
    )
    start = time.perf_counter()
    run_cases()
    target.seconds = time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--examples", type=int, default=2000, help="cases per target")
    parser.add_argument("-t", "--targets", default="", help="comma-separated target names")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (reproducible runs)")
    args = parser.parse_args(argv)
    holder: list[Cycles] = []

    def cycles() -> Cycles:
        if not holder:
            holder.append(Cycles())
        return holder[0]

    chosen = [t for t in targets(cycles) if not args.targets or t.name in args.targets.split(",")]
    try:
        for t in chosen:
            run(t, max(1, int(args.examples * t.share)), args.seed)
            status = "ok" if not t.findings else f"{len(t.findings)} finding(s)"
            print(f"{t.name:16} {t.cases:7d} cases {t.seconds:8.1f}s  {status}", flush=True)
    finally:
        if holder:
            holder[0].close()
    total = sum(t.cases for t in chosen)
    found = [(t.name, k, v) for t in chosen for k, v in t.findings.items()]
    print(f"total: {total} cases, {len(found)} finding(s)")
    for name, key, (example, detail) in found:
        print(f"\n[{name}] {key}\n  {detail}\n  example: {example}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
