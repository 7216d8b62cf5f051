from __future__ import annotations

from django.urls import path

from integrity import views

app_name = "integrity"
urlpatterns = [
    path("transparency/", views.transparency_page, name="transparency"),
    path("api/v1/transparency", views.api_transparency, name="api_transparency"),
]
