"""Admin for API clients (revoke, rescope) and idempotency keys (read-only)."""

from django.contrib import admin
from django.http import HttpRequest

from launchplane.models import ApiClient, IdempotencyKey


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Clients are created with ``manage.py create_api_client`` (the token is shown once there); here
    an operator revokes a client (untick *active*), changes its contexts or makes it read-only."""

    list_display = ("name", "contexts", "read_only", "is_active", "token_hint", "last_used_at", "created_at")
    list_filter = ("is_active", "read_only")
    search_fields = ("name", "token_hint")
    readonly_fields = ("token_hint", "created_at", "last_used_at")
    fields = ("name", "contexts", "read_only", "is_active", "token_hint", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a token must be shown once to whoever creates it: use create_api_client


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("owner", "key", "state", "response_status", "created_at", "expires_at")
    list_filter = ("state",)
    search_fields = ("owner", "key")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
