"""Judge tab: build a test collection. Queries (import, type, pool), Judging (one candidate at a
time, by keyboard), Agreement (per-assessor progress, kappa or alpha, disagreements settled by an
adjudicator, qrels export).

API endpoints: ``judge``, ``judging_queries``, ``add_queries``, ``pool``, ``agreement``,
``adjudicate``, ``qrels``. Every write is an append to the store (``Collection.judging``), so
two assessors, two apps and the command line can judge at once and a restart loses nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path

import gradio as gr

from app import validate
from app.assessor import assessor_of
from app.context import AppContext
from app.judging_session import NEED_NAME, act, file_names, open_query
from app.judging_view import SCREEN_JS, Screen, render_screen
from backend.collection import JudgingError

QUERY_COLUMNS = ["qid", "query", "type", "set", "pooled", "judged", "settled", "disagree"]
ASSESSOR_COLUMNS = ["assessor", "judged", "of pooled", "queries done", "labels"]
DISPUTE_COLUMNS = ["qid", "query", "video", "grades", "settled by adjudicator"]


# ------------------------------------------------------------------ tables
def query_rows(ctx: AppContext) -> list[list]:
    return [
        [p.qid, p.text, p.query_type, p.set_name, p.pooled, p.judged, p.settled, p.disagreements]
        for p in ctx.collection.judging.query_progress()
    ]


def agreement_view(ctx: AppContext) -> tuple[list[list], str, list[list], list[tuple[str, str]]]:
    """Assessor progress, the agreement statistics, the disagreements and their choices."""
    judging = ctx.collection.judging
    snap = judging.snapshot()
    assessors = [
        [p.assessor, p.judged, p.pooled, p.queries_done, p.labels]
        for p in judging.assessor_progress(snap)
    ]
    report = judging.agreement(snap)
    lines = [
        f"Pairs judged by more than one assessor: **{report.shared_pairs}**",
        "",
    ]
    for stat in [*report.statistics, *report.pairwise]:
        value = "undefined" if stat.value is None else f"{stat.value:.3f}"
        who = " vs ".join(stat.assessors)
        lines.append(f"- `{stat.name}` ({who}): **{value}** on {stat.pairs} pairs")
    names = file_names(ctx)
    texts = {q.qid: q.text for q in snap.queries}
    rows, choices = [], []
    for d in judging.disagreements(snap):
        name = names.get(d.video_id, d.video_id)
        grades = ", ".join(f"{user} {grade}" for user, grade in d.grades.items())
        settled = "—" if d.adjudicated is None else f"{d.adjudicated} ({d.adjudicator})"
        rows.append([d.qid, texts.get(d.qid, ""), name, grades, settled])
        mark = "" if d.adjudicated is None else f" · settled {d.adjudicated}"
        choices.append((f"{d.qid} · {name} · {grades}{mark}", f"{d.qid}|{d.video_id}"))
    open_first = sorted(choices, key=lambda choice: "· settled" in choice[0])
    return assessors, "\n".join(lines), rows, open_first


def export_qrels(ctx: AppContext) -> tuple[Path, str]:
    path = Path(tempfile.mkdtemp(prefix="qrels-")) / "qrels.txt"
    ctx.collection.judging.export_qrels(path)
    return path, path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ layout
def build(ctx: AppContext, assessor: gr.Textbox, tab: gr.Tab) -> None:
    """The tab's three parts; ``tab`` (the Judge tab itself) refreshes the query table when
    opened, as labels given elsewhere (a search card, another assessor) change it."""
    with gr.Tabs():
        with gr.Tab("Queries", id="judge-queries-tab") as queries_tab:
            table = _queries_section(ctx)
        with gr.Tab("Judging", id="judge-screen-tab") as screen_tab:
            _screen_section(ctx, assessor, screen_tab)
        with gr.Tab("Agreement", id="judge-agreement-tab") as agreement_tab:
            _agreement_section(ctx, assessor, agreement_tab)
    for opened in (tab, queries_tab):
        opened.select(lambda: query_rows(ctx), None, table, api_visibility="private")
    _api(ctx)


def _queries_section(ctx: AppContext) -> gr.Dataframe:
    gr.Markdown(
        "A fixed query set, pooled from several rankers (late interaction two ways, each "
        "modality alone, BM25, reciprocal-rank fusion), judged blind."
    )
    with gr.Row():
        upload = gr.File(
            label="Import queries (eval .jsonl, or .tsv: qid<TAB>query[<TAB>type])",
            file_types=[".jsonl", ".json", ".tsv", ".txt"],
            elem_id="judge-import",
        )
        with gr.Column():
            typed = gr.Textbox(
                label="Or type queries, one per line (optionally qid<TAB>query)",
                lines=3,
                elem_id="judge-typed",
            )
            add = gr.Button("Add queries", elem_id="judge-add")
    with gr.Row():
        depth = gr.Number(10, label="Pool depth (top N of each ranker)", precision=0, minimum=1,
                          maximum=100, elem_id="judge-depth")  # fmt: skip
        pool = gr.Button("Pool all queries", variant="primary", elem_id="judge-pool")
    message = gr.Markdown(elem_id="judge-queries-message")
    # Filled when the tab opens (a load-time value would be a public, unnamed endpoint).
    table = gr.Dataframe(
        headers=QUERY_COLUMNS, interactive=False,
        label="Query set and progress", elem_id="judge-query-table",
    )  # fmt: skip

    def imported(file: str | None):
        if not file:
            return gr.skip(), gr.skip()
        try:
            result = ctx.collection.judging.import_queries(Path(file))
        except ValueError as error:
            raise gr.Error(f"{Path(file).name}: {error}") from error
        note = f"{result.added} added, {result.changed} changed from {Path(file).name}."
        return note, query_rows(ctx)

    def added(text: str):
        try:
            result = ctx.collection.judging.add_typed_queries(validate.text(text, "Queries"))
        except ValueError as error:
            raise gr.Error(str(error)) from error
        return f"{result.added} added, {result.changed} changed.", query_rows(ctx), ""

    def pooled(n: float):
        size = int(validate.number(n, "The pool depth", 1, 100, integer=True))
        try:
            pools = ctx.collection.judging.pool(size)
        except ValueError as error:
            raise gr.Error(str(error)) from error
        total = sum(len(rows) for rows in pools.values())
        return f"Pooled {len(pools)} queries at depth {size}: {total} candidates.", query_rows(ctx)

    upload.upload(imported, upload, [message, table], api_visibility="private")
    add.click(added, typed, [message, table, typed], api_visibility="private")
    typed.submit(added, typed, [message, table, typed], api_visibility="private")
    pool.click(pooled, depth, [message, table], api_visibility="private")
    return table


def _screen_section(ctx: AppContext, assessor: gr.Textbox, tab: gr.Tab) -> None:
    with gr.Row():
        query = gr.Dropdown([], label="Query", elem_id="judge-query", scale=4)
        reload = gr.Button("Reload", elem_id="judge-reload", scale=1)
    state = gr.State(None)
    screen = gr.HTML(render_screen(Screen()), js_on_load=SCREEN_JS, elem_id="judge-screen")
    status = gr.Markdown(elem_id="judge-status")

    def choices() -> list[tuple[str, str]]:
        judging = ctx.collection.judging
        pools = judging.pools()
        return [(f"{q.qid} · {q.text}", q.qid) for q in judging.queries() if q.qid in pools]

    def opened(typed: str, qid: str | None, request: gr.Request):
        current = open_query(ctx, assessor_of(typed, request), qid or None)
        return current, render_screen(current), gr.Dropdown(choices(), value=current.qid or None)

    def acted(current, typed, evt: gr.EventData, request: gr.Request):
        current, page, note = act(ctx, current, typed, evt._data or {}, request)
        return current, page, note, gr.Dropdown(value=current.qid or None)

    outputs = [state, screen, query]
    tab.select(opened, [assessor, query], outputs, api_visibility="private")
    reload.click(opened, [assessor, query], outputs, api_visibility="private")
    query.input(opened, [assessor, query], outputs, api_visibility="private")
    assessor.submit(opened, [assessor, query], outputs, api_visibility="private")
    screen.submit(
        acted,
        [state, assessor],
        [state, screen, status, query],
        api_visibility="private",
        show_progress="hidden",
        trigger_mode="multiple",
        concurrency_limit=1,  # one session's keys are applied in the order they were pressed
        concurrency_id="judging",
    )


def _agreement_section(ctx: AppContext, assessor: gr.Textbox, tab: gr.Tab) -> None:
    refresh = gr.Button("Refresh", elem_id="judge-refresh")
    assessors = gr.Dataframe(
        headers=ASSESSOR_COLUMNS, interactive=False, label="Assessors", elem_id="judge-assessors"
    )
    agreement = gr.Markdown(elem_id="judge-agreement")
    disputes = gr.Dataframe(
        headers=DISPUTE_COLUMNS, interactive=False, label="Disagreements",
        elem_id="judge-disagreements",
    )  # fmt: skip
    with gr.Row():
        dispute = gr.Dropdown([], label="Settle a disagreement", elem_id="judge-dispute", scale=3)
        settle = [
            gr.Button(f"{grade}: {name}", elem_id=f"judge-settle-{grade}", scale=1)
            for grade, name in ((0, "not relevant"), (1, "partly"), (2, "highly"))
        ]
    settled = gr.Markdown(elem_id="judge-settle-message")
    with gr.Row():
        export = gr.Button("Export qrels (TREC)", elem_id="judge-export-qrels")
        qrels_file = gr.File(label="qrels", interactive=False, elem_id="judge-qrels-file")
    qrels_text = gr.Textbox(label="qrels", lines=6, interactive=False, elem_id="judge-qrels")

    def shown():
        rows, text, dispute_rows, options = agreement_view(ctx)
        value = options[0][1] if options else None
        return rows, text, dispute_rows, gr.Dropdown(options, value=value)

    def settle_with(grade: int):
        def handler(chosen: str | None, typed: str, request: gr.Request):
            adjudicator = assessor_of(typed, request)
            if not adjudicator:
                raise gr.Error(NEED_NAME)
            if not chosen or "|" not in chosen:
                raise gr.Error("Pick a disagreement to settle.")
            qid, video_id = chosen.split("|", 1)
            try:
                ctx.collection.judging.adjudicate(qid, video_id, grade, adjudicator)
            except JudgingError as error:
                raise gr.Error(str(error)) from error
            name = file_names(ctx).get(video_id, video_id)
            return f"Settled: {qid} · {name} = **{grade}** by {adjudicator}.", *shown()

        return handler

    views = [assessors, agreement, disputes, dispute]
    tab.select(shown, None, views, api_visibility="private")
    refresh.click(shown, None, views, api_visibility="private")
    for grade, button in enumerate(settle):
        button.click(
            settle_with(grade), [dispute, assessor], [settled, *views], api_visibility="private"
        )

    def exported() -> tuple[str, str]:
        path, text = export_qrels(ctx)
        return str(path), text

    export.click(exported, None, [qrels_file, qrels_text], api_visibility="private")


def _api(ctx: AppContext) -> None:
    def judge(
        qid: str,
        video_id: str,
        grade: int,
        moment_s: float | None = None,
        modality: str = "",
        assessor: str = "",
        request: gr.Request = None,
    ) -> dict:
        """Record one graded judgement (0, 1, 2) of a video for a query of the set; the
        assessor is the logged-in user, else ``assessor``."""
        who = assessor_of(assessor, request)
        if not who:
            raise gr.Error("Name the assessor (or log in).")
        try:
            label = ctx.collection.judging.judge(
                validate.text(qid, "Query id", validate.MAX_ID_CHARS),
                validate.text(video_id, "Video", validate.MAX_ID_CHARS),
                validate.number(grade, "The grade", 0, 2, integer=True),
                who,
                validate.optional_number(moment_s, "The moment (seconds)", 0, 1e7),
                validate.text(modality, "Modality", 32),
                "api",
            )
        except JudgingError as error:
            raise gr.Error(str(error)) from error
        return asdict(label)

    def judging_queries() -> list[dict]:
        """The query set with each query's progress (pooled, judged, settled, disagreements)."""
        return [asdict(p) for p in ctx.collection.judging.query_progress()]

    def add_queries(text: str) -> dict:
        """Add queries: one per line, ``qid<TAB>query[<TAB>type]`` or bare words."""
        try:
            return asdict(ctx.collection.judging.add_typed_queries(validate.text(text, "Queries")))
        except ValueError as error:
            raise gr.Error(str(error)) from error

    def pool(depth: int = 10) -> dict:
        """Pool every query (top ``depth`` of each ranker); returns candidates per query."""
        size = int(validate.number(depth, "The pool depth", 1, 100, integer=True))
        try:
            pools = ctx.collection.judging.pool(size)
        except ValueError as error:
            raise gr.Error(str(error)) from error
        names = file_names(ctx)
        return {
            qid: [
                {"video_id": r.video_id, "file_name": names.get(r.video_id, ""),
                 "rankers": dict(zip(r.rankers, r.ranks))}
                for r in rows
            ]
            for qid, rows in pools.items()
        }  # fmt: skip

    def agreement() -> dict:
        """Cohen's kappa (two assessors) or Krippendorff's alpha (more), with pair counts."""
        return ctx.collection.judging.agreement().to_json()

    def adjudicate(qid: str, video_id: str, grade: int, request: gr.Request = None) -> dict:
        """Settle a pair with the adjudicator's grade (the logged-in user)."""
        who = assessor_of("", request, fallback="adjudicator")
        try:
            label = ctx.collection.judging.adjudicate(
                validate.text(qid, "Query id", validate.MAX_ID_CHARS),
                validate.text(video_id, "Video", validate.MAX_ID_CHARS),
                validate.number(grade, "The grade", 0, 2, integer=True),
                who,
            )
        except JudgingError as error:
            raise gr.Error(str(error)) from error
        return asdict(label)

    def qrels() -> str:
        """The settled labels as TREC qrels text (``qid 0 docid grade``)."""
        return export_qrels(ctx)[1]

    for function in (judge, judging_queries, add_queries, pool, agreement, adjudicate, qrels):
        gr.api(function, api_name=function.__name__)
