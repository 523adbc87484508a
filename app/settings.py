"""What the browser app needs beyond the backend's settings: where it listens, who may enter,
what it accepts and which folders it may serve. Read once from the environment (``python -m app``
turns its flags into these variables first), then passed down.

| variable | meaning | default |
|---|---|---|
| ``VIDEOSEARCH_STORE`` | the store (backend) | ``data/store`` |
| ``VIDEOSEARCH_HOST`` / ``VIDEOSEARCH_PORT`` | where to listen | ``127.0.0.1`` / ``7860`` |
| ``VIDEOSEARCH_AUTH`` | ``user:password`` pairs, comma-separated: password protection | off |
| ``VIDEOSEARCH_MAX_UPLOAD_MB`` | largest file accepted | ``2048`` |
| ``VIDEOSEARCH_DEMO`` | ``0``: do not index the demo collection into an empty store | ``1`` |
| ``VIDEOSEARCH_MEDIA`` | where uploaded videos are kept | ``<store>/media`` |
| ``VIDEOSEARCH_SERVE_DIRS`` | more folders the player may stream from (``os.pathsep``) | none |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "assets" / "demo"

HOST_ENV = "VIDEOSEARCH_HOST"
PORT_ENV = "VIDEOSEARCH_PORT"
AUTH_ENV = "VIDEOSEARCH_AUTH"
MAX_UPLOAD_ENV = "VIDEOSEARCH_MAX_UPLOAD_MB"
DEMO_ENV = "VIDEOSEARCH_DEMO"
MEDIA_ENV = "VIDEOSEARCH_MEDIA"
SERVE_DIRS_ENV = "VIDEOSEARCH_SERVE_DIRS"


def parse_auth(text: str | None) -> tuple[tuple[str, str], ...]:
    """``"ann:pw1,bob:pw2"`` -> ``(("ann", "pw1"), ("bob", "pw2"))``; empty -> no protection.

    >>> parse_auth("ann:secret, bob:p:w")
    (('ann', 'secret'), ('bob', 'p:w'))
    >>> parse_auth("")
    ()
    """
    pairs = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise ValueError(f"{AUTH_ENV}: expected user:password pairs, got {item!r}")
        pairs.append((user, password))
    return tuple(pairs)


def _flag(text: str | None, default: bool) -> bool:
    if text is None or not text.strip():
        return default
    return text.strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class AppSettings:
    backend: Settings = field(default_factory=Settings)
    host: str = "127.0.0.1"
    port: int = 7860
    auth: tuple[tuple[str, str], ...] = ()
    max_upload_mb: float = 2048.0
    index_demo: bool = True
    demo_dir: Path = DEMO_DIR
    media_dir: Path | None = None  # None: <store>/media for a local store
    serve_dirs: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AppSettings:
        env = os.environ if environ is None else environ
        media = env.get(MEDIA_ENV)
        return cls(
            backend=Settings.from_env(env),
            host=env.get(HOST_ENV) or env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
            port=int(env.get(PORT_ENV) or env.get("GRADIO_SERVER_PORT") or 7860),
            auth=parse_auth(env.get(AUTH_ENV)),
            max_upload_mb=float(env.get(MAX_UPLOAD_ENV) or 2048),
            index_demo=_flag(env.get(DEMO_ENV), True),
            media_dir=Path(media) if media else None,
            serve_dirs=tuple(Path(p) for p in env.get(SERVE_DIRS_ENV, "").split(os.pathsep) if p),
        )

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded videos are copied to, so the store can play them back later."""
        if self.media_dir is not None:
            return self.media_dir.resolve()
        store = self.backend.store
        if "://" in store:  # an object store keeps no local files: keep them beside the app
            return (Path("data") / "media").resolve()
        return (Path(store) / "media").resolve()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def served_dirs(self) -> tuple[Path, ...]:
        """The only folders whose files the browser may fetch: uploads, demo, and those named."""
        return (self.uploads_dir, self.demo_dir.resolve(), *(p.resolve() for p in self.serve_dirs))
