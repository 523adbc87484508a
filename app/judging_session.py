"""What one browser session's keys do on the judging screen: open a query at its first
unjudged candidate, grade (and move on), move, skip, undo, go to the next query.

The :class:`~app.judging_view.Screen` is the session's state; every grade and undo is written
to the store at once (``Collection.judging``), so the screen can be rebuilt from the store at
any time (a reload, another browser, a restart) and nothing is lost.
"""

from __future__ import annotations

import gradio as gr

from app import validate
from app.assessor import assessor_of
from app.context import AppContext
from app.judging_view import Candidate, Screen, render_screen
from app.players import video_source
from backend.collection import JudgingError

NEED_NAME = "Type your name in the Assessor box (once per browser) to judge."
NOTHING_POOLED = "Nothing to judge yet: import queries and pool them (Queries)."


def file_names(ctx: AppContext) -> dict[str, str]:
    return {r.video_id: r.file_name for r in ctx.collection.videos()}


def open_query(ctx: AppContext, assessor: str, qid: str | None = None) -> Screen:
    """A screen on ``qid`` (default: the first query with candidates this assessor has not
    judged, else the first pooled one), at its first unjudged candidate."""
    if not assessor:
        return Screen(message=NEED_NAME)
    judging = ctx.collection.judging
    snap = judging.snapshot()
    pooled = [q for q in snap.queries if snap.pools.get(q.qid)]
    if not pooled:
        return Screen(assessor, message=NOTHING_POOLED)
    mine = {pair for pair, labels in snap.judgements.by_pair.items() if assessor in labels}
    unfinished = [
        q.qid for q in pooled if any((q.qid, r.video_id) not in mine for r in snap.pools[q.qid])
    ]
    qid = qid or (unfinished[0] if unfinished else pooled[0].qid)
    query = next((q for q in pooled if q.qid == qid), None)
    if query is None:
        return Screen(assessor, message=f"Query {qid!r} has no pool yet: pool it (Queries).")
    candidates = []
    for c in judging.candidates(qid):
        src = video_source(ctx.settings, c.path, c.video_id)
        candidates.append(
            Candidate(c.video_id, c.file_name, src.url, src.playable, c.moment_s, c.duration_s)
        )
    grades = {
        video: labels[assessor].grade
        for (q, video), labels in snap.judgements.by_pair.items()
        if q == qid and assessor in labels
    }
    screen = Screen(assessor, qid, query.text, query.query_type, candidates, 0, grades)
    screen.queries_left = len([q for q in unfinished if q != qid])
    screen.index = screen.next_unjudged(-1) if candidates else 0
    return screen


def _next_query(ctx: AppContext, screen: Screen) -> Screen:
    """The next query (after this one, wrapping) with candidates this assessor has left."""
    snap = ctx.collection.judging.snapshot()
    pooled = [q.qid for q in snap.queries if snap.pools.get(q.qid)]
    mine = {p for p, labels in snap.judgements.by_pair.items() if screen.assessor in labels}
    start = pooled.index(screen.qid) + 1 if screen.qid in pooled else 0
    for qid in pooled[start:] + pooled[:start]:
        if any((qid, r.video_id) not in mine for r in snap.pools[qid]):
            return open_query(ctx, screen.assessor, qid)
    return open_query(ctx, screen.assessor, screen.qid or None)


def _grade(ctx: AppContext, screen: Screen, data: dict) -> str:
    grade = validate.number(data.get("grade"), "The grade", 0, 2, integer=True)
    video_id = validate.text(data.get("video_id"), "Video", validate.MAX_ID_CHARS)
    qid = validate.text(data.get("qid"), "Query id", validate.MAX_ID_CHARS) or screen.qid
    moment = validate.optional_number(data.get("moment"), "The moment (seconds)", 0, 1e7)
    modality = validate.text(data.get("modality"), "Modality", 32)
    label = ctx.collection.judging.judge(
        qid, video_id, grade, screen.assessor, moment, modality, "judge"
    )
    if qid == screen.qid:
        screen.grades[video_id] = label.grade
        position = next(
            (n for n, c in enumerate(screen.candidates) if c.video_id == video_id), screen.index
        )
        screen.move_to(screen.next_unjudged(position))
    name = next((c.file_name for c in screen.candidates if c.video_id == video_id), video_id)
    extra = "".join(
        [
            f" · moment {moment:.1f} s" if moment is not None else "",
            f" · {modality}" if modality else "",
        ]
    )
    return f"Saved: {qid} · {name} = **{label.grade}** by {screen.assessor}{extra}."


def _undo(ctx: AppContext, screen: Screen) -> str:
    undone = ctx.collection.judging.undo(screen.assessor, screen.qid)
    if undone is None:
        return "Nothing to undo for this query."
    fresh = open_query(ctx, screen.assessor, screen.qid)
    screen.grades = fresh.grades
    screen.move_to(
        next((n for n, c in enumerate(screen.candidates) if c.video_id == undone.video_id), 0)
    )
    name = file_names(ctx).get(undone.video_id, undone.video_id)
    return f"Undone: grade {undone.grade} for {name} (the undo is recorded)."


def act(ctx: AppContext, screen: Screen | None, typed: str, data: dict, request) -> tuple:
    """One key or button of the screen: returns the screen, its HTML and a status line."""
    assessor = assessor_of(typed, request)
    if screen is None or screen.assessor != assessor or not screen.candidates:
        screen = open_query(ctx, assessor, (screen.qid if screen else "") or None)
        if not screen.candidates:
            return screen, render_screen(screen), screen.message
    action = data.get("action") if isinstance(data, dict) else None
    status = ""
    n = len(screen.candidates)
    try:
        if action == "grade":
            status = _grade(ctx, screen, data)
        elif action == "next":
            screen.move_to((screen.index + 1) % n)
        elif action == "previous":
            screen.move_to((screen.index - 1) % n)
        elif action == "skip":
            screen.move_to(screen.next_unjudged(screen.index))
        elif action == "undo":
            status = _undo(ctx, screen)
        elif action == "next_query":
            screen = _next_query(ctx, screen)
            status = f"Query {screen.qid}: {screen.judged} of {len(screen.candidates)} judged."
        else:
            raise gr.Error(f"Unknown judging action {action!r}.")
    except JudgingError as error:
        raise gr.Error(str(error)) from error
    return screen, render_screen(screen), status
