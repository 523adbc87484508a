"""Training jobs: a fine-tuning run as its own process, followed through files in the store folder.

A job is a folder ``STORE/training/<job id>/``: ``job.json`` (the settings, the command, the
launcher's pid), ``log.txt`` (the process's output), and what the run itself writes
(``progress.jsonl``, ``checkpoints/``, ``adapter/``, ``result.json``; see ``backend.train.train``).
Status is always rebuilt from those files, so a browser reload or an app restart loses nothing;
a run that crashes leaves its error in ``log.txt``; and training only ever reads the store.

Job ids come from requests, so none is trusted: an id must have the form this module gives
(``20261123-101500-ab12``) and name a real folder inside ``training/``; ``cancel`` signals only a
process whose command line names that job's folder; ``switch`` loads only an adapter inside it.
One job runs at a time per store: starting one holds ``training/.start.lock`` (an exclusive
``flock``, released by the kernel if the caller dies) from the "nothing running" check until the
new job's ``job.json`` is written, so two starts at once (two sessions, two app processes, the
CLI) cannot both pass the check.

The app's Train tab needs only :func:`start_job`, :func:`job_status`, :func:`read_progress` (or
:func:`follow`), :func:`cancel_job`, :func:`job_result` and :func:`latest_job`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from backend.config import EncoderSettings, Settings
from backend.reencode import ReencodeProgress, ReencodeReport
from backend.train.progress import PROGRESS_FILE, read_events
from backend.train.settings import TrainSettings
from backend.train.train import RESULT_FILE

TRAINING_DIR = "training"
JOB_FILE, LOG_FILE, CANCEL_FILE = "job.json", "log.txt", "cancel-requested"
START_LOCK = ".start.lock"
#: What :func:`start_job` names a job: start time and 4 random hex digits.
JOB_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}")
ENCODERS = ("default", "clamr")
REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_LINES = 20

State = Literal["starting", "running", "completed", "cancelled", "failed"]
Launcher = Literal["auto", "accelerate", "python"]


class JobError(RuntimeError):
    """A job that cannot be started or found; the message says why."""


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    folder: Path
    state: State
    step: int = 0
    total_steps: int | None = None
    epoch: int | None = None
    loss: float | None = None
    lr: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    metrics: dict = field(default_factory=dict)  # "before" / "after" as they arrive
    adapter: str | None = None
    error: str | None = None
    cancel_requested: bool = False
    started_at: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "cancelled", "failed")

    def to_json(self) -> dict:
        return {**asdict(self), "folder": str(self.folder), "finished": self.finished}


def jobs_folder(store: str | Path) -> Path:
    return Path(store) / TRAINING_DIR


def check_job_id(job_id: object) -> str:
    """``job_id`` if it has the form of a job id, else a JobError saying what one looks like.

    >>> check_job_id("20261123-101500-ab12")
    '20261123-101500-ab12'
    >>> check_job_id("../../etc")
    Traceback (most recent call last):
    ...
    backend.train.jobs.JobError: '../../etc' is not a training job id (like 20261123-101500-ab12)
    """
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        shown = repr(job_id) if len(repr(job_id)) <= 60 else repr(job_id)[:57] + "..."
        raise JobError(f"{shown} is not a training job id (like 20261123-101500-ab12)")
    return job_id


def _folder(store: str | Path, job_id: str) -> Path:
    """The job's folder: a real folder directly inside ``training/`` (no link out of it)."""
    check_job_id(job_id)
    root = jobs_folder(store)
    folder = root / job_id
    if not _is_job_folder(folder) or folder.resolve().parent != root.resolve():
        raise JobError(f"no training job {job_id!r} in {root}")
    return folder


