"""drf-spectacular knows our bearer authentication and what our own fields enforce."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "launchplane.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API client's token."}


class IdentifierFieldSchema(OpenApiSerializerFieldExtension):
    """An identifier (rule 13): its pattern and the ``identifier`` format, which names the rest of the
    rule (the invisible code points a short pattern cannot list)."""

    target_class = "launchplane.api.fields.IdentifierField"

    def map_serializer_field(self, auto_schema, direction):
        from launchplane.api.fields import IDENTIFIER_FORMAT, IDENTIFIER_HELP, IDENTIFIER_PATTERN

        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema.update(pattern=IDENTIFIER_PATTERN, format=IDENTIFIER_FORMAT)
        schema["description"] = (
            f"{schema['description']} {IDENTIFIER_HELP}" if "description" in schema else IDENTIFIER_HELP
        )
        return schema


class UniqueChoiceListFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "launchplane.api.fields.UniqueChoiceListField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["uniqueItems"] = True
        return schema


class StrictCharFieldSchema(OpenApiSerializerFieldExtension):
    """Text fields refuse NUL characters (DRF's ``ProhibitNullCharactersValidator``)."""

    target_class = "launchplane.api.fields.StrictCharField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema.setdefault("pattern", "^[^\\x00]*$")
        return schema


class AwareDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    """Evidence timestamps: a timezone, and a year from 1970 to 8999 as written (a pattern, since OpenAPI
    has no bounds for a date-time)."""

    target_class = "launchplane.api.fields.AwareDateTimeField"

    def map_serializer_field(self, auto_schema, direction):
        from launchplane.api.fields import EVIDENCE_TIME_HELP, EVIDENCE_TIME_PATTERN

        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["pattern"] = EVIDENCE_TIME_PATTERN
        schema["description"] = EVIDENCE_TIME_HELP
        return schema
