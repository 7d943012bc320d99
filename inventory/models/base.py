"""Pieces shared by the evidence models."""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from launchplane.compiled import CompiledSaves

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]*\Z"
slug_validator = RegexValidator(
    SLUG_PATTERN,
    "Use a lowercase slug: letters a-z, digits, '_' and '-', starting with a letter or digit.",
    code="invalid_slug",
)
RECORD_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}\Z"
record_id_validator = RegexValidator(
    RECORD_ID_PATTERN, "Use 1-128 characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'.", code="invalid_record_id"
)


class ImmutableEvidence(CompiledSaves):
    """Evidence rows are written once by a service and never changed or deleted afterwards.

    The guard covers ``save()`` and ``delete()`` on instances; the admin and the API expose no way to
    change them, and foreign keys to evidence use ``PROTECT``.
    """

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError(f"{type(self).__name__} is evidence and cannot be changed once recorded.")
        super().save(*args, **kwargs)

    save.alters_data = True  # type: ignore[attr-defined]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(f"{type(self).__name__} is evidence and cannot be deleted.")

    delete.alters_data = True  # type: ignore[attr-defined]


class StatusColors:
    """``get_<field>_color()`` for each status field listed in ``STATUS_COLORS_BY_FIELD`` — the colour map
    lives with its choices (``inventory/choices.py``, ``bootstraps/choices.py``); models only say which
    map each field uses. ``templates/includes/status_badge.html`` reads these."""

    STATUS_COLORS_BY_FIELD: ClassVar[Mapping[str, Mapping[str, str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, colors in cls.__dict__.get("STATUS_COLORS_BY_FIELD", {}).items():
            setattr(cls, f"get_{name}_color", _color_getter(name, colors))


def _color_getter(name: str, colors: Mapping[str, str]):
    def get_color(self: Any) -> str:
        return colors.get(getattr(self, name), "grey")

    get_color.__name__ = f"get_{name}_color"
    get_color.__doc__ = f"The badge colour of ``{name}``."
    return get_color
