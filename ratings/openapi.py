"""The OpenAPI description of the public read API, served at /api/v1/schema."""

from __future__ import annotations

from typing import Any

_number_or_null = {"type": ["number", "null"]}
_integer_or_null = {"type": ["integer", "null"]}
_error = {
    "description": "Bad query",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    },
}
_domain = {
    "name": "domain",
    "in": "query",
    "schema": {"type": "string", "default": "overall"},
    "description": "Domain slug (overall, coding, math, creative-writing, ...)",
}
_tier = {
    "name": "tier",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Price tier slug (budget, mid, premium); ranks are re-ranked within the tier",
}
_snapshot = {
    "name": "snapshot",
    "in": "query",
    # An empty value (as a form's "newest" choice sends) means the newest, like no value.
    "schema": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 0}]},
    "description": "Snapshot id (default, or empty: the newest)",
}

SNAPSHOT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "method": {"type": "string"},
        "params": {"type": "object"},
        "code_version": {"type": "string"},
        "last_vote_id": _integer_or_null,
        "votes_counted": {"type": "integer"},
        "votes_excluded": {"type": "object", "additionalProperties": {"type": "integer"}},
        "votes_added": {"type": "integer"},
        "votes_removed": {"type": "integer"},
        "battles_failed": {"type": "integer"},
    },
}
ENTRY = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "display_name": {"type": "string"},
        "organisation": {"type": "string"},
        "rating": _number_or_null,
        "rating_lower": _number_or_null,
        "rating_upper": _number_or_null,
        "variance": _number_or_null,
        "rank_ub": _integer_or_null,
        "rank_lb": _integer_or_null,
        "votes": {"type": "integer"},
        "wins": {"type": "number"},
        "losses": {"type": "number"},
        "draws": {"type": "number"},
        "win_rate": _number_or_null,
        "provisional": {"type": "boolean"},
        "unrated_reason": {"type": ["string", "null"]},
        "open_weights": {"type": ["boolean", "null"]},
        "blended_price_per_mtok": _number_or_null,
        "price_tier": {"type": ["string", "null"]},
        "elo": _number_or_null,
    },
}


def schema() -> dict[str, Any]:
    described = _read_api()
    described["paths"].update(_voting_paths())
    described["paths"].update(_page_paths())
    for operations in described["paths"].values():
        for operation in operations.values():
            operation["responses"].setdefault("503", _unavailable)
    return described


def _read_api() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Open LLM Arena API",
            "version": "1",
            "description": (
                "Read-only access to every published number. Ratings are Bradley-Terry on "
                "1000 + 400/ln(10)·θ with 95% sandwich intervals; see docs/ratings.md."
            ),
        },
        "paths": {
            "/api/v1/leaderboard": {
                "get": {
                    "summary": "One domain's (and optionally price tier's) table in a snapshot",
                    "parameters": [_domain, _tier, _snapshot],
                    "responses": {
                        "200": {
                            "description": "The table, best rating first",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "domain": {"type": "string"},
                                            "tier": {"type": ["string", "null"]},
                                            "snapshot": {"oneOf": [SNAPSHOT, {"type": "null"}]},
                                            "domain_votes": {"type": "integer"},
                                            "tied_leaders": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                            },
                                            "entries": {"type": "array", "items": ENTRY},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error,
                        "404": _error,
                    },
                }
            },
            "/api/v1/snapshots": {
                "get": {
                    "summary": "The newest snapshots, newest first",
                    "responses": {
                        "200": {
                            "description": "Snapshots",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "snapshots": {"type": "array", "items": SNAPSHOT}
                                        },
                                    }
                                }
                            },
                        }
                    },
                }
            },
            "/api/v1/sampling": {
                "get": {
                    "summary": "Realised sampling shares per day",
                    "parameters": [
                        {
                            "name": "by",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["model", "organisation"]},
                        },
                        {
                            "name": "days",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 366},
                        },
                    ],
                    "responses": {"200": {"description": "Shares"}, "400": _error},
                }
            },
            "/export/votes.csv": {
                "get": {
                    "summary": "Every vote, counted and excluded (LMArena column names + more)",
                    "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}},
                }
            },
            "/export/leaderboard.csv": {
                "get": {
                    "summary": "A snapshot's table as CSV",
                    "parameters": [_domain, _tier, _snapshot],
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {}}},
                        "400": {"description": "Bad query"},
                        "404": {"description": "Unknown domain, tier or snapshot"},
                    },
                }
            },
        },
    }


