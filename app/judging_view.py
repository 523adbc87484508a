"""The judging screen: one query, one candidate at a time, every action on a key.

Pure: a :class:`Screen` (plain data the tab keeps per browser session) in, HTML out, plus the
screen's JavaScript. The HTML shows no ranker, rank or score (blind judging); the player opens
at the candidate's best moment, and the next candidate's video is fetched while this one plays,
so moving on does not wait for the network.

Keys (shown on screen; each on-screen button does the same): ``0`` ``1`` ``2`` grade and move
on; ``M`` the moment is here (the player's current time); ``V`` ``A`` ``O`` ``D`` the modality
that made it relevant (seen, spoken, on screen, description); ``Space`` or ``K`` play/pause;
``→``/``N`` next, ``←``/``P`` previous, ``S`` skip to the next unjudged; ``U`` undo;
``Q`` the next query with candidates left. Keys typed into a text box are left alone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from app.cards import MODALITY_NAMES, clock

GRADE_NAMES = {0: "not relevant", 1: "partly relevant", 2: "highly relevant"}
MODALITY_KEYS = {"v": "video", "a": "asr", "o": "ocr", "d": "description"}
SHORTCUTS = [  # (key shown, data-key sent, what it does)
    ("0", "0", "not relevant"),
    ("1", "1", "partly"),
    ("2", "2", "highly"),
    ("M", "m", "moment is here"),
    *((k.upper(), k, MODALITY_NAMES[m]) for k, m in MODALITY_KEYS.items()),
    ("Space", " ", "play / pause"),
    ("←", "arrowleft", "previous"),
    ("→", "arrowright", "next"),
    ("S", "s", "skip"),
    ("U", "u", "undo"),
    ("Q", "q", "next query"),
]


@dataclass
class Candidate:
    video_id: str
    file_name: str
    url: str | None
    playable: bool
    moment_s: float | None
    duration_s: float | None


@dataclass
class Screen:
    """What one browser session is judging: a query, its candidates in blind order, where the
    assessor is, and the grades they gave (kept here so moving on needs no store read)."""

    assessor: str = ""
    qid: str = ""
    query: str = ""
    query_type: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    index: int = 0
    grades: dict[str, int] = field(default_factory=dict)  # video id -> this assessor's grade
    queries_left: int = 0  # other queries with candidates this assessor has not judged
    message: str = ""  # why there is nothing to judge, when there is not
    slot: int = 0  # which of the two players holds the current candidate (see ``_video``)

    def move_to(self, index: int) -> None:
        """Make ``index`` the current candidate (the players swap roles)."""
        if index != self.index:
            self.index = index
            self.slot += 1

    @property
    def current(self) -> Candidate | None:
        return self.candidates[self.index] if 0 <= self.index < len(self.candidates) else None

    @property
    def judged(self) -> int:
        return sum(c.video_id in self.grades for c in self.candidates)

    @property
    def done(self) -> bool:
        return bool(self.candidates) and self.judged == len(self.candidates)

    def next_unjudged(self, after: int) -> int:
        """The first unjudged candidate after ``after`` (wrapping); ``after + 1`` if none."""
        n = len(self.candidates)
        for step in range(1, n + 1):
            position = (after + step) % n
            if self.candidates[position].video_id not in self.grades:
                return position
        return min(after + 1, n - 1) if n else 0


def _bar(done: int, total: int) -> str:
    share = done / total if total else 0.0
    return (
        f'<div class="jv-bar" role="progressbar" aria-valuemin="0" aria-valuemax="{total}" '
        f'aria-valuenow="{done}"><div style="width:{share * 100:.1f}%"></div></div>'
    )


def _src(candidate: Candidate) -> str:
    """The player's source: opens at the best moment (a media fragment)."""
    start = f"#t={candidate.moment_s:.2f}" if candidate.moment_s is not None else ""
    return html.escape((candidate.url or "") + start)


def _video(candidate: Candidate | None, position: int, current: bool) -> str:
    """One of the two players. The current one plays; the other holds the next unjudged
    candidate, fetched meanwhile. Grading swaps them in the browser at once, and the page the
    server sends next keeps the swapped element (Gradio updates the HTML in place), so the
    video that starts is the one already buffered."""
    kind = "jv-player" if current else "jv-prefetch"
    if candidate is None or not (candidate.url and candidate.playable):
        return f'<video class="{kind}" preload="none"></video>'
    moment = "" if candidate.moment_s is None else f"{candidate.moment_s:.2f}"
    extra = " controls autoplay" if current else " muted"
    return (
        f'<video class="{kind}"{extra} preload="auto" src="{_src(candidate)}" '
        f'data-video-id="{html.escape(candidate.video_id)}" data-position="{position}" '
        f'data-file="{html.escape(candidate.file_name)}" data-moment="{moment}"></video>'
    )


