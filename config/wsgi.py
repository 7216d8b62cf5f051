"""WSGI entry point: HTTP only (websockets need the ASGI application, config/asgi.py, which is
what production runs). For a WSGI server of an operator's choosing and for `runserver`; it
refuses oversized and cut-off bodies as the ASGI entry point does."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()  # also sets Django up

from arena.bodylimit import WSGIBodySizeLimit  # noqa: E402

application = WSGIBodySizeLimit(django_application)
