"""Copy the shipped config.toml and seeds/ into watcher/demo_data/ (package data for `demo` and `init`).

Run after changing config.toml or seeds/: tests/test_package_data.py fails while the copies differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "watcher" / "demo_data"


def main() -> None:
    shutil.copyfile(ROOT / "config.toml", DATA / "config.toml")
    seeds = DATA / "seeds"
    if seeds.exists():
        shutil.rmtree(seeds)
    seeds.mkdir()
    for seed in sorted((ROOT / "seeds").iterdir()):
        if seed.is_file():
            shutil.copyfile(seed, seeds / seed.name)
    print(f"copied config.toml and {len(list(seeds.iterdir()))} seeds into {DATA}")


if __name__ == "__main__":
    main()
