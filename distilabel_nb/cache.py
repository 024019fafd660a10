"""The call cache: every model call stored by content, so nothing is paid for twice.

A call is identified by the backend, the model's identity (name + base URL, or the GGUF
file), the exact prompt sent, the generation parameters, the answer schema and the
generation index. The raw answer and its token usage are stored; parsing runs again on
every hit, so a fixed parser applies to old answers. A re-run costs nothing and a run
killed half way resumes where it stopped.

The database is one sqlite file (WAL mode), safe for several threads and for several
processes on one machine. Its folder is ``DISTILABEL_NB_CACHE_DIR``, or the user cache
folder (``platformdirs``).

Example:
    >>> cache = CallCache(":memory:")
    >>> key = cache.key(backend="openai", model={"model": "m"}, prompt="hi", params={}, index=0)
    >>> cache.put(key, "hello", {"completion_tokens": 1})
    >>> cache.get_many([key])[key]
    ('hello', {'completion_tokens': 1})
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

CACHE_DIR_ENV = "DISTILABEL_NB_CACHE_DIR"
CACHE_FILE = "calls.sqlite"
_KEYS_PER_QUERY = 500  # well under sqlite's limit on bound parameters
#: Seconds :meth:`CallCache.store` waits for another process's write lock before keeping the answer for later.
WRITE_WAIT_SECONDS = 5.0
#: Seconds after a failed write before :meth:`CallCache.store` tries the database again.
RETRY_SECONDS = 5.0
_dump = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False, default=str)


def default_cache_path() -> Path:
    """``$DISTILABEL_NB_CACHE_DIR/calls.sqlite``, or the same file in the user cache folder."""
    folder = os.environ.get(CACHE_DIR_ENV)
    if not folder:
        import platformdirs

        folder = platformdirs.user_cache_dir("distilabel_nb")
    return Path(folder).expanduser() / CACHE_FILE


class CallCache:
    """A content-addressed store of model answers in sqlite.

    Args:
        path: The database file (default: :func:`default_cache_path`), or ``":memory:"``.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = str(path) if path is not None else str(default_cache_path())
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Answers a write could not store yet (a full disk, a lock held too long): kept here,
        # served by get_many, written by a later store() or flush().
        self._pending: dict[str, tuple[str, dict[str, int]]] = {}
        self._retry_at = 0.0
        #: Why the last write failed (``None`` once a write succeeds again).
        self.write_error: str | None = None
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA busy_timeout=30000")
            if self.path != ":memory:":
                self._use_wal()
            # NORMAL in WAL mode survives a killed process (not a power cut) and is fast.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
                "usage TEXT NOT NULL, created REAL NOT NULL)"
            )

    def _use_wal(self) -> None:
        """Switch the file to WAL mode, waiting while another process holds it.

        sqlite answers "database is locked" at once, without its busy timeout, when two
        processes switch a new file at the same moment; the switch is retried instead.
        """
        deadline = time.monotonic() + 30
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @staticmethod
    def key(*, backend: str, model: dict[str, Any], prompt: Any, params: dict[str, Any], index: int, schema: Any = None) -> str:
        """The content hash that identifies one call (never includes credentials)."""
        material = _dump({"backend": backend, "model": model, "prompt": prompt, "params": params, "index": index, "schema": schema})
        return hashlib.sha256(material.encode()).hexdigest()

    @staticmethod
    def keyer(*, backend: str, model: dict[str, Any], params: dict[str, Any]) -> Callable[[Any, int, Any], str]:
        """``key`` with the parts fixed for one LLM: a function of ``(prompt, index, schema)``.

        It gives the very same keys as :meth:`key` while serialising the fixed parts once.

        Example:
            >>> make = CallCache.keyer(backend="openai", model={"model": "m"}, params={})
            >>> make("hi", 0, None) == CallCache.key(backend="openai", model={"model": "m"}, prompt="hi", params={}, index=0)
            True
        """
        head = '{"backend": ' + _dump(backend) + ', "index": '
        middle = ', "model": ' + _dump(model) + ', "params": ' + _dump(params) + ', "prompt": '

        def make(prompt: Any, index: int, schema: Any = None) -> str:
            schema_text = "null" if schema is None else _dump(schema)
            material = head + str(int(index)) + middle + _dump(prompt) + ', "schema": ' + schema_text + "}"
            return hashlib.sha256(material.encode()).hexdigest()

        return make

    def get_many(self, keys: list[str]) -> dict[str, tuple[str, dict[str, int]]]:
        """Stored ``(answer, usage)`` for each key that is present (answers waiting to be written too)."""
        pending = {key: self._pending[key] for key in keys if key in self._pending} if self._pending else {}
        if len(keys) == 1:  # the usual case (one answer per row): the simplest query
            if pending:
                return pending
            with self._lock:
                row = self._db.execute("SELECT answer, usage FROM calls WHERE key = ?", keys).fetchone()
            return {} if row is None else {keys[0]: (row[0], json.loads(row[1]))}
        rows = []
        with self._lock:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                part = keys[start:start + _KEYS_PER_QUERY]
                marks = ",".join("?" * len(part))
                rows += self._db.execute(f"SELECT key, answer, usage FROM calls WHERE key IN ({marks})", part).fetchall()
        return {**{key: (answer, json.loads(usage)) for key, answer, usage in rows}, **pending}

    def put(self, key: str, answer: str, usage: dict[str, int]) -> None:
        """Store an answer (replacing any earlier one for the same call); raises when it cannot."""
        with self._lock:
            self._write({key: (answer, usage)})

    def _write(self, entries: dict[str, tuple[str, dict[str, int]]]) -> None:
        now = time.time()
        rows = [(key, answer, json.dumps(usage), now) for key, (answer, usage) in entries.items()]
        sql = "INSERT OR REPLACE INTO calls (key, answer, usage, created) VALUES (?, ?, ?, ?)"
        if len(rows) == 1:
            self._db.execute(sql, rows[0])
            return
        self._db.execute("BEGIN IMMEDIATE")  # many answers: one transaction
        try:
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def store(self, key: str, answer: str, usage: dict[str, int]) -> bool:
        """Store an answer without ever raising; ``False`` when it could not be written yet.

        A write that fails (a full disk, a read-only file, another process holding the
        write lock past :data:`WRITE_WAIT_SECONDS`) keeps the answer in memory, where
        :meth:`get_many` finds it, and sets :attr:`write_error`. A later ``store`` (after
        :data:`RETRY_SECONDS`) or :meth:`flush` writes it with the others.
        """
        self._pending[key] = (answer, usage)
        if time.monotonic() < self._retry_at:
            return False
        return self.flush()

    def flush(self) -> bool:
        """Write the answers kept by failed writes; ``True`` when none is left."""
        with self._lock:
            if not self._pending:
                return True
            entries = dict(self._pending)
            try:
                self._db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
                try:
                    self._write(entries)
                finally:
                    self._db.execute("PRAGMA busy_timeout=30000")
            except (sqlite3.Error, OSError) as exc:
                self.write_error = f"{type(exc).__name__}: {exc}"
                self._retry_at = time.monotonic() + RETRY_SECONDS
                return False
            for key, entry in entries.items():
                if self._pending.get(key) is entry:
                    del self._pending[key]
            self.write_error = None
            return not self._pending

    @property
    def unstored(self) -> int:
        """How many answers wait in memory for a write that failed."""
        return len(self._pending)

    def __bool__(self) -> bool:  # an empty cache is still a cache
        return True

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def clear(self) -> None:
        """Forget every stored answer."""
        with self._lock:
            self._db.execute("DELETE FROM calls")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"CallCache({self.path!r})"


_shared: dict[str, CallCache] = {}
_shared_lock = threading.Lock()


def shared_cache(path: str | Path | None = None) -> CallCache:
    """One :class:`CallCache` per database file in this process."""
    resolved = str(path) if path is not None else str(default_cache_path())
    with _shared_lock:
        if resolved not in _shared:
            _shared[resolved] = CallCache(resolved)
        return _shared[resolved]
