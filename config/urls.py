from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("ratings.urls")),
    path("", include("arena.urls")),
    path("", include("integrity.urls")),
]

handler500 = "config.middleware.server_error"
