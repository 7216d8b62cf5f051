from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from arena.catalog import import_catalog
from arena.importers import ImportFailed
from arena.models import LanguageModel

HEADER = (
    "model_id,display_name,provider,open_weights,license,total_params_b,active_params_b,"
    "input_usd_per_mtok,output_usd_per_mtok\n"
)


def test_it_creates_and_updates_models_with_prices(domains) -> None:
    LanguageModel.objects.create(slug="gemma-3-27b-it", display_name="gemma-3-27b-it")
    result = import_catalog(
        io.StringIO(
            HEADER
            + "gemma-3-27b-it,Gemma 3 27B,Google,true,gemma,27,27,0.09,0.16\n"
            + "claude-x,Claude X,Anthropic,false,proprietary,,,3,15\n"
        )
    )
    assert (result.created, result.updated) == (1, 1)
    gemma = LanguageModel.objects.get(slug="gemma-3-27b-it")
    assert (gemma.display_name, gemma.organisation.name, gemma.open_weights) == (
        "Gemma 3 27B",
        "Google",
        True,
    )
    assert gemma.blended_price == Decimal("0.1075")  # (3 * 0.09 + 0.16) / 4
    assert LanguageModel.objects.get(slug="claude-x").blended_price == Decimal("6.0000")


def test_reimporting_the_same_catalogue_changes_nothing(domains) -> None:
    text = HEADER + "m-1,M 1,Org,false,x,,,1,2\n"
    import_catalog(io.StringIO(text))
    again = import_catalog(io.StringIO(text))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert not again.changed


def test_a_price_change_is_counted(domains) -> None:
    import_catalog(io.StringIO(HEADER + "m-1,M 1,Org,false,x,,,1,2\n"))
    result = import_catalog(io.StringIO(HEADER + "m-1,M 1,Org,false,x,,,0.5,2\n"))
    assert result.price_changes == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("bad id!,X,Org,false,x,,,1,2", "invalid model_id"),
        ("m-2,X,Org,maybe,x,,,1,2", "open_weights must be true or false"),
        ("m-2,X,Org,false,x,,,cheap,2", "is not a number"),
        ("m-2,X,Org,false,x,,,-1,2", "is negative"),
    ],
)
def test_bad_rows_are_refused_whole(domains, row: str, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        import_catalog(io.StringIO(HEADER + "m-1,M 1,Org,false,x,,,1,2\n" + row + "\n"))
    assert not LanguageModel.objects.exists()


@pytest.mark.shared_data
def test_the_shared_catalogue_loads(domains, shared_data, capsys) -> None:
    call_command("import_catalog", str(shared_data / "model_catalog.csv"))
    assert "53 catalogue rows: 53 models created" in capsys.readouterr().out
    # Two experimental models have no public list price.
    assert LanguageModel.objects.filter(input_price_per_mtok__isnull=False).count() == 51
