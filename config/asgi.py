"""ASGI entry point: HTTP through Django's WSGI handler on a pool of threads, websockets
through Channels.

Every view and middleware of the site is synchronous. Under Django's own ASGI handler each
request made a thread of its own and hopped between it and the event loop at every middleware;
under load the event loop spent much of its time waiting for those new threads to start, and a
vote cost more CPU. config.threadedwsgi runs the same Django application as WSGI on a fixed
pool of ARENA_HTTP_THREADS threads, one hand-off to a thread and one back per request
(docs/performance.md, "Voting under load"), so one uvicorn process still serves both the pages
and the battle websockets.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_wsgi_app = get_wsgi_application()  # also sets Django up

# Imported after Django is set up: routing imports consumers, which import models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from arena.bodylimit import BodySizeLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from config.threadedwsgi import ThreadedWSGI  # noqa: E402

django_http_app = ThreadedWSGI(django_wsgi_app, workers=settings.ARENA_HTTP_THREADS)

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_http_app),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