def _is_job_folder(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (folder / JOB_FILE).is_file()


def _read_json(path: Path, job_id: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise JobError(f"{path.name} of training job {job_id} cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise JobError(f"{path.name} of training job {job_id} is not a JSON object")
    return data


@contextlib.contextmanager
def _start_lock(store: str | Path) -> Iterator[None]:
    """Hold the store's exclusive training-start lock (waits for another start to finish)."""
    folder = jobs_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / START_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _launch_command(settings: TrainSettings, launcher: Launcher) -> list[str]:
    """``accelerate launch`` when accelerate is installed (the same script scales to GPUs),
    else plain ``python -m``. Without an accelerate config, one local process, no questions."""
    module = ["-m", "backend.train.train", *settings.to_argv()]
    if launcher == "python":
        return [sys.executable, *module]
    try:
        from accelerate.commands.config.config_args import default_config_file
    except ImportError:
        if launcher == "accelerate":
            raise JobError("accelerate is not installed: pip install accelerate") from None
        return [sys.executable, *module]
    launch = [sys.executable, "-m", "accelerate.commands.launch"]
    if not Path(default_config_file).is_file():
        launch += ["--num_processes", "1", "--num_machines", "1"]
        launch += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    return [*launch, *module]


def preview(settings: TrainSettings) -> dict[str, int]:
    """What a run would train on (labels, synthetic queries, train / held-out), without a model."""
    from backend.store.video_store import VideoStore
    from backend.train.data import build_training_data

    store = VideoStore.open(settings.store)
    data = build_training_data(
        store, settings.synthetic, not settings.no_labels, settings.heldout, settings.seed
    )
    return {**data.counts, "skipped_labels": data.skipped_labels}


def start_job(settings: TrainSettings, launcher: Launcher = "auto") -> JobStatus:
    """Start training in a new process (its own session, so it outlives the caller)."""
    from backend.store.video_store import StoreError, VideoStore

    if not settings.store:
        raise JobError("a training job needs a store")
    try:
        VideoStore.open(settings.store)
    except StoreError as error:
        raise JobError(str(error)) from error
    with _start_lock(settings.store):
        running = next((job for job in list_jobs(settings.store) if not job.finished), None)
        if running is not None:
            raise JobError(
                f"training job {running.job_id} is still running on {settings.store}: wait for "
                "it or cancel it first"
            )
        return _launch(settings, launcher)


def _launch(settings: TrainSettings, launcher: Launcher) -> JobStatus:
    """Make the job's folder, start its process and write ``job.json`` (under the start lock)."""
    while True:  # a fresh id: two starts in one second differ in their random part
        job_id = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        folder = jobs_folder(settings.store) / job_id
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            continue
    settings = replace(settings, output=str(folder))
    command = _launch_command(settings, launcher)
    paths = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    with open(folder / LOG_FILE, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    job = {
        "job_id": job_id,
        "pid": process.pid,
        "command": command,
        "settings": asdict(settings),
        "started_at": datetime.now().isoformat(timespec="seconds"),
    }
    (folder / JOB_FILE).write_text(json.dumps(job, indent=2))
    # Reap the process when it ends (else it lingers as a zombie that still "exists").
    threading.Thread(target=process.wait, daemon=True).start()
    return job_status(settings.store, job_id)


def _alive(pid: object) -> bool:
    if not _is_pid(pid):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():  # Linux: a zombie has ended; a reused pid runs something else
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return False
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        # empty while the kernel is still setting up a just-exec'd process: that one is ours
        return not command or b"backend.train.train" in command or b"accelerate" in command
    return True


def _log_tail(folder: Path) -> str:
    path = folder / LOG_FILE
    if not path.is_file():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines[-LOG_TAIL_LINES:] if line.strip())


def job_status(store: str | Path, job_id: str) -> JobStatus:
    """Where a job stands, from its files (cheap enough to poll every second)."""
    folder = _folder(store, job_id)
    job = _read_json(folder / JOB_FILE, job_id)
    events, _ = read_events(folder / PROGRESS_FILE)
    status = JobStatus(
        job_id,
        folder,
        "starting",
        cancel_requested=(folder / CANCEL_FILE).exists(),
        started_at=str(job.get("started_at", "")),
    )
    train_pid = None
    for event in events:
        kind = event["event"]
        if kind == "launched":
            train_pid = event["pid"]
        elif kind == "start":
            status = replace(status, state="running", total_steps=event["total_steps"])
        elif kind == "step":
            keys = ("step", "total_steps", "epoch", "loss", "lr", "elapsed_s", "eta_s")
            status = replace(status, **{k: event[k] for k in keys})
        elif kind == "metrics":
            status = replace(status, metrics={**status.metrics, event["stage"]: event["metrics"]})
    result = job_result(store, job_id)
    if result is not None:
        return replace(
            status,
            state=result["status"],
            adapter=result.get("adapter"),
            error=result.get("error"),
            metrics=result.get("metrics") or status.metrics,
            eta_s=0.0 if result["status"] == "completed" else status.eta_s,
        )
    if _alive(job.get("pid")) or _alive(train_pid):
        return status
    if status.cancel_requested:  # stopped before it could save anything
        return replace(status, state="cancelled")
    tail = _log_tail(folder)
    return replace(
        status,
        state="failed",
        error="the training process ended without a result" + (f":\n{tail}" if tail else ""),
    )


def job_result(store: str | Path, job_id: str) -> dict | None:
    """``result.json`` of a finished job (status, metrics before/after, loss curve, adapter)."""
    path = _folder(store, job_id) / RESULT_FILE
    return _read_json(path, job_id) if path.is_file() else None


def read_progress(store: str | Path, job_id: str, offset: int = 0) -> tuple[list[dict], int]:
    """Progress events after byte ``offset``, and the next offset (poll with it)."""
    return read_events(_folder(store, job_id) / PROGRESS_FILE, offset)


def follow(
    store: str | Path, job_id: str, poll_s: float = 0.5, timeout_s: float | None = None
) -> Iterator[dict]:
    """Every progress event, as it is written, until the job has finished (or the timeout)."""
    offset, deadline = 0, None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        events, offset = read_progress(store, job_id, offset)
        yield from events
        if job_status(store, job_id).finished:
            yield from read_progress(store, job_id, offset)[0]
            return
        if deadline is not None and time.monotonic() > deadline:
            return
        time.sleep(poll_s)


def wait_for(store: str | Path, job_id: str, timeout_s: float, poll_s: float = 0.5) -> JobStatus:
    deadline = time.monotonic() + timeout_s
    while not (status := job_status(store, job_id)).finished and time.monotonic() < deadline:
        time.sleep(poll_s)
    return status


def cancel_job(store: str | Path, job_id: str) -> JobStatus:
    """Ask the job to stop: it finishes its current step, saves the adapter and ends
    ``cancelled``. Returns at once; poll :func:`job_status` to see it end."""
    folder = _folder(store, job_id)
    status = job_status(store, job_id)
    if status.finished:
        return status
    (folder / CANCEL_FILE).touch()
    pid = _read_json(folder / JOB_FILE, job_id).get("pid")
    if _runs_job(pid, folder):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)  # the launcher and the run: one process group
    return job_status(store, job_id)


def _is_pid(pid: object) -> bool:
    return isinstance(pid, int) and not isinstance(pid, bool) and pid > 1


def _runs_job(pid: object, folder: Path) -> bool:
    """Whether ``pid`` leads the process group of the job in ``folder``: its own group (the job
    was started in a new session) and, where /proc tells, a command line naming the folder. A
    ``job.json`` naming any other process is never acted on."""
    if not _is_pid(pid):
        return False
    try:
        if os.getpgid(pid) != pid:
            return False
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self/cmdline").is_file():
        return True  # no /proc (macOS): the group check above is what we have
    try:
        return os.fsencode(str(folder)) in cmdline.read_bytes()
    except OSError:
        return False


def switch_to_result(
    store: str | Path,
    job_id: str,
    on_progress: ReencodeProgress | None = None,
    settings: Settings | None = None,
) -> ReencodeReport:
    """Re-encode the collection with a finished job's adapter into a new store version and
    switch to it (the version in use stays, for rollback). Runs in the calling process."""
    from backend.reencode import switch_encoder

    target = _adapter_settings(store, job_id)
    base = settings or Settings()
    return switch_encoder(replace(base, store=str(store)), target, on_progress)


def _adapter_settings(store: str | Path, job_id: str) -> EncoderSettings:
    """The encoder settings of a finished job's adapter, checked: the adapter is a folder inside
    the job's own folder, and the encoder is the one the job was started with."""
    folder = _folder(store, job_id)
    result = job_result(store, job_id)
    if result is None or not result.get("adapter") or result.get("status") == "failed":
        raise JobError(f"training job {job_id} has no adapter to switch to")
    encoder = result.get("encoder")
    started = _read_json(folder / JOB_FILE, job_id).get("settings") or {}
    if not isinstance(encoder, dict) or encoder.get("name") not in ENCODERS:
        raise JobError(f"result.json of training job {job_id} names no known encoder")
    same_model = started.get("model") in (None, encoder.get("model"))
    if encoder.get("name") != started.get("encoder") or not same_model:
        raise JobError(
            f"result.json of training job {job_id} names another encoder than the job was "
            "started with: not switching to it"
        )
    adapter = Path(str(result["adapter"]))
    adapter = adapter if adapter.is_absolute() else folder / adapter
    if not adapter.resolve().is_relative_to(folder.resolve()):  # the store was moved since?
        adapter = folder / adapter.name
    if not adapter.resolve().is_relative_to(folder.resolve()) or not adapter.is_dir():
        raise JobError(
            f"the adapter of training job {job_id} ({adapter}) is not a folder inside {folder}: "
            "not switching to it"
        )
    return EncoderSettings(name=encoder["name"], model=encoder.get("model"), adapter=str(adapter))


def list_jobs(store: str | Path) -> list[JobStatus]:
    """All jobs of a store, newest first."""
    folder = jobs_folder(store)
    if not folder.is_dir():
        return []
    ids = sorted(
        (p.name for p in folder.iterdir() if JOB_ID.fullmatch(p.name) and _is_job_folder(p)),
        reverse=True,
    )
    return [job_status(store, job_id) for job_id in ids]


def latest_job(store: str | Path) -> JobStatus | None:
    """The newest job (what a reloaded Train tab shows), or None."""
    jobs = list_jobs(store)
    return jobs[0] if jobs else None
