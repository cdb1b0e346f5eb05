"""Outbound safety: which webhook URLs may be called, and the addresses a request may connect to.

A URL is checked when it is saved and again before every attempt (docs/api.md, "Endpoint URLs"). The
check resolves the host once and answers the addresses it approved; the sender connects to one of
those, never resolving again, so a DNS answer that changes between the check and the connection (DNS
rebinding) cannot steer a request inside the network. The resolver is a parameter so tests can answer
what they like.
"""

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from sessions_app.webhooks.exceptions import InvalidWebhookUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048

# Cloud instance-metadata services: refused even inside HJ_WEBHOOK_ALLOWED_NETWORKS, because they hand
# out the machine's credentials.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.169.253",  # AWS DNS
    "fd00:ec2::254",  # AWS over IPv6
    "fd00:ec2::253",
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud
    "168.63.129.16",  # Azure wire server
))

# Ranges `is_global` lets through but that reach somewhere other than the public internet.
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "255.255.255.255/32",
    "::ffff:0:0/96",  # IPv4-mapped
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64: may embed a private IPv4 address
    "2002::/16",  # 6to4: likewise
    "2001::/32",  # Teredo
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, all approved) and what to ask for."""

    scheme: str
    host: str  # the name, for the Host header, SNI and the certificate check
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in settings.HJ_WEBHOOK_ALLOWED_NETWORKS
            if cidr.strip()]


def is_public(address: IPAddress) -> bool:
    if address.is_multicast or address.is_unspecified or address.is_reserved or address.is_loopback:
        return False
    if address.is_link_local or address.is_private or not address.is_global:
        return False
    return not any(address in network for network in _NOT_PUBLIC if network.version == address.version)


def _refusal(url: str, reason: str) -> InvalidWebhookUrl:
    return InvalidWebhookUrl(f"The webhook URL is not allowed: {reason}", fields={"url": [reason]})


def in_allowed_network(address: IPAddress) -> bool:
    return any(address in network for network in allowed_networks() if network.version == address.version)


def check_address(address: IPAddress) -> str | None:
    """None when the address may be called; else why not."""
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address."
    if is_public(address) or in_allowed_network(address):
        return None
    return f"{address} is not a public address."


def check_url(url: object, *, resolver: Resolver | None = None) -> Target:
    """The Target of `url`, or InvalidWebhookUrl: https:// only (http:// too when every address is in
    an allowed network), no credentials in the URL, and every address the host resolves to callable."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise _refusal(str(url)[:100], f"Must be an https:// URL of at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise _refusal(url, "Must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refusal(url, "Malformed URL.") from exc
    if parts.scheme not in {"https", "http"}:
        raise _refusal(url, "Must be an https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise _refusal(url, "Must not carry credentials.")
    if parts.fragment:
        raise _refusal(url, "Must not have a fragment.")
    host = parts.hostname
    if not host:
        raise _refusal(url, "Must name a host.")
    if port == 0:  # no server listens there; `port or 443` below would quietly send elsewhere than saved
        raise _refusal(url, "The port must be between 1 and 65535.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        resolved = [str(literal)]
    else:
        try:
            host.encode("idna")
            resolved = list((resolver or system_resolver)(host, port))
        except (OSError, UnicodeError) as exc:
            raise _refusal(url, f"The host {host} does not resolve.") from exc
    if not resolved:
        raise _refusal(url, f"The host {host} does not resolve.")
    addresses: list[str] = []
    for raw in resolved:
        try:
            address = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError as exc:
            raise _refusal(url, f"The host {host} resolves to an unusable address.") from exc
        problem = check_address(address)
        if problem is not None:
            raise _refusal(url, problem)
        if parts.scheme == "http" and not in_allowed_network(address):
            raise _refusal(url, "Must be an https:// URL.")
        addresses.append(str(address))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))
