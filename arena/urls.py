from __future__ import annotations

from django.urls import path

from arena import views

app_name = "arena"
urlpatterns = [
    path("", views.battle_page, name="battle_page"),
    path("battles/", views.battle_create, name="battle_create"),
    path("battles/<uuid:battle_id>/", views.battle_detail, name="battle_detail"),
    path("battles/<uuid:battle_id>/vote", views.battle_vote, name="battle_vote"),
    path("battles/<uuid:battle_id>/turns", views.battle_follow_up, name="battle_follow_up"),
    path("api/v1/sampling", views.api_sampling, name="api_sampling"),
    path("battles/<uuid:battle_id>/regenerate", views.battle_regenerate, name="battle_regenerate"),
]
