"""``watcher init [DIR]``: a commented starter config.toml and a seeds/ folder (issue 15).

The starter is the shipped config (package data: the real feeds, schedule, digest) with either the
shipped default topic and its seed articles, or — with ``--topic NAME --seed FILE_OR_URL …`` — a
topic written from the given seeds.  An existing config.toml is never overwritten.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import common

BEGIN = "# --- topics: begin"
END = "# --- topics: end"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "init",
        help="write a starter config.toml and seeds/ folder",
        description="Write DIR/config.toml — the shipped feeds and settings, commented — and "
        "DIR/seeds/.  Without --topic the shipped default topic and its seed articles are used; "
        "with --topic NAME and one or more --seed FILE_OR_URL a topic is written from those "
        "articles (URLs are fetched and saved as text).  An existing config.toml is left alone.",
    )
    common.add_common(p)
    p.add_argument("dir", nargs="?", type=Path, default=Path("."), help="folder (default: .)")
    p.add_argument("--topic", metavar="NAME", help="name of the topic to write from the seeds")
    p.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="FILE_OR_URL",
        help="a seed article: a text file (first line: title) or an http(s) URL (repeatable)",
    )
    p.set_defaults(func=run)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "seed"


def _free(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/2-name`` … when taken."""
    path, n = folder / name, 1
    while path.exists():
        n += 1
        path = folder / f"{n}-{name}"
    return path


def _copy_seeds(args: argparse.Namespace, seeds_dir: Path) -> list[Path]:
    """The given seeds as text files under seeds_dir (URLs fetched and extracted)."""
    from .. import config as config_mod
    from .. import pipeline

    raw: dict[str, Any] = {}
    for assignment in args.overrides:
        config_mod.apply_override(raw, assignment)
    fetch_cfg = config_mod.parse(raw, seeds_dir.parent)
    out = []
    for i, seed in enumerate(args.seed):
        if re.match(r"^https?://", seed):
            doc = pipeline.fetch_document(seed, fetch_cfg)
            path = _free(seeds_dir, f"{_slug(doc.title or seed)}.txt")
            path.write_text(f"{doc.title}\n\n{doc.text}\n", encoding="utf-8")
        else:
            src = Path(seed).expanduser()
            if not src.is_file():
                raise ConfigError(f"--seed[{i}]: no such file: {seed}")
            path = _free(seeds_dir, src.name if src.suffix else f"{src.name}.txt")
            shutil.copyfile(src, path)
        out.append(path)
    return out


def starter(topic_block: str | None) -> str:
    """The shipped config.toml with its topic block replaced (None: kept)."""
    from .. import demo

    with demo.data_dir() as data:
        text = (data / "config.toml").read_text(encoding="utf-8")
    if topic_block is None:
        return text
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:  # the markers went missing: put the topic at the end instead
        return text.rstrip("\n") + "\n\n" + topic_block
    return f"{head}{BEGIN}\n{topic_block}{END}{tail}"


def run(args: argparse.Namespace) -> int:
    from .. import config as config_mod
    from .. import demo, topicgen

    folder: Path = args.dir
    target = folder / "config.toml"
    if target.exists():
        raise ConfigError(f"{target}: already exists; init never overwrites a config")
    if bool(args.topic) != bool(args.seed):
        raise ConfigError("init: --topic NAME and at least one --seed go together")
    seeds_dir = folder / "seeds"
    fresh = not seeds_dir.exists()
    seeds_dir.mkdir(parents=True, exist_ok=True)
    if args.topic:
        try:
            paths = _copy_seeds(args, seeds_dir)
        except Exception:
            if fresh:  # leave no half-made folder behind
                shutil.rmtree(seeds_dir, ignore_errors=True)
            raise
        rel = [p.relative_to(folder).as_posix() for p in paths]
        text = starter(topicgen.topic_toml(args.topic, paths, seed_paths=rel))
    else:
        with demo.data_dir() as data:
            paths = []
            for src in sorted((data / "seeds").iterdir()):
                if not (seeds_dir / src.name).exists():
                    shutil.copyfile(src, seeds_dir / src.name)
                paths.append(seeds_dir / src.name)
        text = starter(None)
    tmp = target.with_name(".config.toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        cfg = config_mod.load(tmp)  # what we write must load
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(target)
    print(f"wrote {target} ({len(cfg.feeds)} feeds, topic {cfg.topics[0].name!r})")
    print(f"wrote {len(paths)} seed(s) in {seeds_dir}/")
    print(f"next: watcher --config {target} fetch")
    return 0
