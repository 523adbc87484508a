"""What the Train tab shows, as pure functions: plain data from the backend in, text, table rows
and plot data out (no Gradio, no store), so the tab's handlers stay thin and this is testable.

``job`` is a training job as :func:`app.tabs.train.job_json` returns it (``JobStatus.to_json()``
plus ``loss_curve``); ``switch`` is ``SwitchStatus.to_json()``; ``versions`` are the rows of
``backend.store.versions.describe_versions``. Tables are Markdown: Gradio 6's Dataframe does not
show rows added by an update (gradio-app/gradio#13611), and these tables grow.
"""

from __future__ import annotations

import html
from dataclasses import fields

import pandas as pd

from app.cards import clock
from backend.collection import BACKBONE_DEFAULTS, TrainSettings

METRIC_COLUMNS = ["held-out queries", "metric", "before", "after", "change"]
VERSION_COLUMNS = ["version", "active", "state", "encoder", "adapter", "created", "missing"]
METRICS = ("R@1", "R@5", "nDCG@10", "MRR")
#: Held-out query groups; "judged": the judged query set (Judge tab), scored with its grades.
GROUPS = {"all": "all", "label": "labelled", "synthetic": "synthetic", "judged": "judged set"}
COLOURS = {"starting": "#6b7280", "running": "#2563eb", "completed": "#15803d"}
COLOURS |= {"cancelled": "#b45309", "failed": "#b91c1c", "switching": "#2563eb"}
COLOURS |= {"switched": "#15803d"}


def loss_choices() -> list[str]:
    """The losses a run accepts (the ``--loss`` choices of the training script)."""
    return next(f for f in fields(TrainSettings) if f.name == "loss").metadata["choices"]


def defaults_for(encoder: str) -> dict:
    """Epochs, learning rate and rank a run takes when not told (the backbone's defaults)."""
    return BACKBONE_DEFAULTS.get(encoder, BACKBONE_DEFAULTS["default"])


def _plural(n: int, noun: str, plural: str | None = None) -> str:
    return f"**{n}** {noun if n == 1 else plural or noun + 's'}"


def preview_markdown(counts: dict) -> str:
    """What a run would train on, from ``jobs.preview``.

    >>> preview_markdown({"labels": 1, "synthetic": 7, "train": 7, "heldout": 1, "videos": 2,
    ...                   "skipped_labels": 0})  # doctest: +NORMALIZE_WHITESPACE
    'Training data: **1** label and **7** synthetic queries from **2** videos:
     **7** train, **1** held out for the before/after metrics.'
    """
    text = (
        f"Training data: {_plural(counts['labels'], 'label')} and "
        f"{_plural(counts['synthetic'], 'synthetic query', 'synthetic queries')} "
        f"from {_plural(counts['videos'], 'video')}: **{counts['train']}** train, "
        f"**{counts['heldout']}** held out for the before/after metrics."
    )
    if counts.get("skipped_labels"):
        text += f" ({counts['skipped_labels']} labels name videos no longer in the collection.)"
    if not counts["train"]:
        text += " Nothing to train on yet: label some search results (Label tab) first."
    return text


