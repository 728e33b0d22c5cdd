"""Issue 16: an entry's language is guessed only for the entries that stand on the feed's own text
(their page would not extract), from the same title and text as before, not for every entry parsed."""

from __future__ import annotations

from watcher.fallback import fallback_article
from watcher.feeds import parse_feed

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Mixed</title><link>http://127.0.0.1/</link>
<item><title>Мигранты из Афганистана</title><link>http://127.0.0.1/ru</link>
<description>Власти обсуждают новые правила для трудовых мигрантов, которые приезжают
в Россию из Афганистана и других стран Центральной Азии.</description></item>
<item><title>Council budget</title><link>http://127.0.0.1/en</link>
<description>The city council debated the new budget for schools and roads late into
the night, and the vote was postponed until next week.</description></item>
</channel></rss>""".encode()


def test_entries_carry_no_guess_and_the_fallback_guesses_from_their_text() -> None:
    parsed = parse_feed(RSS, url="http://127.0.0.1/feed.xml", content_type="application/rss+xml")
    ru, en = parsed.entries
    assert ru.language is None and en.language is None  # nothing spent on entries that extract
    assert fallback_article(ru, "page did not extract").language == "ru"
    assert fallback_article(en, "page did not extract").language == "en"
