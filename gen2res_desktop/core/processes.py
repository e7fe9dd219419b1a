"""Whether another process still runs: how stale locks, temporary files and half-done
downloads of a killed process are told from those of a live one."""

from __future__ import annotations

import os
import sys


def pid_alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs; None where that cannot be asked safely. On Windows
    ``os.kill(pid, 0)`` does not test the process: signal 0 is CTRL_C_EVENT there."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process, or cannot tell: treat it as running
    return True