# --- Voting (the same endpoints the arena page posts to) and the HTML pages ------------------
_unavailable = {
    "description": "The database is unreachable (PostgreSQL down or restarting); try again",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        },
        "text/html": {},
    },
}
_csrf = {
    "name": "X-CSRFToken",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "The csrftoken cookie's value (every POST needs the cookie and this header)",
}
_accept = {
    "name": "Accept",
    "in": "header",
    "schema": {"type": "string", "enum": ["application/json", "text/html"]},
    "description": "application/json answers JSON; otherwise the answer is a redirect (302)",
}
_battle_id = {
    "name": "battle_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
_refused = {
    "description": "Refused, with the reason",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        },
        "text/html": {},
    },
}
_forbidden = {"description": "CSRF check failed, or the battle belongs to another voter"}
_redirect = {"description": "Redirect to the battle page (form submissions)"}
_turn = {
    "description": "The new turn; stream it on the websocket",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "turn": {"type": "integer"},
                    "prompt": {"type": "string"},
                    "ws": {"type": "string"},
                },
            }
        }
    },
}
_html = {"description": "HTML page", "content": {"text/html": {}}}


def _form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        body["required"] = required
    return {"content": {"application/x-www-form-urlencoded": {"schema": body}}}


def _voting_paths() -> dict[str, Any]:
    return {
        "/battles/": {
            "post": {
                "summary": "Open a battle: a pool prompt (stored answers) or a typed prompt",
                "tags": ["voting"],
                "parameters": [_csrf, _accept],
                "requestBody": _form(
                    {
                        "pool_prompt": {"type": "string", "pattern": "^[0-9]+$"},
                        "prompt": {"type": "string"},
                        "domain": {"type": "string"},
                    }
                ),
                "responses": {
                    "201": {
                        "description": "The battle; stream it on the websocket `ws`",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string", "format": "uuid"},
                                        "url": {"type": "string"},
                                        "ws": {"type": "string"},
                                        "prompt": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "302": _redirect,
                    "400": _refused,
                    "403": _forbidden,
                },
            }
        },
        "/battles/{battle_id}/vote": {
            "post": {
                "summary": "Vote on a completed battle (once); the answer reveals both models",
                "tags": ["voting"],
                "parameters": [_battle_id, _csrf, _accept],
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "outcome": {
                                        "type": "string",
                                        "enum": ["model_a", "model_b", "tie", "both_bad"],
                                    }
                                },
                                "required": ["outcome"],
                            }
                        },
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "outcome": {
                                        "type": "string",
                                        "enum": ["model_a", "model_b", "tie", "both_bad"],
                                    }
                                },
                                "required": ["outcome"],
                            }
                        },
                    }
                },
                "responses": {
                    "201": {
                        "description": "Stored; both sides revealed",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "vote": {"type": "string"},
                                        "counted": {"type": "boolean"},
                                        "excluded_reason": {"type": ["string", "null"]},
                                        "message": {"type": "string"},
                                        "reveal": {"type": "array", "items": {"type": "object"}},
                                    },
                                }
                            }
                        },
                    },
                    "302": _redirect,
                    "400": _refused,
                    "403": _forbidden,
                    "404": _refused,
                    "409": _refused,
                },
            }
        },
        "/battles/{battle_id}/turns": {
            "post": {
                "summary": "Ask both models a follow-up (live battles, before the vote)",
                "tags": ["voting"],
                "parameters": [_battle_id, _csrf, _accept],
                "requestBody": _form({"prompt": {"type": "string"}}, ["prompt"]),
                "responses": {
                    "201": _turn,
                    "302": _redirect,
                    "400": _refused,
                    "403": _forbidden,
                    "404": _refused,
                },
            }
        },
        "/battles/{battle_id}/regenerate": {
            "post": {
                "summary": "Discard both answers of the last turn and stream them again",
                "tags": ["voting"],
                "parameters": [_battle_id, _csrf, _accept],
                "responses": {
                    "201": _turn,
                    "302": _redirect,
                    "400": _refused,
                    "403": _forbidden,
                    "404": _refused,
                },
            }
        },
    }


def _page_paths() -> dict[str, Any]:
    def page(summary: str, parameters: list[dict[str, Any]], *errors: str) -> dict[str, Any]:
        responses: dict[str, Any] = {"200": _html}
        for status in errors:
            responses[status] = {"description": "Bad query or unknown object", **_html}
        return {
            "get": {
                "summary": summary,
                "tags": ["pages"],
                "parameters": parameters,
                "responses": responses,
            }
        }

    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/": page("The arena: pick a prompt, watch two answers, vote", []),
        "/battles/{battle_id}/": page("One battle (its voter's browser only)", [_battle_id], "404"),
        "/leaderboard/": page("The leaderboard", [_domain, _tier, _snapshot], "400", "404"),
        "/models/{slug}/": page("One model in every domain", [slug, _snapshot], "400", "404"),
        "/snapshots/": page("Every published snapshot", []),
        "/api/v1/schema": {
            "get": {
                "summary": "This description",
                "tags": ["pages"],
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}
                },
            }
        },
    }
