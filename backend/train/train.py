"""Fine-tune an encoder on a store's labels and synthetic queries (PEFT LoRA, run by accelerate).

    python -m backend.train.train --store data/store                  # default encoder, CPU
    accelerate launch -m backend.train.train --store data/store       # the same script, any GPUs
    accelerate launch -m backend.train.train --store data/store --encoder clamr --load-in-4bit

Writes into ``--output`` (default ``STORE/training/<time>``), and never into the store itself:

- ``progress.jsonl``: one JSON event per line as the run goes (``backend.train.progress``);
- ``checkpoints/step-N/``: the adapter and trainer state at each epoch's end (last two kept);
- ``adapter/``: the final LoRA in PEFT's standard layout (``PeftModel.from_pretrained`` loads it;
  ``--adapter`` of ``python -m backend`` too);
- ``result.json``: status, metrics before and after on the held-out queries, the loss curve, the
  adapter and the encoder settings to switch the store to it.

SIGTERM or Ctrl-C stops after the current step and saves the adapter (status ``cancelled``); a
second Ctrl-C kills. An error ends the run with status ``failed`` and the message, exit code 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from backend.train.progress import PROGRESS_FILE, ProgressWriter, loss_curve, read_events
from backend.train.settings import TrainSettings, add_arguments

RESULT_FILE = "result.json"
EXIT_FAILED = 1


def default_output(store: str) -> Path:
    return Path(store) / "training" / datetime.now().strftime("%Y%m%d-%H%M%S")


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame) -> None:
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def write_result(output: Path, result: dict) -> None:
    """``result.json`` written whole or not at all (readers poll for it)."""
    partial = output / (RESULT_FILE + ".tmp")
    partial.write_text(json.dumps(result, indent=2, default=str))
    os.replace(partial, output / RESULT_FILE)


def _result(settings: TrainSettings, output: Path, started: float, **fields) -> dict:
    events, _ = read_events(output / PROGRESS_FILE)
    return {
        "status": "failed",
        "error": None,
        "output": str(output),
        "adapter": None,
        "metrics": {},
        "loss_curve": loss_curve(events),
        "settings": asdict(settings),
        "seconds": round(time.time() - started, 2),
        "ended_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **fields,
    }


def train(settings: TrainSettings, stop: threading.Event | None = None) -> dict:
    """Run and report: the result written to ``result.json`` (also on failure) and returned."""
    from backend.train.loop import run_training

    output = Path(settings.output or default_output(settings.store))
    if (output / RESULT_FILE).exists():
        raise SystemExit(f"{output} already holds a finished run: choose another --output")
    output.mkdir(parents=True, exist_ok=True)
    main_process = os.environ.get("RANK", "0") == "0"  # accelerate's other workers stay quiet
    progress = ProgressWriter(output / PROGRESS_FILE, enabled=main_process)
    started = time.time()
    progress.write("launched", pid=os.getpid(), output=str(output))
    try:
        outcome = run_training(settings, output, progress, stop)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        progress.write("end", status="failed", error=message)
        result = _result(settings, output, started, error=message, traceback=traceback.format_exc())
        if main_process:
            write_result(output, result)
        return result
    adapter = str(outcome.adapter) if outcome.adapter else None
    encoder = {
        "name": outcome.settings.encoder,
        "model": outcome.settings.model,
        "adapter": adapter,
    }
    result = _result(
        outcome.settings,
        output,
        started,
        status=outcome.status,
        adapter=adapter,
        encoder=encoder,
        metrics=outcome.metrics,
        steps_done=outcome.steps_done,
        total_steps=outcome.total_steps,
        counts=outcome.counts,
    )
    progress.write("end", status=outcome.status, adapter=adapter, metrics=outcome.metrics)
    if main_process:
        write_result(output, result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backend.train.train", description=__doc__.split("\n\n")[0]
    )
    add_arguments(parser)
    settings = TrainSettings.from_namespace(parser.parse_args(argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    _stop_on_signals(stop)
    result = train(settings, stop)
    if result["status"] == "failed":
        print(f"training failed: {result['error']}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps({k: result[k] for k in ("status", "adapter", "metrics")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
