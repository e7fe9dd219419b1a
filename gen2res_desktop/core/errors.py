"""Exceptions for expected failures: the CLI prints their message, the GUI shows it.

A message that tells the user what to do next often differs between the two: the app
says what to click, the command line names a flag. Such errors carry both hints;
``str(error)`` is the app's wording (so nothing shown in a window ever names a flag) and
:func:`cli_message` the command line's.
"""


class Gen2ResError(Exception):
    """An expected failure with a message meant for the user (bad input, missing model...).

    ``app`` and ``cli`` are what to do next, appended to ``message`` for a window and for
    the command line respectively.
    """

    def __init__(self, message: str = "", *, app: str = "", cli: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.app_hint = app
        self.cli_hint = cli

    def _with(self, hint: str) -> str:
        return f"{self.message} {hint}" if hint else self.message

    def __str__(self) -> str:
        return self._with(self.app_hint)

    def cli_text(self) -> str:
        return self._with(self.cli_hint)


def cli_message(error: BaseException) -> str:
    """The command line's wording of an error (flags and subcommands, not buttons)."""
    return error.cli_text() if isinstance(error, Gen2ResError) else str(error)


class Cancelled(Gen2ResError):
    """The user cancelled a long-running job."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


class OutOfMemory(Gen2ResError):
    """The device ran out of memory; the message carries a hint."""
