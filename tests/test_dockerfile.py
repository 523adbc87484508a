"""The Dockerfile read as Docker reads it (no Docker engine here to build it): an unprivileged
user, a health check against the app's port, data and model caches on the volume, no blanket
offline switch, and an image that refuses to serve without passwords unless told otherwise."""

from __future__ import annotations

import json
import shlex
from pathlib import PurePosixPath

import pytest

from app.settings import AppSettings, check_access
from tests.conftest import REPO_ROOT


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not pending):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        out.append((keyword.upper(), arguments.strip()))
        pending = ""
    return out


@pytest.fixture(scope="module")
def steps() -> list[tuple[str, str]]:
    return instructions((REPO_ROOT / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def env(steps: list[tuple[str, str]]) -> dict[str, str]:
    """Every ENV of the image, as the running container sees it."""
    values: dict[str, str] = {}
    for keyword, arguments in steps:
        if keyword == "ENV":
            for item in shlex.split(arguments):
                name, _, value = item.partition("=")
                values[name] = value
    return values


def test_the_app_runs_as_an_unprivileged_user(steps: list[tuple[str, str]]) -> None:
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    cmd = max(i for i, (keyword, _) in enumerate(steps) if keyword == "CMD")
    assert last_user < cmd
    created = " ".join(a for k, a in steps if k == "RUN" and "useradd" in a)
    assert f"--uid 1000 --user-group {users[-1]}" in created


def test_a_health_check_asks_the_apps_own_port(
    steps: list[tuple[str, str]], env: dict[str, str]
) -> None:
    checks = [arguments for keyword, arguments in steps if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert "--interval" in options and "--start-period" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"] and "VIDEOSEARCH_PORT" in argv[2]
    compile(argv[2], "HEALTHCHECK", "exec")  # the probe is valid Python
    exposed = [arguments for keyword, arguments in steps if keyword == "EXPOSE"]
    assert exposed == [env["VIDEOSEARCH_PORT"]] == ["7860"]


def test_data_and_model_caches_live_on_the_volume(
    steps: list[tuple[str, str]], env: dict[str, str]
) -> None:
    volumes = [arguments for keyword, arguments in steps if keyword == "VOLUME"]
    assert volumes == ["/app/data"]
    volume = PurePosixPath(volumes[0])
    for name in (
        "VIDEOSEARCH_STORE",
        "VIDEOSEARCH_CACHE",
        "HF_HOME",
        "TORCH_HOME",
        "XDG_CACHE_HOME",
        "GRADIO_TEMP_DIR",
    ):
        assert PurePosixPath(env[name]).is_relative_to(volume), name
    owned = " ".join(a for k, a in steps if k == "RUN" and "chown" in a)
    assert "/app/data" in owned  # the unprivileged user can write it


def test_downloads_are_allowed_unless_the_user_asks_for_offline(env: dict[str, str]) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        assert name not in env


def test_the_image_refuses_to_serve_without_passwords(env: dict[str, str]) -> None:
    assert "VIDEOSEARCH_AUTH" not in env and "VIDEOSEARCH_NO_AUTH" not in env
    image = AppSettings.from_env(env)
    assert image.host == "0.0.0.0"
    assert "refusing to listen on 0.0.0.0:7860" in check_access(image).refusal
    with_auth = AppSettings.from_env({**env, "VIDEOSEARCH_AUTH": "ann:change-me"})
    assert check_access(with_auth).refusal is None


def test_what_it_copies_exists_and_it_runs_the_app(steps: list[tuple[str, str]]) -> None:
    for keyword, arguments in steps:
        if keyword == "COPY":
            *sources, _target = arguments.split()
            for source in sources:
                assert (REPO_ROOT / source).exists(), source
    assert [a for k, a in steps if k == "CMD"] == ['["python", "-m", "app"]']
    assert steps[0][0] == "FROM" and steps[0][1].startswith("python:3.11")
