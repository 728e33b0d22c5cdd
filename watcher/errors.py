"""The watcher's exceptions.

Expected failures (a feed that times out, a page that will not extract) are values, not exceptions:
see ``models.FetchStatus``.  What is raised is a bug or a misconfiguration::

    WatcherError
     ├── ConfigError     bad config file, bad --set, unknown key (names the field path)
     ├── StoreError      database unreadable, newer schema, another daemon holds the lock
     └── DeliveryError   a digest could not be written or mailed
"""

from __future__ import annotations


class WatcherError(Exception):
    """Base class of every error the watcher raises on purpose."""


class ConfigError(WatcherError):
    """The configuration is invalid; the message names the field."""


class StoreError(WatcherError):
    """The database cannot be used."""


class DeliveryError(WatcherError):
    """A digest could not be delivered."""
