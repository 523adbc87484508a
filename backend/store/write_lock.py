"""One writer at a time per store, and one ingest per video, across threads and processes.

Why a lock file and not only LanceDB's own commit conflicts: Lance makes each single table write
atomic and rebases concurrent appends and deletes on its own (measured with lancedb 0.40.0: two
processes adding and deleting on one table, or deleting from one fragment, lose nothing and raise
nothing), but it does not make decisions that span reads and writes. Two processes that both
check "is this video there?" and then add it get two rows, and so do two concurrent
``merge_insert``-if-not-matched on one key (both measured: 25 of 25 keys doubled). A video is
also several writes to several tables, and "delete token rows that no video points to" from one
process deletes the video another process is writing. So every store commit (the writes, not
the decoding and encoding before them) runs holding an exclusive ``flock`` on one file per
store: the check and the write happen as one step, and rows without a video seen by a lock
holder can only come from a writer that died.

``flock`` is released by the kernel when its process dies (``kill -9`` included), so a killed
writer never leaves the store locked. The lock is reentrant within a thread (a commit may call
another locked write) and shared by every :class:`VideoStore` of one process on the same store.

Claims (:func:`claim`) are the same kind of lock, one per video id: a process ingesting a video
holds its claim, so a second ``index`` run over the same folder works on other files meanwhile,
and waits (instead of ingesting a second time) only for the videos the first still has in hand.

Where the files live: ``<store>/.write.lock`` and ``<store>/.claims/`` for a folder; for a URI
(``s3://``...) a folder under the user's cache, so processes on one machine exclude each other.
Processes on different machines writing one object-store URI are NOT excluded by it: each table
write is still atomic (Lance retries commit conflicts on the object store), but the check-then-
write steps above can race between machines, so write to such a store from one machine at a time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOCK_NAME = ".write.lock"
CLAIMS_FOLDER = ".claims"


def lock_folder(uri: str) -> Path:
    """Where a store's lock files live (created on first use)."""
    if "://" not in uri:
        return Path(uri)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "clamr-video-search" / "locks" / hashlib.sha1(uri.encode()).hexdigest()[:16]


def _flock(path: Path, wait: bool) -> int | None:
    """An open descriptor of ``path`` holding an exclusive flock, or None if busy (no wait).

    The file may be unlinked by its last holder (claims are): after locking, the descriptor must
    still be the file at ``path``, else another process may hold the new one, so try again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


class ProcessLock:
    """An exclusive lock on one file: reentrant per thread, exclusive across threads and
    processes. Get it with :func:`store_lock` so one process has one per file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None
        self._fd: int | None = None

    def acquire(self, wait: bool = True) -> bool:
        if not self._thread_lock.acquire(blocking=wait):
            return False
        if self._depth == 0:
            try:
                fd = _flock(self.path, wait)
            except BaseException:
                self._thread_lock.release()
                raise
            if fd is None:
                self._thread_lock.release()
                return False
            self._fd = fd
            self._owner = threading.get_ident()
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd, self._owner = None, None
        self._thread_lock.release()

    @property
    def held(self) -> bool:
        """Whether this thread holds it (the writes that must run under it check)."""
        return self._owner == threading.get_ident()

    @contextmanager
    def hold(self, wait: bool = True) -> Iterator[bool]:
        """Hold the lock for the block; yields False (and holds nothing) if busy and not
        ``wait``."""
        acquired = self.acquire(wait)
        try:
            yield acquired
        finally:
            if acquired:
                self.release()

    def _forget_in_child(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # the parent's lock stays held by the parent's descriptor


_registry: dict[Path, ProcessLock] = {}
_registry_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _registry_lock
    for lock in _registry.values():
        lock._forget_in_child()
    _registry.clear()
    _registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def store_lock(uri: str) -> ProcessLock:
    """The write lock of the store at ``uri``: one object per process and store."""
    path = (lock_folder(uri) / LOCK_NAME).absolute()
    with _registry_lock:
        if path not in _registry:
            _registry[path] = ProcessLock(path)
        return _registry[path]


@contextmanager
def claim(uri: str, video_id: str, wait: bool) -> Iterator[bool]:
    """Hold the claim on one video of a store: yields True while this process has it, False at
    once if another holds it and not ``wait``. The claim file is removed when released."""
    name = hashlib.sha1(video_id.encode()).hexdigest()
    path = lock_folder(uri) / CLAIMS_FOLDER / f"{name}.lock"
    fd = _flock(path, wait)
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        with suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)
