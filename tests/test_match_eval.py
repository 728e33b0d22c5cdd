"""Evaluation: pure metrics, the ``eval`` command on written records, and the shared dev corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import match_helpers as h
from watcher.cli import main
from watcher.match import evaluate as ev
from watcher.models import Document

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _records(*pairs: tuple[str, int]) -> list[ev.Record]:
    return [ev.Record(rid, label, Document("", "")) for rid, label in pairs]


def test_metrics_and_misclassified_ids() -> None:
    records = _records(("a", 1), ("b", 1), ("c", 0), ("d", 0), ("e", 1))
    m = ev.evaluate(records, [True, False, True, False, True])
    assert (m.tp, m.fp, m.fn, m.tn) == (2, 1, 1, 1)
    assert m.precision == pytest.approx(2 / 3) and m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)
    assert m.misclassified == ("b", "c")
    assert m.line() == "precision=0.667 recall=0.667 f1=0.667"
    assert ev.evaluate(_records(("a", 0)), [False]).f1 == 0.0  # nothing relevant: no division by 0


def test_sweep_moves_along_the_precision_recall_trade_off() -> None:
    records = _records(("a", 1), ("b", 1), ("c", 0))
    sweep = dict(ev.sweep(records, [0.9, 0.4, 0.6], [0.3, 0.5, 0.7, 0.95]))
    assert sweep[0.3].recall == 1.0 and sweep[0.3].precision == pytest.approx(2 / 3)
    assert (sweep[0.5].tp, sweep[0.5].fp) == (1, 1)
    assert (sweep[0.7].tp, sweep[0.7].fp) == (1, 0)
    assert sweep[0.95].tp == 0


def test_read_records_names_the_bad_line() -> None:
    good = json.dumps({"id": "x", "title": "t", "text": "b", "label": 1, "lang": "en"})
    recs = ev.read_records([good, ""])
    assert recs[0].id == "x" and recs[0].document.language == "en"
    with pytest.raises(ValueError, match=r"f.jsonl:2"):
        ev.read_records([good, '{"id": "y", "text": "no label"}'], "f.jsonl")
    with pytest.raises(ValueError, match="0 or 1"):
        ev.read_records(['{"id": "y", "label": 3}'])


def _write_jsonl(path: Path) -> Path:
    docs = [
        (h.ON_TOPIC_LABOUR, 1),
        (h.ON_TOPIC_REFUGEES, 1),
        (h.RUSSIAN_ON_TOPIC, 1),
        (h.TITLE_ONLY_ON_TOPIC, 1),
        *[(d, 0) for d in h.NEAR_MISSES],
        (h.RUSSIAN_NEAR_MISS, 0),
    ]
    lines = [
        json.dumps({"id": f"r{i}", "url": "", "title": d.title, "text": d.text, "label": label})
        for i, (d, label) in enumerate(docs)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_command_prints_metrics_and_ends_with_the_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _write_jsonl(tmp_path / "mine.jsonl")
    assert main(["eval", str(data), "--config", str(h.CONFIG), "--db", str(tmp_path / "w.db")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "precision=1.000 recall=1.000 f1=1.000"
    assert any(line.startswith("threshold sweep") for line in out)
    assert any(line.startswith("confusion: tp=4 fp=0 fn=0 tn=5") for line in out)


def test_eval_json_and_threshold_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write_jsonl(tmp_path / "mine.jsonl")
    args = ["eval", str(data), "--config", str(h.CONFIG), "--db", str(tmp_path / "w.db"), "--json"]
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(got) == {"precision", "recall", "f1", "tp", "fp", "fn", "tn", "misclassified", "by_language"}
    assert main([*args, "--threshold", "0.99"]) == 0
    strict = json.loads(capsys.readouterr().out)
    assert strict["tp"] < got["tp"] and strict["misclassified"]


def test_eval_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n', encoding="utf-8")
    base = ["--config", str(h.CONFIG), "--db", str(tmp_path / "w.db")]
    assert main(["eval", str(bad), *base]) == 1
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.jsonl"), *base]) == 1
    assert main(["eval", str(bad), *base, "--topic", "nope"]) == 1


def test_dev_corpus_meets_the_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = SHARED / "corpus" / "dev.jsonl"
    if not dev.is_file():
        pytest.skip(f"{dev} is absent (the labelled corpus lives beside the repository)")
    assert main(["eval", str(dev), "--config", str(h.CONFIG), "--db", str(tmp_path / "w.db")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    m = re.fullmatch(r"precision=(\S+) recall=(\S+) f1=(\S+)", out[-1])
    assert m, out[-1]
    precision, _, f1 = map(float, m.groups())
    assert f1 >= 0.90 and precision >= 0.90, out[-1]
    by_lang = next(line for line in out if line.startswith("recall by language:"))
    found = total = 0
    for lang, f, n in re.findall(r"(\w+) (\d+)/(\d+)", by_lang):
        if lang != "en":
            found, total = found + int(f), total + int(n)
    assert total and found / total >= 0.80, by_lang
