"""Take the documentation screenshots from a running arena (e.g. `bash scripts/run.sh`).

The reader pages are meant to be shot on the 140k demo data (what `scripts/run.sh` loads when
../shared/data is present). Chinese text needs a CJK font (Debian: fonts-wqy-zenhei).

Usage: .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--out docs/img]
Needs Debian's Chromium (apt-get install chromium) and the playwright package (requirements-dev).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# (file name, path, data-testid of a chart to wait for): every reader-facing page, on the demo.
READER_PAGES = [
    ("overview", "/leaderboard/", None),
    ("leaderboard-cell", "/leaderboard/?domain=math&tier=open-weights", "pareto"),
    ("pareto", "/leaderboard/?domain=math", "pareto"),
    ("matrix", "/leaderboard/matrix/?domain=math&tier=premium", "win-rate-matrix"),
    ("model", "/models/gemini-2.5-pro/", "rating-history"),
    ("snapshots", "/snapshots/", None),
    ("transparency", "/transparency/", None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for language in ("en", "zh-hans"):
            tag = "zh" if language != "en" else "en"
            context = browser.new_context(
                viewport={"width": 1280, "height": 900},
                extra_http_headers={"Accept-Language": language},
            )
            page = context.new_page()
            page.goto(args.url + "/")
            page.screenshot(path=out / f"arena-start-{tag}.png")
            page.locator("[data-testid=pool-prompt]").first.click()
            page.wait_for_selector("[data-testid=vote-a]:not([disabled])", timeout=30_000)
            page.screenshot(path=out / f"battle-before-vote-{tag}.png", full_page=True)
            page.locator("[data-testid=vote-tie]").click()
            page.wait_for_selector("[data-testid=reveal-a]:not([hidden])")
            page.screenshot(path=out / f"battle-after-vote-{tag}.png", full_page=True)
            for name, path, testid in READER_PAGES:
                page.goto(args.url + path)
                if testid:
                    # Charts are drawn from the API's JSON after load: wait for their SVG.
                    page.wait_for_selector(f"[data-testid={testid}] svg", timeout=30_000)
                    if name == "pareto":  # the chart alone, not the page around it
                        page.locator(f"[data-testid={testid}]").screenshot(
                            path=out / f"{name}-{tag}.png"
                        )
                        continue
                page.screenshot(path=out / f"{name}-{tag}.png", full_page=name != "overview")
            context.close()
        browser.close()
    print(f"screenshots written to {out}/")


if __name__ == "__main__":
    main()
