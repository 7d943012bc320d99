from django.apps import AppConfig


class BootstrapsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bootstraps"
