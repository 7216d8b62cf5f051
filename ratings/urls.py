from __future__ import annotations

from django.urls import path

from ratings import views

app_name = "ratings"
urlpatterns = [
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("leaderboard/matrix/", views.matrix_page, name="matrix"),
    path("models/<str:slug>/", views.model_page, name="model"),
    path("snapshots/", views.snapshots_page, name="snapshots"),
    path("api/v1/snapshots", views.api_snapshots, name="api_snapshots"),
    path("api/v1/schema", views.api_schema, name="api_schema"),
    path("api/v1/leaderboard", views.api_leaderboard, name="api_leaderboard"),
    path("api/v1/matrix", views.api_matrix, name="api_matrix"),
    path("api/v1/models/<str:slug>", views.api_model, name="api_model"),
    path("export/votes.csv", views.export_votes_csv, name="export_votes"),
    path("export/leaderboard.csv", views.export_leaderboard_csv, name="export_leaderboard"),
]
