"""``check``, ``topic suggest``, ``label`` and ``rescore`` on a real SQLite file and local HTTP."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import match_helpers as h
from tests.server import Server
from watcher import match, store
from watcher.cli import main
from watcher.models import Score
from watcher.store import schema
from watcher.store import topics as store_topics


def _base(tmp_path: Path) -> list[str]:
    return ["--config", str(h.CONFIG), "--db", str(tmp_path / "w.db")]


def test_check_a_text_file_prints_the_full_explanation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    article = tmp_path / "a.txt"
    article.write_text(f"{h.ON_TOPIC_LABOUR.title}\n{h.ON_TOPIC_LABOUR.text}", encoding="utf-8")
    assert main(["check", str(article), *_base(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MATCH" in out and "russia (" in out and "nearest seed: 000_" in out
    assert "migration (" in out and "[title]" in out


def test_check_stdin_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = h.NEAR_MISS_DIPLOMACY
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{doc.title}\n{doc.text}"))
    assert main(["check", "-", "--json", *_base(tmp_path)]) == 0
    scores = [Score.from_dict(d) for d in json.loads(capsys.readouterr().out)]
    assert len(scores) == 1 and not scores[0].matched
    assert scores[0].groups["diplomacy"]  # the near miss is talks and trade: the contrast concept says so


def test_check_a_url_fetches_and_extracts_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], http_server: Server
) -> None:
    doc = h.ON_TOPIC_REFUGEES
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in doc.text.split(".") if s.strip())
    html = (
        f"<html><head><title>{doc.title}</title></head><body><article><h1>{doc.title}</h1>"
        f"{paragraphs}</article></body></html>"
    )
    http_server.route("/story", html, headers={"Content-Type": "text/html; charset=utf-8"})
    args = ["check", http_server.url("/story"), "--set", "http.allow_private_addresses=true"]
    assert main([*args, *_base(tmp_path)]) == 0
    assert "MATCH" in capsys.readouterr().out
    assert http_server.hits("/story") == 1


def test_check_a_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.txt"), *_base(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_topic_suggest_lists_distinctive_seed_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topic", "suggest", "russia-afghan-migration", "--top", "15", *_base(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    stems = [line.split()[0] for line in out[2:]]
    assert len(stems) == 15
    assert "afghan" in stems
    assert not {"the", "and", "of"} & set(stems)  # generic words weigh nothing against the background
    assert any("[afghanistan]" in line for line in out)  # which concept already covers a term


def _stored(tmp_path: Path) -> tuple[sa.Engine, dict[str, int]]:
    engine = store.open_db(f"sqlite:///{tmp_path / 'w.db'}")
    ids = {
        d.id: h.add_entry(engine, f"http://127.0.0.1/{d.id}", d.title, d.text)
        for d in (h.ON_TOPIC_LABOUR, h.ON_TOPIC_REFUGEES, h.NEAR_MISS_PAKISTAN, h.RUSSIAN_ON_TOPIC)
    }
    return engine, ids


def _matches(engine: sa.Engine) -> dict[int, float]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.matches.c.entry_id, schema.matches.c.score))
        return {e: s for e, s in rows}


def test_rescore_dry_run_lists_then_rescore_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, ids = _stored(tmp_path)
    assert main(["rescore", "--dry-run", *_base(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 would be added" in out and f"+ {ids['labour']} " in out
    assert _matches(engine) == {}  # dry run: nothing written
    assert main(["rescore", *_base(tmp_path)]) == 0
    stored = _matches(engine)
    assert set(stored) == {ids["labour"], ids["refugees"], ids["ru-labour"]}
    with engine.connect() as conn:
        details = conn.execute(sa.select(schema.matches.c.details)).scalars().first()
    assert Score.from_dict(json.loads(details or "{}")).matched
    # Tighten the topic: the stored matches that no longer qualify are listed and dropped.
    capsys.readouterr()
    strict = tmp_path / "strict.toml"
    text = h.CONFIG.read_text(encoding="utf-8").replace("# threshold = 0.5", "threshold = 1.0")
    strict.write_text(text.replace('"seeds/*.txt"', f'"{h.ROOT}/seeds/*.txt"'), encoding="utf-8")
    strict_args = ["--config", str(strict), "--db", str(tmp_path / "w.db")]
    assert main(["rescore", *strict_args]) == 0
    assert "3 were dropped" in capsys.readouterr().out
    assert _matches(engine) == {}
    assert main(["rescore", "--set", "topics=[]", *_base(tmp_path)]) == 1  # not a silent no-op
    assert main(["rescore", "--since", "2030-01-01", *_base(tmp_path)]) == 0
    assert "0 stored articles" in capsys.readouterr().out


def test_rescore_keeps_matches_already_sent_in_a_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, ids = _stored(tmp_path)
    assert main(["rescore", *_base(tmp_path)]) == 0
    now = datetime(2025, 2, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.digests).values(id="d1", message_id="<m>", created_at=now, status="sent")
        )
        conn.execute(
            sa.update(schema.matches).where(schema.matches.c.entry_id == ids["labour"]).values(digest_id="d1")
        )
    # Label both on-topic English articles irrelevant: look-alikes now score lower, some drop.
    for key in ("labour", "refugees"):
        assert main(["label", str(ids[key]), "irrelevant", *_base(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["rescore", *_base(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "already sent: kept" in out
    assert ids["labour"] in _matches(engine)  # sent: kept as history
    assert ids["refugees"] not in _matches(engine)


def test_label_stores_feedback_for_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine, ids = _stored(tmp_path)
    assert main(["label", str(ids["ru-labour"]), "relevant", *_base(tmp_path)]) == 0
    assert "extra seed" in capsys.readouterr().out
    assert main(["label", str(ids["labour"]), "irrelevant", *_base(tmp_path)]) == 0
    assert main(["label", str(ids["labour"]), "relevant", *_base(tmp_path)]) == 0  # replaces
    relevant, irrelevant = store_topics.load_feedback(engine, "russia-afghan-migration")
    assert [d.id for d in relevant] == [f"entry:{ids['ru-labour']}", f"entry:{ids['labour']}"]
    assert irrelevant == []
    assert relevant[0].title == h.RUSSIAN_ON_TOPIC.title
    # A Russian seed lets similarity speak for Russian articles too.
    model = match.build_model(h.shipped_topic(), extra_seeds=relevant)
    assert model.score(h.RUSSIAN_ON_TOPIC).similarity_weight > 0
    assert main(["label", "9999", "relevant", *_base(tmp_path)]) == 1
    assert main(["label", str(ids["labour"]), "maybe", *_base(tmp_path)]) == 2


def test_eval_shows_the_effect_of_feedback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, ids = _stored(tmp_path)
    main(["label", str(ids["pakistan"]), "irrelevant", *_base(tmp_path)])
    data = tmp_path / "e.jsonl"
    look_alike = {
        "id": "x",
        "title": h.NEAR_MISS_PAKISTAN.title,
        "text": h.NEAR_MISS_PAKISTAN.text + " Russia and Russian officials in Moscow. " * 3,
        "label": 0,
    }
    on = {"id": "y", "title": h.ON_TOPIC_LABOUR.title, "text": h.ON_TOPIC_LABOUR.text, "label": 1}
    data.write_text(json.dumps(look_alike) + "\n" + json.dumps(on) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(data), "--feedback", *_base(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("without feedback:") for line in out)
    assert any(line.startswith("with feedback (0 relevant, 1 irrelevant):") for line in out)
    assert out[-1].startswith("precision=")
