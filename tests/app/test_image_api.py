"""Search by picture through the real app's API (gradio_client): ``search_image`` and
``more_like_this``; the text ``search`` endpoint keeps its four inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from backend.collection import Collection
from backend.config import Settings
from tests.app.conftest import AppServer, start_app


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-api")


@pytest.fixture(scope="module")
def server(root: Path, picture_videos) -> AppServer:
    collection = Collection(Settings(store=str(root / "store")))
    for video in picture_videos:
        collection.store.add_video(video, collection.encoder.encode_video(video))
    app = start_app(root / "store", root / "app.log", "--no-demo")
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False)


def test_search_image_finds_the_video_a_photo_of_its_frame_came_from(client, picture_videos, root):
    video = picture_videos[3]  # gymnastics
    photo = root / "photo.jpg"
    frame = video.frames[len(video.frames) // 2].image
    Image.fromarray(frame[8:-8, 12:-12]).save(photo, quality=40)
    result = client.predict(
        handle_file(str(photo)), "", 3, "modality_max", [], api_name="/search_image"
    )
    top = result["hits"][0]
    assert top["video_id"] == video.probe.video_id and top["best_modality"] == "image"
    assert result["picture"] == [frame.shape[0] - 16, frame.shape[1] - 24]
    assert top["scores"]["image"] > 0.8 and top["moment_s"] is not None
    both = client.predict(
        handle_file(str(photo)), "a girl", 3, "modality_max", [], api_name="/search_image"
    )
    assert both["query"] == "a girl" and both["hits"][0]["scores"]["video"] is not None


def test_more_like_this_searches_with_a_results_frame(client, picture_videos):
    video = picture_videos[0]
    result = client.predict(
        video.probe.video_id, 4.0, 3, "modality_max", [], api_name="/more_like_this"
    )
    assert result["hits"][0]["video_id"] == video.probe.video_id
    assert result["more_like_this"] == {"video_id": video.probe.video_id, "time_s": 4.0}
    with pytest.raises(AppError, match=r"not in the collection|no video"):
        client.predict("nope", 1.0, 3, "modality_max", [], api_name="/more_like_this")


def test_the_text_search_endpoint_is_unchanged(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in api["/search"]["parameters"]] == [
        "query_text",
        "k_value",
        "mode_value",
        "chosen",
    ]
    assert {"/search_image", "/more_like_this"} <= set(api)
    hits = client.predict("a bird", 2, "modality_max", [], api_name="/search")["hits"]
    assert hits and all(h["scores"]["image"] is None for h in hits)


def test_a_missing_picture_is_a_message(client):
    with pytest.raises(AppError, match="picture"):
        client.predict(None, "bird", 3, "modality_max", [], api_name="/search_image")
