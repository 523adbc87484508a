"""Calls to a Gradio app's REST API, as ``curl`` makes them: a lean client for load tests.

Gradio documents two requests per call: ``POST /gradio_api/call/<api_name>`` with the inputs
gives an event id, and ``GET /gradio_api/call/<api_name>/<event id>`` streams the outcome as
server-sent events (``event: complete`` with the outputs, or ``event: error``). A load generator
on the same machine as the app must cost little: ``gradio_client`` spends about 60 ms of CPU per
call (measured: a thread per job, polling), which on two cores takes a third of what the app gets;
these two requests cost a few milliseconds.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class RestCallError(RuntimeError):
    """The app answered a call with an error, or with something that is not an answer."""


class GradioRest:
    """One HTTP connection to the app at ``url``; ``auth`` logs in first (user, password)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = 120):
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        if auth:
            answer = self.http.post(
                f"{self.url}/login", data={"username": auth[0], "password": auth[1]}
            )
            if answer.status_code != 200:
                raise RestCallError(f"login refused: HTTP {answer.status_code}")

    def call(self, api_name: str, *inputs: Any) -> list[Any]:
        """The outputs of ``api_name`` for ``inputs``; raises :class:`RestCallError`."""
        started = self.http.post(
            f"{self.url}/gradio_api/call/{api_name}", json={"data": list(inputs)}
        )
        if started.status_code != 200:
            raise RestCallError(f"HTTP {started.status_code}: {started.text[:200]}")
        event_id = started.json()["event_id"]
        event = None
        with self.http.stream("GET", f"{self.url}/gradio_api/call/{api_name}/{event_id}") as s:
            for line in s.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line.removeprefix("data:").strip()
                    if event == "error":
                        raise RestCallError(f"the app answered with an error: {data[:200]}")
                    return json.loads(data)
        raise RestCallError(f"the stream ended without an answer (last event {event!r})")

    def close(self) -> None:
        self.http.close()
