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
    "description": (
        "Tier slug: a price band (budget, mid, premium), open-weights or a size class "
        "(small, medium, large) by default; operators may add others. Only the models that "
        "were in the tier when the snapshot was taken, re-ranked among themselves"
    ),
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
        "open_weights": {
            "type": ["boolean", "null"],
            "description": "What the catalogue says now (tiers: as when the snapshot was taken)",
        },
        "blended_price_per_mtok": {
            "type": ["number", "null"],
            "description": "Blended list price when the snapshot was taken",
        },
        "price_tier": {
            "type": ["string", "null"],
            "description": "The price band the model was in when the snapshot was taken",
        },
        "tiers": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Every tier the model was in when the snapshot was taken",
        },
        "elo": _number_or_null,
    },
}


_int_matrix = {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
MATRIX = {
    "type": "object",
    "properties": {
        "domain": {"type": "string"},
        "tier": {"type": ["string", "null"]},
        "snapshot": {"oneOf": [SNAPSHOT, {"type": "null"}]},
        "win_rate_definition": {"type": "string"},
        "models": {
            "type": "array",
            "items": ENTRY,
            "description": "Rows and columns, in the leaderboard's order (best rating first)",
        },
        "wins": {**_int_matrix, "description": "wins[i][j]: votes model i won against model j"},
        "ties": {**_int_matrix, "description": "ties[i][j] = ties[j][i]"},
        "both_bad": {**_int_matrix, "description": "both_bad[i][j] = both_bad[j][i]"},
        "battles": {
            **_int_matrix,
            "description": "wins[i][j] + wins[j][i] + ties[i][j] + both_bad[i][j]",
        },
        "win_rate": {
            "type": "array",
            "items": {"type": "array", "items": _number_or_null},
            "description": (
                "(wins[i][j] + (ties[i][j] + both_bad[i][j]) / 2) / battles[i][j]; "
                "null where the two never met"
            ),
        },
    },
}
MODEL_PROFILE = {
    "type": "object",
    "properties": {
        "model": {
            "type": "object",
            "properties": {
                "slug": {"type": "string"},
                "display_name": {"type": "string"},
                "organisation": {"type": "string"},
                "open_weights": {"type": ["boolean", "null"]},
                "licence": {"type": "string"},
                "status": {"type": "string"},
                "blended_price_per_mtok": _number_or_null,
            },
        },
        "snapshot": {"oneOf": [SNAPSHOT, {"type": "null"}]},
        "standings": {
            "type": "array",
            "description": "Its rating and rank range in every domain, and within its tiers",
            "items": {
                "type": "object",
                "properties": {
                    "domain": {"type": "string"},
                    "rating": _number_or_null,
                    "rating_lower": _number_or_null,
                    "rating_upper": _number_or_null,
                    "rank_ub": _integer_or_null,
                    "rank_lb": _integer_or_null,
                    "votes": {"type": "integer"},
                    "tiers": {
                        "type": "array",
                        "description": (
                            "Each tier (at most one per kind) the model was in when the snapshot "
                            "was taken, and its rank range among that tier's models"
                        ),
                        "items": {
                            "type": "object",
                            "properties": {
                                "kind": {
                                    "type": "string",
                                    "enum": ["price", "open_weights", "size"],
                                },
                                "tier": {"type": "string"},
                                "rank_ub": _integer_or_null,
                                "rank_lb": _integer_or_null,
                            },
                        },
                    },
                    "provisional": {"type": "boolean"},
                    "unrated_reason": {"type": ["string", "null"]},
                },
            },
        },
        "head_to_head_domain": {"type": "string"},
        "head_to_head": {
            "type": ["array", "null"],
            "description": (
                "Its record against each opponent as the snapshot counted it, most battles "
                "first; null for a snapshot published before pair counts were kept"
            ),
            "items": {
                "type": "object",
                "properties": {
                    "opponent": {"type": "string"},
                    "opponent_name": {"type": "string"},
                    "battles": {"type": "integer"},
                    "wins": {"type": "integer"},
                    "losses": {"type": "integer"},
                    "ties": {"type": "integer"},
                    "both_bad": {"type": "integer"},
                    "win_rate": {"type": "number"},
                },
            },
        },
        "history": {
            "type": "array",
            "description": "Its overall rating in every snapshot up to this one, oldest first",
            "items": {
                "type": "object",
                "properties": {
                    "snapshot": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "rating": _number_or_null,
                    "rating_lower": _number_or_null,
                    "rating_upper": _number_or_null,
                    "votes": {"type": "integer"},
                },
            },
        },
    },
}


def _json_response(description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": body}}}


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
                    "summary": "One domain's (and optionally one tier's) table in a snapshot",
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
                                            "tier_kind": {
                                                "type": ["string", "null"],
                                                "enum": ["price", "open_weights", "size", None],
                                            },
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
            "/api/v1/matrix": {
                "get": {
                    "summary": "Win-rate and battle-count matrices of a domain (and price tier)",
                    "parameters": [_domain, _tier, _snapshot],
                    "responses": {
                        "200": _json_response("The matrices, models in leaderboard order", MATRIX),
                        "400": _error,
                        "404": _error,
                    },
                }
            },
            "/api/v1/models/{slug}": {
                "get": {
                    "summary": "One model: standings, head-to-head record and rating history",
                    "parameters": [
                        {
                            "name": "slug",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        _snapshot,
                    ],
                    "responses": {
                        "200": _json_response("The model as of the snapshot", MODEL_PROFILE),
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
            "/api/v1/transparency": {
                "get": {
                    "summary": (
                        "Votes excluded per reason in a snapshot, daily share of battles per "
                        "model and organisation, retired and pre-release models' history"
                    ),
                    "parameters": [
                        _snapshot,
                        {
                            "name": "days",
                            "in": "query",
                            # Empty means the default, as the page's form sends it.
                            "schema": {
                                "anyOf": [
                                    {"type": "integer", "minimum": 1, "maximum": 366},
                                    {"type": "string", "maxLength": 0},
                                ]
                            },
                            "description": "Sampling window in days, ending today (default 14)",
                        },
                    ],
                    "responses": {
                        "200": {"description": "Transparency figures"},
                        "400": _error,
                        "404": _error,
                    },
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
_too_many = {
    "description": "Over the generation rate limit (per voter or per network); see Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        },
        "text/html": {},
    },
}
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
                    "429": _too_many,
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
                    "429": _too_many,
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
                    "429": _too_many,
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
        "/leaderboard/matrix/": page(
            "Win-rate and battle-count matrices", [_domain, _tier, _snapshot], "400", "404"
        ),
        "/transparency/": page(
            "Exclusions, sampling shares and model histories",
            [
                _snapshot,
                {
                    "name": "days",
                    "in": "query",
                    "schema": {
                        "anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": 366},
                            {"type": "string", "maxLength": 0},
                        ]
                    },
                },
            ],
            "400",
            "404",
        ),
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
