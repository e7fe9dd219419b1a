"""Exceptions for expected failures: the CLI prints their message, the GUI shows it."""


class Gen2ResError(Exception):
    """An expected failure with a message meant for the user (bad input, missing model...)."""


class Cancelled(Gen2ResError):
    """The user cancelled a long-running job."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)


class OutOfMemory(Gen2ResError):
    """The device ran out of memory; the message carries a hint."""
