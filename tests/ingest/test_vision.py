"""Frame tags on real corpus frames: right words, frame times, boxes inside, silence on blanks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.config import TileSettings, VisionSettings
from backend.ingest.runtimes import openvino_computes_bfloat16
from backend.ingest.types import Frame, VisualTag
from backend.ingest.vision import FrameTagger, ImageNetClassifier, class_names
from backend.ingest.vision.classifier import FEATURE_DIM
from backend.ingest.vision.regions import crop_batch, tile_boxes, whole_frame_box
from bench.vision_signal import sample_frames

#: ImageNet-1k class ids of birds (WordNet: cock..great grey owl, black grouse..black swan,
#: white stork..puffin-like seabirds); a parakeet has no class of its own.
BIRD_CLASSES = [*range(7, 25), *range(80, 101), *range(127, 147)]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vision-cache")


@pytest.fixture(scope="module")
def tagger(cache_dir: Path) -> FrameTagger:
    return FrameTagger(VisionSettings(), cache_dir=cache_dir)


@pytest.fixture(scope="module")
def cockatoo(shared_data: Path) -> list[Frame]:
    return sample_frames(shared_data / "corpus" / "imageio" / "cockatoo.mp4")


@pytest.fixture(scope="module")
def parakeet(shared_data: Path) -> list[Frame]:
    return sample_frames(shared_data / "corpus" / "languagebind" / "parakeet.mp4")


@pytest.fixture(scope="module")
def cockatoo_tags(tagger: FrameTagger, cockatoo: list[Frame]) -> list[VisualTag]:
    return tagger.tag_frames(cockatoo)


@pytest.fixture(scope="module")
def parakeet_tags(tagger: FrameTagger, parakeet: list[Frame]) -> list[VisualTag]:
    return tagger.tag_frames(parakeet)


def test_the_cockatoo_video_is_tagged_cockatoo(
    cockatoo_tags: list[VisualTag], cockatoo: list[Frame]
) -> None:
    found = [t for t in cockatoo_tags if t.label == "sulphur-crested cockatoo"]
    assert max(t.score for t in found) > 0.5, cockatoo_tags
    # A 14 s clip yields tens of tags at most, not one per crop.
    assert len(cockatoo_tags) <= 3 * len(cockatoo), cockatoo_tags


def test_the_parakeet_video_gets_a_bird_label(parakeet_tags: list[VisualTag]) -> None:
    birds = {class_names()[i] for i in BIRD_CLASSES}
    found = [t for t in parakeet_tags if t.label in birds]
    assert found, f"no bird among {[t.label for t in parakeet_tags]}"
    # The bird is a sixth of the frame wide: a tile finds it, and says where.
    assert any(t.box is not None for t in found)


@pytest.mark.parametrize("video", ["cockatoo", "parakeet"])
def test_tags_carry_a_frame_time_and_boxes_lie_inside_the_frame(
    video: str, request: pytest.FixtureRequest
) -> None:
    frames: list[Frame] = request.getfixturevalue(video)
    tags: list[VisualTag] = request.getfixturevalue(f"{video}_tags")
    assert tags
    times = {f.time_s for f in frames}
    height, width = frames[0].image.shape[:2]
    for tag in tags:
        assert tag.time_s in times
        assert 0.0 < tag.score <= 1.0
        if tag.box is not None:
            x0, y0, x1, y1 = tag.box
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, tag


def test_tags_follow_the_frame_times_they_are_given(
    tagger: FrameTagger, parakeet: list[Frame]
) -> None:
    shifted = [Frame(f.time_s + 1000.0, f.image, f.is_scene_change) for f in parakeet]
    tags = tagger.tag_frames(shifted)
    assert tags
    assert {t.time_s for t in tags} <= {f.time_s for f in shifted}


def test_blank_frames_get_no_tags(tagger: FrameTagger) -> None:
    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(128, 2, (360, 640, 3)), 0, 255).astype(np.uint8)
    blanks = [np.full((360, 640, 3), value, np.uint8) for value in (0, 128, 255)] + [noise]
    frames = [Frame(float(i), image) for i, image in enumerate(blanks)]
    assert tagger.tag_frames(frames) == []


def test_without_the_flat_guard_a_blank_frame_still_scores_low(tagger: FrameTagger) -> None:
    """The guard saves a model run; the model alone stays below the threshold on blanks too."""
    pixels = np.stack([np.full((224, 224, 3), value, np.uint8) for value in (0, 128, 255)])
    top = tagger.classifier.predict(pixels).max(axis=1)
    assert (top < VisionSettings().min_score).all(), top


def test_a_long_shot_gives_a_few_tags_per_label(cockatoo: list[Frame], cache_dir: Path) -> None:
    """One good frame shown for 30 s: each label at most once per 10 s window."""
    whole_only = FrameTagger(VisionSettings(tiles=TileSettings(scale=0)), cache_dir=cache_dir)
    frames = [Frame(float(t), cockatoo[10].image) for t in range(30)]
    tags = whole_only.tag_frames(frames)
    labels = [t.label for t in tags]
    assert "sulphur-crested cockatoo" in labels
    assert max(labels.count(label) for label in set(labels)) == 3
    assert len(tags) <= 3 * whole_only.settings.top_k


def test_tiny_and_empty_inputs(tagger: FrameTagger) -> None:
    assert tagger.tag_frames([]) == []
    tiny = [
        Frame(0.0, np.full((1, 1, 3), 200, np.uint8)),
        Frame(1.0, np.zeros((8, 8, 3), np.uint8)),
    ]
    assert all(t.box is None for t in tagger.tag_frames(tiny))
    assert tile_boxes(1, 1) == []


def test_settings_bound_the_tags(cockatoo: list[Frame], cache_dir: Path) -> None:
    strict = FrameTagger(
        VisionSettings(top_k=1, min_score=0.9, tiles=TileSettings(scale=0)), cache_dir=cache_dir
    )
    tags = strict.tag_frames(cockatoo)
    assert all(isinstance(t, VisualTag) and t.score >= 0.9 and t.box is None for t in tags)
    per_time = [t.time_s for t in tags]
    assert len(per_time) == len(set(per_time))  # top_k=1: one tag per frame at most


@pytest.fixture(scope="module")
def onnx_classifier(cache_dir: Path) -> ImageNetClassifier:
    return ImageNetClassifier(cache_dir=cache_dir, backend="onnx")


def test_onnx_graph_is_cached_and_agrees_with_torch(
    onnx_classifier: ImageNetClassifier, cockatoo: list[Frame], cache_dir: Path
) -> None:
    image = cockatoo[10].image
    height, width = image.shape[:2]
    crops = crop_batch(image, [whole_frame_box(width, height), *tile_boxes(width, height)[:1]])
    onnx = onnx_classifier.predict(crops)
    assert onnx_classifier.backend == "onnx"
    assert list((cache_dir / "vision").glob("efficientnet-lite0-*.onnx"))
    torch = ImageNetClassifier(backend="torch").predict(crops)
    np.testing.assert_allclose(onnx, torch, atol=1e-4)
    assert class_names()[int(onnx[0].argmax())] == "sulphur-crested cockatoo"


def test_the_default_runtime_is_bfloat16_openvino_only_where_the_cpu_computes_it(
    tagger: FrameTagger, cockatoo: list[Frame]
) -> None:
    tagger.tag_frames(cockatoo[:1])
    expected = "openvino" if openvino_computes_bfloat16() else "onnx"
    assert tagger.classifier.backend == expected


def test_openvino_gives_onnxruntimes_answers_within_bfloat16(
    onnx_classifier: ImageNetClassifier, cockatoo: list[Frame], parakeet: list[Frame], cache_dir
) -> None:
    """Whole views and every tile of two real frames: the same named class wherever either
    runtime leans to one, probabilities a few hundredths apart, near-identical appearance."""
    openvino = ImageNetClassifier(cache_dir=cache_dir, backend="openvino")
    crops = np.concatenate(
        [
            crop_batch(
                f.image,
                [whole_frame_box(*f.image.shape[1::-1]), *tile_boxes(*f.image.shape[1::-1])],
            )
            for f in (cockatoo[10], parakeet[3])
        ]
    )
    ours, our_features = openvino.predict_with_features(crops)
    theirs, their_features = onnx_classifier.predict_with_features(crops)
    assert openvino.backend == "openvino"
    sure = (ours.max(axis=1) > 0.3) | (theirs.max(axis=1) > 0.3)
    assert sure.sum() >= 3
    np.testing.assert_array_equal(ours[sure].argmax(axis=1), theirs[sure].argmax(axis=1))
    # Unsure crops (an empty perch, sky) may swap their top two classes; most keep them.
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).mean() >= 0.75
    assert np.abs(ours - theirs).max() < 0.15
    cosine = (our_features * their_features).sum(axis=1) / (
        np.linalg.norm(our_features, axis=1) * np.linalg.norm(their_features, axis=1)
    )
    assert cosine.min() > 0.97, cosine.min()


@pytest.mark.parametrize("runtime", ["onnx", "openvino"])
def test_a_damaged_cache_is_exported_again(tmp_path: Path, runtime: str) -> None:
    classifier = ImageNetClassifier(cache_dir=tmp_path, backend=runtime)
    path = classifier.onnx_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx graph")
    assert classifier.backend == runtime
    assert path.stat().st_size > 1_000_000


def test_predict_rejects_other_shapes(tagger: FrameTagger) -> None:
    with pytest.raises(ValueError, match="224"):
        tagger.classifier.predict(np.zeros((1, 100, 100, 3), np.uint8))
    assert tagger.classifier.predict(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, 1000)


# ------------------------------------------------------------- appearance (search by picture)
def test_one_pass_gives_tags_and_unit_region_features(
    tagger: FrameTagger, cockatoo: list[Frame]
) -> None:
    look = tagger.look(cockatoo[:4])
    assert look.tags == tagger.tag_frames(cockatoo[:4])
    assert [r.time_s for r in look.regions] == [f.time_s for f in cockatoo[:4]]
    height, width = cockatoo[0].image.shape[:2]
    for regions in look.regions:
        n = 1 + len(tile_boxes(width, height))
        assert regions.features.shape == (n, FEATURE_DIM) and len(regions.parts) == n
        assert regions.parts[0] == "whole" and regions.parts[1] == "tile 1"
        np.testing.assert_allclose(np.linalg.norm(regions.features, axis=1), 1.0, atol=1e-5)
        assert tuple(regions.boxes[0]) == pytest.approx(whole_frame_box(width, height))
        assert (regions.boxes[:, 2] <= width + 1e-3).all() and (regions.boxes[:, 3] <= height).all()


def test_a_picture_gets_the_regions_its_frame_got(tagger: FrameTagger, cockatoo: list[Frame]):
    frame = cockatoo[5]
    indexed = tagger.look([frame]).regions[0]
    queried = tagger.regions_of(frame.image)
    np.testing.assert_allclose(queried.features, indexed.features, atol=1e-5)
    assert queried.parts == indexed.parts


def test_flat_pictures_have_no_regions(tagger: FrameTagger) -> None:
    assert tagger.regions_of(np.zeros((120, 160, 3), np.uint8)) is None
    frames = [Frame(0.0, np.full((90, 160, 3), 128, np.uint8))]
    assert tagger.look(frames).regions == []


def test_features_are_centred_so_unrelated_pictures_differ(
    tagger: FrameTagger, cockatoo: list[Frame], parakeet: list[Frame]
) -> None:
    """The same shot is far closer to itself, slightly altered, than to another video."""
    frame = cockatoo[6].image
    darker = np.clip(frame.astype(np.float32) * 0.7, 0, 255).astype(np.uint8)
    same = tagger.regions_of(frame).features[0] @ tagger.regions_of(darker).features[0]
    other = tagger.regions_of(frame).features[0] @ tagger.regions_of(parakeet[3].image).features[0]
    assert same > 0.85 and other < 0.6 and same - other > 0.3, (same, other)


def test_onnx_features_agree_with_torch(
    onnx_classifier: ImageNetClassifier, cockatoo: list[Frame]
) -> None:
    image = cockatoo[2].image
    crops = crop_batch(image, tile_boxes(*image.shape[1::-1])[:3])
    probs, features = onnx_classifier.predict_with_features(crops)
    torch_probs, torch_features = ImageNetClassifier(backend="torch").predict_with_features(crops)
    np.testing.assert_allclose(probs, torch_probs, atol=1e-4)
    np.testing.assert_allclose(features, torch_features, atol=1e-3)
    assert features.shape == (3, FEATURE_DIM)


def test_the_probabilities_are_the_networks_own(cockatoo: list[Frame]) -> None:
    """Taking the features apart from the network's forward leaves its answer unchanged."""
    import torch

    from backend.ingest.vision.classifier import weights_path
    from backend.ingest.vision.network import build_model, run

    model = build_model(weights_path())
    image = cockatoo[10].image
    crops = crop_batch(image, [whole_frame_box(image.shape[1], image.shape[0])])
    probs, _ = run(model, crops)
    with torch.inference_mode():
        pixels = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        expected = torch.softmax(model.network(pixels), dim=-1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-6)
