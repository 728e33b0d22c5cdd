"""Reading one TOML table with typed getters that name the field path, and durations.

Every error is a ``ConfigError`` naming the path (``feeds[3].url``); an unknown key suggests the
nearest valid one.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_MAX_SECONDS = 100 * 365 * 86400.0


def resolve_path(base: Path, value: str) -> Path:
    """A path from the config: ``~`` expanded, relative to ``base`` unless absolute."""
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def parse_duration(value: object, where: str) -> float:
    """Seconds from a number or a string such as "15m", "6h", "90d"."""
    if isinstance(value, bool):
        raise ConfigError(f'{where}: expected a duration such as "15m", got {value!r}')
    if isinstance(value, int | float):
        if value <= 0:
            raise ConfigError(f"{where}: must be positive, got {value!r}")
        if value > _MAX_SECONDS:  # also inf: date arithmetic would overflow later, in a cycle
            raise ConfigError(f"{where}: must be at most 100 years, got {value!r}")
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
        if seconds > _MAX_SECONDS:
            raise ConfigError(f"{where}: must be at most 100 years, got {value!r}")
        if seconds > 0:
            return seconds
    raise ConfigError(f'{where}: expected a duration such as "15m" or "6h", got {value!r}')


def hint(key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Table:
    """One TOML table being read: typed getters that name the path, and a check for unknown keys."""

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, dict):
            raise ConfigError(f"{path or 'config'}: expected a table, got {type(raw).__name__}")
        self.raw: dict[str, Any] = raw
        self.path = path
        self.known: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, kinds: tuple[type, ...], label: str) -> Any:
        self.known.add(key)
        if key not in self.raw:
            return None
        value = self.raw[key]
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(f"{self.where(key)}: expected {label}, got {value!r}")
        if not isinstance(value, kinds):
            raise ConfigError(f"{self.where(key)}: expected {label}, got {value!r}")
        return value

    def text(self, key: str, default: str) -> str:
        value = self._get(key, (str,), "a string")
        if value is not None and "\x00" in value:  # no path, URL or name holds a NUL
            raise ConfigError(f"{self.where(key)}: contains a NUL character")
        return default if value is None else value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, (bool,), "true or false")
        return default if value is None else value

    def whole(self, key: str, default: int, minimum: int = 0) -> int:
        value = self._get(key, (int,), "a whole number")
        if value is None:
            return default
        if value < minimum:
            raise ConfigError(f"{self.where(key)}: must be at least {minimum}, got {value}")
        return int(value)

    def number(self, key: str, default: float, lo: float = 0.0, hi: float = float("inf")) -> float:
        value = self._get(key, (int, float), "a number")
        if value is None:
            return default
        if not lo <= value <= hi or abs(value) > 1e300 or not math.isfinite(value):  # inf, 10**400
            raise ConfigError(f"{self.where(key)}: must be between {lo} and {hi}, got {value}")
        return float(value)

    def duration(self, key: str, default: float) -> float:
        self.known.add(key)
        return default if key not in self.raw else parse_duration(self.raw[key], self.where(key))

    def strs(self, key: str, default: Sequence[str]) -> tuple[str, ...]:
        value = self._get(key, (list, str), "a list of strings")
        if value is None:
            return tuple(default)
        items = [value] if isinstance(value, str) else value
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise ConfigError(f"{self.where(key)}[{i}]: expected a string, got {item!r}")
            if "\x00" in item:
                raise ConfigError(f"{self.where(key)}[{i}]: contains a NUL character")
        return tuple(items)

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise ConfigError(
                f"{self.where(key)}: must be one of {', '.join(choices)}, got {value!r}{hint(value, choices)}"
            )
        return value

    def table(self, key: str) -> Table:
        self.known.add(key)
        return Table(self.raw.get(key, {}), self.where(key))

    def tables(self, key: str) -> Iterator[Table]:
        self.known.add(key)
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise ConfigError(f"{self.where(key)}: expected an array of tables ([[{key}]])")
        for i, item in enumerate(value):
            yield Table(item, f"{self.where(key)}[{i}]")

    def finish(self) -> None:
        for key in self.raw:
            if key not in self.known:
                shown = key if key.isprintable() else repr(key)  # one line, no escape sequences
                raise ConfigError(f"{self.where(shown)}: unknown key{hint(key, sorted(self.known))}")
