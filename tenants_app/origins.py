"""Validates a tenant's `allowed_origins`: browser origins, `scheme://host[:port]` (docs/api.md, "Tenant config").

An origin is what a browser sends in its `Origin` header: a scheme, a host and a port, nothing
else. Entries are stored the way browsers send them (lower case, no default port), so the CORS
check is a plain string comparison.
"""

import ipaddress
import re

from tenants_app.models import MAX_ALLOWED_ORIGINS

_ORIGIN = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:?#@\[\]\s]+)"
                     r"(?::(?P<port>[0-9]{1,5}))?$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_LENGTH = 253 + len("https://") + len(":65535")


class InvalidOrigin(ValueError):
    """The value is not a browser origin; the message says why, in words for the caller."""


def _host(raw: str) -> str:
    host = raw.lower()
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError as exc:
            raise InvalidOrigin("The IPv6 address is not valid.") from exc
    if "*" in host:
        raise InvalidOrigin("Wildcards are not allowed: list each origin.")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidOrigin("The host is not a valid host name or IP address.")
    return host


def normalize_origin(value: str) -> str:
    """`value` as a browser would send it in `Origin`, or InvalidOrigin."""
    if not isinstance(value, str) or not value or len(value) > _MAX_LENGTH:
        raise InvalidOrigin("Must be an origin such as https://app.example.com.")
    if "*" in value:
        raise InvalidOrigin("Wildcards are not allowed: list each origin.")
    match = _ORIGIN.match(value)
    if match is None:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]+/", value):
            raise InvalidOrigin("An origin has no path, query or trailing slash: scheme://host[:port].")
        raise InvalidOrigin("Must be an origin such as https://app.example.com (scheme://host[:port]).")
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidOrigin("The scheme must be http or https.")
    host = _host(match["host"])
    origin = f"{scheme}://{host}"
    if match["port"] is not None:
        port = int(match["port"])
        if not 1 <= port <= 65535:
            raise InvalidOrigin("The port must be between 1 and 65535.")
        if port != _DEFAULT_PORTS[scheme]:
            origin += f":{port}"
    return origin


def normalize_origins(values: list[str]) -> list[str]:
    """The list normalized, duplicates dropped, order kept; InvalidOrigin names the first bad entry."""
    if len(values) > MAX_ALLOWED_ORIGINS:
        raise InvalidOrigin(f"At most {MAX_ALLOWED_ORIGINS} origins.")
    origins: list[str] = []
    for index, value in enumerate(values):
        try:
            origin = normalize_origin(value)
        except InvalidOrigin as exc:
            raise InvalidOrigin(f"Entry {index}: {exc}") from exc
        if origin not in origins:
            origins.append(origin)
    return origins
