"""Result cards of a search by picture: "More like this" and the picture evidence."""

from __future__ import annotations

from app.cards import MORE_LIKE_THIS_JS, render_cards
from tests.app.test_cards import _hit

THUMB = {"abc": "data:image/jpeg;base64,AAAA"}


def test_every_card_with_a_frame_offers_more_like_this_at_its_moment() -> None:
    html = render_cards({"hits": [_hit(video_id="abc", moment_s=7.25)]}, THUMB)
    assert 'class="vs-more" data-video-id="abc" data-time="7.250"' in html
    untimed = render_cards({"hits": [_hit(moment_s=None)]}, THUMB)
    assert 'data-time=""' in untimed
    assert "vs-more" not in render_cards({"hits": [_hit()]}, {"abc": None})  # no frame, no button
    assert 'trigger("select"' in MORE_LIKE_THIS_JS and "button.vs-more" in MORE_LIKE_THIS_JS


def test_picture_matches_read_as_regions_not_words() -> None:
    matches = [{"similarity": 0.93}, {"similarity": 0.85}, {"similarity": 0.4}]
    hit = _hit(
        scores={"video": None, "asr": None, "ocr": None, "description": None, "image": 0.9},
        best_modality="image",
        matches={"image": matches},
        snippets={
            "image": [{"time_s": 3.0, "text": "3.0s tile", "matched": ["tile"], "similarity": 0.93}]
        },
    )
    html = render_cards({"hits": [hit]}, THUMB)
    assert '<tr class="vs-winner"><td>looks like ★</td>' in html
    assert "2 of 3 picture regions found nearly as they are" in html and "best 0.93" in html
