"""The production stack on one machine, private to a benchmark or a fault test.

PostgreSQL (a cluster of its own, initdb'd into a temporary folder), Redis (a server of its own),
uvicorn serving config.asgi:application in N processes, and a separate Celery worker with beat:
the same processes an operator runs, with the same settings (ARENA_PRODUCTION=1, DEBUG off).
Nothing here touches the machine's shared PostgreSQL or Redis, so a test may stop and start
its own servers freely.

Used by bench/load.py and tests/faults/.
"""

from __future__ import annotations

import json
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
PG_BIN_DIRS = [
    Path("/usr/lib/postgresql/15/bin"),
    *sorted(Path("/usr/lib/postgresql").glob("*/bin")),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {timeout:g} s")


def pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None where PostgreSQL's binaries are absent."""
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def web_command(port: int, *, processes: int = 1) -> list[str]:
    """uvicorn serving the arena on loopback, as an operator runs it (quiet logs)."""
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return args + (["--workers", str(processes)] if processes > 1 else [])


def worker_command(*options: str) -> list[str]:
    """One Celery worker process (concurrency 1), with extra command-line options."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        *options,
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
    ]


def missing_servers() -> str | None:
    """Why a private stack cannot start here, or None when it can."""
    if pg_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql"
    if shutil.which("redis-server") is None:
        return "redis-server not found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run a cluster as"
    return None


class Postgres:
    """A throwaway PostgreSQL cluster on a free port (trust auth, loopback only).

    Its folder is a temporary directory of its own: when running as root the cluster runs as
    the postgres user, who may not enter the caller's (private) temporary folders.
    """

    def __init__(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="arena-pg-"))
        self.root = root
        self.data = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found")
        self._user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self._user = pwd.getpwnam("postgres")
            os.chown(root, self._user.pw_uid, self._user.pw_gid)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{root}'\nmax_connections = 200\n"
            )

    def _run(self, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        if self._user is not None:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]

    def start(self) -> None:
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class Redis:
    """A throwaway Redis server on a free port, without persistence."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.root / "redis.log"),
            ],
        )
        _wait(self._answers, 20, "Redis did not answer")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


def write_pool(folder: Path, *, models: int = 12, prompts: int = 8, seed: int = 7) -> Path:
    """A synthetic answer pool in the LLMFAO layout (markdown answers of a few hundred chars)."""
    rng = random.Random(seed)
    words = (
        "the",
        "answer",
        "is",
        "a",
        "list",
        "of",
        "steps",
        "first",
        "then",
        "check",
        "result",
        "value",
        "loop",
        "function",
        "returns",
        "sorted",
        "input",
        "output",
    )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "prompts.jsonl", "w") as out:
        for i in range(prompts):
            out.write(json.dumps({"id": i, "text": f"Load test prompt {i}", "type": "code"}) + "\n")
    with open(folder / "models.jsonl", "w") as out:
        for i in range(models):
            out.write(
                json.dumps(
                    {
                        "id": i,
                        "api_id": f"lab{i}/load-model-{i:02d}",
                        "name": f"Load Model {i:02d}",
                        "org": f"Lab {i}",
                    }
                )
                + "\n"
            )
    with open(folder / "results.jsonl", "w") as out:
        row = 0
        for m in range(models):
            for p in range(prompts):
                sentences = [
                    " ".join(rng.choice(words) for _ in range(rng.randint(6, 14))).capitalize()
                    for _ in range(rng.randint(3, 6))
                ]
                text = ". ".join(sentences) + ".\n\n```python\nprint(sorted([3, 1, 2]))\n```\n"
                out.write(
                    json.dumps(
                        {
                            "id": row,
                            "model": m,
                            "prompt": p,
                            "result": text,
                            "duration": 1000 + 10 * m,
                            "rate": 20,
                        }
                    )
                    + "\n"
                )
                row += 1
    return folder


