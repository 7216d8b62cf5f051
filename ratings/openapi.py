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
    "schema": {"type": "integer", "minimum": 1},
    "description": "Snapshot id (default: the newest)",
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


def schema() -> dict[str, Any]:
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
