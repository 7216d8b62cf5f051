"""Readers' pages in a real browser: every page shows its parts and logs no error."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack

MODELS = ["north-1", "east-2", "south-3", "west-4"]


@pytest.fixture(scope="module")
def rated(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """Votes between four priced models, imported and fitted."""
    folder = tmp_path_factory.mktemp("votes")
    rows = ["id,model_a,model_b,winner,category_tag.math_v0.1.math"]
    n = 0
    for i, a in enumerate(MODELS):
        for j, b in enumerate(MODELS):
            if i == j:
                continue
            for k in range(12):
                outcome = "model_a" if (k % 4) < (3 if i < j else 1) else "tie"
                rows.append(f"v{n},{a},{b},{outcome},{k % 2}.0")
                n += 1
    (folder / "votes.csv").write_text("\n".join(rows) + "\n")
    (folder / "catalog.csv").write_text(
        "model_id,display_name,provider,open_weights,license,total_params_b,active_params_b,"
        "input_usd_per_mtok,output_usd_per_mtok\n"
        + "".join(
            f"{m},{m.title()},Lab {m[0].upper()},true,apache-2.0,7,7,"
            f"{0.1 * (k + 1)},{0.4 * (k + 1)}\n"
            for k, m in enumerate(MODELS)
        )
    )
    stack.manage("import_votes", str(folder / "votes.csv"), "--dataset", "browser")
    stack.manage("import_catalog", str(folder / "catalog.csv"))
    stack.manage("refit", "--force")
    return stack


@pytest.mark.parametrize(
    ("path", "selectors"),
    [
        ("/leaderboard/", ["[data-testid=overview]", "table.board", "#pareto svg"]),
        ("/leaderboard/?domain=math", ["table.board", "#pareto svg"]),
        ("/leaderboard/?domain=overall&tier=budget", ["table.board"]),
        ("/leaderboard/?domain=math&tier=open-weights", ["table.board", "[data-testid=tiers]"]),
        ("/leaderboard/?domain=overall&tier=small", ["table.board", "#pareto svg"]),
        (
            "/models/north-1/",
            [
                "[data-testid=standings]",
                "[data-testid=head-to-head]",
                "[data-testid=history]",
                "#rating-history svg polygon.band",
                "#rating-history svg circle.dot",
                "#head-to-head-chart svg rect.won, #head-to-head-chart svg rect.lost",
            ],
        ),
        (
            "/leaderboard/matrix/",
            ["#win-rate-matrix svg g.cell rect", "#battle-matrix svg g.cell rect"],
        ),
        ("/leaderboard/matrix/?domain=math&tier=budget", ["#battle-matrix svg g.cell rect"]),
        ("/snapshots/", ["[data-testid=snapshots]"]),
        ("/transparency/", ["h1"]),
    ],
)
def test_each_page_shows_its_parts_without_errors(page, rated: Stack, path: str, selectors) -> None:
    for language in ("en", "zh-hans"):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": rated.url}])
        page.goto(rated.url + path)
        for selector in selectors:
            page.wait_for_selector(selector, timeout=10_000)
        assert page.console_errors == [], (path, language, page.console_errors)


def test_the_matrices_draw_every_pair_with_its_counts(page, rated: Stack) -> None:
    # Other browser tests may share this stack and add models: size the matrix from the API.
    models = httpx.get(rated.url + "/api/v1/matrix", timeout=10).json()["models"]
    n = len(models)
    names = [m.title() for m in MODELS]
    for language, words in (("en", "wins"), ("zh-hans", "胜")):
        page.context.add_cookies([{"name": "django_language", "value": language, "url": rated.url}])
        page.goto(rated.url + "/leaderboard/")
        page.click("[data-testid=matrix-link]")
        page.wait_for_selector("#battle-matrix svg g.cell rect", timeout=10_000)
        for figure in ("#win-rate-matrix", "#battle-matrix"):
            assert page.locator(f"{figure} svg g.cell").count() == n * (n - 1)
            assert page.locator(f"{figure} svg rect.diag").count() == n
        # Every ordered pair of `rated` met 12 + 12 times; the cell's title gives the counts.
        titles = page.locator("#win-rate-matrix svg g.cell title").all_text_contents()
        pair = [t for t in titles if t.startswith(names[0]) and names[1] in t]
        assert len(pair) == 1 and "24" in pair[0] and words in pair[0], pair
        labels = set(page.locator("#win-rate-matrix svg a text").all_text_contents())
        assert labels >= set(names)
        page.click("details summary")  # the same numbers as a table, for readers without SVG
        page.wait_for_selector("[data-testid=matrix-table]", timeout=10_000)
        assert page.console_errors == [], (language, page.console_errors)


RETIRE = (
    "from arena.models import LanguageModel as M;"
    " M.objects.filter(slug='west-4').update(status={!r})"
)


def test_the_cell_table_sorts_draws_interval_bars_and_hides_retired_models(
    page, rated: Stack
) -> None:
    rated.manage("shell", "-c", RETIRE.format("retired"))
    try:
        rated.manage("refit", "--force")  # tables are cached per snapshot: publish the change
        page.goto(rated.url + "/leaderboard/?domain=math")
        page.wait_for_selector("#pareto svg")
        rows = page.locator("table.board tbody tr")
        # Every rated model has its interval drawn as a bar on the table's common axis.
        assert page.locator("table.board td.bar-cell .ci").count() == rows.count() == len(MODELS)
        # The retired model is in the page, hidden until asked for, and never dropped.
        retired = page.locator("[data-testid=retired-row]")
        assert retired.count() == 1 and not retired.is_visible()
        page.locator("[data-testid=show-retired]").check()
        assert retired.is_visible()

        def votes() -> list[int]:
            return [
                int(v) for v in page.locator("table.board tbody td:nth-child(6)").all_inner_texts()
            ]

        heading = page.locator("table.board th", has_text="Votes")
        heading.click()
        assert votes() == sorted(votes()) and heading.get_attribute("aria-sort") == "ascending"
        heading.click()
        assert votes() == sorted(votes(), reverse=True)
        page.locator("table.board th", has_text="Model").click()
        names = page.locator("table.board tbody td:nth-child(2) a").all_inner_texts()
        assert names == sorted(names, key=str.lower)
        assert page.console_errors == []
    finally:
        rated.manage("shell", "-c", RETIRE.format("active"))
