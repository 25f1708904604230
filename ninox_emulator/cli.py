"""`ninox-emulator`: run the local Ninox-compatible server."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ninox_emulator.server import NinoxEmulator


def main(argv: list[str] | None = None) -> None:
    """Parse options, serve until SIGINT/SIGTERM, save `--data` on the way out."""
    parser = argparse.ArgumentParser(
        prog="ninox-emulator", description="A local Ninox-compatible API server (v1)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default="demo-key", help="the bearer key it accepts")
    parser.add_argument("--data", help="JSON file: loaded at start if it exists, saved at exit")
    parser.add_argument("--demo", action="store_true", help="start with the sample CRM")
    parser.add_argument("--max-page-size", type=int, default=1000)
    args = parser.parse_args(argv)

    emulator = NinoxEmulator(
        api_key=args.api_key,
        demo=args.demo,
        data_file=args.data,
        host=args.host,
        port=args.port,
        max_page_size=args.max_page_size,
    ).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    teams = ", ".join(emulator.store.teams) or "none"
    print(
        f"ninox-emulator listening on {emulator.base_url} (teams: {teams})",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
