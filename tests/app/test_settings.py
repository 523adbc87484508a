"""App settings from the environment: one place, typed, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import DEMO_DIR, AppSettings, parse_auth


def test_defaults_and_environment() -> None:
    default = AppSettings.from_env({})
    assert (default.host, default.port, default.auth, default.index_demo) == (
        "127.0.0.1",
        7860,
        (),
        True,
    )
    settings = AppSettings.from_env(
        {
            "VIDEOSEARCH_STORE": "/srv/store",
            "GRADIO_SERVER_NAME": "0.0.0.0",
            "VIDEOSEARCH_PORT": "8000",
            "GRADIO_SERVER_PORT": "7000",
            "VIDEOSEARCH_AUTH": "ann:pw",
            "VIDEOSEARCH_MAX_UPLOAD_MB": "1.5",
            "VIDEOSEARCH_DEMO": "0",
            "VIDEOSEARCH_SERVE_DIRS": "/videos:/more",
        }
    )
    assert settings.backend.store == "/srv/store"
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)  # ours before Gradio's
    assert settings.auth == (("ann", "pw"),) and not settings.index_demo
    assert settings.max_upload_bytes == int(1.5 * 2**20)
    assert settings.uploads_dir == Path("/srv/store/media")
    assert settings.served_dirs() == (
        Path("/srv/store/media"),
        DEMO_DIR.resolve(),
        Path("/videos"),
        Path("/more"),
    )


def test_object_store_keeps_uploads_locally() -> None:
    settings = AppSettings.from_env({"VIDEOSEARCH_STORE": "s3://bucket/store"})
    assert settings.uploads_dir == (Path("data") / "media").resolve()


def test_bad_auth_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="user:password"):
        parse_auth("ann")
