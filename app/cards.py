"""Search results as HTML cards: the best moment's thumbnail, a player starting there, every
modality's score with the winner marked, and the matched words in their context.

Pure: JSON-friendly hit dicts (see ``app.tabs.search.hit_json``) in, HTML out. Every text is
escaped; the only URLs are the data URIs and served-file URLs the app made itself.
"""

from __future__ import annotations

import html
import re

from backend.collection import DOCUMENT_MODALITIES

MODALITY_NAMES = {
    "video": "seen",
    "asr": "spoken",
    "ocr": "on screen",
    "description": "description",
    "image": "looks like",
}

CSS = """
.vs-results { display: flex; flex-direction: column; gap: 12px; }
.vs-card { display: grid; grid-template-columns: 200px 340px 1fr; gap: 14px; padding: 12px;
  border: 1px solid var(--border-color-primary); border-radius: 10px;
  background: var(--block-background-fill); align-items: start; }
.vs-card h3 { margin: 0 0 6px 0; font-size: 1.05em; grid-column: 1 / -1; }
.vs-rank { color: var(--body-text-color-subdued); margin-right: 6px; }
.vs-thumb { width: 200px; border-radius: 6px; display: block; }
.vs-caption { font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 2px; }
.vs-player video { width: 340px; max-height: 200px; border-radius: 6px; background: #000; }
.vs-noplay { font-size: 0.9em; color: var(--body-text-color-subdued); padding: 8px 0; }
.vs-scores { border-collapse: collapse; font-size: 0.9em; margin-bottom: 6px; width: auto; }
.vs-scores, .vs-scores tr, .vs-scores td { border: none !important; background: none !important; }
.vs-scores td { padding: 1px 6px; }
.vs-bar { height: 8px; border-radius: 4px; background: var(--color-accent); }
.vs-bar-track { width: 120px; background: var(--border-color-primary); border-radius: 4px; }
.vs-winner { font-weight: 700; }
.vs-snippet { font-size: 0.9em; margin: 2px 0; }
.vs-snippet mark { background: #ffe066; color: #111; padding: 0 2px; border-radius: 3px; }
.vs-empty { padding: 16px; color: var(--body-text-color-subdued); }
.vs-more { margin-top: 6px; font-size: 0.85em; padding: 2px 8px; border-radius: 6px;
  border: 1px solid var(--border-color-primary); cursor: pointer;
  background: var(--button-secondary-background-fill); }
@media (max-width: 900px) { .vs-card { grid-template-columns: 1fr; } }
"""


def clock(seconds: float | None) -> str:
    """``75.25`` -> ``'1:15.2'``.

    >>> clock(75.25), clock(None)
    ('1:15.2', '')
    """
    if seconds is None:
        return ""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def highlight(text: str, words: list[str]) -> str:
    """Escape ``text`` and mark the matched words (whole words, any case).

    >>> highlight("Bring an <umbrella>.", ["umbrella"])
    'Bring an &lt;<mark>umbrella</mark>&gt;.'
    """
    escaped = html.escape(text, quote=False)
    wanted = sorted(
        {html.escape(w, quote=False) for w in words if w.strip()}, key=len, reverse=True
    )
    if not wanted:
        return escaped
    pattern = "|".join(re.escape(w) for w in wanted)
    return re.sub(
        rf"(?<![\w])({pattern})(?![\w])", r"<mark>\1</mark>", escaped, flags=re.IGNORECASE
    )


def _scores(hit: dict) -> str:
    rows = []
    for modality in DOCUMENT_MODALITIES:
        value = hit["scores"].get(modality.key)
        winner = modality.key == hit["best_modality"]
        name = MODALITY_NAMES[modality.key] + (" ★" if winner else "")
        cls = ' class="vs-winner"' if winner else ""
        if value is None:
            rows.append(f"<tr><td>{name}</td><td></td><td>–</td></tr>")
            continue
        width = max(0.0, min(1.0, value)) * 100
        bar = (
            f'<div class="vs-bar-track"><div class="vs-bar" style="width:{width:.0f}%"></div></div>'
        )
        rows.append(f"<tr{cls}><td>{name}</td><td>{bar}</td><td>{value:.3f}</td></tr>")
    return f'<table class="vs-scores">{"".join(rows)}</table>'


def _snippets(hit: dict, min_similarity: float = 0.5) -> str:
    """The winner's evidence, and other modalities' where it is strong enough to mean much."""
    lines = []
    for modality, items in hit["snippets"].items():
        for item in items:
            if modality != hit["best_modality"] and item["similarity"] < min_similarity:
                continue
            at = f" at {clock(item['time_s'])}" if item["time_s"] is not None else ""
            text = highlight(item["text"], item["matched"])
            if modality == "image":  # labels are regions, not words
                text = _picture_evidence(hit.get("matches", {}).get("image", []))
            lines.append(
                f'<div class="vs-snippet"><b>{MODALITY_NAMES.get(modality, modality)}{at}:</b> '
                f"{text}</div>"
            )
    return "".join(lines)


