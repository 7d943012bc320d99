"""``python manage.py seed_demo [--admin-username U --admin-password P] [--runtime-base URL]``: demo data for
the board and admin.

Every inventory state appears, with stale and verified freshness among them. Everything is recorded
through the services — create, deploy, observe, start, result, one-shot, cancel, expire — exactly as
automation would record it; no state field is written here. Each demo environment tells a short story
back from "now"; one that already exists is skipped, so running the command again creates nothing.

Each demo environment's ``base_url`` points at the demo runtime (``bootstraps/demo/runtime.py``) under
``--runtime-base`` (default: where ``make run`` serves it); an existing one is pointed there again when it
points elsewhere, a settings change that records nothing.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone

from bootstraps.demo.scenarios import DEMOS, describe, point_at_runtime, seed_environment
from bootstraps.demo.steps import DEFAULT_RUNTIME_BASE
from bootstraps.models import BootstrapOperation
from inventory.models import DeploymentRecord, Environment


def validate_admin_arguments(username: str | None, password: str | None) -> None:
    if (username is None) != (password is None):
        raise CommandError("Give --admin-username and --admin-password together.")
    if username is None or password is None:
        return
    user_model = get_user_model()
    try:
        username_field = cast(models.Field, user_model._meta.get_field(user_model.USERNAME_FIELD))
        username_field.run_validators(username)
        if not username:
            raise ValidationError("The username cannot be empty.")
        validate_password(password, user=user_model(**{user_model.USERNAME_FIELD: username}))
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc


def validate_runtime_base(runtime_base: str) -> None:
    try:
        URLValidator(schemes=["http", "https"])(runtime_base)
    except ValidationError as exc:
        raise CommandError(f"--runtime-base must be an http(s) URL, not {runtime_base!r}.") from exc


def ensure_superuser(username: str, password: str) -> bool:
    """Create the superuser, or make the existing user one with this password. True when created."""
    user_model = get_user_model()
    lookup: dict[str, Any] = {user_model.USERNAME_FIELD: username}
    user, created = user_model.objects.get_or_create(**lookup)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return created


class Command(BaseCommand):
    help = (
        "Create demo environments in every inventory state through the services (skipping those that "
        "exist), and optionally a superuser to log in with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-username", help="Create this superuser (or reset its password).")
        parser.add_argument("--admin-password", help="The superuser's password.")
        parser.add_argument(
            "--runtime-base",
            default=DEFAULT_RUNTIME_BASE,
            help=f"Where the demo runtime is served (make run: http://HOST:PORT/demo-runtime; default {DEFAULT_RUNTIME_BASE}).",
        )

    def handle(
        self,
        *args: Any,
        admin_username: str | None,
        admin_password: str | None,
        runtime_base: str = DEFAULT_RUNTIME_BASE,
        **options: Any,
    ) -> None:
        validate_admin_arguments(admin_username, admin_password)
        validate_runtime_base(runtime_base)
        now = timezone.now()
        for demo in DEMOS:
            created = seed_environment(demo, now=now, runtime_base=runtime_base)
            changed = [] if created else point_at_runtime(demo, runtime_base=runtime_base)
            note = f" (settings updated: {', '.join(changed)})" if changed else ""
            self.stdout.write(f"{'created' if created else 'exists '}  {describe(demo, now=now)}{note}")
        self.stdout.write(
            f"{Environment.objects.count()} environments, {DeploymentRecord.objects.count()} deployment records, "
            f"{BootstrapOperation.objects.count()} bootstrap operations."
        )
        if admin_username is not None and admin_password is not None:
            created = ensure_superuser(admin_username, admin_password)
            self.stdout.write(
                f"{'Created' if created else 'Updated'} superuser {admin_username!r}. Log in at /admin/ on the "
                f"running server (make run: http://127.0.0.1:8000/admin/) as {admin_username!r} with the "
                "password you gave."
            )
