"""The API fuzzed: path-like ids, huge strings, wrong types and unknown ids sent to every endpoint
of the real app (``python -m app``) through gradio_client and plain HTTP. Every call gets a clear
error (or, for a read-only endpoint, an answer), and the store is unchanged afterwards: the same
tables at the same versions with the same rows, the same files in media/ and training/.

Self-contained: the store holds one video of the demo collection (no ../shared/data needed).
The values come from a seeded generator (hypothesis is not a dependency), so a failure repeats.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import lancedb
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.app.conftest import AppServer, start_app
from tests.conftest import REPO_ROOT, run_cli

DEMO_VIDEO = REPO_ROOT / "assets" / "demo" / "gardening_tip.mp4"
SEED = 12
ROUNDS = 3  # random calls per fuzzed position, besides the nasty values
SAMPLED = 12  # nasty values sent to each position: the CORE ones and a seeded sample of the rest
WORKERS = 4  # calls at once: the app's queue runs four
#: What a clear error is not: a Python error leaking out of a handler.
UNCLEAR = re.compile(
    r"Traceback|object has no attribute|not supported between|unsupported operand|NoneType|"
    r"KeyError|IndexError|referenced before|positional argument|unexpected keyword|"
    r"object is not (subscriptable|iterable|callable)",
)

NASTY: list[Any] = [
    "",
    " ",
    "..",
    "../..",
    "../../../etc/passwd",
    "/etc/passwd",
    "/",
    "~root",
    "%2e%2e%2f%2e%2e%2f",
    "a/b",
    "..\\..\\windows",
    "v0/../..",
    "' OR '1'='1",
    '"; DROP TABLE videos; --',
    "video_id = video_id",
    "\u202e\u2066",
    "😀" * 40,
    "x" * 100_000,
    "0" * 32,
    "f" * 33,
    "20261123-101500-ab12",
    "20261123-101500-ab12/../../..",
    "v99999",
    "v-1",
    None,
    0,
    -1,
    1.5,
    1e308,
    True,
    [],
    {},
    ["../x"],
    {"path": "/etc/passwd"},
]


#: Sent to every position: a path out, an absolute path, SQL, a huge string, an unknown id of the
#: right form, nothing, a wrong number, a file-like dict.
CORE: list[Any] = [
    "../../../etc/passwd",
    "/etc/passwd",
    "' OR '1'='1",
    "x" * 100_000,
    "0" * 32,
    None,
    -1,
    {"path": "/etc/passwd"},
]


def random_value(rng: random.Random) -> Any:
    """A random string (path characters, quotes, control and wide characters) or a wrong type."""
    kind = rng.random()
    if kind < 0.7:
        alphabet = "abcdef0123456789/.\\'\"%~-_ :;*?<>|\t\n\u00e9\u4e2d\U0001f600"
        size = rng.choice([rng.randint(1, 40), rng.randint(1000, 5000), 200_000])
        return "".join(rng.choice(alphabet) for _ in range(size))
    return rng.choice([rng.randint(-(10**12), 10**12), rng.random() * 1e9, [1, "a"], {"a": 1}])


def snapshot(store: Path) -> dict:
    """Every table with its version and row count, and every file outside the tables."""
    db = lancedb.connect(str(store))
    tables = {}
    for name in db.list_tables().tables:
        table = db.open_table(name)
        tables[name] = (table.version, table.count_rows())
    files = sorted(
        str(p.relative_to(store))
        for p in store.rglob("*")
        if p.is_file()
        and not any(part.endswith(".lance") or part.startswith(".") for part in p.parts)
    )
    return {"tables": tables, "files": files}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def store(root: Path) -> Path:
    return root / "store"


@pytest.fixture(scope="module")
def server(root: Path, store: Path) -> AppServer:
    done = run_cli("index", str(DEMO_VIDEO), "--store", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    app = start_app(store, root / "app.log", "--no-demo", "--max-upload-mb", "1")
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server: AppServer) -> Client:
    return Client(server.url, verbose=False)


@pytest.fixture(scope="module")
def picture(root: Path) -> Path:
    """A small picture to search with (green above, brown below: a garden, more or less)."""
    path = root / "picture.png"
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:32] = (40, 160, 60)
    pixels[32:] = (120, 80, 40)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def video_id(client: Client) -> str:
    return client.predict(api_name="/collection")["videos"][0]["video_id"]


#: What a text field that writes (new judging queries) must refuse: wrong types, a huge text.
NOT_TEXT: list[Any] = [0, -1, 1.5, True, [], {}, ["../x"], {"path": "/etc/passwd"}, "x" * 100_000]

Position = bool | list  # True: any value may succeed; False: none may; a list: these must fail
Spec = tuple[list[Any], dict[int, Position]]


def specs(video_id: str, endpoints: dict[str, dict], picture: Path) -> dict[str, Spec]:
    """Per endpoint: valid arguments, and per position what to send there. Only read-only
    inputs may succeed (a search for a strange string finds something); a call that could
    write (a label for a real video, a training run, a new query) is only sent values it must
    refuse. An endpoint without parameters is called as it is (it must answer, or say why not)."""
    explicit: dict[str, Spec] = {
        "/search": (["rain", 5, "modality_max", []], {0: True, 1: True, 2: True, 3: True}),
        "/explain": (["rain", video_id, "best"], {0: True, 1: False, 2: False}),
        # a picture must be a picture; the rest are search settings, read-only
        "/search_image": (
            [handle_file(str(picture)), "rain", 3, "modality_max", []],
            {0: False, 1: True, 2: True, 3: True, 4: True},
        ),
        "/more_like_this": ([video_id, 1.0, 3, "modality_max", []], {i: True for i in range(5)}),
        "/label": (["rain", video_id, True, "asr", 1.0], {1: False}),
        "/delete": ([video_id], {0: False}),
        "/train": ([1, 3e-4, 8, "contrastive", 10], {0: False, 1: False, 2: False, 3: False}),
        "/train_status": ([""], {0: True}),  # '' (or None) is the latest job: there is none
        "/train_cancel": ([""], {0: False}),
        "/switch": ([""], {0: False}),
        "/versions": ([""], {0: True}),  # '' lists the versions; a name must be a version
        # judging: this store has no query set, so no query id is known
        "/judge": (["q1", video_id, 1, None, "", "fuzzer"], {0: False, 1: False, 2: False}),
        "/adjudicate": (["q1", video_id, 1], {0: False, 1: False, 2: False}),
        "/add_queries": (["q1\tbake bread"], {0: NOT_TEXT}),
        "/pool": ([10], {0: False}),
    }
    bare = {name: ([], {}) for name, info in endpoints.items() if not info["parameters"]}
    return {**bare, **explicit}


def fuzzed_calls(valid: list[Any], positions: dict[int, Position], rng: random.Random):
    """(arguments, may succeed): the valid call with one position replaced by each of
    ``SAMPLED`` nasty values, then several positions at once by random ones."""
    if not positions:
        yield list(valid), True
    rest = [value for value in NASTY if value not in CORE]
    for position, kind in sorted(positions.items()):
        values = kind if isinstance(kind, list) else CORE + rng.sample(rest, SAMPLED - len(CORE))
        for value in values:
            yield [*valid[:position], value, *valid[position + 1 :]], kind is True
    randomised = [p for p, kind in positions.items() if not isinstance(kind, list)]
    for _ in range(ROUNDS * len(randomised)):
        args = list(valid)
        chosen = rng.sample(sorted(randomised), k=rng.randint(1, len(randomised)))
        for position in chosen:
            args[position] = random_value(rng)
        yield args, all(positions[p] is True for p in chosen)


def call(client: Client, endpoint: str, args: list[Any]) -> tuple[bool, str]:
    """(succeeded, message or answer) of one call; client-side refusals count as errors."""
    try:
        return True, repr(client.predict(*args, api_name=endpoint))[:200]
    except (AppError, ValueError, TypeError) as error:
        return False, str(error)


def is_clear(message: str) -> bool:
    """A message that says something, and whose first line is not a Python error leaking out
    (Gradio's own "Could not preprocess ... Expected a `float`" keeps the cause below it)."""
    lines = message.strip().splitlines()
    return bool(lines) and not UNCLEAR.search(lines[0])


@pytest.fixture(scope="module")
def endpoints(client: Client) -> dict[str, dict]:
    return client.view_api(return_format="dict", print_info=False)["named_endpoints"]


def test_every_endpoint_is_fuzzed(endpoints: dict[str, dict], video_id: str, picture: Path) -> None:
    """/index is fuzzed on its own below (files); a new endpoint needs its line in specs()."""
    missing = set(endpoints) - set(specs(video_id, endpoints, picture)) - {"/index"}
    assert not missing, f"add these endpoints to specs() in {Path(__file__).name}: {missing}"


def test_fuzzed_calls_get_clear_errors_and_change_nothing(
    server: AppServer,
    client: Client,
    store: Path,
    video_id: str,
    endpoints: dict[str, dict],
    picture: Path,
) -> None:
    client.predict("rain", 5, "modality_max", [], api_name="/search")  # warm: nothing lazy left
    before = snapshot(store)
    rng = random.Random(SEED)
    calls = [
        (endpoint, args, may_succeed)
        for endpoint, (valid, positions) in specs(video_id, endpoints, picture).items()
        if endpoint in endpoints
        for args, may_succeed in fuzzed_calls(valid, positions, rng)
    ]
    clients = threading.local()

    def run(item: tuple[str, list[Any], bool]) -> str | None:
        """What is wrong with one call's outcome, or None."""
        if not hasattr(clients, "client"):
            clients.client = Client(server.url, verbose=False)
        endpoint, args, may_succeed = item
        ok, message = call(clients.client, endpoint, args)
        shown = f"{endpoint}{tuple(repr(a)[:40] for a in args)}"
        if ok and not may_succeed:
            return f"succeeded: {shown} -> {message}"
        if not ok and not is_clear(message):
            return f"unclear: {shown} -> {message[:300]}"
        return None

    with ThreadPoolExecutor(WORKERS) as pool:
        problems = [p for p in pool.map(run, calls) if p]
    assert not problems, f"{len(problems)} of {len(calls)} calls:\n" + "\n".join(problems[:20])
    assert len(calls) > 250
    assert snapshot(store) == before
    assert client.predict(api_name="/collection")["videos"][0]["video_id"] == video_id


def test_uploads_that_are_not_files_change_nothing(
    client: Client, server: AppServer, store: Path, root: Path
) -> None:
    before = snapshot(store)
    small = root / "clip.mp4"
    small.write_bytes(DEMO_VIDEO.read_bytes())
    attempts: list[Callable[[], Any]] = [
        lambda: client.predict(None, "", api_name="/index"),
        lambda: client.predict([], "", api_name="/index"),
        lambda: client.predict(5, "", api_name="/index"),
        lambda: client.predict("/etc/passwd", "", api_name="/index"),
        # a real file, but a description no one writes: refused before anything is kept
        lambda: client.predict([handle_file(str(small))], "x" * 20_000, api_name="/index"),
    ]
    for attempt in attempts:
        with pytest.raises((AppError, ValueError)) as error:
            attempt()
        assert is_clear(str(error.value)), error.value
    # a server path sent as a file, without the client (which would upload its own copy)
    for path in ("/etc/passwd", str(DEMO_VIDEO), f"{store}/../../etc/passwd"):
        payload = {"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}}], ""]}
        started = httpx.post(f"{server.url}gradio_api/call/index", json=payload, timeout=30)
        assert started.status_code == 200
        event = started.json()["event_id"]
        answer = httpx.get(f"{server.url}gradio_api/call/index/{event}", timeout=60).text
        assert "event: error" in answer and "event: complete" not in answer, answer[:500]
    assert snapshot(store) == before


def test_the_size_limit_stops_an_upload_as_it_arrives(
    client: Client, server: AppServer, store: Path, root: Path
) -> None:
    """Gradio's max_file_size: the server answers 413 and keeps nothing; the client refuses
    before sending."""
    before = snapshot(store)
    big = root / "big.mp4"
    big.write_bytes(b"\0" * (2 * 2**20))
    with big.open("rb") as data:
        response = httpx.post(
            f"{server.url}gradio_api/upload", files=[("files", ("big.mp4", data))], timeout=60
        )
    assert response.status_code == 413, response.text
    assert "maximum allowed size" in response.text
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict([handle_file(str(big))], "", api_name="/index")
    assert snapshot(store) == before
