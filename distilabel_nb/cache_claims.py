"""Claims on calls in flight: a second process on one cache waits for an answer being paid for, instead of paying again.

Before a call is sent, its cache keys are claimed in the cache's ``claims`` table (one
row per key: who holds it, until when). A process that finds a key claimed by another
waits for that answer to appear in the cache, and sends the call itself only if the
claim goes away without an answer (the call failed) or goes stale: its holder was killed
(same machine, its process is gone) or stopped renewing its lease
(:data:`LEASE_SECONDS`, renewed every :data:`RENEW_SECONDS` while it holds claims).

Claims never stop a run: when the table cannot be written (a locked or read-only file)
the call is simply sent.

Example:
    >>> from distilabel_nb.cache import CallCache
    >>> cache = CallCache(":memory:")
    >>> cache.claims.take(["k1"]), cache.claims.held
    ([], {'k1'})
    >>> cache.claims.release(["k1"]); cache.claims.held
    set()
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from distilabel_nb.cache import CallCache

#: Seconds a claim lasts unless its holder renews it.
LEASE_SECONDS = 30.0
#: Seconds between two renewals of the claims a process holds.
RENEW_SECONDS = 5.0
#: Seconds between two looks at the cache while another process's call is awaited.
POLL_SECONDS = 0.05
_HOST = socket.gethostname()


def _alive(owner: str) -> bool:
    """Whether the process named in ``owner`` (``host:pid:token``) may still be running."""
    try:
        host, pid_text, _ = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != _HOST:
        return True  # another machine: its lease decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Claims:
    """The claims one :class:`~distilabel_nb.cache.CallCache` holds, in its database's ``claims`` table."""

    def __init__(self, cache: CallCache):
        self.cache = cache
        self.owner = f"{_HOST}:{os.getpid()}:{secrets.token_hex(4)}"
        self.held: set[str] = set()
        self._renewer: threading.Thread | None = None
        self._off_until = 0.0  # after a failed write, claims are skipped for a while

    def take(self, keys: Iterable[str]) -> list[str]:
        """Claim ``keys``; return those another live process holds (the others are now this one's).

        A stale claim (its holder gone, or its lease over) is taken over. When the table
        cannot be written, nothing is claimed and nothing is reported held: the caller sends.
        """
        keys = list(dict.fromkeys(keys))
        if not keys or self.cache.read_only or time.monotonic() < self._off_until:
            return []
        now = time.time()
        db, marks = self.cache._db, ",".join("?" * len(keys))
        try:
            with self.cache._lock:
                db.executemany("INSERT OR IGNORE INTO claims (key, owner, expires) VALUES (?, ?, ?)",
                               [(key, self.owner, now + LEASE_SECONDS) for key in keys])
                rows = db.execute(f"SELECT key, owner, expires FROM claims WHERE key IN ({marks})", keys).fetchall()
                stale = [(key, owner) for key, owner, expires in rows
                         if owner != self.owner and (expires < now or not _alive(owner))]
                for key, owner in stale:  # taken over only if still that holder's
                    db.execute("UPDATE claims SET owner = ?, expires = ? WHERE key = ? AND owner = ?",
                               (self.owner, now + LEASE_SECONDS, key, owner))
                if stale:
                    rows = db.execute(f"SELECT key, owner, expires FROM claims WHERE key IN ({marks})", keys).fetchall()
        except sqlite3.Error:
            self._off_until = time.monotonic() + LEASE_SECONDS
            return []
        others = [key for key, owner, _ in rows if owner != self.owner]
        mine = set(keys) - set(others)
        self.held |= mine
        if mine:
            self._renew_in_background()
        return others

    def release(self, keys: Iterable[str]) -> None:
        """Give up this process's claims on ``keys`` (its answer is stored, or its call failed)."""
        keys = [key for key in keys if key in self.held]
        if not keys:
            return
        self.held -= set(keys)
        try:
            with self.cache._lock:
                self.cache._db.executemany("DELETE FROM claims WHERE key = ? AND owner = ?",
                                           [(key, self.owner) for key in keys])
        except sqlite3.Error:
            pass  # the lease runs out instead

    def _renew_in_background(self) -> None:
        if self._renewer is not None and self._renewer.is_alive():
            return
        self._renewer = threading.Thread(target=self._renew, name="distilabel-nb-claims", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        """Renew this process's claims while it holds any."""
        while self.held:
            time.sleep(RENEW_SECONDS)
            try:
                with self.cache._lock:
                    self.cache._db.execute("UPDATE claims SET expires = ? WHERE owner = ?",
                                           (time.time() + LEASE_SECONDS, self.owner))
            except sqlite3.Error:
                pass
