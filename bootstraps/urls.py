"""The reconcile page (rule 16); the other operator pages are inventory's."""

from django.urls import path

from bootstraps import views

app_name = "bootstraps"

urlpatterns = [
    path("environments/<slug:context>/<slug:instance>/reconcile/", views.reconcile_environment, name="reconcile"),
]
