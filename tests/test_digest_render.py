"""The pure digest: summaries, grouping, ranking, JSON round trip, templates and overrides."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.digest_helpers import OTHER, RUSSIAN, T0, TOPIC, WIRE, stored
from watcher import digest, render, summarize
from watcher.digest import FeedProblem, Health, Stats


def test_summary_keeps_the_most_topical_sentences_in_their_order() -> None:
    text = (
        "The weather in the capital was mild on Tuesday. "
        "Migrants from Afghanistan queued outside the migration office in Russia since dawn. "
        "A football match drew a large crowd. "
        "Officials said Afghan migrants would get permits faster. "
        "The city also opened a new park."
    )
    got = summarize.summarize(text, ["migrants", "Afghan", "Afghanistan", "Russia"], sentences=2)
    assert got == (
        "Migrants from Afghanistan queued outside the migration office in Russia since dawn.",
        "Officials said Afghan migrants would get permits faster.",
    )
    # Without any matching term, the lede wins.
    assert summarize.summarize(text, ["nothing-matches"], sentences=1) == (
        "The weather in the capital was mild on Tuesday.",
    )
    assert summarize.summarize("", ["x"]) == ()
    assert summarize.summarize(text, ["x"], sentences=0) == ()


def test_sentences_split_in_russian_and_around_abbreviations() -> None:
    assert summarize.split_sentences(RUSSIAN) == [
        "Власти Москвы сообщили о новых правилах для трудовых мигрантов из Афганистана.",
        "Теперь для продления патента потребуется экзамен по русскому языку.",
        "По данным министерства, изменения затронут около сорока тысяч человек.",
        "Погода в столице в выходные будет солнечной.",
    ]
    got = summarize.split_sentences(
        "Dr. Smith met U.S. officials in Kabul. They talked «Hello». Next one!"
    )
    assert got == ["Dr. Smith met U.S. officials in Kabul.", "They talked «Hello».", "Next one!"]
    ru = summarize.summarize(RUSSIAN, ["мигрант", "Афганистан"], ["патент"], sentences=2)
    assert ru == (
        "Власти Москвы сообщили о новых правилах для трудовых мигрантов из Афганистана.",
        "Теперь для продления патента потребуется экзамен по русскому языку.",
    )


def test_long_sentences_are_cut_on_a_word() -> None:
    long = "Afghan migrants " + "waited in line and " * 40 + "then left."
    [s] = summarize.summarize(long, ["migrants"], sentences=1)
    assert len(s) <= summarize.MAX_SENTENCE_CHARS + 1 and s.endswith("…") and " " in s


def test_build_groups_by_topic_ranks_by_score_and_lists_the_overflow() -> None:
    other_topic = "Central Asian labour"
    matches = [
        stored(1, "Low story", OTHER, score=0.51, source="A"),
        stored(2, "Top story", WIRE, score=0.95, source="B"),
        stored(3, "Middle story", RUSSIAN, score=0.7, source="C", language="ru"),
        stored(
            4, "Other topic story", OTHER.replace("Kazan", "Tashkent"), topic=other_topic, score=0.8
        ),
    ]
    d = digest.build(
        matches,
        digest_id="d1",
        created_at=T0,
        topics=[other_topic, TOPIC],
        max_items=3,
        summary_sentences=2,
    )
    assert [s.topic for s in d.sections] == [other_topic, TOPIC]  # config order
    main = d.sections[1]
    assert [i.title for i in main.items] == ["Top story", "Middle story"]
    assert [i.title for i in main.more] == ["Low story"]  # over max_items: listed, not dropped
    assert d.count == 4 and sorted(d.match_ids) == [1, 2, 3, 4]
    top = main.items[0]
    assert top.nearest_seed == "seed-a" and top.seed_similarity == 0.5 and len(top.summary) == 2
    assert [g.name for g in top.groups] == ["migration", "place"]


def test_missing_score_details_are_tolerated() -> None:
    m = stored(1, "Bare", WIRE)
    bare = type(m)(
        **{**{f: getattr(m, f) for f in m.__slots__}, "details": {"groups": "not a dict"}}
    )
    [item] = digest.build([bare], digest_id="d", created_at=T0).sections[0].items
    assert item.groups == () and item.nearest_seed is None and item.seed_similarity is None
    assert item.summary  # still summarised (the lede)


def test_digest_round_trips_through_json() -> None:
    d = digest.build(
        [stored(1, "A", WIRE, published=T0 - timedelta(hours=3)), stored(2, "B", OTHER)],
        digest_id="d-rt",
        created_at=T0,
        timezone="Europe/Moscow",
        health=Health(
            failing=(
                FeedProblem("F", "https://f.example/rss", T0 - timedelta(days=2), 5, "timeout"),
            ),
            retired=(FeedProblem("G", "https://g.example/rss", None),),
        ),
        stats=Stats(cycles=3, feeds=7, polls=21, errors=1, new_entries=9, last_cycle_at=T0),
        since=T0 - timedelta(days=1),
    )
    again = digest.from_dict(json.loads(json.dumps(digest.to_dict(d))))
    assert again == d
    env = render.make_env()
    for fmt in ("markdown", "html", "text"):
        assert render.render(env, fmt, again) == render.render(env, fmt, d)


def test_templates_render_every_part() -> None:
    d = digest.build(
        [
            stored(
                1,
                "Permits for Afghan migrants",
                WIRE,
                source="Wire One",
                published=T0 - timedelta(hours=2),
            )
        ],
        digest_id="d-x",
        created_at=T0,
        timezone="Europe/Moscow",
        health=Health(
            failing=(
                FeedProblem(
                    "Down Daily", "https://d.example", T0 - timedelta(days=2), 40, "HTTP 503"
                ),
            )
        ),
        stats=Stats(cycles=2, feeds=5, errors=1, new_entries=3),
    )
    env = render.make_env()
    md = render.render(env, "markdown", d)
    assert "# watcher digest — 2025-03-14" in md
    assert "### [Permits for Afghan migrants](https://wireone.example/1)" in md
    assert "**Wire One** · 2025-03-14 07:00 · en · score 0.70" in md  # Moscow time
    assert "*Why:* **migration**: migrants, labour migrants" in md
    assert "Failing since 2025-03-12 09:00: Down Daily — 40 failures, last error: HTTP 503" in md
    assert "5 feeds polled (2 cycles), 1 error, 3 new articles read." in md
    text = render.render(env, "text", d)
    assert "* Permits for Afghan migrants\n  Wire One · 2025-03-14 07:00 · en · score 0.70" in text
    html = render.render(env, "html", d)
    assert '<a href="https://wireone.example/1"' in html and "Down Daily" in html
    atom = render.render(env, "atom", d)
    assert "<title>Permits for Afghan migrants</title>" in atom
    assert json.loads(render.render(env, "json", d))["id"] == "d-x"
    with pytest.raises(ValueError):
        render.render(env, "pdf", d)


def test_user_templates_override_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text(
        "CUSTOM {{ date }}{% for s in sections %}{% for i in s.items %} {{ i.title|md }}"
        "{% endfor %}{% endfor %}\n",
        encoding="utf-8",
    )
    d = digest.build([stored(1, "A *starred* title", WIRE)], digest_id="d", created_at=T0)
    env = render.make_env(tmp_path)
    assert render.render(env, "markdown", d) == "CUSTOM 2025-03-14 A \\*starred\\* title"
    assert render.render(env, "text", d).startswith("watcher digest — 2025-03-14")  # bundled one


def test_subject() -> None:
    d = digest.build(
        [
            stored(1, "Low", OTHER, score=0.5),
            stored(2, "High story\r\nwith a break", WIRE, score=0.9),
        ],
        digest_id="d",
        created_at=T0,
    )
    assert render.subject(d, "watcher {date}: {count} new — {top}") == (
        "watcher 2025-03-14: 2 new — High story with a break"
    )
    assert render.subject(d, "{nope} {0}") == "watcher digest 2025-03-14: 2 new"  # a bad template
    empty = digest.build([], digest_id="e", created_at=T0, stats=Stats(feeds=1, errors=0))
    assert render.subject(empty, "x") == "watcher 2025-03-14: nothing new (1 feed polled, 0 errors)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[a](javascript:x)", "\\[a\\]\\(javascript\\:x\\)"),
        ("![i](http://e/x.png)", "\\!\\[i\\]\\(http\\://e/x.png\\)"),
        ("<b>*x*_y_`z`</b>", "\\<b\\>\\*x\\*\\_y\\_\\`z\\`\\</b\\>"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list"),
        ("- not a list", "\\- not a list"),
        ("line\r\nbreak\x1b[31m", "line break \\[31m"),
        ("plain words, Москва", "plain words, Москва"),
    ],
)
def test_md_escape(text: str, expected: str) -> None:
    assert render.md_escape(text) == expected


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://news.example/a?b=1&c=(2)", True),
        ("http://news.example/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//news.example/a", False),
        ("https://news.example/a b", False),
        ("https://news.example/\r\nx", False),
        ("file:///etc/passwd", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert (digest.safe_url(url) == url) is ok
    assert (digest.safe_url(url) == "") is not ok
    if ok:
        assert "(" not in render.md_url(url) and ")" not in render.md_url(url)
