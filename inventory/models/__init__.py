"""Inventory models: environments, artifact deployment evidence, the inventory pointer and its history."""

from inventory.models.deployment import DeploymentRecord
from inventory.models.environment import Environment
from inventory.models.inventory import EnvironmentInventory
from inventory.models.observation import RuntimeObservation
from inventory.models.transition import InventoryTransition
from inventory.models.verification import VerificationRun

__all__ = [
    "DeploymentRecord",
    "Environment",
    "EnvironmentInventory",
    "InventoryTransition",
    "RuntimeObservation",
    "VerificationRun",
]