def _badge(state: str) -> str:
    """The state as a coloured word (emoji are not in every browser's fonts)."""
    colour = COLOURS.get(state, "#6b7280")
    return f'<b style="color:{colour}">{html.escape(state.upper())}</b>'


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (cells' pipes escaped); empty rows give just the header.

    >>> print(markdown_table(["a", "b"], [[1, "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def _bar(done: int, total: int) -> str:
    share = 100 * done / total if total else 0
    return (
        '<div class="vs-bar-track" style="width:100%;margin:6px 0">'
        f'<div class="vs-bar" style="width:{share:.0f}%"></div></div>'
    )


def _job_line(job: dict) -> str:
    state, step, total = job["state"], job["step"], job["total_steps"]
    name = f"Training job <code>{html.escape(job['job_id'])}</code>"
    if state == "starting":
        return f"{_badge(state)} {name} is starting (loading the model and the training data)…"
    parts = [f"step {step}/{total or '?'}"]
    if job.get("epoch") is not None:
        parts.append(f"epoch {job['epoch'] + 1}")
    if job.get("loss") is not None:
        parts.append(f"loss {job['loss']:.4g}")
    if state == "running":
        if job.get("eta_s") is not None:
            parts.append(f"about {clock(job['eta_s'])} left")
        if job.get("cancel_requested"):
            parts.append("stopping after this step")
        return f"{_badge(state)} {name} is training: " + " · ".join(parts) + _bar(step, total or 0)
    ending = {
        "completed": "completed",
        "cancelled": "was cancelled (the adapter so far is saved)",
        "failed": "failed",
    }[state]
    return f"{_badge(state)} {name} {ending}: " + " · ".join(parts)


def _switch_line(switch: dict) -> str:
    state = switch["state"]
    if state == "running":
        done, total = switch["done"], switch["total"]
        return (
            f"{_badge('switching')} Re-encoding the collection with the new adapter into a new "
            f"version: {done}/{total or '?'} videos. Searches use the current version until it "
            "is complete." + _bar(done, total)
        )
    if state == "failed":
        return f"{_badge('failed')} Switching failed: the version in use stays active."
    if state == "completed":
        report = switch["report"]
        if not report["activated"]:
            return f"{_badge('switched')} Version <b>{report['version']}</b> is already in use."
        version, encoded = report["version"], report["encoded"]
        return (
            f"{_badge('switched')} Switched to version <b>{version}</b> ({encoded} videos "
            f"re-encoded in {switch['seconds']:.0f} s): searches use the new adapter now."
        )
    return ""


def progress_html(job: dict | None, switch: dict) -> str:
    """The job's state, step, loss and time left with a bar; then the switch's, if any."""
    lines = [_job_line(job)] if job else ["No training run on this store yet."]
    if switch["state"] != "idle":
        lines.append(_switch_line(switch))
    return "".join(f"<div>{line}</div>" for line in lines)


def error_markdown(job: dict | None, switch: dict) -> str:
    """A failed job's or switch's error, as the process reported it."""
    errors = []
    if job and job["state"] == "failed":
        errors.append(f"**Training failed.**\n```\n{job['error'] or 'no message'}\n```")
    if switch["state"] == "failed":
        errors.append(f"**Switching failed.**\n```\n{switch['error']}\n```")
    return "\n\n".join(errors)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def metrics_rows(metrics: dict) -> list[list]:
    """Held-out metrics before and after training, one row per query group and metric, and the
    training loss over fixed batches.

    >>> rows = metrics_rows({
    ...     "before": {"all": {"R@1": 0.5, "queries": 2.0}, "train": {"loss": 2.0}},
    ...     "after": {"all": {"R@1": 1.0, "queries": 2.0}, "train": {"loss": 1.0}}})
    >>> rows[0]
    ['all (2)', 'R@1', '0.500', '1.000', '+0.500']
    >>> rows[1]
    ['training batches', 'loss', '2', '1', '-1']
    """
    before, after = metrics.get("before", {}), metrics.get("after", {})
    rows = []
    for group, name in GROUPS.items():
        if group not in before:
            continue
        b, a = before[group], after.get(group, {})
        for metric in METRICS:
            if metric not in b:
                continue
            change = f"{a[metric] - b[metric]:+.3f}" if metric in a else ""
            group_name = f"{name} ({int(b['queries'])})"
            rows.append([group_name, metric, _cell(b[metric]), _cell(a.get(metric)), change])
    if "train" in before:
        loss_b, loss_a = before["train"]["loss"], after.get("train", {}).get("loss")
        change = "" if loss_a is None else f"{loss_a - loss_b:+.3g}"
        after_text = "" if loss_a is None else f"{loss_a:.3g}"
        rows.append(["training batches", "loss", f"{loss_b:.3g}", after_text, change])
    return rows


def loss_frame(curve: list) -> pd.DataFrame | None:
    """``[(step, loss), ...]`` as the plot's data; None before the first step (a plot given an
    empty frame first lays its axes out without room for their labels)."""
    if not curve:
        return None
    return pd.DataFrame(
        {"step": [int(s) for s, _ in curve], "loss": [float(v) for _, v in curve]},
        columns=["step", "loss"],
    )


def _adapter_name(adapter: str | None) -> str:
    """A run's adapter by its job folder (``.../training/<job>/adapter`` -> ``<job>``)."""
    if not adapter:
        return "(none: base model)"
    parts = adapter.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-1] == "adapter" else adapter


def metrics_markdown(metrics: dict) -> str:
    rows = metrics_rows(metrics)
    return markdown_table(METRIC_COLUMNS, rows) if rows else ""


def versions_markdown(versions: list[dict]) -> str:
    return markdown_table(VERSION_COLUMNS, version_rows(versions))


def version_rows(versions: list[dict]) -> list[list]:
    return [
        [
            v["name"],
            "**active**" if v["active"] else "",
            v["state"],
            v["encoder"],
            _adapter_name(v["adapter"]),
            v["created_at"][:19].replace("T", " "),
            v["missing_videos"] or "",
        ]
        for v in versions
    ]


def version_choices(versions: list[dict]) -> list[tuple[str, str]]:
    """Complete versions one could activate (a rollback), the active one marked."""
    choices = []
    for v in versions:
        if v["state"] == "complete":
            active = " · active" if v["active"] else ""
            choices.append((f"{v['name']} ({_adapter_name(v['adapter'])}){active}", v["name"]))
    return choices
