"""Settings driven by environment variables.

With nothing set, the arena runs embedded: a SQLite file, an in-memory channel layer, a file-based
cache and Celery's filesystem broker, so a fresh checkout works with no server. Setting
DATABASE_URL and REDIS_URL switches to PostgreSQL and Redis (broker, channel layer, cache, locks).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "False") -> bool:
    return os.getenv(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, str(default)))


def envfloat(name: str, default: float) -> float:
    return float(os.getenv(name, str(default)))


# Everything the embedded mode writes (database, broker queues, cache, locks) lives here.
DATA_DIR = Path(os.getenv("ARENA_DATA_DIR", BASE_DIR / "var"))
# Real public data beside the repository (votes, answer pool, catalogue); absent in some checkouts.
SHARED_DATA_DIR = Path(os.getenv("ARENA_SHARED_DATA", BASE_DIR.parent / "shared" / "data"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = envbool("DEBUG", "False")
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "arena",
    "ratings",
    "integrity",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "arena.sqlite3",
            # The web server and the worker write to the same file: wait for the lock rather
            # than failing, and let readers run beside the writer (WAL is set on connect).
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Reuse connections (a fresh SQLite connection and its pragmas cost ~10 ms, paid
            # by every battle's websocket before its first token otherwise).
            "CONN_MAX_AGE": 60,
        }
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.getenv("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CACHES = {"default": {"BACKEND": "config.cache.SharedRedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    # The in-memory layer only reaches consumers of the same process: fine for the embedded
    # single web process, where nothing but the battle consumer uses it.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": DATA_DIR / "cache",
        }
    }
    # The filesystem transport ignores the host; naming one keeps kombu from warning.
    CELERY_BROKER_URL = "filesystem://localhost/"
    _queue_dir = DATA_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Broadcast (remote-control) exchanges; kombu's default is ./control in the working dir.
        "control_folder": str(_queue_dir / "control"),
    }

CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
# Serve static files straight from the app folders: no collectstatic step in the embedded mode.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
}

# --- Arena behaviour -----------------------------------------------------------------------
# Seconds a burst of votes is gathered before one refit runs.
ARENA_REFIT_DEBOUNCE_SECONDS = envfloat("ARENA_REFIT_DEBOUNCE_SECONDS", 5.0)
# Soft and hard time limits of the refit task, in seconds.
ARENA_REFIT_SOFT_TIME_LIMIT = envint("ARENA_REFIT_SOFT_TIME_LIMIT", 240)
ARENA_REFIT_TIME_LIMIT = envint("ARENA_REFIT_TIME_LIMIT", 300)
# Seconds from a new snapshot to the voter scan it asks for; the snapshots published in the
# meantime share that scan (integrity/tasks.py). 0 scans after every snapshot at once.
ARENA_ANOMALY_SCAN_SECONDS = envfloat("ARENA_ANOMALY_SCAN_SECONDS", 30.0)
# Fault injection for tests: seconds the refit waits inside its transaction before committing.
ARENA_REFIT_FAULT_PAUSE_SECONDS = envfloat("ARENA_REFIT_FAULT_PAUSE_SECONDS", 0.0)
# Models with fewer counted votes than this in a domain are marked provisional.
ARENA_MIN_VOTES = envint("ARENA_MIN_VOTES", 300)
# Connect / read timeouts for live model endpoints, in seconds.
ARENA_BACKEND_CONNECT_TIMEOUT = envfloat("ARENA_BACKEND_CONNECT_TIMEOUT", 10.0)
ARENA_BACKEND_READ_TIMEOUT = envfloat("ARENA_BACKEND_READ_TIMEOUT", 60.0)
ARENA_MAX_OUTPUT_TOKENS = envint("ARENA_MAX_OUTPUT_TOKENS", 1024)
# Pace of answer-pool streaming (characters per frame, seconds between frames): both sides
# stream at the same pace so timing tells nothing about which stored model answered.
# Threads per web process that run Django's (synchronous) views; see config/asgi.py.
ARENA_HTTP_THREADS = envint("ARENA_HTTP_THREADS", 8)
ARENA_POOL_CHUNK_CHARS = envint("ARENA_POOL_CHUNK_CHARS", 24)
ARENA_POOL_CHUNK_DELAY = envfloat("ARENA_POOL_CHUNK_DELAY", 0.015)
ARENA_MAX_PROMPT_CHARS = envint("ARENA_MAX_PROMPT_CHARS", 8000)
# Turns per battle (the first prompt and its follow-ups) before the voter must vote.
ARENA_MAX_TURNS = envint("ARENA_MAX_TURNS", 4)
# Blended price = weighted mean of input and output list prices (3:1 by default).
ARENA_BLEND_INPUT_WEIGHT = envfloat("ARENA_BLEND_INPUT_WEIGHT", 3.0)
ARENA_BLEND_OUTPUT_WEIGHT = envfloat("ARENA_BLEND_OUTPUT_WEIGHT", 1.0)
# K factor of the online Elo published beside the Bradley-Terry ratings.
ARENA_ELO_K = envfloat("ARENA_ELO_K", 4.0)

# --- Vote hygiene (docs/integrity.md "Vote hygiene"; knobs listed in docs/operators.md) ------
# Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR networks, e.g.
# "10.0.0.0/8,127.0.0.1"). Empty: the connection's own address is the client, whatever the
# header says, so a spoofed X-Forwarded-For cannot move a voter to another rate-limit bucket.
ARENA_TRUSTED_PROXIES = [
    p.strip() for p in os.getenv("ARENA_TRUSTED_PROXIES", "").split(",") if p.strip()
]
# Generations (new battles, follow-ups, regenerations; each costs model money) per window, per
# voter and per network (IPv4 /24, IPv6 /64). Over either limit: 429 with Retry-After. 0 = off.
ARENA_RATE_GENERATIONS_PER_VOTER = envint("ARENA_RATE_GENERATIONS_PER_VOTER", 120)
ARENA_RATE_GENERATIONS_PER_NETWORK = envint("ARENA_RATE_GENERATIONS_PER_NETWORK", 600)
ARENA_RATE_GENERATIONS_WINDOW = envint("ARENA_RATE_GENERATIONS_WINDOW", 3600)
# Votes per window, per voter and per network. A vote over either limit is stored but excluded
# with reason rate_limit (nothing is lost, and the exclusion is published). 0 = off.
ARENA_RATE_VOTES_PER_VOTER = envint("ARENA_RATE_VOTES_PER_VOTER", 100)
ARENA_RATE_VOTES_PER_NETWORK = envint("ARENA_RATE_VOTES_PER_NETWORK", 500)
ARENA_RATE_VOTES_WINDOW = envint("ARENA_RATE_VOTES_WINDOW", 3600)
# A vote arriving sooner than this after both answers were complete is flagged too_fast (kept
# and counted; the anomaly detector weighs it with the voter's other votes).
ARENA_MIN_VOTE_MS = envint("ARENA_MIN_VOTE_MS", 1500)
# Largest request body accepted, in bytes (the ASGI and WSGI entry points answer 413 beyond it;
# Django's own check uses the same figure). A longest prompt is at most ~72 KiB form-encoded.
ARENA_MAX_REQUEST_BYTES = envint("ARENA_MAX_REQUEST_BYTES", 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ARENA_MAX_REQUEST_BYTES
# A CSRF failure answers with a clear message (JSON for scripts) rather than Django's page.
CSRF_FAILURE_VIEW = "arena.views.csrf_failure"
# Duplicate prompts (live battles): a vote is excluded (reason duplicate_prompt) when its
# prompt, or a near-duplicate of it, already has this many counted votes within the window,
# or this voter already has ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER counted votes on it.
ARENA_DUPLICATE_PROMPT_MAX_VOTES = envint("ARENA_DUPLICATE_PROMPT_MAX_VOTES", 50)
ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER = envint("ARENA_DUPLICATE_PROMPT_MAX_PER_VOTER", 3)
ARENA_DUPLICATE_PROMPT_WINDOW_DAYS = envint("ARENA_DUPLICATE_PROMPT_WINDOW_DAYS", 30)
# Estimated Jaccard similarity of character 5-shingles at or above which two prompts are
# near-duplicates (MinHash, 64 hashes in 16 LSH bands of 4).
ARENA_NEAR_DUPLICATE_JACCARD = envfloat("ARENA_NEAR_DUPLICATE_JACCARD", 0.8)

# --- Production hardening and fault tolerance (docs/operators.md) -----------------------------
# ARENA_PRODUCTION=1 refuses to start without a real SECRET_KEY and turns on the HTTPS-only
# settings `manage.py check --deploy` asks for. ARENA_HTTPS=0 keeps production mode on a plain
# http address (a private network, a local load test): cookies are then not marked secure and
# nothing redirects to https.
ARENA_PRODUCTION = envbool("ARENA_PRODUCTION", "False")
if ARENA_PRODUCTION:
    from django.core.exceptions import ImproperlyConfigured

    if SECRET_KEY == "dev-only-insecure-key-change-me" or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "ARENA_PRODUCTION=1 needs SECRET_KEY: a long random string, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    if envbool("ARENA_HTTPS", "True"):
        SECURE_SSL_REDIRECT = True
        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True
        SECURE_HSTS_SECONDS = envint("ARENA_HSTS_SECONDS", 31536000)
        SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("ARENA_HSTS_INCLUDE_SUBDOMAINS", "True")
        SECURE_HSTS_PRELOAD = envbool("ARENA_HSTS_PRELOAD", "True")
    # Behind a load balancer that terminates TLS and sets X-Forwarded-Proto (and strips any
    # value a client sent), Django must read the scheme from that header.
    if envbool("ARENA_TRUST_X_FORWARDED_PROTO", "False"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if DATABASE_URL:
    # Connections are checked before reuse (CONN_HEALTH_CHECKS above; config/postgresql for the
    # pool), so a restarted PostgreSQL costs no failed request once it is back; an unreachable
    # one fails fast.
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["connect_timeout"] = envint("ARENA_DB_CONNECT_TIMEOUT", 5)
    # The few statements every vote runs are prepared on each connection (config/db.py);
    # psycopg prepares nothing while this is None, as a transaction-pooling PgBouncer needs.
    if envbool("ARENA_DB_PREPARED_STATEMENTS", "True"):
        _db_options["prepare_threshold"] = 5
    # The HTTP threads and the websockets' database threads of a process share a pool of open,
    # health-checked connections (docs/operators.md).
    ARENA_DB_POOL_SIZE = envint("ARENA_DB_POOL_SIZE", 16 if ARENA_PRODUCTION else 0)
    # A pooled connection handed back longer ago than this is checked before reuse; one used
    # more recently is not asked a round trip per request (config/postgresql/base.py).
    ARENA_DB_CHECK_IDLE_SECONDS = envfloat("ARENA_DB_CHECK_IDLE_SECONDS", 1.0)
    if ARENA_DB_POOL_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # Django's backend with the pool's check done by config.postgresql instead of psycopg's.
        DATABASES["default"]["ENGINE"] = "config.postgresql"
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
        _db_options["pool"] = {
            "min_size": min(2, ARENA_DB_POOL_SIZE),
            "max_size": ARENA_DB_POOL_SIZE,
            # Seconds a request waits for a free connection (or for the server) before 503.
            "timeout": envfloat("ARENA_DB_POOL_TIMEOUT", 3.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = envint("ARENA_DB_CONN_MAX_AGE", 60)
if REDIS_URL:
    # Redis down must not hang a request that only wanted to schedule a refit.
    _redis_timeouts = {
        "socket_connect_timeout": envfloat("ARENA_REDIS_TIMEOUT", 2.0),
        "socket_timeout": envfloat("ARENA_REDIS_TIMEOUT", 2.0),
    }
    CACHES["default"]["OPTIONS"] = {
        **_redis_timeouts,
        "pool_class": "config.cache.SharedConnectionPool",
    }
    # Template fragments ({% cache %}) only save work: with Redis down they render afresh.
    CACHES["template_fragments"] = {
        "BACKEND": "config.cache.ReadThroughRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": CACHES["default"]["OPTIONS"],
    }
    CELERY_BROKER_TRANSPORT_OPTIONS.update(_redis_timeouts)
    CELERY_BROKER_CONNECTION_TIMEOUT = envfloat("ARENA_REDIS_TIMEOUT", 2.0)
    CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A database error a view did not expect (PostgreSQL down or restarting) answers 503.
MIDDLEWARE.append("config.middleware.DatabaseUnavailableMiddleware")
# NUL characters in the path, query or form: a clear 400 (PostgreSQL text cannot hold them).
MIDDLEWARE.append("config.middleware.RejectNulCharactersMiddleware")
# Seconds between catch-up checks by Celery beat: a refit runs when stored votes wait for one
# (their refit could not be enqueued while the broker was down, or its worker was killed).
ARENA_REFIT_CATCH_UP_SECONDS = envfloat("ARENA_REFIT_CATCH_UP_SECONDS", 30.0)
CELERY_BEAT_SCHEDULE = {
    "ratings-catch-up": {
        "task": "ratings.tasks.refit_if_pending",
        "schedule": ARENA_REFIT_CATCH_UP_SECONDS,
    }
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
