"""The review site in a real browser: Debian's Chromium (Playwright) against uvicorn on 127.0.0.1
over a real SQLite file.  Each test clicks what an analyst clicks and checks the page and the store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.security_helpers import rss_doc
from tests.serve_helpers import browser_page, filled, running
from tests.server import Server
from watcher import outbox
from watcher.store import schema


def _ids(page: Any) -> list[int]:
    return [int(x) for x in page.locator(".item").evaluate_all("els => els.map(e => e.dataset.entry)")]


def _match_ids(engine: sa.Engine) -> set[int]:
    with engine.connect() as conn:
        return {int(e) for (e,) in conn.execute(sa.select(schema.matches.c.entry_id))}


def _label(engine: sa.Engine, entry_id: int) -> bool | None:
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(schema.labels.c.relevant).where(schema.labels.c.entry_id == entry_id)
        ).scalar()
    return None if value is None else bool(value)


def test_matches_page_lists_matches_and_not_relevant_makes_one_leave(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/")
        shown = _ids(page)
        # matches only, newest first: the hostile one was recorded an hour after the others
        assert shown[0] == ids["hostile"]
        assert set(shown) == {ids["labour"], ids["refugees"], ids["ru"], ids["hostile"]}
        card = page.locator(f"#entry-{ids['labour']}")
        assert "Moscow weighs a larger quota" in card.inner_text()
        assert "Why:" in card.inner_text() and "Test Wire" in card.inner_text()

        card.get_by_role("button", name="not relevant").click()
        page.wait_for_load_state()
        assert ids["labour"] not in _ids(page)
        effect = page.locator("#effect").inner_text()
        assert "labelled not relevant" in effect and "it leaves the matches" in effect
        assert "new score" in effect
        assert "rescore --dry-run" in effect and f"{len(ids)} stored articles re-scored" in effect
        assert _label(engine, ids["labour"]) is False
        assert ids["labour"] not in _match_ids(engine)  # unsent: dropped, as rescore would

        page.reload()  # the effect is shown once
        assert page.locator("#effect").count() == 0


def test_filters_narrow_the_matches(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/")
        page.select_option("select[name=language]", "ru")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_load_state()
        assert _ids(page) == [ids["ru"]]
        assert "language=ru" in page.url

        page.goto(base + "/?min_score=0.99")
        with engine.connect() as conn:
            high = {
                int(e)
                for (e,) in conn.execute(
                    sa.select(schema.matches.c.entry_id).where(schema.matches.c.score >= 0.99)
                )
            }
        assert set(_ids(page)) == high
        page.goto(base + "/?to=2000-01-01")
        assert _ids(page) == []
        assert "No matches with these filters" in page.content()


def test_near_miss_labelled_relevant_joins_the_matches_and_the_next_digest(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/near")
        near = _ids(page)
        assert set(near) == {ids["near_queue"], ids["near_quota"]}  # not the matches, not off-topic
        card = page.locator(f"#entry-{ids['near_quota']}")
        assert "Lacked:" in card.inner_text() and "thin “russia”" in card.inner_text()

        card.get_by_role("button", name="relevant", exact=True).click()
        page.wait_for_load_state()
        assert "/near" in page.url
        assert ids["near_quota"] not in _ids(page)
        assert "it joins the matches and the next digest" in page.locator("#effect").inner_text()

        page.goto(base + "/")
        assert ids["near_quota"] in _ids(page)
        assert "next digest" in page.locator(f"#entry-{ids['near_quota']}").inner_text()
    with engine.connect() as conn:
        digest_id = conn.execute(
            sa.select(schema.matches.c.digest_id).where(schema.matches.c.entry_id == ids["near_quota"])
        ).one()
    assert digest_id == (None,)  # unclaimed: the next digest takes it
    assert _label(engine, ids["near_quota"]) is True


def test_article_page_highlights_terms_and_shows_the_evidence(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(f"{base}/article/{ids['labour']}")
        marked = {m.lower() for m in page.locator("#text mark").all_inner_texts()}
        assert {"afghan", "migrants", "moscow"} <= marked
        text = page.locator("dl.ev").inner_text()
        for label in ("fetched at", "first seen", "published", "page hash", "extractor"):
            assert label in text
        assert "sha256 " in text and "test" in text
        page.click("text=stored copy")
        assert "the page as fetched" in page.content()
        assert page.locator("a", has_text="original").count() == 0  # we left the article page


def test_feeds_page_adds_a_feed_found_on_a_page_and_disables_it(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    feeds = Server().start()
    try:
        feed_url = feeds.route(
            "/rss.xml",
            rss_doc("Local Wire", [("Story", feeds.url("/a"), "text")]),
            headers={"Content-Type": "application/rss+xml"},
        )
        home = feeds.route(
            "/", f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed_url}">'
            "</head><body>home</body></html>",
        )  # fmt: skip
        with running(cfg, engine) as base, browser_page(tmp_path) as page:
            page.goto(base + "/feeds")
            page.fill("input[name=url]", home)
            page.get_by_role("button", name="Add feed").click()
            page.wait_for_load_state()
            assert f"added {feed_url} (found on {home}): Local Wire" in page.locator("#effect").inner_text()
            row = page.locator(f"tr[data-url='{feed_url}']")
            assert "Local Wire" in row.inner_text() and "new" in row.inner_text()

            row.get_by_role("button", name="disable").click()
            page.wait_for_load_state()
            assert "disabled" in page.locator(f"tr[data-url='{feed_url}'] .status").inner_text()
        assert feeds.hits("/") == 1 and feeds.hits("/rss.xml") == 1
    finally:
        feeds.stop()
    with engine.connect() as conn:
        enabled = conn.execute(
            sa.select(schema.feeds.c.enabled).where(schema.feeds.c.url == feed_url)
        ).scalar()
    assert enabled is False


def test_the_address_guard_refuses_loopback_unless_the_config_allows_it(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    guarded = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, allow_networks=()))
    feeds = Server().start()
    try:
        rss = {"Content-Type": "application/rss+xml"}
        url = feeds.route("/rss.xml", rss_doc("Local Wire", []), headers=rss)
        with running(guarded, engine) as base, browser_page(tmp_path) as page:
            page.goto(base + "/feeds")
            page.fill("input[name=url]", url)
            page.get_by_role("button", name="Add feed").click()
            page.wait_for_load_state()
            effect = page.locator("#effect")
            assert "failed" in (effect.get_attribute("class") or "")
            assert "cannot add" in effect.inner_text() and "127.0.0.1" in effect.inner_text()

            page.goto(base + "/try")
            page.fill("textarea[name=source]", url)
            page.get_by_role("button", name="Score it").click()
            page.wait_for_load_state()
            assert "127.0.0.1" in page.locator("#failure").inner_text()
        assert feeds.hits("/rss.xml") == 0  # refused before any connection
    finally:
        feeds.stop()


def test_try_the_topic_scores_pasted_text_with_its_reasons(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/try")
        page.fill(
            "textarea[name=source]",
            "Afghan migrants queue for Russian work permits\nHundreds of Afghan migrants waited at "
            "the migration office in Moscow for work permits, officials in Russia said.",
        )
        page.get_by_role("button", name="Score it").click()
        page.wait_for_load_state()
        trial = page.locator("#trial").inner_text()
        assert "MATCH" in trial and "keywords:" in trial and "similarity:" in trial
        page.fill("textarea[name=source]", "Kazan opens a tram line\nTrams will run every seven minutes.")
        page.get_by_role("button", name="Score it").click()
        page.wait_for_load_state()
        assert "no match" in page.locator("#trial").inner_text()


def test_digests_page_lists_and_opens_a_digest(tmp_path: Path) -> None:
    cfg, engine, _ = filled(tmp_path)
    outbox.send_digest(cfg, engine, now=datetime.now(UTC), environ={})
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/digests")
        rows = page.locator("#digests tr")
        assert rows.count() == 2  # header + the digest
        page.click("#digests >> text=open")
        assert "Moscow weighs a larger quota" in page.content()


def test_a_sent_match_labelled_not_relevant_keeps_its_digest_and_is_hidden(tmp_path: Path) -> None:
    cfg, engine, ids = filled(tmp_path)
    outbox.send_digest(cfg, engine, now=datetime.now(UTC), environ={})
    with running(cfg, engine) as base, browser_page(tmp_path) as page:
        page.goto(base + "/")
        card = page.locator(f"#entry-{ids['refugees']}")
        assert "sent" in card.inner_text()
        card.get_by_role("button", name="not relevant").click()
        page.wait_for_load_state()
        assert "it stays in its digest (already sent)" in page.locator("#effect").inner_text()
        assert ids["refugees"] not in _ids(page)
        page.check("input[name=labelled]")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_load_state()
        assert ids["refugees"] in _ids(page)
        assert "labelled not relevant" in page.locator(f"#entry-{ids['refugees']}").inner_text()

        page.goto(base + "/near")  # a near miss judged not relevant leaves the near misses
        page.locator(f"#entry-{ids['near_queue']}").get_by_role("button", name="not relevant").click()
        page.wait_for_load_state()
        assert "it stays out of the matches" in page.locator("#effect").inner_text()
        assert _ids(page) == [ids["near_quota"]]
    assert ids["refugees"] in _match_ids(engine) and ids["near_queue"] not in _match_ids(engine)
