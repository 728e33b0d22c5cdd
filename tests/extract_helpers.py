"""Hand-written article pages, a faulty extractor for the pool's fault tests, shingle scoring."""

from __future__ import annotations

import ctypes
import os
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from watcher.config import ExtractConfig
from watcher.extract import extract_article
from watcher.models import Article

NAV = ["Home", "World", "Business", "Technology", "Opinion", "Sport", "Weather", "Subscribe"]
FOOTER = "Copyright 2024 The Harbour Courier. All rights reserved. Privacy policy. Contact us."
SIDEBAR = [
    "Most read: Ten gardening mistakes to avoid this spring",
    "Most read: Local bakery wins regional bread award",
    "Most read: What the new parking rules mean for you",
]

EN_TITLE = "Night ferry returns to the northern islands after a two-year pause"
EN_PARAGRAPHS = [
    "The overnight ferry linking the mainland port of Greyhaven with the three northern islands "
    "sailed again on Monday evening, ending a two-year suspension that islanders said had left "
    "them cut off from hospitals, markets and family.",
    "The restored service runs four nights a week. A refitted vessel, the Morning Tern, carries up "
    "to 240 passengers and 40 vehicles, and the operator says it has added a cold-storage deck so "
    "that fishermen can send their catch south without waiting for the weekly freight boat.",
    "Margit Olsen, who runs a guesthouse on the largest island, said the pause had halved her "
    'bookings. "People simply stopped coming," she said. "A ferry is not a luxury here. It is '
    'the road." She added that several families had moved to the mainland during the gap.',
    "The regional council blamed the suspension on a shortage of certified engineers and on the "
    "cost of repairing the previous ship, which failed an inspection in the spring of 2022. The "
    "council's transport committee approved a ten-year contract with a new operator in March.",
    "Fares have risen by about twelve per cent compared with the old timetable, although residents "
    "of the islands keep a discount of one third. Students and patients travelling for hospital "
    "appointments will sail free of charge under a scheme funded by the regional health board.",
    "Critics say the contract leaves the islands exposed again if the single vessel breaks down. "
    "The operator replied that a chartered reserve ship can be brought in within 72 hours, and "
    "that a second vessel is planned once passenger numbers recover to their former level.",
]