def _picture_evidence(matches: list[dict], strong: float = 0.8) -> str:
    """What a search by picture matched, in words.

    >>> _picture_evidence([{"similarity": 0.9}, {"similarity": 0.5}])
    '1 of 2 picture regions found nearly as they are (similarity 0.80 or more); best 0.90'
    """
    if not matches:
        return ""
    best = max(m["similarity"] for m in matches)
    close = sum(m["similarity"] >= strong for m in matches)
    return (
        f"{close} of {len(matches)} picture regions found nearly as they are "
        f"(similarity {strong:.2f} or more); best {best:.2f}"
    )


#: ``js_on_load`` of the results: "More like this" on a card triggers the component's
#: ``select`` event with the video and the moment; the Search tab searches with that frame.
MORE_LIKE_THIS_JS = """
element.addEventListener("click", (event) => {
  const button = event.target.closest("button.vs-more");
  if (!button) return;
  const time = button.dataset.time === "" ? null : Number(button.dataset.time);
  trigger("select", {video_id: button.dataset.videoId, time_s: time});
});
"""


def _more_button(hit: dict) -> str:
    moment = "" if hit["moment_s"] is None else f"{float(hit['moment_s']):.3f}"
    return (
        f'<button type="button" class="vs-more" data-video-id="{html.escape(hit["video_id"])}" '
        f'data-time="{moment}" title="search with the frame at this moment">'
        "More like this</button>"
    )


def _player(hit: dict) -> str:
    url = hit.get("video_url")
    if url and hit.get("playable"):
        start = f"#t={hit['moment_s']:.2f}" if hit["moment_s"] is not None else ""
        src = html.escape(url + start)
        return f'<video controls preload="metadata" src="{src}"></video>'
    if url:
        return (
            f'<div class="vs-noplay">{html.escape(hit["file_name"])} does not play in a browser: '
            f'<a href="{html.escape(url)}" download>download</a></div>'
        )
    return '<div class="vs-noplay">The video file is not served by this app.</div>'


#: Grades given in place on a card (``JUDGE_IN_PLACE_JS`` sends them; ``app.tabs.label`` stores).
IN_PLACE_GRADES = ((2, "Relevant"), (1, "Partly"), (0, "Not relevant"))

#: ``js_on_load`` of the results: a grade button on a card triggers the component's ``submit``
#: event with the video and the grade, and marks the button chosen at once.
JUDGE_IN_PLACE_JS = """
element.addEventListener("click", (event) => {
  const button = event.target.closest(".vs-judge button");
  if (!button) return;
  const box = button.closest(".vs-judge");
  box.querySelectorAll("button").forEach((b) => b.classList.toggle("vs-chosen", b === button));
  trigger("submit", {video_id: box.dataset.videoId, grade: Number(button.dataset.grade)});
});
"""


def _judge_buttons(hit: dict) -> str:
    buttons = "".join(
        f'<button type="button" data-grade="{grade}" title="grade {grade}">{name}</button>'
        for grade, name in IN_PLACE_GRADES
    )
    video_id = html.escape(hit["video_id"])
    return f'<div class="vs-judge" data-video-id="{video_id}" title="judge it">{buttons}</div>'


def render_card(hit: dict, thumbnail: str | None) -> str:
    name = html.escape(hit["file_name"])
    moment = clock(hit["moment_s"])
    image = (
        f'<img class="vs-thumb" alt="best moment of {name}" src="{thumbnail}">'
        if thumbnail
        else '<div class="vs-noplay">no picture</div>'
    )
    caption = f"best moment {moment}" if moment else "best moment"
    return (
        f'<div class="vs-card" data-rank="{hit["rank"]}" data-video-id="{hit["video_id"]}">'
        f'<h3><span class="vs-rank">#{hit["rank"]}</span>{name} '
        f'<span class="vs-rank">score {hit["score"]:.3f}</span></h3>'
        f'<div>{image}<div class="vs-caption">{caption}</div>{_judge_buttons(hit)}'
        f"{_more_button(hit) if thumbnail else ''}</div>"
        f'<div class="vs-player">{_player(hit)}</div>'
        f"<div>{_scores(hit)}{_snippets(hit)}</div>"
        "</div>"
    )


def render_cards(result: dict | None, thumbnails: dict[str, str | None]) -> str:
    if not result:
        return '<div class="vs-empty">Type what you are looking for and press Search.</div>'
    if not result["hits"]:
        return (
            '<div class="vs-empty">No results. Is anything indexed yet? See Upload & index.</div>'
        )
    cards = [render_card(hit, thumbnails.get(hit["video_id"])) for hit in result["hits"]]
    return f'<div class="vs-results">{"".join(cards)}</div>'
