"""Write a proposed topic into a config file and copy its local seed files beside it (I/O)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError

END_MARKER = "# --- topics: end"
_URL = re.compile(r"^https?://", re.I)


def existing_topics(config: Path) -> list[str]:
    """Names of the topics a config file defines ([] when the file does not exist yet)."""
    if not config.exists():
        return []
    try:
        raw = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{config}: cannot read: {e}") from e
    topics = raw.get("topics", [])
    return [str(t.get("name", "")) for t in topics if isinstance(t, dict)] if isinstance(topics, list) else []


def seed_targets(name: str, seeds: Sequence[str], config: Path, seeds_dir: str = "seeds") -> list[str]:
    """How the config will name each seed: a copy under ``seeds/NAME/`` for files, URLs as given."""
    out: list[str] = []
    used: set[str] = set()
    for seed in seeds:
        if _URL.match(seed):
            out.append(seed)
            continue
        base = Path(seed).name
        stem, suffix = os.path.splitext(base)
        candidate, i = base, 2
        while candidate in used:
            candidate, i = f"{stem}-{i}{suffix}", i + 1
        used.add(candidate)
        out.append(f"{seeds_dir}/{name}/{candidate}")
    return out


def copy_seeds(seeds: Sequence[str], targets: Sequence[str], config: Path) -> list[Path]:
    """Copy local seed files to their targets (relative to the config's folder); never overwrite."""
    copied = []
    for seed, target in zip(seeds, targets, strict=True):
        if _URL.match(seed):
            continue
        dest = config.resolve().parent / target
        if dest.exists():
            raise ConfigError(f"seed {seed}: {dest} exists already; remove it or pick another topic name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, dest)
        copied.append(dest)
    return copied


def add_block(config: Path, block: str) -> str | None:
    """Put a topic block into the config: before its ``topics: end`` marker, else at the end.

    The new file must still be valid TOML; it replaces the old one atomically.  Returns the old
    text (None when there was no file), for ``restore``.
    """
    existed = config.exists()
    old = config.read_text(encoding="utf-8") if existed else ""
    if END_MARKER in old:
        head, _, tail = old.rpartition(END_MARKER)
        new = head.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n" + END_MARKER + tail
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as e:  # never leave a config the next command cannot read
        raise ConfigError(f"{config}: the topic would make it invalid TOML ({e}); nothing written") from e
    _write(config, new)
    return old if existed else None


def restore(config: Path, old: str | None) -> None:
    """Put back what ``add_block`` replaced."""
    if old is None:
        config.unlink(missing_ok=True)
    else:
        _write(config, old)


def _write(config: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=config.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if config.exists():
            shutil.copymode(config, tmp)
        os.replace(tmp, config)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
