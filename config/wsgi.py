"""WSGI entry point: HTTP only, as granian serves it in production (docs/operators.md, "Web
processes"); websockets need the ASGI application (config/asgi.py), which serves HTTP too."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()  # also sets Django up

from arena.bodylimit import WSGIBodySizeLimit  # noqa: E402

application = WSGIBodySizeLimit(django_application)
