from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Environments, artifact deployment provenance, the inventory pointer and its history."""

    name = "inventory"
    verbose_name = "Inventory"
