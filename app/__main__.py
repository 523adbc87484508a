"""``python -m app [--store DIR] [--port N] [--host H] [--auth USER:PASS | --no-auth] ...``

Flags become the environment variables ``app.settings`` reads, then the app is built and served:
one source of settings, whether they came from flags, a Dockerfile or a Space's secrets.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.settings import (
    AUTH_ENV,
    DEMO_ENV,
    HOST_ENV,
    MAX_UPLOAD_ENV,
    NO_AUTH_ENV,
    PORT_ENV,
    AppSettings,
    check_access,
)
from backend.config import STORE_ENV


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="The browser app: search videos, see why they matched, upload, label.",
    )
    parser.add_argument("--store", help=f"store folder or URI (${STORE_ENV}, default data/store)")
    parser.add_argument("--port", type=int, help=f"port (${PORT_ENV}, default 7860)")
    parser.add_argument("--host", help=f"address to listen on (${HOST_ENV}, default 127.0.0.1)")
    parser.add_argument("--auth", help=f"user:password[,user:password] (${AUTH_ENV})")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help=f"listen on a public --host without passwords (${NO_AUTH_ENV}=1); prints a warning",
    )
    parser.add_argument("--max-upload-mb", type=float, help=f"upload limit (${MAX_UPLOAD_ENV})")
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help=f"do not index the demo collection into an empty store (${DEMO_ENV}=0)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    flags = {
        STORE_ENV: args.store,
        PORT_ENV: args.port,
        HOST_ENV: args.host,
        AUTH_ENV: args.auth,
        MAX_UPLOAD_ENV: args.max_upload_mb,
        DEMO_ENV: "0" if args.no_demo else None,
        NO_AUTH_ENV: "1" if args.no_auth else None,
    }
    os.environ.update({name: str(value) for name, value in flags.items() if value is not None})
    try:  # refuse before the app (and its models) are built
        refusal = check_access(AppSettings.from_env()).refusal
    except ValueError as error:  # a malformed setting, e.g. --auth without a password
        sys.exit(f"error: {error}")
    if refusal:
        sys.exit(f"error: {refusal}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from app.main import launch  # builds the app from the environment just set

    launch()


if __name__ == "__main__":
    main()
