"""``watcher topic new NAME --seed …``: a multilingual topic proposed from sample articles."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from . import common

if TYPE_CHECKING:  # imported when the command runs: every other command's start-up stays light
    from .. import config as config_mod


def register(tsub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    n = tsub.add_parser(
        "new",
        help="propose a topic (concepts in every language) from two or more sample articles",
        description="Find the places, names and subjects of the sample articles, map them onto the "
        "multilingual concept lexicon and write the topic into the config (between its topic markers, "
        "if any); local seed files are copied into seeds/NAME/.",
    )
    common.add_common(n)
    n.add_argument("name", help="topic name")
    n.add_argument(
        "--seed", action="append", required=True, metavar="FILE_OR_URL",
        help="a sample article: a text file (first line the title) or an http(s) URL (repeatable)",
    )  # fmt: skip
    n.add_argument("--dry-run", action="store_true", help="print the topic; write and copy nothing")
    n.set_defaults(func=run_new)


def _config_path(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return Path(args.config)
    if os.environ.get("WATCHER_CONFIG"):
        return Path(os.environ["WATCHER_CONFIG"])
    return Path("config.toml")


def _fetch_config(args: argparse.Namespace, path: Path) -> config_mod.Config:
    """The settings URL seeds are fetched with: the config's, or the defaults and --set."""
    from .. import config as config_mod

    if path.exists():
        return config_mod.load(path, overrides=args.overrides, db=args.db)
    raw: dict[str, object] = {}
    for assignment in args.overrides:
        config_mod.apply_override(raw, assignment)
    return config_mod.parse(raw, Path.cwd())


def run_new(args: argparse.Namespace) -> int:
    """Propose the topic; print it (--dry-run) or add it to the config and copy the seeds."""
    from .. import config as config_mod
    from .. import pipeline, topicgen
    from ..topicgen import install

    path = _config_path(args)
    if args.name in install.existing_topics(path):
        raise ConfigError(f"topic new: {path} has a topic {args.name!r} already")
    seeds = [str(s) for s in args.seed]
    fetch = None
    if any(s.lower().startswith(("http://", "https://")) for s in seeds):
        fetch = pipeline.seed_fetcher(_fetch_config(args, path))
    targets = install.seed_targets(args.name, seeds, path)
    block = topicgen.topic_toml(args.name, seeds, seed_paths=targets, fetch=fetch)
    if args.dry_run:
        print(block, end="")
        return 0
    copied = install.copy_seeds(seeds, targets, path)
    old: str | None = None
    written = False
    try:
        old = install.add_block(path, block)
        written = True
        config_mod.load(path)  # the whole config must still load: else undo
    except ConfigError:
        if written:
            install.restore(path, old)
        for p in copied:
            p.unlink(missing_ok=True)
        raise
    print(f"topic {args.name!r} added to {path}; {len(copied)} seed file(s) copied")
    print(
        f"try: watcher check FILE --topic {args.name}   or   watcher eval LABELLED.jsonl --topic {args.name}"
    )
    return 0
