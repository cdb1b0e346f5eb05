"""The /v1 REST face: thin viewsets that parse, authorize, call a service and render."""
