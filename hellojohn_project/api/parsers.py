"""JSON parsing that fails with a 400, never a 500, whatever the body holds."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    """DRF's JSONParser (strict: no NaN or Infinity), hardened further.

    The standard parser lets RecursionError (JSON nested thousands deep) escape as a 500 and hands
    any JSON value to the view; this one answers 400 invalid_request for both, so views only ever
    see a JSON object.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("The JSON body is nested too deeply.") from exc
        if not isinstance(data, dict):
            raise ParseError("The JSON body must be an object.")
        return data
