"""The config loader under fuzzing (issue 8): any document gives a Config or a ConfigError.

Documents are the shipped ``config.toml`` with one part replaced by arbitrary TOML values (huge
integers, inf, nan, NUL bytes, dates, nested tables), arbitrary TOML text, arbitrary ``--set``
assignments; and every key of the shipped file, misspelt, must be reported at its field path with a
suggestion.  Example-based field-path tests live in ``test_config.py``.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher import config as config_mod
from watcher.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED: dict[str, Any] = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

ODD_STRINGS = (
    *("", "15m", "0s", "-5m", "1e999s", "9" * 400 + "d", "America", "Europe/Moscow", "../etc"),
    *("\x00", "a\x00b", "http://a.example/f", "https://[x/", "ftp://x", "~", "*", "0640"),
    *("seeds/*", "/proc/self/environ", "a" * 5000),
)
TOML_LINES = (
    *("[http]", "[[feeds]]", "[digest.email]", "[[topics]]", "[[topics.groups]]", "\n"),
    *('url = "https://a.example/f"', "x = 1", "concurrency = 99999999999999999999"),
    *("poll_interval = inf", "threshold = nan", 'name = "t"', "terms = [", "]", "{", "}"),
    *('timezone = "America"', "a = " + "[" * 40 + "]" * 5, "="),
    *('password = "hunter2"', 'db = "postgresql://u:hunter2@h/w"', "file_mode = 0o777"),
)
scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**63, -(2**63), 10**400, 0o640]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(ODD_STRINGS),
    st.datetimes(),
    st.dates(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path (and list index path) inside a parsed TOML document."""
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append((*prefix, i))
            out.extend(paths(v, (*prefix, i)))
    return out


ALL_PATHS = paths(SHIPPED)
KEY_PATHS = [p for p in ALL_PATHS if isinstance(p[-1], str)]


