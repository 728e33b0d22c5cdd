"""The review site's guards over real sockets: escaping of strangers' strings (in Chromium), the
token off loopback, the Host check, CSRF tokens, the sandboxed stored copy, the CLI's refusal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.serve_helpers import browser_page, filled, running
from tests.test_digest_hostile import SITE
from watcher import cli
from watcher.store import schema

TOKEN = "t0ken-for-the-tests-0123456789"


def _hostile_feed(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.feeds).values(
                url="https://bad.example/rss",
                name="</td><script>alert(7)</script>",
                source="added",
                failures=9,
                first_failure_at=now - timedelta(days=3),
                last_error="HTTP 500: <iframe src=javascript:alert(8)>\r\nX-Injected: 1",
                created_at=now,
            )
        )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "every page with a form carries the CSRF token"
    return found.group(1)


def test_strangers_strings_stay_text_in_every_page(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    _hostile_feed(engine)
    dialogs: list[str] = []
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in ("/", f"/article/{ids['hostile']}", "/feeds", "/near", "/try", "/digests"):
            page.goto(base + path)
            assert page.locator("script, iframe, img, b").count() == 0, path
            handlers = page.locator("*").evaluate_all(
                "els => els.flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))"
            )
            assert handlers == [], path
            hrefs = page.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
            assert not [h for h in hrefs if h and not h.startswith(("/", "http://", "https://", "?"))]
        page.goto(base + "/")
        card = page.locator(f"#entry-{ids['hostile']}").inner_text()
        assert "<script>alert('title')</script>" in card  # shown as text, not run
        assert SITE.split(">")[0] in card  # the site name too
        assert page.locator(f"#entry-{ids['hostile']} .title a").count() == 0  # javascript: not linked
        page.goto(f"{base}/article/{ids['hostile']}")
        assert "<img src=x onerror=alert(2)>" in page.locator("#text").inner_text()
        page.goto(base + "/feeds")
        assert "<script>alert(7)</script>" in page.locator("#feeds").inner_text()
    assert dialogs == []


def test_stored_copy_is_sandboxed_and_pages_forbid_scripts(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base:
        copy = httpx.get(f"{base}/article/{ids['labour']}/copy")
        page = httpx.get(base + "/")
        missing = httpx.get(f"{base}/article/{ids['off']}/copy")  # no page kept for non-matches
    assert copy.status_code == 200
    assert copy.headers["content-security-policy"].startswith("sandbox")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert missing.status_code == 404


def test_posts_need_the_pages_csrf_token(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base, httpx.Client(base_url=base) as client:
        csrf = _csrf(client.get("/").text)
        form = {"entry_id": str(ids["labour"]), "topic": cfg.topics[0].name, "verdict": "irrelevant"}
        no_token = client.post("/label", data=form)
        wrong = client.post("/label", data={**form, "csrf": csrf[:-2] + "xx"})
        other_site = client.post(
            "/label", data={**form, "csrf": csrf}, headers={"Origin": "http://evil.example"}
        )
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.labels)).scalar() == 0
        good = client.post("/label", data={**form, "csrf": csrf, "next": "//evil.example/x"})
    assert (no_token.status_code, wrong.status_code, other_site.status_code) == (403, 403, 403)
    assert good.status_code == 303
    assert good.headers["location"] == "/"  # an off-site "next" is not followed
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.labels.c.relevant)).scalars().all() == [False]


def test_loopback_server_answers_loopback_names_only(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    with running(cfg, engine) as base:
        rebinding = httpx.get(base + "/", headers={"Host": "evil.example:8765"})
        by_name = httpx.get(base + "/", headers={"Host": "localhost:8765"})
    assert rebinding.status_code == 421
    assert by_name.status_code == 200


def test_token_guards_every_request(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine, token=TOKEN) as base:
        paths = ["/", "/near", f"/article/{ids['labour']}", "/feeds", "/try", "/digests"]
        refused = [httpx.get(base + p).status_code for p in paths]
        wrong = httpx.get(base + "/?token=not-the-token").status_code
        bearer = httpx.get(base + "/feeds", headers={"Authorization": f"Bearer {TOKEN}"})
        post = httpx.post(base + "/label", data={"entry_id": "1", "verdict": "relevant"})
        with httpx.Client(base_url=base) as client:
            first = client.get(f"/near?topic=x&token={TOKEN}")
            then = client.get("/")
    assert refused == [401] * len(paths)
    assert wrong == 401 and post.status_code == 401
    assert bearer.status_code == 200
    assert first.status_code == 303 and first.headers["location"] == "/near?topic=x"  # token dropped
    assert then.status_code == 200  # the cookie it set
    assert "Moscow weighs a larger quota" in then.text


def test_token_in_the_browser(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    with running(cfg, engine, token=TOKEN) as base, browser_page(tmp_path) as page:
        page.goto(f"{base}/?token={TOKEN}")
        assert page.url == base + "/"
        assert page.locator(".item").count() == 4
        page.goto(base + "/near")
        assert page.locator(".item").count() == 2


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndb = "{tmp_path / "w.db"}"\n[[topics]]\nname = "t"\n'
        '[[topics.groups]]\nname = "g"\nterms = ["afghan"]\n' + extra,
        encoding="utf-8",
    )
    return path


def test_serve_refuses_other_addresses_without_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHER_SERVE_TOKEN", raising=False)
    cfg = _config(tmp_path, '[serve]\ntoken_env = "WATCHER_SERVE_TOKEN"\n')
    code = cli.main(["serve", "--config", str(cfg), "--host", "0.0.0.0", "--port", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "refusing to listen on 0.0.0.0 without a token" in err
    assert not (tmp_path / "w.db").exists()  # refused before anything was opened


def test_a_token_is_never_read_from_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path, '[serve]\ntoken = "in-the-file-0123456789"\n')
    assert cli.main(["serve", "--config", str(cfg)]) == 1
    assert "serve.token: tokens are not read from the file" in capsys.readouterr().err


def test_short_tokens_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    assert cli.main(["serve", "--config", str(cfg), "--host", "0.0.0.0", "--token", "abc"]) == 1
    assert "too short" in capsys.readouterr().err