def _players(screen: Screen) -> str:
    current = screen.current
    upcoming = None
    if len(screen.candidates) > 1:
        following = screen.next_unjudged(screen.index)
        if following != screen.index:
            upcoming = (following, screen.candidates[following])
    videos = [
        _video(current, screen.index, True),
        _video(upcoming[1] if upcoming else None, upcoming[0] if upcoming else -1, False),
    ]
    if screen.slot % 2:
        videos.reverse()
    note = ""
    if current is not None and not (current.url and current.playable):
        link = f' <a href="{html.escape(current.url)}" download>download</a>' if current.url else ""
        note = f'<div class="jv-noplay">This video does not play in the browser.{link}</div>'
    return f'<div class="jv-slots">{"".join(videos)}</div>{note}'


def _keys() -> str:
    buttons = "".join(
        f'<button type="button" data-key="{html.escape(key)}" title="{html.escape(what)}">'
        f"<kbd>{html.escape(shown)}</kbd> {html.escape(what)}</button>"
        for shown, key, what in SHORTCUTS
    )
    return f'<div class="jv-keys">{buttons}</div>'


def _head(screen: Screen) -> str:
    kind = html.escape(screen.query_type)
    kind = f" <span class='jv-type'>{kind}</span>" if kind else ""
    return (
        f'<div class="jv-query"><span class="jv-qid">{html.escape(screen.qid)}</span> '
        f"{html.escape(screen.query)}{kind}</div>"
        f'<div class="jv-progress">{_bar(screen.judged, len(screen.candidates))}'
        f"<span>{screen.judged} of {len(screen.candidates)} judged by "
        f"{html.escape(screen.assessor)}</span></div>"
    )


def render_screen(screen: Screen) -> str:
    """The whole screen for ``screen`` (see the module docstring)."""
    if not screen.candidates:
        text = screen.message or "Pick a query to judge."
        return f'<div class="jv-empty" data-state="empty">{html.escape(text)}</div>'
    qid = html.escape(screen.qid)
    if screen.done:
        more = (
            f"Press <kbd>Q</kbd> for the next query ({screen.queries_left} left)."
            if screen.queries_left
            else "Every pooled query is judged: see Agreement."
        )
        body = (
            f'<div class="jv-done" data-state="done">All {len(screen.candidates)} candidates '
            f"of this query are judged. {more} <kbd>←</kbd> goes back to change a grade.</div>"
        )
        return f'<div class="jv-screen" data-qid="{qid}">{_head(screen)}{body}{_keys()}</div>'
    current = screen.current
    given = screen.grades.get(current.video_id)
    verdict = "not judged yet" if given is None else f"your grade: {given} ({GRADE_NAMES[given]})"
    opens = "" if current.moment_s is None else f" · opens at {clock(current.moment_s)}"
    card = (
        f'<div class="jv-card" data-qid="{qid}" data-video-id="{html.escape(current.video_id)}" '
        f'data-position="{screen.index}" data-file="{html.escape(current.file_name)}" '
        f'data-state="judging">'
        f'<div class="jv-meta">Candidate <span class="jv-number">{screen.index + 1}</span> of '
        f'{len(screen.candidates)} · <b class="jv-file">{html.escape(current.file_name)}</b>'
        f'<span class="jv-opens">{opens}</span> · <span class="jv-given">{verdict}</span></div>'
        f"{_players(screen)}"
        '<div class="jv-pending">moment: <span class="jv-moment">—</span> · '
        'modality: <span class="jv-modality">—</span></div>'
        "</div>"
    )
    return f'<div class="jv-screen" data-qid="{qid}">{_head(screen)}{card}{_keys()}</div>'


CSS = """
.jv-query { font-size: 1.25em; font-weight: 600; margin-bottom: 6px; }
.jv-qid, .jv-type { font-size: 0.75em; color: var(--body-text-color-subdued); font-weight: 400; }
.jv-type { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 4px; }
.jv-progress { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; }
.jv-bar { flex: 1; height: 10px; border-radius: 5px; background: var(--border-color-primary); }
.jv-bar div { height: 100%; border-radius: 5px; background: var(--color-accent); }
.jv-player { width: 100%; max-width: 720px; max-height: 405px; background: #000;
  border-radius: 6px; }
.jv-prefetch { display: none; }
.jv-meta, .jv-pending { margin: 4px 0; }
.jv-given { color: var(--body-text-color-subdued); }
.jv-keys { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 10px; }
.jv-keys button { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 3px 8px; background: var(--block-background-fill); cursor: pointer; }
.jv-keys kbd, .jv-done kbd { font-weight: 700; }
.jv-done, .jv-empty { padding: 14px; }
.vs-judge { display: flex; gap: 4px; margin-top: 6px; }
.vs-judge button { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 2px 8px; font-size: 0.85em; cursor: pointer; background: var(--block-background-fill); }
.vs-judge button.vs-chosen { background: var(--color-accent); color: white; }
"""

