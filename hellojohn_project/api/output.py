"""Output serializers that build their fields once per class instead of once per instance."""

import copy
from typing import Any

from rest_framework import serializers


class PrebuiltFieldsModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose fields are worked out from the model once per class, then copied.

    DRF rebuilds every field from the model's metadata each time a ModelSerializer is instantiated;
    for the user and the session that is most of the cost of rendering them, on every
    /v1/auth/me (`make bench`). The result depends only on the class, so it is cached on the class
    and each instance gets a deep copy, as DRF already does for declared fields: fields are bound
    to their parent serializer, so instances must never share them.
    """

    def get_fields(self) -> dict[str, Any]:
        cls = type(self)
        prototype = cls.__dict__.get("_prebuilt_fields")  # this class's own, not a parent's
        if prototype is None:
            prototype = super().get_fields()
            cls._prebuilt_fields = prototype
        return copy.deepcopy(prototype)
