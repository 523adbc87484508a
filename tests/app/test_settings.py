"""App settings from the environment: one place, typed, with clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import DEMO_DIR, AppSettings, check_access, parse_auth
from tests.conftest import REPO_ROOT


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


def test_public_address_needs_passwords_or_an_explicit_no_auth() -> None:
    public = {"VIDEOSEARCH_HOST": "0.0.0.0"}
    refused = check_access(AppSettings.from_env(public))
    assert refused.refusal and "--auth" in refused.refusal and "--no-auth" in refused.refusal
    protected = check_access(AppSettings.from_env({**public, "VIDEOSEARCH_AUTH": "ann:pw"}))
    assert protected.refusal is None and "password protection on (1 user)" in protected.line
    open_ = check_access(AppSettings.from_env({**public, "VIDEOSEARCH_NO_AUTH": "1"}))
    assert open_.refusal is None and open_.warn and "WITHOUT password protection" in open_.line
    both = {**public, "VIDEOSEARCH_AUTH": "ann:pw", "VIDEOSEARCH_NO_AUTH": "1"}
    assert "choose one" in check_access(AppSettings.from_env(both)).refusal
    local = check_access(AppSettings.from_env({}))  # loopback: no passwords needed
    assert local.refusal is None and "this machine only" in local.line


def test_a_space_starts_and_says_whether_passwords_are_on() -> None:
    space = {"GRADIO_SERVER_NAME": "0.0.0.0", "SPACE_ID": "ann/videos"}
    open_ = check_access(AppSettings.from_env(space))
    assert open_.refusal is None and "Space ann/videos" in open_.line and "OFF" in open_.line
    closed = check_access(AppSettings.from_env({**space, "VIDEOSEARCH_AUTH": "ann:pw"}))
    assert closed.refusal is None and "password protection on" in closed.line


def test_the_app_refuses_to_start_open_on_a_public_address() -> None:
    """Before the app and its models are built: a second or two."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOSEARCH_", "SPACE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--host", "0.0.0.0", "--port", "1"],
        cwd=REPO_ROOT,
        env={**env, "GRADIO_SERVER_NAME": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0:1 without password protection" in done.stderr
    both = subprocess.run(
        [sys.executable, "-m", "app", "--host", "0.0.0.0", "--auth", "a:b", "--no-auth"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert both.returncode == 1 and "choose one" in both.stderr