#: ``js_on_load`` of the screen (``element``, ``trigger`` and ``watch`` are Gradio's). One
#: keydown listener serves the page; it acts only while the screen is visible and the key is
#: not typed into a text box. A grade (or skip) swaps to the buffered next candidate at once and
#: tells the server, whose page then confirms the same candidate.
SCREEN_JS = """
const J = (window.__judge = window.__judge || {});
J.root = element;
J.trigger = trigger;
const MODALITIES = {v: "video", a: "asr", o: "ocr", d: "description"};
const NAMES = {video: "seen", asr: "spoken", ocr: "on screen", description: "description"};
const card = () => J.root.querySelector(".jv-card");
const player = () => J.root.querySelector("video.jv-player");
const clock = (s) => { const m = Math.floor(s / 60); const r = (s - 60 * m).toFixed(1);
  return m + ":" + (r.length < 4 ? "0" + r : r); };
function showPending() {
  const m = J.root.querySelector(".jv-moment"), d = J.root.querySelector(".jv-modality");
  if (m) m.textContent = J.pending.moment == null ? "—" : clock(J.pending.moment);
  if (d) d.textContent = J.pending.modality ? NAMES[J.pending.modality] : "—";
}
function play(v) {
  if (!v || !v.getAttribute("src")) return;
  v.muted = false;
  const attempt = v.play();
  if (attempt) attempt.catch(() => { v.muted = true; v.play().catch(() => {}); });
}
function swap() {
  const c = card(), now = player(), next = J.root.querySelector("video.jv-prefetch[data-video-id]");
  if (!c || !now || !next || next.dataset.stale) return;
  now.pause();
  now.className = "jv-prefetch";
  now.dataset.stale = "1";
  next.className = "jv-player";
  next.controls = true;
  c.dataset.videoId = next.dataset.videoId;
  c.dataset.position = next.dataset.position;
  c.dataset.file = next.dataset.file;
  const set = (sel, text) => { const e = c.querySelector(sel); if (e) e.textContent = text; };
  set(".jv-number", String(Number(next.dataset.position) + 1));
  set(".jv-file", next.dataset.file);
  set(".jv-opens", next.dataset.moment ? " · opens at " + clock(Number(next.dataset.moment)) : "");
  set(".jv-given", "not judged yet");
  J.pending = {moment: null, modality: "", video: next.dataset.videoId};
  showPending();
  play(next);
}
function send(action, extra) {
  const c = card();
  J.last = {action: action, video_id: c ? c.dataset.videoId : "", file: c ? c.dataset.file : ""};
  J.trigger("submit", Object.assign({action: action, qid: c ? c.dataset.qid : "",
    video_id: c ? c.dataset.videoId : "", moment: J.pending.moment,
    modality: J.pending.modality}, extra || {}));
}
J.act = function (key) {
  if (key === "0" || key === "1" || key === "2") {
    if (card()) { send("grade", {grade: Number(key)}); swap(); }
    return true;
  }
  const v = player();
  switch (key) {
    case "arrowright": case "n": send("next"); return true;
    case "arrowleft": case "p": send("previous"); return true;
    case "s": if (card()) { send("skip"); swap(); } return true;
    case "u": send("undo"); return true;
    case "q": send("next_query"); return true;
    case " ": case "k": if (v) { if (v.paused) v.play(); else v.pause(); } return true;
    case "m": if (v) { J.pending.moment = Math.round(v.currentTime * 10) / 10; showPending(); }
      return true;
  }
  if (key in MODALITIES) {
    J.pending.modality = J.pending.modality === MODALITIES[key] ? "" : MODALITIES[key];
    showPending();
    return true;
  }
  return false;
};
if (!J.listening) {
  J.listening = true;
  window.addEventListener("keydown", (event) => {
    const root = window.__judge.root;
    if (!root || !root.isConnected || root.offsetParent === null) return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target, tag = (target.tagName || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag) || target.isContentEditable) return;
    const key = event.key.toLowerCase();
    if ((key === " " || key === "enter") && tag === "button" && !root.contains(target)) return;
    if (window.__judge.act(key)) { event.preventDefault(); event.stopPropagation(); }
  }, true);
}
element.addEventListener("click", (event) => {
  const button = event.target.closest("[data-key]");
  if (!button) return;
  event.preventDefault();
  button.blur();
  J.act(button.dataset.key);
});
function start() {
  const c = card();
  const id = c ? c.dataset.videoId : "";
  if (!J.pending || J.pending.video !== id) {
    J.pending = {moment: null, modality: "", video: id};
  }
  showPending();
  J.root.querySelectorAll("video.jv-prefetch").forEach((v) => { v.pause(); });
  const v = player();
  if (v && v.paused) play(v);
}
watch("value", start);
start();
"""