def english_page(charset_meta: str = "utf-8") -> str:
    """A news page: navigation, a headline, a byline, six paragraphs, a sidebar and a footer."""
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    side = "".join(f'<li><a href="/story/{i}">{s}</a></li>' for i, s in enumerate(SIDEBAR))
    body = "".join(f"<p>{p}</p>" for p in EN_PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head>
<meta charset="{charset_meta}">
<title>{EN_TITLE} | The Harbour Courier</title>
<meta property="og:title" content="{EN_TITLE}">
<meta property="og:site_name" content="The Harbour Courier">
<meta name="author" content="Elena Marsh">
<meta property="article:published_time" content="2024-03-18T21:40:00+01:00">
<link rel="canonical" href="https://courier.example/news/night-ferry-returns">
</head><body>
<header><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{EN_TITLE}</h1>
<p class="byline">By Elena Marsh</p>
{body}
</article>
<aside><h2>Most read</h2><ul>{side}</ul></aside></main>
<footer><p>{FOOTER}</p></footer>
</body></html>"""


RU_TITLE = "В Заречном открыли центр помощи приезжим работникам"
RU_PARAGRAPHS = [
    "В городе Заречном в понедельник начал работу центр помощи приезжим работникам. Здесь можно "
    "получить консультацию юриста, записаться на курсы русского языка и узнать, как оформить "
    "медицинский полис.",
    "По словам директора центра Ольги Семёновой, за первые два дня сюда обратились более ста "
    "человек. Чаще всего спрашивали о продлении разрешения на работу и о том, куда обращаться, "
    "если работодатель задерживает зарплату.",
    "Центр разместился в бывшем здании почты на улице Садовой. Городская администрация выделила "
    "помещение бесплатно, а ремонт оплатили местные предприятия, которым не хватает рабочих рук "
    "на стройках и в теплицах.",
    "«Люди приезжают издалека и часто не знают, с чего начать. Мы хотим, чтобы первый шаг был "
    "простым», — рассказала Семёнова. Консультации проводятся бесплатно, в том числе на таджикском "
    "и узбекском языках.",
    "В администрации отмечают, что в прошлом году в Заречный приехали около двух тысяч работников "
    "из других регионов и стран. Если опыт центра окажется удачным, такие же отделения откроют в "
    "соседних районных городах.",
]
RU_NAV = ["Главная", "Новости", "Экономика", "Спорт", "Погода", "Афиша"]
RU_FOOTER = "© 2024 Заречные вести. Все права защищены. Перепечатка только со ссылкой."


def russian_page(meta_charset: str | None = "utf-8") -> str:
    """A Russian regional news page; meta_charset=None leaves the charset undeclared."""
    nav = "".join(f'<li><a href="/r{i}">{n}</a></li>' for i, n in enumerate(RU_NAV))
    body = "".join(f"<p>{p}</p>" for p in RU_PARAGRAPHS)
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}">'
    return f"""<html lang="ru"><head>
{meta if meta_charset else ""}
<title>{RU_TITLE} — Заречные вести</title>
<meta property="og:site_name" content="Заречные вести">
<meta name="author" content="Пётр Васильев">
<meta name="date" content="2024-05-06">
</head><body>
<div class="menu"><ul>{nav}</ul></div>
<div class="content"><article><h1>{RU_TITLE}</h1>{body}</article></div>
<div class="footer">{RU_FOOTER}</div>
</body></html>"""


def slow_page(blocks: int) -> bytes:
    """A page that is within the size limits but takes trafilatura seconds to work through."""
    cells = "".join(
        f"<div class='c{i % 50}'><p>word {i} <a href='/x{i}'>link</a> more words here.</p></div>"
        for i in range(blocks)
    )
    return f"<html><body>{cells}</body></html>".encode()


def faulty_extract(
    html: bytes,
    url: str,
    *,
    cfg: ExtractConfig,
    content_type: str | None = None,
    dated: bool = False,
) -> Article:
    """extract_article, except for test URLs that hang, crash, or crash once (?marker=FILE)."""
    path = urlsplit(url).path
    if path.startswith("/hang"):
        time.sleep(3600)
    if path.startswith("/sleep"):
        time.sleep(float(parse_qs(urlsplit(url).query)["s"][0]))
    if path.startswith("/crash"):
        os._exit(7)
    if path.startswith("/segfault"):
        import resource  # POSIX only, like the segfault itself

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file left behind
        ctypes.string_at(0)  # SIGSEGV: a real crash in native code
    if path.startswith("/raise"):
        raise ValueError("extractor bug")
    if path.startswith("/stall"):  # once: say which worker holds the page, then wait to be killed
        marker = Path(parse_qs(urlsplit(url).query)["marker"][0])
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(3600)
    if path.startswith("/flaky"):
        marker = Path(parse_qs(urlsplit(url).query)["marker"][0])
        if not marker.exists():
            marker.write_text("crashed once")
            os._exit(9)
    return extract_article(html, url, cfg=cfg, content_type=content_type, dated=dated)


_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Overlapping n-token shingles of the word tokens, with repeats counted."""
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + n]) for i in range(max(0, len(tokens) - n + 1)))


def page_scores(predicted: str, truth: str) -> tuple[float, float, float]:
    """(tp, fp, fn) shingle counts of one page over their sum, so every page weighs the same."""
    p, t = shingles(predicted), shingles(truth)
    tp, fp, fn = sum((p & t).values()), sum((p - t).values()), sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (1.0, 0.0, 0.0)


def precision_recall_f1(scores: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Pool the per-page shares, then P, R and F1 as the Zyte benchmark computes them."""
    tp = sum(s[0] for s in scores)
    fp = sum(s[1] for s in scores)
    fn = sum(s[2] for s in scores)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def alive(pid: int) -> bool:
    """Whether a process with this id exists (a worker or helper that should have been stopped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def echo_extract(
    html: bytes,
    url: str,
    *,
    cfg: ExtractConfig,
    content_type: str | None = None,
    dated: bool = False,
) -> Article:
    """What the worker was handed, as text: the page's SHA-256 and length, the URL, the content
    type and the date flag (the pool's wire tests)."""
    import hashlib

    text = f"{hashlib.sha256(html).hexdigest()} {len(html)} {url} {content_type} {dated}"
    return Article(url=url, title="", text=text, source="echo", extractor_version="", status="ok")
