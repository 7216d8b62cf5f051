from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from arena.importers import ImportFailed, import_answer_pool
from arena.models import LanguageModel, PoolAnswer, PoolPrompt


def _write_pool(folder, results):  # type: ignore[no-untyped-def]
    (folder / "prompts.jsonl").write_text(
        json.dumps({"id": 1, "text": "Write a haiku.", "type": "creativity"}) + "\n"
    )
    (folder / "models.jsonl").write_text(
        "\n".join(
            json.dumps({"id": i, "api_id": f"org/model-{i}", "name": f"Model {i}", "org": "Org"})
            for i in (1, 2)
        )
    )
    (folder / "results.jsonl").write_text("\n".join(json.dumps(r) for r in results))


def test_it_imports_prompts_models_and_answers(domains, tmp_path) -> None:
    _write_pool(
        tmp_path,
        [
            {
                "id": 1,
                "model": 1,
                "prompt": 1,
                "result": " Leaves fall ",
                "duration": 2000,
                "rate": 10,
            },
            {"id": 2, "model": 2, "prompt": 1, "result": "Snow", "duration": None, "rate": None},
        ],
    )
    result = import_answer_pool(tmp_path)
    assert (result.created, result.models_created) == (2, 2)
    answer = PoolAnswer.objects.get(model__slug="model-1")
    assert (answer.text, answer.latency_ms, answer.completion_tokens) == ("Leaves fall", 2000, 20)
    assert PoolPrompt.objects.get().domain.slug == "creative-writing"
    assert LanguageModel.objects.get(slug="model-2").organisation.name == "Org"
    assert import_answer_pool(tmp_path).created == 0


def test_an_answer_for_an_unknown_model_is_refused(domains, tmp_path) -> None:
    _write_pool(tmp_path, [{"id": 1, "model": 9, "prompt": 1, "result": "x"}])
    with pytest.raises(ImportFailed, match="unknown model or prompt"):
        import_answer_pool(tmp_path)
    assert PoolAnswer.objects.count() == 0


def test_a_missing_folder_is_a_clear_command_error(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("import_answers", str(tmp_path / "missing"))


@pytest.mark.shared_data
def test_it_imports_the_real_llmfao_pool(domains, shared_data) -> None:
    result = import_answer_pool(shared_data / "llmfao-answers")
    assert (result.rows, result.created, result.models_created) == (1133, 1133, 70)
    assert PoolPrompt.objects.count() == 19
    assert PoolAnswer.objects.exclude(text="").count() == 1133 - 69
