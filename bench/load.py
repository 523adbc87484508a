"""The app under load: N clients searching and one uploading, for a few minutes.

    python -m bench.load [--clients 10] [--minutes 3] [--store DIR | --url URL [--auth U:P]]

Starts the app (``python -m app`` on a free port, loopback) on a private copy of ``--store``, or
on a fresh store with the demo collection indexed first when no store is given; or targets a
running app at ``--url``. Then, at once: ``--clients`` threads each search without pause through
the real ``search`` endpoint (over HTTP as a browser tab calls it, one session per
client: :mod:`bench.gradio_rest` says why not gradio_client) with queries drawn from
``assets/demo/queries.jsonl``; one thread uploads copies of the demo videos through ``index``,
each re-muxed with its own title so its bytes (and so its video id) are new. At the end it
prints the search latency (median, 95th percentile, as a client sees it: queue and HTTP
included), every error, and whether each upload was indexed exactly once: the collection must
list each uploaded file once, under a video id no other video has, and (for a store on this
machine) the store read directly must agree. Exits 1 if anything failed.

Timings are wall clock on whatever else shares the CPU: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import av
from gradio_client import Client, handle_file

from bench.app_process import start_app
from bench.corpus import median_and_p95
from bench.gradio_rest import GradioRest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO = REPO_ROOT / "assets" / "demo"
FINISH_TIMEOUT_S = 600  # for the upload still indexing when time is up


@dataclass
class Tally:
    """What the threads saw; each list is appended to by one thread (or under ``lock``)."""

    search_ms: list[float] = field(default_factory=list)
    search_at: list[float] = field(default_factory=list)  # seconds into the run, per search
    search_errors: list[str] = field(default_factory=list)
    uploads: list[dict] = field(default_factory=list)  # name, status, video_id, seconds
    upload_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def demo_queries() -> list[str]:
    lines = (DEMO / "queries.jsonl").read_text().splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def distinct_copy(source: Path, target: Path, title: str) -> Path:
    """``source`` re-muxed (no re-encoding) with ``title`` in its metadata: the same video,
    new bytes, so the app indexes it as a new one."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        out.metadata["title"] = title
        streams = {
            s.index: out.add_stream_from_template(s)
            for s in inp.streams
            if s.type in ("video", "audio")
        }
        for packet in inp.demux(list(inp.streams)):
            if packet.dts is None or packet.stream.index not in streams:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return target


def search_loop(
    url: str, auth, queries: list[str], seed: int, began: float, until: float, tally: Tally
) -> None:
    rng = random.Random(seed)
    client = GradioRest(url, auth)
    while time.monotonic() < until:
        query = rng.choice(queries)
        start = time.perf_counter()
        at = time.monotonic() - began
        try:
            result = client.call("search", query, 10, "modality_max", [])[0]
            if not isinstance(result, dict) or "hits" not in result:
                raise RuntimeError(f"unexpected answer {str(result)[:200]}")
        except Exception as error:  # every error is counted and shown
            with tally.lock:
                tally.search_errors.append(f"{query!r}: {type(error).__name__}: {error}"[:300])
            continue
        with tally.lock:
            tally.search_ms.append((time.perf_counter() - start) * 1000)
            tally.search_at.append(at)


def upload_loop(url: str, auth, folder: Path, began: float, until: float, tally: Tally) -> None:
    """Upload one new copy after another (each waits for its indexing) until time is up."""
    client = Client(url, auth=auth, verbose=False)
    videos = sorted(DEMO.glob("*.mp4"))
    number = 0
    while time.monotonic() < until:
        number += 1
        source = videos[number % len(videos)]
        tag = uuid.uuid4().hex[:8]
        name = f"load-{number:03d}-{tag}-{source.name}"
        copy = distinct_copy(source, folder / name, f"load test {number} {tag}")
        start = time.perf_counter()
        at = round(time.monotonic() - began, 1)
        try:
            report = client.predict([handle_file(str(copy))], "", api_name="/index")
            row = report["files"][0]
            tally.uploads.append(
                {
                    "name": name,
                    "status": row["status"],
                    "video_id": row.get("video_id"),
                    "message": row.get("message", ""),
                    "seconds": round(time.perf_counter() - start, 2),
                    "at_s": at,
                }
            )
            if row["status"] != "indexed":
                tally.upload_errors.append(f"{name}: {row['status']}: {row.get('message')}")
        except Exception as error:
            tally.upload_errors.append(f"{name}: {type(error).__name__}: {error}"[:300])
        copy.unlink(missing_ok=True)


def check_uploads(url: str, auth, store: str | None, uploads: list[dict]) -> list[str]:
    """Problems with the uploads as the collection (and the store itself) lists them."""
    listed = Client(url, auth=auth, verbose=False).predict(api_name="/collection")["videos"]
    problems = []
    ids = collections.Counter(v["video_id"] for v in listed)
    problems += [f"video id {i} listed {n} times" for i, n in ids.items() if n > 1]
    names = collections.Counter(v["file_name"] for v in listed)
    for upload in uploads:
        if upload["status"] != "indexed":
            continue
        count = names[upload["name"]]
        if count != 1:
            problems.append(f"{upload['name']} is listed {count} times, not once")
    if store and "://" not in store:
        from backend.collection import Collection
        from backend.config import Settings

        stored = Collection(Settings.from_env().with_store(store)).videos()
        direct = collections.Counter(v.file_name for v in stored)
        if len(stored) != len(listed):
            problems.append(f"the store holds {len(stored)} videos, the app lists {len(listed)}")
        for upload in uploads:
            if upload["status"] == "indexed" and direct[upload["name"]] != 1:
                problems.append(f"{upload['name']}: {direct[upload['name']]} rows in the store")
    return problems


