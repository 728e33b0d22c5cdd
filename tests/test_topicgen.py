"""``watcher topic new``: a topic proposed from two sample articles written for these tests finds
their siblings in other languages, leaves near misses out, and is the same every time (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.server import Server
from watcher import config as config_mod
from watcher import lexicon, match
from watcher.cli import main
from watcher.models import Document
from watcher.topicgen import topic_toml
from watcher.topicgen.forms import name_forms, to_cyrillic

DATA = Path(__file__).parent / "topicgen_data"
SEEDS = [DATA / "seed_floods_a.txt", DATA / "seed_floods_b.txt"]

# Siblings: the same story told in other languages (written for this test).
SIBLINGS = {
    "ru": (
        "Паводки на юге Киргизии: затоплены сотни домов",
        "Сильные дожди вызвали наводнение и сели в Баткенской области Киргизии. Спасатели эвакуировали "
        "жителей нескольких сёл, размыты дороги и мосты. Президент Жапаров пообещал компенсации "
        "пострадавшим семьям. По данным МЧС, это самое сильное наводнение в регионе за двадцать лет.",
    ),
    "fr": (
        "Inondations meurtrières dans le sud du Kirghizstan",
        "Des pluies torrentielles ont provoqué des inondations et des coulées de boue dans la région de "
        "Batken, au Kirghizstan. Des centaines de maisons ont été inondées et plusieurs ponts emportés. "
        "Les secours ont évacué des milliers d'habitants, selon le ministère des situations d'urgence.",
    ),
    "de": (
        "Hochwasser verwüstet Dörfer in Kirgisistan",
        "Nach tagelangem Starkregen hat ein Hochwasser im Süden Kirgisistans hunderte Häuser zerstört. "
        "In der Region Batken rissen Muren Straßen und Brücken weg; tausende Bewohner mussten ihre "
        "Dörfer verlassen. Die Regierung in Bischkek schätzt den Schaden auf 40 Millionen Dollar.",
    ),
    "zh": (
        "吉尔吉斯斯坦南部暴雨引发洪水",
        "吉尔吉斯斯坦紧急情况部说，连日暴雨在巴特肯州引发洪水和泥石流，数百所房屋被淹，多座桥梁被冲毁，"
        "两千多名居民已经撤离。总统扎帕罗夫承诺向受灾家庭提供补偿。",
    ),
}
# Near misses: the same place without the subject, the same subject elsewhere.
NEAR_MISSES = {
    "election in the same country": (
        "Kyrgyzstan votes in early parliamentary election",
        "Voters in Kyrgyzstan chose a new parliament on Sunday. President Sadyr Japarov said the vote "
        "was calm; the electoral commission put turnout at 37 percent. Observers from the OSCE will "
        "publish their report next week. Kyrgyzstan's parliament has 90 seats.",
    ),
    "floods next door (ru)": (
        "Наводнение в Казахстане: эвакуированы жители Актюбинской области",
        "Паводок в Казахстане затопил сотни домов в Актюбинской и Западно-Казахстанской областях. "
        "В Казахстане эвакуированы тысячи человек, власти Казахстана объявили режим ЧС. В соседней "
        "Киргизии дожди тоже шли, но обошлось без ущерба. Казахстан просит помощи у соседей.",
    ),
    "floods far away (fr)": (
        "Inondations au Pakistan : des milliers de sinistrés",
        "Les inondations provoquées par la mousson ont touché le Pakistan, où des milliers de familles "
        "ont été évacuées. Au Pakistan, les routes et les ponts sont coupés dans la province du Sindh.",
    ),
}


def _model(tmp_path: Path) -> match.TopicModel:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(topic_toml("floods", [str(s) for s in SEEDS]), encoding="utf-8")
    cfg = config_mod.load(cfg_path)
    return match.build_model(cfg.topic("floods"))


def test_siblings_in_other_languages_match_and_near_misses_do_not(tmp_path: Path) -> None:
    model = _model(tmp_path)
    threshold = model.topic.threshold
    for lang, (title, text) in SIBLINGS.items():
        score = model.score(Document(title=title, text=text, language=lang))
        assert score.score >= threshold, (lang, score.groups)
        assert score.groups["kyrgyzstan"] and score.groups["flood"], lang  # explained by concept
    for what, (title, text) in NEAR_MISSES.items():
        score = model.score(Document(title=title, text=text))
        assert score.score < threshold, (what, score.score, score.groups)


def test_proposal_requires_place_and_subject_and_names_its_sources() -> None:
    block = topic_toml("floods", [str(s) for s in SEEDS])
    topic = tomllib.loads(block)["topics"][0]
    groups = {g["name"]: g for g in topic["groups"]}
    assert [n for n, g in groups.items() if g.get("required", not g.get("contrast"))] == [
        "kyrgyzstan",
        "flood",
    ]
    assert groups["elsewhere"]["contrast"] == "kyrgyzstan"
    # the names both seeds share join the place, with a Cyrillic form
    assert {"batken*", "баткен*", "japarov*"} <= set(groups["kyrgyzstan"]["terms"])
    # the subject in many languages, from the lexicon, and no country the seeds name is a contrast
    assert {"ru:наводнение", "fr:inondation", "de:hochwasser", "洪水"} <= set(groups["flood"]["terms"])
    assert "kyrgyzstan*" not in groups["elsewhere"]["terms"]
    assert "# required: flood" in block and "lexicon concepts: kyrgyzstan" in block


def test_same_seeds_give_a_byte_identical_topic_in_fresh_processes(tmp_path: Path) -> None:
    code = (
        "import sys; from watcher.topicgen import topic_toml; sys.stdout.write(topic_toml('t', sys.argv[1:]))"
    )
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", code, *map(str, SEEDS)], capture_output=True, env=env, check=True
        )
        outs.append(run.stdout)
    assert outs[0] == outs[1] and outs[0].startswith(b"# Topic 't'")


def test_topic_new_writes_between_the_markers_and_copies_the_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[http]\n\n# --- topics: begin\n# --- topics: end\n\n[extract]\n", encoding="utf-8")
    args = ["topic", "new", "floods", "--config", str(cfg), *[a for s in SEEDS for a in ("--seed", str(s))]]
    assert main([*args, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Topic 'floods'") and "[[topics]]" in printed
    assert "floods" not in cfg.read_text(encoding="utf-8") and not (tmp_path / "seeds").exists()

    assert main(args) == 0
    text = cfg.read_text(encoding="utf-8")
    assert text.index("# --- topics: begin") < text.index('name = "floods"') < text.index("# --- topics: end")
    assert (tmp_path / "seeds" / "floods" / "seed_floods_a.txt").read_bytes() == SEEDS[0].read_bytes()
    topic = config_mod.load(cfg).topic("floods")
    assert [Path(s).name for s in topic.seeds] == ["seed_floods_a.txt", "seed_floods_b.txt"]

    assert main(args) == 1  # the name is taken: one clear line, nothing changed
    assert "has a topic 'floods' already" in capsys.readouterr().err
    assert cfg.read_text(encoding="utf-8") == text


def test_topic_new_reports_an_unreadable_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    missing = tmp_path / "nope.txt"
    assert main(["topic", "new", "x", "--config", str(cfg), "--seed", str(missing)]) == 1
    assert f"seed {missing}: cannot read" in capsys.readouterr().err
    assert not cfg.exists()


def test_every_subject_concept_speaks_25_languages_and_places_come_with_cities() -> None:
    concepts = lexicon.load()
    subjects = [c for c in concepts.values() if c.kind == "subject"]
    assert len(subjects) >= 50
    thin = [c.name for c in subjects if len(c.terms) < 25]
    assert not thin, thin
    kz = concepts["kazakhstan"]
    assert "алматы" in kz.terms["ru"] and "哈萨克斯坦" in kz.terms["zh"] and "almaty" in kz.terms["en"]


def test_name_forms_decline_and_transliterate() -> None:
    assert name_forms("Kazakhstan") == ["kazakhstan*", "kazakh*"]
    assert name_forms("россия") == ["росс*"]  # России, российский
    assert name_forms("Iran") == ["iran"]  # too short for a prefix
    assert name_forms("吉尔吉斯斯坦") == ["吉尔吉斯斯坦"]
    assert "وكازاخستان*" in name_forms("كازاخستان", "ar")
    assert to_cyrillic("Balkhash") == "балхаш" and to_cyrillic("Tokayev") == "токаев"


def test_topic_new_undoes_everything_when_the_config_does_not_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.toml"
    before = "[digest]\nnot_a_key = 1\n"
    cfg.write_text(before, encoding="utf-8")
    args = ["topic", "new", "floods", "--config", str(cfg), *[a for s in SEEDS for a in ("--seed", str(s))]]
    assert main(args) == 1
    assert "not_a_key" in capsys.readouterr().err
    assert cfg.read_text(encoding="utf-8") == before
    assert not list((tmp_path / "seeds").rglob("*.txt"))


def test_a_japanese_article_labelled_relevant_can_join_the_seeds(tmp_path: Path) -> None:
    # wordfreq needs MeCab for Japanese; without it the article's words get the rare-word weight
    model = _model(tmp_path)
    extra = Document(
        title="キルギス南部で洪水", text="キルギスのバトケン州で洪水と土石流が発生した。", language="ja"
    )
    fed = match.build_model(model.topic, extra_seeds=[extra])
    assert fed.score(extra).seed_similarity > 0.9


def test_topic_new_fetches_a_url_seed_over_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], http_server: Server
) -> None:
    title, body = SEEDS[1].read_text(encoding="utf-8").split("\n", 1)
    paragraphs = "".join(f"<p>{p.strip()}</p>" for p in body.split("\n") if p.strip())
    html = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
        "</article></body></html>"
    )
    http_server.route("/floods", html, headers={"Content-Type": "text/html; charset=utf-8"})
    cfg = tmp_path / "config.toml"
    url = http_server.url("/floods")
    args = ["topic", "new", "floods", "--config", str(cfg), "--seed", str(SEEDS[0]), "--seed", url]
    assert main([*args, "--set", "http.allow_private_addresses=true"]) == 0
    assert http_server.hits("/floods") == 1
    topic = tomllib.loads(cfg.read_text(encoding="utf-8"))["topics"][0]
    assert topic["seeds"] == ["seeds/floods/seed_floods_a.txt", url]  # a URL seed stays a URL
    groups = {g["name"]: g for g in topic["groups"]}
    assert "batken*" in groups["kyrgyzstan"]["terms"]  # a name both seeds share, one read over HTTP


def test_seeds_the_lexicon_knows_nothing_of_give_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "odd.txt"
    seed.write_text(
        "Zorblax quintessence\n\nThe zorblax quintessence glimmered under violet skies.\n", "utf-8"
    )
    cfg = tmp_path / "config.toml"
    assert main(["topic", "new", "odd", "--config", str(cfg), "--seed", str(seed)]) == 1
    assert "the seeds name no place and no subject the lexicon knows" in capsys.readouterr().err
    assert not cfg.exists()
