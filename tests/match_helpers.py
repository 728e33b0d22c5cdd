"""Articles written for the relevance-filter tests (none copied from anywhere), and helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import sqlalchemy as sa

from tests.shared_data import require_shared
from watcher import config, match
from watcher.config import TopicConfig
from watcher.match.evaluate import Record, read_records
from watcher.models import Document
from watcher.store import schema

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config.toml"

ON_TOPIC_LABOUR = Document(
    "Moscow weighs a larger quota for Afghan labour migrants",
    "Russian officials said on Tuesday that the government is studying a request from Kabul to let "
    "more Afghan workers into Russia. At present only a few dozen Afghan citizens receive work "
    "permits under the annual quota. The labour ministry wants a screening system first: migrants "
    "would be vetted before they leave Afghanistan, and employers in the Russian regions would "
    "sponsor each worker. Farm owners in Tatarstan complain of a shortage of hands, and a deputy "
    "in "
    "the State Duma said Afghan migrants could fill seasonal jobs. Security services warned that "
    "without checks the migration of Afghans could bring in radicals. A Russian diplomat said a "
    "bilateral agreement on labour migration is still far away, but talks with the Afghan side "
    "will continue next month in Moscow.",
    "en",
    id="labour",
)
ON_TOPIC_REFUGEES = Document(
    "Afghans stranded in Russia struggle to get refugee status",
    "Hundreds of Afghan nationals who came to Russia to study or work before the fall of Kabul now "
    "ask for temporary asylum, lawyers in Moscow say. Few succeed: the Russian migration service "
    "grants refugee status to a handful of Afghans a year, and many fear deportation once their "
    "visas expire. A charity that helps refugees said Afghan families wait months for an answer, "
    "while Russian courts order the expulsion of those whose permits lapsed. Returning to "
    "Afghanistan, several of them said, would put their lives at risk.",
    "en",
    id="refugees",
)
NEAR_MISS_DIPLOMACY = Document(
    "Kremlin envoy meets Taliban ministers to discuss trade and security",
    "Russia's special envoy held talks in Kabul with Taliban ministers about trade, transit routes "
    "and regional security, the Russian foreign ministry said. Moscow wants to expand exports of "
    "wheat and fuel to Afghanistan and is interested in a railway through Central Asia. The sides "
    "also discussed the threat posed by Islamic State fighters in northern Afghanistan. Russia "
    "removed the Taliban from its list of banned organisations earlier this year and has accepted "
    "an ambassador appointed by the movement. No date was set for the next round of talks in "
    "Moscow.",
    "en",
    id="diplomacy",
)
NEAR_MISS_PAKISTAN = Document(
    "Pakistan steps up deportations of Afghan refugees",
    "Pakistani police detained hundreds of Afghan refugees in Karachi and Islamabad this week as "
    "the "
    "government pressed ahead with its campaign to expel undocumented migrants. Aid agencies said "
    "families who had lived in Pakistan for decades were put on buses to the border at Torkham. "
    "Iran has also deported Afghans in large numbers, and the UN refugee agency warned that "
    "Afghanistan cannot absorb the returnees. Pakistan says the refugees strain its economy; the "
    "Afghan authorities asked Islamabad to slow the expulsions. Diplomats from Russia, China and "
    "Iran discussed the crisis at a regional meeting.",
    "en",
    id="pakistan",
)
NEAR_MISS_CENTRAL_ASIA = Document(
    "Russia tightens rules for Central Asian migrant workers",
    "Russia's parliament passed a law that requires migrant workers from Uzbekistan, Tajikistan "
    "and "
    "Kyrgyzstan to pass a Russian language test and register their fingerprints. Employers who "
    "hire "
    "migrants without permits face larger fines, and the regions may set quotas for foreign "
    "labour. "
    "Officials in Moscow said the measures respond to public concern about migration after a spate "
    "of crimes. Tajik and Uzbek diplomats asked Russia to protect the rights of their citizens, "
    "who "
    "send home remittances worth a third of their economies.",
    "en",
    id="central-asia",
)
NEAR_MISS_EUROPE = Document(
    "Germany resumes deportation flights to Afghanistan",
    "Germany deported a group of Afghan men convicted of crimes on a charter flight to Kabul, the "
    "interior ministry in Berlin said. Refugee groups in Europe criticised the move, saying that "
    "returnees face persecution under the Taliban. Other European Union states, including Austria "
    "and Sweden, are considering similar flights, and the European Commission is drafting common "
    "rules on returns. Afghans are one of the largest groups of asylum seekers in Germany.",
    "en",
    id="europe",
)
RUSSIAN_ON_TOPIC = Document(
    "В России обсуждают привлечение трудовых мигрантов из Афганистана",
    "Российские власти рассматривают возможность привлечения афганских трудовых мигрантов для "
    "работы "
    "в сельском хозяйстве и на стройках. Посол Афганистана в Москве заявил, что Кабул готов "
    "направить в Россию несколько тысяч работников. В МИД России отметили, что сначала нужен "
    "механизм проверки мигрантов и квота на выдачу разрешений на работу. Эксперты считают, что "
    "афганцы могут заменить часть мигрантов из Средней Азии, однако напоминают о рисках для "
    "безопасности. Переговоры о трудовой миграции продолжатся в следующем месяце.",
    None,
    id="ru-labour",
)
RUSSIAN_NEAR_MISS = Document(
    "Делегация талибов прибыла на экономический форум в Казани",
    "Делегация движения «Талибан» во главе с вице-премьером прибыла в Казань на международный "
    "экономический форум. Афганская сторона рассчитывает подписать соглашения о поставках "
    "пшеницы, нефтепродуктов и строительной техники из России. Глава Татарстана провел встречу с "
    "гостями и обсудил развитие торговли и транспортных коридоров через Центральную Азию. "
    "Товарооборот между Россией и Афганистаном за год вырос почти вдвое.",
    None,
    id="ru-diplomacy",
)
TITLE_ONLY_ON_TOPIC = Document("Russia to deport Afghan migrants who overstayed their work permits", "")
TITLE_ONLY_OFF_TOPIC = Document("Kremlin hosts Taliban delegation for talks on trade and security", "")

NEAR_MISSES = (NEAR_MISS_DIPLOMACY, NEAR_MISS_PAKISTAN, NEAR_MISS_CENTRAL_ASIA, NEAR_MISS_EUROPE)


@cache
def shipped_topic() -> TopicConfig:
    """The default topic of the shipped config.toml."""
    return config.load(CONFIG).topics[0]


@cache
def shipped_model() -> match.TopicModel:
    """The shipped topic compiled once for the whole test session (read-only use)."""
    return match.build_model(shipped_topic())


def dev_records() -> list[Record]:
    """The labelled articles of both dev files (``../shared``: skipped without it, failed in CI)."""
    records: list[Record] = []
    for name in ("dev.jsonl", "dev_multilingual.jsonl"):
        path = require_shared("corpus", name)
        records += read_records(path.read_text(encoding="utf-8").splitlines(), str(path))
    return records


def add_entry(engine: sa.Engine, url: str, title: str, text: str, *, seen: datetime | None = None) -> int:
    """Store an entry and its extracted article (as the pipeline would); return the entry id."""
    now = seen or datetime(2025, 1, 15, tzinfo=UTC)
    with engine.begin() as conn:
        feed_id = conn.execute(
            sa.select(schema.feeds.c.id).where(schema.feeds.c.url == "http://127.0.0.1/feed")
        ).scalar()
        if feed_id is None:
            feed_id = conn.execute(
                sa.insert(schema.feeds).values(url="http://127.0.0.1/feed", created_at=now)
            ).inserted_primary_key[0]
        entry_id = conn.execute(
            sa.insert(schema.entries).values(
                feed_id=feed_id, url=url, link=url, title=title, first_seen_at=now
            )
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(schema.articles).values(
                entry_id=entry_id, status="ok", source="trafilatura", title=title, text=text
            )
        )
    return int(entry_id)