def parent_of(doc: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    return node


def shown(path: tuple[Any, ...]) -> str:
    """A key path as the loader names it: feeds[3].url."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse(doc: dict[str, Any]) -> config_mod.Config | ConfigError:
    try:
        return config_mod.parse(doc, ROOT)
    except ConfigError as e:
        return e


def test_the_shipped_document_parses() -> None:
    assert isinstance(parse(copy.deepcopy(SHIPPED)), config_mod.Config)


@SETTINGS
@given(st.sampled_from(ALL_PATHS), values)
def test_any_value_anywhere_gives_a_config_or_a_config_error(path: tuple[Any, ...], value: Any) -> None:
    check_value_anywhere(path, value)


def check_value_anywhere(path: tuple[Any, ...], value: Any) -> None:
    """The shipped document with one value replaced: a Config, or a one-line ConfigError."""
    doc = copy.deepcopy(SHIPPED)
    parent_of(doc, path)[path[-1]] = value
    result = parse(doc)
    if isinstance(result, ConfigError):
        assert str(result).strip() and "\n" not in str(result)


@SETTINGS
@given(st.sampled_from([p[:-1] for p in KEY_PATHS]), st.text(min_size=1, max_size=20), values)
def test_unknown_keys_are_errors_never_ignored(table: tuple[Any, ...], key: str, value: Any) -> None:
    doc = copy.deepcopy(SHIPPED)
    node = parent_of(doc, (*table, None)) if table else doc
    if not isinstance(node, dict) or key in node or key in _KNOWN.get(_shape(table), set()):
        return
    node[key] = value
    result = parse(doc)
    assert isinstance(result, ConfigError)


def _shape(table: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(0 if isinstance(p, int) else p for p in table)


# Keys the loader knows in each table shape, including optional ones the shipped file leaves out.
_KNOWN: dict[tuple[Any, ...], set[str]] = {}
for _p in KEY_PATHS:
    _KNOWN.setdefault(_shape(_p[:-1]), set()).add(_p[-1])
_KNOWN[("feeds", 0)] |= {"name", "enabled", "interval"}
_KNOWN[("storage",)] = {"db", "file_mode"}
_KNOWN[("digest",)] = _KNOWN.get(("digest",), set()) | {"templates", "file_mode", "email"}
_KNOWN[("topics", 0)] = _KNOWN.get(("topics", 0), set()) | {
    "seeds", "groups", "exclude", "languages", "threshold", "similarity", "description",
    "min_groups", "saturation", "name",
}  # fmt: skip


def typos(key: str) -> list[str]:
    """One-edit misspellings of a key: a letter dropped, doubled or two swapped."""
    out = {key[:i] + key[i + 1 :] for i in range(len(key))}
    out |= {key[:i] + key[i] + key[i:] for i in range(len(key))}
    out |= {key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(len(key) - 1)}
    return sorted(t for t in out if t != key)


@pytest.mark.parametrize("path", [p for p in KEY_PATHS if len(p[-1]) >= 4], ids=shown)
def test_every_misspelt_key_is_named_with_a_suggestion(path: tuple[Any, ...]) -> None:
    siblings = _KNOWN[_shape(path[:-1])]
    for typo in typos(path[-1])[::3]:
        if typo in siblings:
            continue
        doc = copy.deepcopy(SHIPPED)
        parent = parent_of(doc, path)
        parent[typo] = parent.pop(path[-1])
        error = parse(doc)
        assert isinstance(error, ConfigError), typo
        message = str(error)
        where = shown(path[:-1])
        assert message.startswith(where), (typo, message)  # the field path is named
        if "unknown key" in message:
            assert message.startswith(shown((*path[:-1], typo)) + ": unknown key"), message
            hint = re.search(r"did you mean '([^']+)'", message)
            assert hint and hint.group(1) in siblings, message
            best = difflib.SequenceMatcher(None, typo, hint.group(1)).ratio()
            assert best >= difflib.SequenceMatcher(None, typo, path[-1]).ratio() - 1e-9


toml_text = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(TOML_LINES),
        max_size=20,
    ).map("\n".join),
)


@SETTINGS
@given(text=toml_text)
def test_any_file_gives_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    check_file(text, tmp_path_factory.getbasetemp() / "fuzzed-config.toml")


def check_file(text: str, path: Path) -> None:
    """Any config file text: a Config or a ConfigError that does not quote a password."""
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config_mod.load(path, environ={})
    except ConfigError as e:
        assert "hunter2" not in str(e)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.builds("{}={}".format, st.text(max_size=30), values)))
def test_any_override_gives_a_config_or_a_config_error(assignment: str) -> None:
    with contextlib.suppress(ConfigError):
        config_mod.load(ROOT / "config.toml", overrides=[assignment], environ={})


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"schedule": {"poll_interval": 10**400}}, "schedule.poll_interval: must be at most"),
        ({"schedule": {"poll_interval": float("inf")}}, "schedule.poll_interval: must be at most"),
        ({"schedule": {"poll_interval": "9" * 400 + "d"}}, "schedule.poll_interval: must be at"),
        ({"http": {"connect_timeout": 10**400}}, "http.connect_timeout: must be between"),
        ({"http": {"read_timeout": float("nan")}}, "http.read_timeout: must be between"),
        ({"schedule": {"timezone": "America"}}, "schedule.timezone: unknown IANA time zone"),
        ({"schedule": {"timezone": "x" * 5000}}, "schedule.timezone: unknown IANA time zone"),
        ({"topics": [{"name": "t", "seeds": ["s" * 5000]}]}, "topics[0].seeds[0]: no seed file"),
        ({"feeds": [{"url": "https://a.example/", "interval": 10**400}]}, "feeds[0].interval"),
        ({"digest": {"dir": "a\x00b"}}, "digest.dir: contains a NUL character"),
        ({"http": {"allow_networks": ["10.0.0.0/8", "\x00"]}}, "http.allow_networks[1]: contains"),
        ({"storage": {"db": "postgresql://u:pw@h/w"}}, "storage.db: passwords are not read"),
        ({"storage": {"file_mod": "0600"}}, "storage.file_mod: unknown key (did you mean"),
    ],
)
def test_hostile_values_found_by_fuzzing_name_the_field(raw: dict[str, Any], needle: str) -> None:
    error = parse(raw)
    assert isinstance(error, ConfigError) and needle in str(error), error


def test_deeply_nested_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("a = " + "[" * 5000, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        config_mod.load(path, environ={})
    with pytest.raises(ConfigError, match="unknown key"):  # taken as a string, then refused
        config_mod.load(ROOT / "config.toml", overrides=["x=" + "[" * 5000], environ={})
