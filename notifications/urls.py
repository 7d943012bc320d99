"""/metrics (Prometheus text; a bearer METRICS_TOKEN when set)."""

from django.urls import path

from notifications.metrics import metrics_view

urlpatterns = [path("metrics", metrics_view, name="metrics")]
