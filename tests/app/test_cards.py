"""Result cards: escaped text, the winner marked, the player starting at the moment."""

from __future__ import annotations

from app.cards import render_cards


def _hit(**changes) -> dict:
    hit = {
        "rank": 1,
        "video_id": "abc",
        "file_name": "<b>clip</b>.mp4",
        "score": 0.8,
        "scores": {"video": 0.2, "asr": 0.8, "ocr": None, "description": 0.1},
        "best_modality": "asr",
        "moment_s": 7.25,
        "snippets": {
            "asr": [
                {
                    "time_s": 7.25,
                    "text": "bring an <umbrella>",
                    "matched": ["umbrella"],
                    "similarity": 0.9,
                }
            ],
            "description": [
                {"time_s": None, "text": "weather", "matched": ["weather"], "similarity": 0.2}
            ],
        },
        "video_url": "gradio_api/file=/media/clip.mp4",
        "playable": True,
    }
    return {**hit, **changes}


def test_card_shows_moment_scores_and_evidence_escaped() -> None:
    html = render_cards({"hits": [_hit()]}, {"abc": "data:image/jpeg;base64,AAAA"})
    assert "&lt;b&gt;clip&lt;/b&gt;.mp4" in html and "<b>clip</b>" not in html
    assert 'src="gradio_api/file=/media/clip.mp4#t=7.25"' in html
    assert '<tr class="vs-winner"><td>spoken ★</td>' in html
    assert "&lt;<mark>umbrella</mark>&gt;" in html
    assert "weather" not in html  # a weak match of a losing modality is left out
    assert "best moment 0:07.2" in html


def test_unplayable_and_unserved_videos_say_so() -> None:
    html = render_cards({"hits": [_hit(playable=False)]}, {})
    assert "does not play in a browser" in html and "download" in html
    html = render_cards({"hits": [_hit(video_url=None, playable=False)]}, {})
    assert "not served by this app" in html
    assert "No results" in render_cards({"hits": []}, {})