# ------------------------------------------------------------------------- the app to load
def prepare_store(source: str | None, work: Path) -> Path:
    """A store for this run only: a copy of ``source``, or the demo collection indexed anew."""
    store = work / "store"
    if source:
        shutil.copytree(source, store)
        return store
    print("indexing the demo collection into a fresh store first ...", file=sys.stderr)
    command = [sys.executable, "-m", "backend", "index", str(DEMO), "--store", str(store)]
    subprocess.run(command, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL)
    return store


# ------------------------------------------------------------------------- the run
def run(url: str, auth, store: str | None, clients: int, minutes: float, seed: int) -> dict:
    queries = demo_queries()
    warm = Client(url, auth=auth, verbose=False)
    warm.predict(queries[0], 10, "modality_max", [], api_name="/search")  # the model loaded
    videos_before = len(warm.predict(api_name="/collection")["videos"])
    tally = Tally()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    until = started + minutes * 60
    with tempfile.TemporaryDirectory(prefix="load-uploads-") as folder:
        threads = [
            threading.Thread(
                target=search_loop,
                args=(url, auth, queries, seed + n, started, until, tally),
                daemon=True,
            )
            for n in range(clients)
        ]
        uploader = threading.Thread(
            target=upload_loop, args=(url, auth, Path(folder), started, until, tally), daemon=True
        )
        for thread in [*threads, uploader]:
            thread.start()
        for thread in threads:
            thread.join()
        searching_s = time.monotonic() - started
        load_end = os.getloadavg()[0]
        uploader.join(FINISH_TIMEOUT_S)
        if uploader.is_alive():
            tally.upload_errors.append(f"the last upload did not finish in {FINISH_TIMEOUT_S} s")
    p50, p95 = median_and_p95(tally.search_ms) if tally.search_ms else (float("nan"),) * 2
    problems = check_uploads(url, auth, store, tally.uploads)
    indexed = [u for u in tally.uploads if u["status"] == "indexed"]
    return {
        "url": url,
        "clients": clients,
        "minutes": minutes,
        "videos_at_start": videos_before,
        "cpus": os.cpu_count(),
        "load_average_start": round(load_before, 2),
        "load_average_end": round(load_end, 2),
        "searches": len(tally.search_ms),
        "searches_per_s": round(len(tally.search_ms) / searching_s, 2),
        "search_p50_ms": round(p50, 1),
        "search_p95_ms": round(p95, 1),
        "search_max_ms": round(max(tally.search_ms, default=float("nan")), 1),
        "search_errors": tally.search_errors,
        "uploads": len(tally.uploads),
        "uploads_indexed": len(indexed),
        "upload_median_s": round(
            sorted(u["seconds"] for u in indexed)[len(indexed) // 2] if indexed else 0, 2
        ),
        "upload_errors": tally.upload_errors,
        "indexed_once_problems": problems,
        "upload_rows": tally.uploads,
        "slowest_searches": [  # (seconds into the run, ms): to set beside the uploads' times
            (round(at, 1), round(ms))
            for ms, at in sorted(zip(tally.search_ms, tally.search_at, strict=True))[-10:]
        ],
    }


def summary_text(r: dict) -> str:
    errors = len(r["search_errors"]) + len(r["upload_errors"]) + len(r["indexed_once_problems"])
    lines = [
        f"{r['clients']} searchers + 1 uploader for {r['minutes']:g} min against {r['url']} "
        f"({r['videos_at_start']} videos at the start); {r['cpus']} CPUs, load average "
        f"{r['load_average_start']} at the start, {r['load_average_end']} at the end",
        f"search: {r['searches']} calls ({r['searches_per_s']}/s), "
        f"{len(r['search_errors'])} errors, p50 {r['search_p50_ms']:.0f} ms, "
        f"p95 {r['search_p95_ms']:.0f} ms, max {r['search_max_ms']:.0f} ms",
        f"upload: {r['uploads']} uploads, {r['uploads_indexed']} indexed, "
        f"{len(r['upload_errors'])} errors, median {r['upload_median_s']} s from upload to indexed",
        "store: every uploaded file indexed exactly once"
        if not r["indexed_once_problems"] and r["uploads_indexed"] == r["uploads"]
        else f"store: {len(r['indexed_once_problems'])} problems",
    ]
    for problem in (r["search_errors"] + r["upload_errors"] + r["indexed_once_problems"])[:20]:
        lines.append(f"  - {problem}")
    lines.append("OK: 0 errors" if errors == 0 else f"FAILED: {errors} errors")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--clients", type=int, default=10, help="concurrent searchers")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--store", help="an indexed store to copy (default: the demo, indexed)")
    parser.add_argument("--url", help="a running app instead (its store is changed: uploads)")
    parser.add_argument("--auth", help="user:password for a protected --url")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    with tempfile.TemporaryDirectory(prefix="bench-load-") as work:
        process = None
        store: str | None = None
        if args.url:
            url = args.url
        else:
            store = str(prepare_store(args.store, Path(work)))
            process, url = start_app(Path(store), Path(work) / "app.log")
        try:
            result = run(url, auth, store, args.clients, args.minutes, args.seed)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    print(json.dumps(result, indent=2) if args.json else summary_text(result))
    failed = result["search_errors"] or result["upload_errors"] or result["indexed_once_problems"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
