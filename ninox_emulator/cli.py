"""`ninox-emulator`: run the local Ninox-compatible server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
from collections.abc import Callable

from ninox_emulator.demo import LAYOUT
from ninox_emulator.emulator import NinoxEmulator
from ninox_emulator.public.demo import DEMO_WORKSPACE_ID
from ninox_emulator.public.emulator import PublicEmulator
from ninox_emulator.public.variants import resolve
from ninox_emulator.serving import ServedEmulator
from ninox_emulator.variants import check_names


def main(argv: list[str] | None = None) -> None:
    """Parse options, serve, and save `--data` on the way out."""
    parser = argparse.ArgumentParser(
        prog="ninox-emulator", description="A local Ninox-compatible API server (v1)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port (default 8080; 0 = a free one)"
    )
    parser.add_argument("--api-key", default="demo-key", help="the bearer key it accepts")
    parser.add_argument(
        "--api",
        choices=("classic", "public"),
        default="classic",
        help="classic: the /v1 API (default); public: the Ninox 4 Public API under /api/v1",
    )
    parser.add_argument(
        "--workspace-id",
        default=DEMO_WORKSPACE_ID,
        help=f"with --api public: the workspace id served (default {DEMO_WORKSPACE_ID})",
    )
    parser.add_argument(
        "--data",
        help="JSON snapshot: loaded at start if it exists, saved at exit and on "
        "POST /_emulator/save",
    )
    parser.add_argument("--demo", action="store_true", help="start with the bundled sample CRM")
    parser.add_argument(
        "--max-page-size", type=int, default=1000, help="cap of perPage (default 1000)"
    )
    parser.add_argument(
        "--lenient-refs",
        action="store_true",
        help="accept ref values naming records that do not exist (default: 400)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME",
        help="play a server variant (repeatable); names: GET /_emulator/variants "
        "or ninox_emulator/README.md",
    )
    parser.add_argument(
        "--no-default-variants",
        action="store_true",
        help="with --api public: switch off V1 and V2 (JSON 401 and 404 instead of the "
        "gateway's text/plain 401 and HTML shell)",
    )
    args = parser.parse_args(argv)
    if args.api == "public":
        serve_public(args)
        return
    try:
        variants = check_names(args.variant)
    except ValueError as exc:
        print(f"ninox-emulator: error: {exc}", file=sys.stderr)
        sys.exit(2)

    try:
        emulator = NinoxEmulator(
            api_key=args.api_key,
            demo=args.demo,
            data_file=args.data,
            host=args.host,
            port=args.port,
            max_page_size=args.max_page_size,
            strict_refs=not args.lenient_refs,
            variants=variants,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if not args.data:
            raise  # not the user's file: a bug, with its traceback
        print(
            f"ninox-emulator: --data file {args.data!r} is not a snapshot the emulator "
            f"saved ({type(exc).__name__}: {exc}); give another file name to start afresh",
            file=sys.stderr,
        )
        sys.exit(1)

    def listening() -> str:
        team = next(iter(emulator.store.teams), None) or LAYOUT[0][0] + " (not loaded)"
        playing = f", variants {', '.join(sorted(variants))}" if variants else ""
        return (
            f"ninox-emulator listening on {emulator.base_url} (team {team}, key {args.api_key}"
            f"{playing})"
        )

    serve_until_stopped(emulator, args, listening)  # stopping saves --data


def serve_public(args: argparse.Namespace) -> None:
    """`--api public`: serve the Ninox 4 Public API until SIGINT/SIGTERM."""
    if args.data:
        print("ninox-emulator: error: --data is for the classic API only", file=sys.stderr)
        sys.exit(2)
    try:
        variants = resolve(args.variant)
    except ValueError as exc:
        print(f"ninox-emulator: error: {exc}", file=sys.stderr)
        sys.exit(2)
    try:
        emulator = PublicEmulator(
            api_key=args.api_key,
            demo=args.demo,
            workspace_id=args.workspace_id,
            host=args.host,
            port=args.port,
            variants=variants,
        )
    except ValueError as exc:
        print(f"ninox-emulator: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.no_default_variants:
        emulator.variants.disable("V1", "V2")

    def listening() -> str:
        playing = ", ".join(sorted(emulator.variants.enabled))
        return (
            f"ninox-emulator (Public API) listening on {emulator.base_url} "
            f"(workspace {emulator.workspace_id}, key {args.api_key}, variants {playing})"
        )

    serve_until_stopped(emulator, args, listening)


def serve_until_stopped(
    emulator: ServedEmulator, args: argparse.Namespace, listening: Callable[[], str]
) -> None:
    """Start `emulator`, print `listening()`, serve until SIGINT/SIGTERM, then stop it."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        emulator.start()
    except OSError as exc:
        print(f"ninox-emulator: {cannot_listen(args.host, args.port, exc)}", file=sys.stderr)
        sys.exit(1)
    print(listening(), flush=True)
    try:
        stop.wait()
    finally:
        emulator.stop()
        print("ninox-emulator stopped", file=sys.stderr, flush=True)


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """The one line of a server that cannot listen: what is wrong and what to do."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another ninox-emulator still "
            "running?); stop that program, or choose another port with --port N "
            "(--port 0 takes a free one)"
        )
    return (
        f"cannot listen on {host} port {port}: {exc.strerror or exc}; check --host and "
        "--port (a port below 1024 needs root; --port 0 takes a free one)"
    )


if __name__ == "__main__":
    main()
