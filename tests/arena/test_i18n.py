from __future__ import annotations

from django.test import Client


def test_the_battle_page_speaks_chinese_when_asked(client: Client, pool_prompt) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "两个匿名模型回答同一个提示词" in html
    assert "A 更好" in html
    assert 'lang="zh-hans"' in html


def test_the_language_switch_sticks(client: Client, pool_prompt) -> None:
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/leaderboard/"})
    assert response.status_code == 302
    assert "排行榜" in client.get("/leaderboard/").content.decode()


def test_errors_are_translated_too(client: Client, pool_prompt) -> None:
    response = client.post(
        "/battles/", {"prompt": ""}, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.json() == {"error": "请先输入提示词。"}


def test_chinese_prompts_and_answers_round_trip(complete_battle, client: Client) -> None:
    from arena.rendering import render_markdown

    assert render_markdown("你好，**世界**") == "<p>你好，<strong>世界</strong></p>\n"
