"""The store's write lock and video claims: exclusive across threads and processes, reentrant,
and released by the kernel when a holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from backend.store.write_lock import claim, lock_folder, store_lock
from tests.conftest import REPO_ROOT

HOLD = """
import sys, time
from backend.store.write_lock import store_lock
store_lock(sys.argv[1]).acquire()
print("holding", flush=True)
time.sleep(60)
"""


def test_a_killed_holder_never_leaves_the_store_locked(tmp_path):
    uri = str(tmp_path / "store")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, uri], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with store_lock(uri).hold(wait=False) as held:
            assert not held  # another process has it
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        with store_lock(uri).hold(wait=False) as held:
            assert held
    finally:
        holder.kill()
        holder.wait(10)


def test_the_lock_is_reentrant_in_a_thread_and_exclusive_between_threads(tmp_path):
    lock = store_lock(str(tmp_path / "store"))
    assert lock is store_lock(str(tmp_path / "store"))  # one per store and process
    seen: list[bool] = []
    with lock.hold():
        with lock.hold():  # a locked write calling another
            assert lock.held
        thread = threading.Thread(target=lambda: seen.append(lock.acquire(wait=False)))
        thread.start()
        thread.join()
    assert seen == [False] and not lock.held
    assert lock.acquire(wait=False)
    lock.release()


def test_a_claim_is_held_once_and_its_file_removed(tmp_path):
    uri = str(tmp_path / "store")
    results: list[bool] = []
    with claim(uri, "video-1", wait=False) as mine:
        assert mine

        def other() -> None:
            with claim(uri, "video-1", wait=False) as theirs:
                results.append(theirs)
            with claim(uri, "video-2", wait=False) as another:
                results.append(another)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert results == [False, True]
    assert list((lock_folder(uri) / ".claims").iterdir()) == []


def test_a_waiting_claim_gets_the_video_when_the_holder_lets_go(tmp_path):
    uri = str(tmp_path / "store")
    order: list[str] = []
    with claim(uri, "v", wait=True):

        def wait_for_it() -> None:
            with claim(uri, "v", wait=True) as got:
                order.append(f"second {got}")

        thread = threading.Thread(target=wait_for_it)
        thread.start()
        time.sleep(0.2)
        order.append("first done")
    thread.join(10)
    assert order == ["first done", "second True"]


def test_an_object_store_uri_locks_in_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = lock_folder("s3://bucket/videos")
    assert folder.is_relative_to(tmp_path / "cache")
    assert folder != lock_folder("s3://bucket/other")
