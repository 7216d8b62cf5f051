"""Run the real product for browser tests: uvicorn (HTTP + websockets) and a Celery worker.

The stack runs in the embedded mode (SQLite, filesystem broker) in a temporary folder, as a
newcomer's `scripts/run.sh` would, whatever DATABASE_URL/REDIS_URL the test run itself uses.
Browser tests drive Debian's Chromium through Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from bench.stack import free_port, web_command, worker_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Stack:
    url: str
    data_dir: Path
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:  # type: ignore[type-arg]
        with sqlite3.connect(self.data_dir / "arena.sqlite3") as db:
            return db.execute(sql, params).fetchall()

    def identity_names(self) -> set[str]:
        names = {r[0] for r in self.query("SELECT slug FROM arena_languagemodel")}
        names |= {r[0] for r in self.query("SELECT display_name FROM arena_languagemodel")}
        names |= {r[0] for r in self.query("SELECT name FROM arena_organisation")}
        return {n for n in names if n}


def write_pool(folder: Path, prompts: list[str], answers: dict[str, list[str]]) -> Path:
    """An answer pool in the LLMFAO layout: answers[model] holds one answer per prompt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompts.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "text": t, "type": "code"}) + "\n" for i, t in enumerate(prompts)
        )
    )
    models = list(answers)
    (folder / "models.jsonl").write_text(
        "".join(
            json.dumps(
                {"id": i, "api_id": f"lab/{m}", "name": m.title(), "org": f"{m.title()} Lab"}
            )
            + "\n"
            for i, m in enumerate(models)
        )
    )
    rows = []
    for mi, model in enumerate(models):
        for pi, text in enumerate(answers[model]):
            rows.append(
                {
                    "id": len(rows),
                    "model": mi,
                    "prompt": pi,
                    "result": text,
                    "duration": 1000,
                    "rate": 20,
                }
            )
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not installed (apt-get install chromium); .ci/run installs it")
    data_dir = tmp_path_factory.mktemp("arena-e2e")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        ARENA_DATA_DIR=str(data_dir),
        ARENA_REFIT_DEBOUNCE_SECONDS="0.5",
        ARENA_POOL_CHUNK_DELAY="0.005",
        # The local model answers one request at a time on one thread: a short answer keeps
        # the live battle's two streams to seconds even on a busy 2-core machine.
        ARENA_MAX_OUTPUT_TOKENS="48",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    port = free_port()
    stack = Stack(url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env)
    stack.manage("migrate", "--noinput")
    logs = data_dir / "logs"
    logs.mkdir()
    worker = subprocess.Popen(
        worker_command(),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=open(logs / "worker.log", "w"),
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        web_command(port),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=open(logs / "web.log", "w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(stack.url + "/", web)
        yield stack
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def browser(stack: Stack):  # type: ignore[no-untyped-def]
    # Module scope: Playwright's sync API keeps an event loop running while it is open, which
    # would stop pytest-asyncio from running the async tests collected after these.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()
