"""Placeholder until its owner fills it."""


def register(sub) -> None:
    pass
