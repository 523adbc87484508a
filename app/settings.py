"""What the browser app needs beyond the backend's settings: where it listens, who may enter,
what it accepts and which folders it may serve. Read once from the environment (``python -m app``
turns its flags into these variables first), then passed down.

| variable | meaning | default |
|---|---|---|
| ``VIDEOSEARCH_STORE`` | the store (backend) | ``data/store`` |
| ``VIDEOSEARCH_HOST`` / ``VIDEOSEARCH_PORT`` | where to listen | ``127.0.0.1`` / ``7860`` |
| ``VIDEOSEARCH_AUTH`` | ``user:password`` pairs, comma-separated: password protection | off |
| ``VIDEOSEARCH_NO_AUTH`` | ``1``: listen on a public address without passwords (warns) | ``0`` |
| ``VIDEOSEARCH_MAX_UPLOAD_MB`` | largest file accepted | ``2048`` |
| ``VIDEOSEARCH_DEMO`` | ``0``: do not index the demo collection into an empty store | ``1`` |
| ``VIDEOSEARCH_MEDIA`` | where uploaded videos are kept | ``<store>/media`` |
| ``VIDEOSEARCH_SERVE_DIRS`` | more folders the player may stream from (``os.pathsep``) | none |

Closed by default: on an address other than loopback the app refuses to start without passwords
(``VIDEOSEARCH_AUTH``) unless told ``VIDEOSEARCH_NO_AUTH=1`` (a proxy in front decides who gets
in), because whoever reaches the port can upload, delete, train and switch the index. On a
Hugging Face Space (the platform sets ``SPACE_ID`` and decides who reaches the app) it starts
either way and says which it is.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "assets" / "demo"

HOST_ENV = "VIDEOSEARCH_HOST"
PORT_ENV = "VIDEOSEARCH_PORT"
AUTH_ENV = "VIDEOSEARCH_AUTH"
NO_AUTH_ENV = "VIDEOSEARCH_NO_AUTH"
SPACE_ENV = "SPACE_ID"  # set by Hugging Face Spaces
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
    no_auth: bool = False  # listen on a public address without passwords, knowingly
    space_id: str = ""  # the Hugging Face Space the app runs in, if any

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
            no_auth=_flag(env.get(NO_AUTH_ENV), False),
            space_id=(env.get(SPACE_ENV) or "").strip(),
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


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``.

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.1.2.3")]
    [True, True, True, True]
    >>> [is_loopback(h) for h in ("0.0.0.0", "::", "", "192.168.1.5", "example.org")]
    [False, False, False, False, False]
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name (or "") may resolve to anything: treat it as public
        return False


@dataclass(frozen=True)
class Access:
    """Whether the app may start as configured (``refusal`` says why not) and the one line it
    prints about who can get in."""

    refusal: str | None
    line: str
    warn: bool = False


def check_access(settings: AppSettings) -> Access:
    """Closed by default: a public address needs passwords or an explicit ``--no-auth``.

    >>> check_access(AppSettings(host="0.0.0.0")).refusal is not None
    True
    >>> check_access(AppSettings(host="0.0.0.0", auth=(("ann", "pw"),))).refusal is None
    True
    >>> check_access(AppSettings(host="0.0.0.0", no_auth=True)).warn
    True
    >>> check_access(AppSettings(host="0.0.0.0", space_id="ann/videos")).refusal is None
    True
    """
    where = f"{settings.host}:{settings.port}"
    users = f"{len(settings.auth)} user{'' if len(settings.auth) == 1 else 's'}"
    if settings.space_id:
        where += f" on Hugging Face Space {settings.space_id}"
    if settings.auth and settings.no_auth:
        return Access(
            f"both passwords ({AUTH_ENV} or --auth) and --no-auth ({NO_AUTH_ENV}) were given: "
            "choose one.",
            "",
        )
    if settings.auth:
        return Access(None, f"listening on {where}; password protection on ({users})")
    if settings.space_id:  # the Space's own visibility (private, or public) decides who enters
        return Access(
            None,
            f"listening on {where}; password protection OFF (set the "
            f"secret {AUTH_ENV}=user:password to turn it on); who can open the app is the "
            "Space's visibility setting",
            warn=True,
        )
    if is_loopback(settings.host):
        return Access(None, f"listening on {where} (this machine only); no password protection")
    if settings.no_auth:
        return Access(
            None,
            f"WARNING: listening on {where} WITHOUT password protection (--no-auth): anyone who "
            "reaches this port can upload, delete, train and switch the index",
            warn=True,
        )
    return Access(
        f"refusing to listen on {where} without password protection: anyone who reaches the "
        "port could upload, delete, train and switch the index. Give --auth USER:PASSWORD "
        f"(or {AUTH_ENV}), or --no-auth ({NO_AUTH_ENV}=1) if something in front of the app "
        "already decides who gets in, or --host 127.0.0.1 to stay on this machine.",
        "",
    )
