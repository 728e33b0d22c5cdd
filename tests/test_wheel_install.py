"""A non-editable install from a wheel, in a fresh virtual environment, run from a temp folder (issue 15).

The wheel is built from a copy of the sources (``pip wheel --no-deps``); the new environment sees the
test environment's dependencies through a .pth line (not its editable watcher: .pth files inside an
added folder are not run), so what is tested is exactly what the wheel carries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from watcher import demo

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.wheel


@dataclass(frozen=True)
class Installed:
    python: Path
    watcher: Path
    work: Path  # an empty folder far from the repository

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHER_", "PYTHON"))}
        return subprocess.run(
            [str(self.watcher), *argv],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=cwd or self.work,
            env=env,
        )


def _pip(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "-q", *argv], check=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "watcher", src / "watcher", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    _pip("wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(base / "dist"))
    [wheel] = list((base / "dist").glob("watcher-*.whl"))
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the test environment's dependencies, appended after the new environment's own packages
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    work = base / "work"
    work.mkdir()
    yield Installed(python, env_dir / "bin" / "watcher", work)


def test_the_installed_package_is_the_wheel_not_the_repository(installed: Installed) -> None:
    out = subprocess.run(
        [str(installed.python), "-c", "import watcher; print(watcher.__file__)"],
        capture_output=True,
        text=True,
        cwd=installed.work,
        check=True,
    ).stdout.strip()
    assert Path(out).is_relative_to(installed.python.parents[1]), out
    assert not Path(out).is_relative_to(ROOT)


def test_package_data_is_installed(installed: Installed) -> None:
    probe = (
        "import json; from importlib import resources as r; w = r.files('watcher'); "
        "print(json.dumps({d: sorted(p.name for p in (w / d).iterdir()) "
        "for d in ('templates', 'demo_data', 'demo_data/seeds', 'lexicon') if (w / d).is_dir()}))"
    )
    out = subprocess.run(
        [str(installed.python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out)
    for folder, pattern in (
        ("templates", "*"),
        ("demo_data", "*.toml"),
        ("demo_data/seeds", "*.txt"),
        ("lexicon", "*.toml"),
    ):
        shipped = sorted(p.name for p in (ROOT / "watcher" / folder).glob(pattern) if p.is_file())
        assert set(shipped) <= set(data.get(folder, [])), folder
    assert data["templates"] and data["demo_data/seeds"]


def test_demo_from_a_temp_folder_gives_the_expected_counts(installed: Installed) -> None:
    done = installed.run("demo", str(installed.work / "demo-out"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["new_entries"] == 12 and len(data["matches"]) == 7
    assert data["digest"] and Path(data["digest"]).is_file()


def test_init_then_fetch_against_a_local_feed_server(installed: Installed) -> None:
    project = installed.work / "project"
    made = installed.run("init", str(project))
    assert made.returncode == 0, made.stderr
    assert (project / "config.toml").is_file() and list((project / "seeds").glob("*.txt"))
    again = installed.run("init", str(project))
    assert again.returncode == 1 and "already exists" in again.stderr
    seeds = tuple(str(p) for p in sorted((project / "seeds").glob("*.txt")))
    with demo.serve(seeds) as feeds:
        listed = ", ".join(f'{{url = "{f.url}", name = "{f.name}"}}' for f in feeds)
        fetched = installed.run(
            "--config",
            "config.toml",
            "fetch",
            "--json",
            "--set",
            f"feeds = [{listed}]",
            "--set",
            "http.allow_private_addresses = true",
            "--set",
            "http.min_host_gap = 0",
            cwd=project,
        )
    assert fetched.returncode == 0, fetched.stderr
    data = json.loads(fetched.stdout)
    assert data["feeds"] == len(feeds) and data["errors"] == []
    assert data["new_entries"] == 12 and len(data["matches"]) == 7
    assert (project / "seen.db").is_file()
