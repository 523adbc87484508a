"""Calls to a Gradio app over HTTP, made as a browser tab makes them: a lean client for load tests.

A tab has one session: each event is posted to ``/gradio_api/queue/join`` with the session's hash
and the event's ``fn_index``, and its outcome arrives as server-sent events on
``/gradio_api/queue/data?session_hash=...`` (``process_completed``, with the outputs or the
error). Two details decide what a load test measures:

- **A load generator on the app's machine must cost little.** ``gradio_client`` spends about
  60 ms of CPU per call (a thread per job, polling), which on two cores takes a third of what the
  app gets; these two requests cost a few milliseconds.
- **One session per user, not per call.** Gradio's one-shot REST API (``/gradio_api/call/...``)
  opens a new session for every call, and a new session copies the configuration of every
  component on the page: 15 % of the app's time under load (measured with py-spy), which no
  browser user causes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx


class RestCallError(RuntimeError):
    """The app answered a call with an error, or with something that is not an answer."""


class GradioRest:
    """One user of the app at ``url``: one HTTP connection, one Gradio session, one call at a
    time. ``auth`` logs in first (user, password)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = 120):
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        self.session_hash = uuid.uuid4().hex[:11]
        if auth:
            answer = self.http.post(
                f"{self.url}/login", data={"username": auth[0], "password": auth[1]}
            )
            if answer.status_code != 200:
                raise RestCallError(f"login refused: HTTP {answer.status_code}")
        config = self.http.get(f"{self.url}/config")
        if config.status_code != 200:
            raise RestCallError(f"no app configuration: HTTP {config.status_code}")
        self.fn_index = {
            d["api_name"]: d["id"] for d in config.json()["dependencies"] if d.get("api_name")
        }

    def call(self, api_name: str, *inputs: Any) -> list[Any]:
        """The outputs of ``api_name`` for ``inputs`` (every input of the event, State ones
        included); raises :class:`RestCallError`."""
        if api_name not in self.fn_index:
            raise RestCallError(f"the app has no endpoint {api_name!r}")
        body = {
            "data": list(inputs),
            "fn_index": self.fn_index[api_name],
            "session_hash": self.session_hash,
            "event_data": None,
            "trigger_id": None,
        }
        joined = self.http.post(f"{self.url}/gradio_api/queue/join", json=body)
        if joined.status_code != 200:
            raise RestCallError(f"HTTP {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        stream = self.http.stream(
            "GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": self.session_hash}
        )
        with stream as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line.removeprefix("data:"))
                if message.get("event_id") != event_id:
                    continue
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise RestCallError(f"the app answered with an error: {message}"[:300])
                    return message["output"]["data"]
        raise RestCallError("the stream ended without an answer")

    def close(self) -> None:
        self.http.close()
