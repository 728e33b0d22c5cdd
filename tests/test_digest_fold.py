"""Syndicated copies: near-duplicates folded into one item led by the first source; follow-ups."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.digest_helpers import (
    OTHER,
    RUSSIAN,
    T0,
    WIRE,
    WIRE_REWRITE,
    make_config,
    make_db,
    stored,
)
from watcher import digest, fold, outbox, render
from watcher.store import schema

RUSSIAN_COPY = RUSSIAN.replace(
    "Власти Москвы сообщили", "Как сообщили власти Москвы, введены"
).replace("Погода в столице в выходные будет солнечной.", "Подробности будут объявлены позже.")
# The same event, written up independently: shared facts, different words.
SAME_EVENT = (
    "Afghan workers in Russia face stricter checks from April. Under a decree signed this week, "
    "anyone renewing a permit must pass an exam in Russian and show a health certificate. Around "
    "40,000 people are affected, according to official estimates. Lawyers expect queues at "
    "migration centres and say some workers may fall out of status."
)


def test_light_rewrites_cluster_and_different_stories_do_not() -> None:
    texts = [WIRE, OTHER, WIRE_REWRITE, RUSSIAN, SAME_EVENT, RUSSIAN_COPY, ""]
    groups = fold.clusters(texts)
    assert sorted(map(sorted, groups)) == [[0, 2], [1], [3, 5], [4], [6]]
    # The estimate agrees with the exact Jaccard similarity of the shingles.
    a, b = fold.shingles(WIRE), fold.shingles(WIRE_REWRITE)
    exact = len(a & b) / len(a | b)
    assert abs(fold.signature(WIRE).jaccard(fold.signature(WIRE_REWRITE)) - exact) < 0.15
    assert exact > fold.THRESHOLD
    same_event = len(a & fold.shingles(SAME_EVENT)) / len(a | fold.shingles(SAME_EVENT))
    assert same_event < 0.1
    assert fold.fingerprint(WIRE) == fold.fingerprint(WIRE) != fold.fingerprint(OTHER)


def test_folded_item_is_led_by_the_first_source_with_the_others_listed() -> None:
    matches = [
        stored(
            1,
            "Rewrite on a later site",
            WIRE_REWRITE,
            source="Daily Echo",
            score=0.9,
            published=T0 - timedelta(hours=2),
        ),
        stored(
            2,
            "Original wire story",
            WIRE,
            source="Wire One",
            score=0.7,
            published=T0 - timedelta(hours=6),
        ),
        stored(
            3,
            "Third copy",
            WIRE + " Extra closing line.",
            source="Volga Post",
            score=0.6,
            published=T0 - timedelta(hours=1),
        ),
        stored(4, "Unrelated", OTHER, source="Kazan Daily", score=0.8),
    ]
    d = digest.build(matches, digest_id="d", created_at=T0)
    [section] = d.sections
    lead = section.items[0]
    assert lead.title == "Original wire story" and lead.source == "Wire One"
    assert lead.score == 0.9  # the cluster ranks by its best copy
    assert [(c.source, c.time) for c in lead.also] == [
        ("Daily Echo", T0 - timedelta(hours=2)),
        ("Volga Post", T0 - timedelta(hours=1)),
    ]
    assert [i.title for i in section.items] == ["Original wire story", "Unrelated"]
    assert sorted(d.match_ids) == [1, 2, 3, 4] and d.count == 2
    md = render.render(render.make_env(), "markdown", d)
    assert (
        "*Also reported by:* [Daily Echo](https://dailyecho.example/1) (2025-03-14 04:00), " in md
    )
    assert "Rewrite on a later site" not in md
    text = render.render(render.make_env(), "text", d)
    assert "Also reported by: Daily Echo (2025-03-14 04:00), Volga Post (2025-03-14 05:00)" in text


def test_without_published_dates_first_seen_decides() -> None:
    matches = [
        stored(1, "Seen second", WIRE_REWRITE, source="B", first_seen=T0 - timedelta(hours=1)),
        stored(2, "Seen first", WIRE, source="A", first_seen=T0 - timedelta(hours=3)),
    ]
    [item] = digest.build(matches, digest_id="d", created_at=T0).sections[0].items
    assert item.title == "Seen first" and [c.source for c in item.also] == ["B"]


def test_copies_of_a_story_already_sent_are_follow_ups_not_news(tmp_path: Path) -> None:
    db = make_db(tmp_path)
    first = db.match(
        "Russia tightens permits", WIRE, site="Wire One", published=T0 - timedelta(hours=9)
    )
    cfg = make_config(tmp_path, db)
    day1 = outbox.send_digest(cfg, db.engine, now=T0, environ={})
    assert day1.status == "sent" and day1.items == 1

    late = db.match(
        "Permit rules tightened",
        WIRE_REWRITE,
        site="Late Herald",
        matched_at=T0 + timedelta(hours=5),
        published=T0 + timedelta(hours=4),
    )
    fresh = db.match(
        "Afghan students arrive in Kazan",
        OTHER,
        site="Volga Post",
        matched_at=T0 + timedelta(hours=5),
    )
    day2 = outbox.send_digest(cfg, db.engine, now=T0 + timedelta(days=1), environ={})
    assert day2.status == "sent" and day2.items == 2 and day2.matches == 2
    md = (tmp_path / "digests" / "2025-03-15.md").read_text(encoding="utf-8")
    head, follow = md.split("### Follow-ups of stories already sent")
    assert "Afghan students arrive in Kazan" in head and "Permit rules tightened" not in head
    assert "[Permit rules tightened](https://lateherald.example/story/2) — Late Herald" in follow
    assert "a copy of “Russia tightens permits” (Wire One" in follow
    ids = {
        r.id: r.digest_id
        for r in db.rows(sa.select(schema.matches.c.id, schema.matches.c.digest_id))
    }
    assert ids[first] == day1.digest_id and ids[late] == ids[fresh] == day2.digest_id


def test_many_stories_with_light_rewrites_fold_exactly() -> None:
    rng = random.Random(7)
    vocab = [
        "".join(rng.choice("abcdefghiklmnoprstuvy") for _ in range(rng.randint(3, 9)))
        for _ in range(400)
    ]
    sentences = [
        " ".join(rng.choice(vocab) for _ in range(rng.randint(9, 16))).capitalize() + "."
        for _ in range(300)
    ]
    stories = [rng.sample(sentences, 8) for _ in range(25)]
    texts: list[str] = []
    expected: list[list[int]] = []
    for story in stories:
        copies = [" ".join(story)]
        for _ in range(rng.randint(0, 3)):  # a copy: one sentence dropped, one word changed
            s = list(story)
            del s[rng.randrange(len(s))]
            words = s[0].split()
            words[rng.randrange(len(words))] = rng.choice(vocab)
            s[0] = " ".join(words)
            copies.append(" ".join(s))
        expected.append(list(range(len(texts), len(texts) + len(copies))))
        texts.extend(copies)
    order = list(range(len(texts)))
    rng.shuffle(order)
    got = fold.clusters([texts[i] for i in order])
    assert sorted(sorted(order[i] for i in g) for g in got) == sorted(expected)
