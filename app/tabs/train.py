"""Train tab: fine-tune the encoder on the store's labels and synthetic queries, watch it, switch
the index to the new adapter, roll back. API endpoints ``train``, ``train_status``,
``train_cancel``, ``switch`` and ``versions``.

The run is a separate process (``backend.train.jobs``) and its files are the truth: the tab polls
them with a timer while something is under way, and on every page load attaches to the store's
latest job, so a browser reload (or an app restart) loses nothing and a crashed run only shows
its error. Switching runs in the app's own background thread (``app.switching``), so no request
waits for the re-encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from app import train_view as view
from app import validate
from app.context import AppContext
from app.switching import SwitchBusy
from backend.collection import JobError, StoreError, TrainSettings, loss_curve

POLL_S = 1.0
RANKS = [4, 8, 16, 32, 64, 128]
SWITCH_TIMEOUT_S = 6 * 3600


# ------------------------------------------------------------------ actions (plain data out)
def job_json(ctx: AppContext, job_id: str) -> dict | None:
    """A job's status as the files tell it, with its loss curve so far; None without a job."""
    job_id = validate.job_id(job_id)
    if not job_id:
        return None
    try:
        status = ctx.collection.training.status(job_id)
        events, _ = ctx.collection.training.progress(job_id)
    except JobError as error:
        raise gr.Error(str(error)) from error
    return {**status.to_json(), "loss_curve": [list(point) for point in loss_curve(events)]}


def chosen_job(ctx: AppContext, job_id: str | None) -> str:
    """The job named, else the store's latest ('' when it has none)."""
    job_id = validate.job_id(job_id)
    if job_id:
        return job_id
    latest = ctx.collection.training.latest()
    return latest.job_id if latest else ""


def versions_json(ctx: AppContext) -> list[dict]:
    try:
        return ctx.collection.describe_versions()
    except StoreError:
        return []


def train_settings(
    ctx: AppContext, epochs: float, lr: float, rank: float, loss: str, synthetic: float
) -> TrainSettings:
    """The run's settings: the user's choices, on the encoder and adapter the app searches
    with (so training continues from a version switched to earlier, as the CLI does)."""
    epochs = validate.number(epochs, "Epochs", 1, 1000, integer=True)
    lr = validate.number(lr, "The learning rate", 1e-12, 1.0)
    rank = validate.number(rank, "The LoRA rank", 1, 1024, integer=True)
    synthetic = validate.number(synthetic, "Synthetic queries", 0, 100_000, integer=True)
    if not isinstance(loss, str) or loss not in view.loss_choices():
        raise gr.Error(f"Unknown loss {loss!r:.60}: choose one of {view.loss_choices()}.")
    encoder = ctx.collection.settings.encoder
    return TrainSettings(
        store=ctx.store_path,
        encoder=encoder.name,
        model=encoder.model,
        adapter=encoder.adapter,
        load_in_4bit=encoder.load_in_4bit,
        epochs=int(epochs),
        lr=float(lr),
        rank=int(rank),
        loss=loss,
        synthetic=int(synthetic),
    )


def preview_text(ctx: AppContext, synthetic: float) -> str:
    settings = TrainSettings(store=ctx.store_path, synthetic=max(0, int(synthetic or 0)))
    try:
        return view.preview_markdown(ctx.collection.training.preview(settings))
    except StoreError as error:
        return f"Nothing to train on: {error}"


def start_training(ctx: AppContext, *choices: Any) -> dict:
    """Start a run in its own process; refuses while another runs on this store."""
    settings = train_settings(ctx, *choices)
    try:
        job = ctx.collection.training.start(settings)
    except JobError as error:
        raise gr.Error(str(error)) from error
    return job_json(ctx, job.job_id)


def cancel_training(ctx: AppContext, job_id: str) -> dict:
    job_id = chosen_job(ctx, job_id)
    if not job_id:
        raise gr.Error("There is no training job on this store to cancel.")
    try:
        ctx.collection.training.cancel(job_id)
    except JobError as error:
        raise gr.Error(str(error)) from error
    return job_json(ctx, job_id)


def begin_switch(ctx: AppContext, job_id: str) -> dict:
    """Start re-encoding with a finished job's adapter (in the background); returns at once."""
    job = job_json(ctx, chosen_job(ctx, job_id))
    if job is None or job["state"] not in ("completed", "cancelled") or not job["adapter"]:
        state = job["state"] if job else "missing"
        raise gr.Error(f"Training job {job_id or '(latest)'} is {state}: no adapter to switch to.")
    try:
        return ctx.switcher.start(job["job_id"]).to_json()
    except SwitchBusy as error:
        raise gr.Error(str(error)) from error


