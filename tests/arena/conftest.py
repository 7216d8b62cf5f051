"""A real local model server (llama.cpp + Gemma 3 270M), started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from arena import localmodel


@pytest.fixture(scope="session")
def local_model_server() -> Iterator[str]:
    """Start one llama.cpp server for the whole session and yield its base URL (…/v1).

    Skipped, with the reason, where llama-cpp-python[server] or the weights package is not
    installed (both come from requirements-dev.txt).
    """
    missing = localmodel.missing_packages()
    if missing:
        pytest.skip(
            f"needs {' and '.join(missing)} for a local model server (`{localmodel.INSTALL_HINT}`)"
        )
    # A small context: the tests ask for a few tokens at a time. One thread (the default):
    # the tests' own process needs the other core.
    server = localmodel.LocalModelServer.start(n_ctx=1024, n_threads=1)
    try:
        yield server.base_url
    finally:
        server.stop()
