"""Fixtures for the album store: an open library in a temporary GEN2RES_HOME."""

from __future__ import annotations

import pytest

from gen2res_desktop.library import Library


@pytest.fixture
def lib(gen2res_home) -> Library:
    library = Library.open(gen2res_home)
    yield library
    library.close()
