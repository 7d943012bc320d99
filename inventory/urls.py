"""The operator pages: the board, an environment's detail, and the review queue, and their actions."""

from django.urls import path

from inventory import actions, views

app_name = "inventory"

urlpatterns = [
    path("", views.board, name="board"),
    path("environments/<slug:context>/<slug:instance>/", views.environment_detail, name="environment"),
    path("environments/<slug:context>/<slug:instance>/verify/", actions.verify_environment, name="verify"),
    path("environments/<slug:context>/<slug:instance>/take/", actions.take_environment, name="take"),
    path("environments/<slug:context>/<slug:instance>/release/", actions.release_environment, name="release"),
    path("review/", views.review_queue, name="review"),
    path(
        "review/<slug:context>/<slug:instance>/acknowledge/",
        actions.acknowledge_environment,
        name="acknowledge",
    ),
]
