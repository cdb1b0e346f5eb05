"""Machinery every /v1 endpoint shares: the error envelope, parsing, paging, permissions."""
