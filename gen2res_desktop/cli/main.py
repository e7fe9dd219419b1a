"""Entry point of the ``gen2res`` command.

Exit codes: 0 success, 1 an expected failure (one line on stderr, no traceback),
2 a usage error (argparse), 130 interrupted (Ctrl+C), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from gen2res_desktop import __version__
from gen2res_desktop.core.errors import Gen2ResError, cli_message


def build_parser() -> argparse.ArgumentParser:
    from gen2res_desktop.cli import engine_cmds, faces_cmds, library_cmds, models_cmds, repair_cmds

    parser = argparse.ArgumentParser(
        prog="gen2res",
        description="Restore old photos of people and pets by generation with constrained priors.",
    )
    parser.add_argument("--version", action="version", version=f"gen2res {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    models_cmds.register(sub)
    engine_cmds.register(sub)
    library_cmds.register(sub)
    faces_cmds.register(sub)
    repair_cmds.register(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is so that what it was doing is recorded as stopped
    (a training keeps the step it continues from) instead of the process vanishing."""


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        # a second SIGTERM ends the process at once, as it would have without us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    if argv is not None and any("\x00" in a for a in argv):
        # no file name or subject name can hold one; a shell never passes it, a caller might
        print(
            "gen2res: an argument contains a NUL character; no name can hold it.", file=sys.stderr
        )
        return 1
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    # A name's undecodable bytes that reach a print are written as \udcNN, not a crash
    # (listings escape them more readably; see output.shown).
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        with _sigterm_stops():
            code = int(func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at exit
        return code
    except Gen2ResError as e:
        print(f"gen2res: {cli_message(e)}", file=sys.stderr)
        return 1
    except OSError as e:
        # what no check above foresaw (a name too long for the file system, a device
        # gone): still one line, never a traceback
        where = f"{e.filename}: " if e.filename else ""
        print(f"gen2res: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except UnicodeError as e:
        # a name no check above foresaw: one line, never a traceback
        print(f"gen2res: a name could not be read or written as text ({e}).", file=sys.stderr)
        return 1
    except Terminated:
        print("gen2res: stopped (SIGTERM).", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("gen2res: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`gen2res library jobs | head`): stop quietly; point stdout
        # at nothing so Python's own flush at exit does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
