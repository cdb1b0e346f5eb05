"""Input fields that refuse what DRF's would coerce: "5" and true are not integers, 5 is not a string."""

from typing import Any

from rest_framework import serializers

from hellojohn_project.api.errors import InvalidParameter


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"wrong_type": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    default_error_messages = {"wrong_type": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("wrong_type")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"wrong_type": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("wrong_type")
        return data


class StrictInputSerializer(serializers.Serializer):
    # The docstring is published: /v1/openapi.json describes every request body with it, so its words
    # stay as they are; the rule is `docs/api.md` section 1 ("Unknown body fields are refused").
    """Input serializer that refuses unknown fields (spec section 1: never silently dropped)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise InvalidParameter(
                    f"Unknown field(s): {', '.join(map(str, unknown))}.",
                    fields={str(name): ["Unknown field."] for name in unknown},
                )
        return super().to_internal_value(data)