@dataclass
class Stack:
    """The arena's production processes on a private PostgreSQL and Redis."""

    root: Path
    web_processes: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.postgres = Postgres()
        self.redis = Redis(self.root)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_restarts = 0
        self._worker_env: dict[str, str] = {}
        self._worker_lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self._stopping = False
        self.env: dict[str, str] = {}

    def start_servers(self) -> None:
        self.postgres.start()
        self.redis.start()
        database_url = self.postgres.create_database("arena")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ARENA_", "DJANGO_")) and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url,
            REDIS_URL=self.redis.url,
            ARENA_PRODUCTION="1",
            ARENA_HTTPS="0",  # plain http on loopback
            SECRET_KEY=secrets.token_urlsafe(50),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            ARENA_DATA_DIR=str(self.root / "var"),
            ARENA_POOL_CHUNK_DELAY="0",
            ARENA_REFIT_DEBOUNCE_SECONDS="1",
            ARENA_REFIT_CATCH_UP_SECONDS="2",
            LOG_LEVEL="WARNING",
            # Every simulated voter connects from 127.0.0.1, one network: the per-network limits
            # (a guard against one real network's flood) would refuse most of the load. Limits
            # this high still count every request in Redis, as production does.
            ARENA_RATE_GENERATIONS_PER_VOTER="1000000000",
            ARENA_RATE_GENERATIONS_PER_NETWORK="1000000000",
            ARENA_RATE_VOTES_PER_VOTER="1000000000",
            ARENA_RATE_VOTES_PER_NETWORK="1000000000",
        )
        env.update(self.extra_env)
        self.env = env

    def manage(self, *args: str, timeout: float = 600) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout

    def prepare(self, pool: Path | None = None) -> None:
        """Migrate and load an answer pool (a synthetic one unless `pool` is given)."""
        self.manage("migrate", "--noinput", "-v0")
        if pool is None:
            pool = write_pool(self.root / "pool")
        self.manage("import_answers", str(pool))

    def start_web(self) -> None:
        args = web_command(self.port, processes=self.web_processes)
        self.web = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=self.env,
            start_new_session=True,
            stdout=open(self.logs / "web.log", "ab"),
            stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        _wait(self._web_answers, 60, "the web server did not answer")

    def _web_answers(self) -> bool:
        if self.web is not None and self.web.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {self.web.returncode}: see {self.logs}")
        try:
            return httpx.get(self.url + "/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, **extra_env: str) -> None:
        """One Celery worker process (with the catch-up beat), in a process group of its own.

        Like systemd's Restart=always, a supervising thread starts it again if it exits on its
        own: kombu's Redis transport can end the worker ("Unrecoverable error: AttributeError")
        when Redis goes away while the worker holds an unacknowledged message (a debounced
        refit), and production runs workers under a supervisor for exactly such exits.
        `worker_restarts` counts them.
        """
        self._worker_env = extra_env
        self._spawn_worker()
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stopping:
            with self._worker_lock:
                worker = self.worker
                if worker is not None and worker.poll() is not None:
                    self.worker_restarts += 1
                    self._spawn_worker()
            time.sleep(0.5)

    def _spawn_worker(self) -> None:
        extra_env = self._worker_env
        self.worker = subprocess.Popen(
            worker_command("--beat", "--without-gossip", "--without-mingle"),
            cwd=BASE_DIR,
            env={**self.env, **extra_env},
            start_new_session=True,
            stdout=open(self.logs / "worker.log", "ab"),
            stderr=subprocess.STDOUT,  # noqa: SIM115
        )

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker and every process it started (its pool and beat)."""
        with self._worker_lock:
            if self.worker is None:
                return
            try:
                os.killpg(self.worker.pid, sig)
            except ProcessLookupError:
                pass
            self.worker.wait(timeout=30)
            self.worker = None

    def stop_web(self) -> None:
        if self.web is None:
            return
        try:
            os.killpg(self.web.pid, signal.SIGTERM)
            self.web.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.web.pid, signal.SIGKILL)
        self.web = None

    def sql(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def start(self, pool: Path | None = None) -> Stack:
        self.start_servers()
        self.prepare(pool)
        self.start_worker()
        self.start_web()
        return self

    def stop(self) -> None:
        self._stopping = True
        self.stop_web()
        if self.worker is not None:
            self.kill_worker(signal.SIGTERM)
        self.redis.stop()
        try:
            self.postgres.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        self.postgres.remove()