def activate_version(ctx: AppContext, name: str) -> list[str]:
    """Make a complete version active (a rollback); returns the videos it lacks."""
    name = validate.version_name(name)
    if not name:
        raise gr.Error("Choose a version to activate (v0, v1, ...).")
    if ctx.switcher.snapshot().running:
        raise gr.Error("A switch is running: activate a version once it has completed.")
    try:
        missing = ctx.activate_version(name)
    except StoreError as error:
        raise gr.Error(str(error)) from error
    ctx.switcher.forget()
    return missing


# ------------------------------------------------------------------ the tab
def _changed(shown: dict, name: str, value: Any, make: Callable[[], Any] | None = None) -> Any:
    """What to send to a large output: ``gr.skip()`` when it already shows ``value`` (a tick must
    not redraw the plot and tables every second), else ``make()`` or the value itself."""
    if name in shown and shown[name] == value:
        return gr.skip()
    shown[name] = value
    return make() if make is not None else value


def build(ctx: AppContext, blocks: gr.Blocks, tab: gr.Tab) -> None:
    encoder = ctx.collection.settings.encoder.name
    defaults = view.defaults_for(encoder)
    gr.Markdown(
        "Fine-tune the search on this collection: a LoRA adapter on the encoder, trained on your "
        "labels and on queries drawn from the videos themselves. Compare the held-out metrics, "
        "then switch the index to the new adapter; the version in use stays for rollback."
    )
    preview = gr.Markdown(elem_id="train-preview")
    with gr.Row():
        epochs = gr.Number(
            defaults["epochs"], label="Epochs", precision=0, minimum=1, elem_id="train-epochs"
        )
        lr = gr.Number(defaults["lr"], label="Learning rate", minimum=0, elem_id="train-lr")
        rank = gr.Dropdown(RANKS, value=defaults["rank"], label="LoRA rank", elem_id="train-rank")
        loss = gr.Dropdown(
            view.loss_choices(), value="contrastive", label="Loss", elem_id="train-loss-fn"
        )
        synthetic = gr.Slider(
            0,
            500,
            value=200,
            step=10,
            label="Synthetic queries (at most)",
            elem_id="train-synthetic",
        )
    with gr.Row():
        start = gr.Button("Start training", variant="primary", elem_id="train-start")
        cancel = gr.Button("Cancel", variant="stop", elem_id="train-cancel", interactive=False)
    progress = gr.HTML(view.progress_html(None, {"state": "idle"}), elem_id="train-progress")
    error = gr.Markdown(elem_id="train-error")
    with gr.Row():
        plot = gr.LinePlot(
            None,
            x="step",
            y="loss",
            title="Training loss",
            x_axis_format="d",
            y_axis_format=".1~e",
            elem_id="train-loss",
            scale=1,
        )
        with gr.Column(scale=1):
            gr.Markdown("**Held-out metrics, before and after training**")
            metrics = gr.Markdown(elem_id="train-metrics")
    switch = gr.Button(
        "Switch the index to this adapter", elem_id="train-switch", interactive=False
    )
    gr.Markdown("### Index versions")
    versions = gr.Markdown(elem_id="train-versions")
    with gr.Row():
        chosen = gr.Dropdown([], label="Version", elem_id="train-version", scale=3)
        activate = gr.Button("Activate (roll back)", elem_id="train-activate", scale=1)
    message = gr.Markdown(elem_id="train-message")
    with gr.Accordion("Job as JSON", open=False):
        job_box = gr.JSON(label="training job")
    job_id = gr.State("")
    shown = gr.State({})
    timer = gr.Timer(POLL_S, active=False)

    view_outputs = [job_id, shown, progress, error, plot, metrics, start, cancel, switch]
    view_outputs += [versions, chosen, job_box, timer]

    def render(current: str, seen: dict) -> tuple:
        """Every output of the tab for this job and the switch, unchanged large ones skipped."""
        seen = dict(seen or {})
        job = job_json(ctx, current)
        switching = ctx.switcher.snapshot().to_json()
        running = bool(job and not job["finished"])
        can_cancel = running and not job["cancel_requested"]
        following = running or switching["state"] == "running"
        curve = job["loss_curve"] if job else []
        listed_key = (switching["state"], switching["report"].get("version"), current)
        if seen.get("versions") == listed_key:
            listed, choices = gr.skip(), gr.skip()
        else:
            seen["versions"] = listed_key
            rows = versions_json(ctx)
            listed, choices = view.versions_markdown(rows), _version_dropdown(rows)
            seen["in_use"] = next((v["adapter"] for v in rows if v["active"]), None)
        can_switch = bool(job and job["finished"] and job["adapter"])
        can_switch = can_switch and switching["state"] != "running"
        can_switch = can_switch and not _same_path(job["adapter"], seen.get("in_use"))
        return (
            current,
            seen,
            # small ones always: a page that missed an update is right again at the next tick
            view.progress_html(job, switching),
            view.error_markdown(job, switching),
            _changed(seen, "plot", (current, len(curve)), lambda: view.loss_frame(curve)),
            _changed(seen, "metrics", view.metrics_markdown(job["metrics"]) if job else ""),
            gr.Button(interactive=not running),
            gr.Button(interactive=can_cancel),
            gr.Button(interactive=can_switch),
            listed,
            choices,
            _changed(seen, "job", job),
            gr.Timer(active=following),
        )

    def attach() -> tuple:
        """What a (re)loaded page shows: the store's latest job, followed if under way."""
        return render(chosen_job(ctx, ""), {})

    def tick(current: str, seen: dict) -> tuple:
        return render(current, seen)

    def on_start(*values: Any) -> tuple:
        *choices, seen = values
        started = start_training(ctx, *choices)
        return render(started["job_id"], seen)

    def on_cancel(current: str, seen: dict) -> tuple:
        cancel_training(ctx, current)
        return render(current, seen)

    def on_switch(current: str, seen: dict) -> tuple:
        begin_switch(ctx, current)
        return render(current, seen)

    def on_activate(name: str | None, current: str, seen: dict) -> tuple:
        if not name:
            raise gr.Error("Choose a version to activate.")
        missing = activate_version(ctx, name)
        note = f"Version **{name}** is active: searches use it now."
        if missing:
            note += (
                f" {len(missing)} videos were indexed after it was built and cannot be found "
                f"with it: `python -m backend versions --store {ctx.store_path} --activate "
                f"{name} --fill` encodes them."
            )
        return note, *render(current, {k: v for k, v in seen.items() if k != "versions"})

    # ------------------------------------------------------------- endpoints for scripts
    def api_train(
        epochs: int = defaults["epochs"],
        lr: float = defaults["lr"],
        rank: int = defaults["rank"],
        loss: str = "contrastive",
        synthetic: int = 200,
    ) -> dict:
        """Start fine-tuning on the store's labels and synthetic queries (a separate process);
        returns the job. Follow it with train_status."""
        return start_training(ctx, epochs, lr, rank, loss, synthetic)

    def api_train_status(job_id: str = "") -> dict:
        """A training job (default: the latest) with its loss curve and metrics, the switch
        under way or last done, and the index versions."""
        return {
            "job": job_json(ctx, chosen_job(ctx, job_id)),
            "switch": ctx.switcher.snapshot().to_json(),
            "versions": versions_json(ctx),
        }

    def api_train_cancel(job_id: str = "") -> dict:
        """Ask a running job (default: the latest) to stop after its current step."""
        return cancel_training(ctx, job_id)

    def api_switch(job_id: str = "") -> dict:
        """Re-encode the collection with a finished job's adapter (default: the latest job)
        into a new version and switch to it; returns once it is active (or has failed)."""
        status = ctx.switcher.snapshot()
        if not (status.running and status.job_id == chosen_job(ctx, job_id)):
            begin_switch(ctx, job_id)
        done = ctx.switcher.wait(SWITCH_TIMEOUT_S)
        if done.state == "failed":
            raise gr.Error(f"Switching failed: {done.error}")
        return {"switch": done.to_json(), "versions": versions_json(ctx)}

    def api_versions(activate: str = "") -> dict:
        """The index versions; with a name, make that version active first (rollback)."""
        activate = validate.version_name(activate)
        missing = activate_version(ctx, activate) if activate else []
        return {"versions": versions_json(ctx), "missing_videos": missing}

    private = {"api_visibility": "private", "show_progress": "hidden"}
    blocks.load(attach, None, view_outputs, **private)
    tab.select(attach, None, view_outputs, **private).then(
        lambda count: preview_text(ctx, count), synthetic, preview, **private
    )
    synthetic.release(lambda count: preview_text(ctx, count), synthetic, preview, **private)
    timer.tick(tick, [job_id, shown], view_outputs, **private)
    start.click(on_start, [epochs, lr, rank, loss, synthetic, shown], view_outputs, **private)
    cancel.click(on_cancel, [job_id, shown], view_outputs, **private)
    switch.click(on_switch, [job_id, shown], view_outputs, **private)
    activate.click(
        on_activate, [chosen, job_id, shown], [message, *view_outputs], api_visibility="private"
    )
    gr.api(api_train, api_name="train")
    gr.api(api_train_status, api_name="train_status")
    gr.api(api_train_cancel, api_name="train_cancel")
    gr.api(api_switch, api_name="switch")
    gr.api(api_versions, api_name="versions")


def _version_dropdown(versions: list[dict]) -> gr.Dropdown:
    choices = view.version_choices(versions)
    active = next((v["name"] for v in versions if v["active"]), None)
    return gr.Dropdown(choices=choices, value=active)


def _same_path(a: str | None, b: str | None) -> bool:
    return bool(a and b) and Path(a).resolve() == Path(b).resolve()
