"""The call cache: every model call stored by content, so nothing is paid for twice.

A call is identified by the backend, the model's identity (name + base URL, or the GGUF
file), the exact prompt sent, the generation parameters, the answer schema and the
generation index. The raw answer, its token usage and why it ended (``finish_reason``)
are stored with a checksum: an entry whose bytes were changed is treated as missing (and
counted in :attr:`CallCache.corrupt`). Parsing runs again on every hit, so a fixed parser
applies to old answers. A re-run costs nothing and a run
killed half way resumes where it stopped.

The database is one sqlite file (WAL mode), safe for several threads and for several
processes on one machine. Its folder is ``DISTILABEL_NB_CACHE_DIR``, or the user cache
folder (``platformdirs``).

Example:
    >>> cache = CallCache(":memory:")
    >>> key = cache.key(backend="openai", model={"model": "m"}, prompt="hi", params={}, index=0)
    >>> cache.put(key, "hello", {"completion_tokens": 1})
    >>> cache.get_many([key])[key]
    ('hello', {'completion_tokens': 1}, None)
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

from distilabel_nb.cache_claims import Claims
from distilabel_nb.errors import CacheUnavailable

CACHE_DIR_ENV = "DISTILABEL_NB_CACHE_DIR"
CACHE_FILE = "calls.sqlite"
_KEYS_PER_QUERY = 500  # well under sqlite's limit on bound parameters
#: Seconds :meth:`CallCache.store` waits for another process's write lock before keeping the answer for later.
WRITE_WAIT_SECONDS = 5.0
#: Seconds after a failed write before :meth:`CallCache.store` tries the database again.
RETRY_SECONDS = 5.0
_dump = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False, default=str)


#: ``(answer, usage, finish_reason)`` as stored for one call.
Entry = tuple[str, dict[str, int], "str | None"]
_FIX = ("point DISTILABEL_NB_CACHE_DIR at a folder you can write to, pass cache=CallCache('other/calls.sqlite'), "
        "or cache=False")


def checksum(answer: str, usage_json: str, finish: str | None) -> str:
    """The checksum stored with an entry: the first 16 hex digits of a SHA-256 of its parts."""
    return hashlib.sha256(f"{answer}\x00{usage_json}\x00{finish or ''}".encode()).hexdigest()[:16]


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
        self._lock = threading.Lock()
        # Answers a write could not store yet (a full disk, a lock held too long): kept here,
        # served by get_many, written by a later store() or flush().
        self._pending: dict[str, Entry] = {}
        self._retry_at = 0.0
        #: Why the last write failed (``None`` once a write succeeds again).
        self.write_error: str | None = None
        self._corrupt: set[str] = set()  # keys whose entry did not match its checksum
        #: True when the file could only be opened for reading: answers are read, new ones kept in memory.
        self.read_only = False
        self._db = self._open()
        #: The calls this process has in flight, claimed so that another process waits for them (:mod:`~distilabel_nb.cache_claims`).
        self.claims = Claims(self)

    def _open(self) -> sqlite3.Connection:
        """Open (or create) the database; a folder or file that cannot serve raises :class:`CacheUnavailable`."""
        if self.path == ":memory:":
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._prepare(db)
            return db
        file = Path(self.path)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise CacheUnavailable(f"The cache folder {file.parent} cannot be made: a file is in the way. Fix: remove "
                                   f"that file, or {_FIX}") from None
        except OSError as exc:
            raise CacheUnavailable(f"The cache folder {file.parent} cannot be made ({exc.strerror}). Fix: {_FIX}") from None
        if file.is_dir():
            raise CacheUnavailable(f"The cache file {file} is a folder. Fix: remove it, or {_FIX}")
        writable = os.access(file.parent, os.W_OK) and (not file.exists() or os.access(file, os.W_OK))
        if not writable and file.exists():
            return self._open_read_only(file)
        if not writable:
            raise CacheUnavailable(f"The cache file {file} cannot be created: its folder is read-only. Fix: {_FIX}")
        try:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._prepare(db)
        except sqlite3.DatabaseError as exc:
            raise CacheUnavailable(f"The cache file {file} cannot be used: {exc}. Fix: delete the file (its answers "
                                   f"are lost), or {_FIX}") from None
        return db

    def _open_read_only(self, file: Path) -> sqlite3.Connection:
        """A cache file this process may not write: read as it is (``mode=ro``; ``immutable`` when even that fails)."""
        failure: Exception | None = None
        for mode in ("mode=ro", "immutable=1"):
            try:
                db = sqlite3.connect(f"file:{file}?{mode}", uri=True, check_same_thread=False, isolation_level=None)
                self._columns(db)
                break
            except sqlite3.DatabaseError as exc:
                failure = exc
        else:
            raise CacheUnavailable(f"The cache file {file} is read-only and cannot be read: {failure}. Fix: {_FIX}") from None
        self.read_only = True
        self.write_error = "the cache file is read-only"
        self._retry_at = float("inf")  # nothing to retry: every new answer stays in memory
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        # A write waits this long for another process's lock; past it the answer is kept for later (store).
        db.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        if self.path != ":memory:":
            self._use_wal(db)
        # NORMAL in WAL mode survives a killed process (not a power cut) and is fast.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
                   "usage TEXT NOT NULL, created REAL NOT NULL, finish TEXT, checksum TEXT)")
        db.execute("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL)")
        missing = {"finish", "checksum"} - self._columns(db)
        for column in sorted(missing):  # a file written by an earlier version
            db.execute(f"ALTER TABLE calls ADD COLUMN {column} TEXT")
        self._has_columns = True

    def _columns(self, db: sqlite3.Connection) -> set[str]:
        columns = {row[1] for row in db.execute("PRAGMA table_info(calls)")}
        if not columns:
            raise sqlite3.DatabaseError("it holds no calls table")
        self._has_columns = {"finish", "checksum"} <= columns
        return columns

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Switch the file to WAL mode, waiting while another process holds it.

        sqlite answers "database is locked" at once, without its busy timeout, when two
        processes switch a new file at the same moment; the switch is retried instead.
        """
        deadline = time.monotonic() + 30
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
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

    def get_many(self, keys: list[str]) -> dict[str, Entry]:
        """Stored ``(answer, usage, finish_reason)`` for each key that is present (answers waiting to be written too).

        An entry whose checksum does not match is left out (a miss) and counted in :attr:`corrupt`.
        """
        pending = {key: self._pending[key] for key in keys if key in self._pending} if self._pending else {}
        extra = "finish, checksum" if self._has_columns else "NULL, NULL"
        if len(keys) == 1:  # the usual case (one answer per row): the simplest query
            if pending:
                return pending
            with self._lock:
                rows = self._db.execute(f"SELECT key, answer, usage, {extra} FROM calls WHERE key = ?", keys).fetchall()
        else:
            rows = []
            with self._lock:
                for start in range(0, len(keys), _KEYS_PER_QUERY):
                    part = keys[start:start + _KEYS_PER_QUERY]
                    marks = ",".join("?" * len(part))
                    rows += self._db.execute(f"SELECT key, answer, usage, {extra} FROM calls WHERE key IN ({marks})",
                                             part).fetchall()
        found: dict[str, Entry] = {}
        for key, answer, usage, finish, stored in rows:
            if stored is not None and stored != checksum(answer, usage, finish):
                self._corrupt.add(key)
                continue
            try:
                found[key] = (answer, json.loads(usage), finish)
            except ValueError:
                self._corrupt.add(key)
        return {**found, **pending}

    def put(self, key: str, answer: str, usage: dict[str, int], finish: str | None = None) -> None:
        """Store an answer (replacing any earlier one for the same call); raises when it cannot."""
        with self._lock:
            self._write({key: (answer, usage, finish)})

    def _write(self, entries: dict[str, Entry]) -> None:
        now = time.time()
        rows = []
        for key, (answer, usage, finish) in entries.items():
            usage_json = json.dumps(usage)
            rows.append((key, answer, usage_json, now, finish, checksum(answer, usage_json, finish)))
        sql = "INSERT OR REPLACE INTO calls (key, answer, usage, created, finish, checksum) VALUES (?, ?, ?, ?, ?, ?)"
        # The answers and the end of this process's claims on them, in one transaction (one commit).
        claimed = [(key, self.claims.owner) for key in entries if key in self.claims.held]
        if len(rows) == 1 and not claimed:
            self._db.execute(sql, rows[0])
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(sql, rows)
            if claimed:
                self._db.executemany("DELETE FROM claims WHERE key = ? AND owner = ?", claimed)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self.claims.held.difference_update(key for key, _ in claimed)

    def store(self, key: str, answer: str, usage: dict[str, int], finish: str | None = None) -> bool:
        """Store an answer without ever raising; ``False`` when it could not be written yet.

        A write that fails (a full disk, a read-only file, another process holding the
        write lock past :data:`WRITE_WAIT_SECONDS`) keeps the answer in memory, where
        :meth:`get_many` finds it, and sets :attr:`write_error`. A later ``store`` (after
        :data:`RETRY_SECONDS`) or :meth:`flush` writes it with the others.
        """
        self._pending[key] = (answer, usage, finish)
        if time.monotonic() < self._retry_at:
            return False
        return self.flush()

    def flush(self) -> bool:
        """Write the answers kept by failed writes; ``True`` when none is left."""
        with self._lock:
            if not self._pending:
                return True
            if self.read_only:
                return False
            entries = dict(self._pending)
            try:
                self._write(entries)
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
    def corrupt(self) -> int:
        """How many entries did not match their checksum (changed bytes): each was treated as missing."""
        return len(self._corrupt)

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
