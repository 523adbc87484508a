"""How long an assessor waits between grading a candidate and the next one playing.

    python -m bench.judging_latency [--store DIR] [--presses N] [--dwell S] [--json]

The real app (``python -m app``) runs on a copy of the store (by default the demo collection,
indexed into a temporary store first) with the demo queries imported and pooled; headless
Chromium (Debian's) opens the Judge tab and grades candidates with the keys ``0``/``1``/``2``,
watching each candidate ``--dwell`` seconds first, as a person would. Two times per key press,
measured in the page with ``performance.now()``:

- *next playing*: from the keydown to the ``playing`` event of the next candidate's player (what
  the assessor waits for; the aim is under 300 ms);
- *saved*: from the keydown to the status line confirming the label stored (the server's round
  trip, the write included).

Key presses that end a query (no next candidate) are not timed; ``Q`` moves on. Prints the
machine line and the load average: timings on a shared CPU move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backend.bench.machine import machine_info, machine_line
from bench.app_process import start_app
from bench.corpus import median_and_p95

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
CHROMIUM = Path("/usr/bin/chromium")
ASSESSOR = "bench"

PROBE = """
() => {
  const b = (window.__bench = {t0: null, from: null, waitSave: null, next: [], saved: []});
  window.addEventListener("keydown", (e) => {  // after the screen's own listener: it has sent
    const last = window.__judge && window.__judge.last;
    if (!"012".includes(e.key) || !last || last.action !== "grade") return;
    b.t0 = e.timeStamp;
    b.from = last.video_id;
    b.waitSave = {t0: e.timeStamp, text: " · " + last.file + " = " + e.key + " by "};
  }, true);
  document.addEventListener("playing", (e) => {
    const v = e.target;
    if (b.t0 === null || !v.classList || !v.classList.contains("jv-player")) return;
    if (v.dataset.videoId === b.from) return;
    b.next.push(performance.now() - b.t0);
    b.t0 = null;
  }, true);
  new MutationObserver(() => {
    const w = b.waitSave;
    const status = document.querySelector("#judge-status");
    if (w && status && status.innerText.includes(w.text)) {
      b.saved.push(performance.now() - w.t0);
      b.waitSave = null;
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
"""


def _cli(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "backend", *args], cwd=REPO, check=True, stdout=subprocess.DEVNULL
    )


def prepare_store(source: Path | None, folder: Path) -> Path:
    """A private copy of ``source`` (default: the demo collection, indexed now) with the demo
    queries imported and pooled."""
    store = folder / "store"
    if source is None:
        _cli("index", str(DEMO), "--store", str(store))
    else:
        shutil.copytree(source, store)
    _cli("queries", "import", str(DEMO / "queries.jsonl"), "--store", str(store))
    _cli("pool", "--store", str(store))
    return store


def measure(url: str, presses: int, dwell_s: float) -> dict[str, list[float]]:
    """Grade ``presses`` candidates in headless Chromium; the two timings per press, in ms."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        page.goto(url)
        expect(page.locator("#status")).to_contain_text("videos", timeout=60_000)
        expect(page.locator("#assessor input")).to_be_editable()
        page.locator("#assessor input").focus()
        page.keyboard.type(ASSESSOR)
        page.keyboard.press("Tab")
        for tab in ("Judge", "Judging"):
            page.get_by_role("tab", name=tab, exact=True).focus()
            page.keyboard.press("Enter")
        screen = page.locator("#judge-screen")
        expect(screen.locator(".jv-card")).to_be_visible(timeout=60_000)
        page.evaluate(PROBE)
        done = 0
        while done < presses:
            if screen.locator(".jv-card").count() == 0:
                if "Every pooled query is judged" in screen.inner_text():
                    break
                page.evaluate("window.__bench.t0 = null")  # the query ended: nothing to time
                page.keyboard.press("q")
                expect(screen.locator(".jv-card")).to_be_visible(timeout=60_000)
                continue
            time.sleep(dwell_s)  # watching the candidate (and the next one buffers meanwhile)
            saved = page.evaluate("window.__bench.saved.length")
            page.keyboard.press(str(done % 3))
            page.wait_for_function(  # the label is stored before the next press
                f"window.__bench.saved.length > {saved}", timeout=60_000
            )
            done += 1
        time.sleep(1.0)
        result = page.evaluate("({next: window.__bench.next, saved: window.__bench.saved})")
        browser.close()
    return result


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    p50, p95 = median_and_p95(values)
    return {"n": len(values), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
            "max_ms": round(max(values), 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.judging_latency", description=__doc__)
    parser.add_argument("--store", type=Path, help="an indexed store (default: the demo, now)")
    parser.add_argument("--presses", type=int, default=30, help="grades to time")
    parser.add_argument("--dwell", type=float, default=1.0, help="seconds on each candidate")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    folder = Path(tempfile.mkdtemp(prefix="judging-latency-"))
    try:
        store = prepare_store(args.store, folder)
        process, url = start_app(store, folder / "app.log")
        try:
            timings = measure(url, args.presses, args.dwell)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    info = machine_info()
    report = {
        "machine": info,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "dwell_s": args.dwell,
        "next_playing": _summary(timings["next"]),
        "saved": _summary(timings["saved"]),
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    print(f"{machine_line(info)}; load average {report['load_average']}")
    print(f"dwell {args.dwell} s per candidate\n")
    print("| from a grade key to | presses | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for name, key in (("the next candidate playing", "next_playing"), ("the label saved", "saved")):
        row = report[key]
        if row["n"]:
            print(f"| {name} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
