"""Device metadata of a sign-in (docs/api.md §12, "Device metadata"), computed once when the session is created."""

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import iptocc
from django.conf import settings
from django.http import HttpRequest
from python_ipware.modern.parsers import split_proxy_chain
from user_agents import parse as parse_user_agent

from sessions_app.models import DeviceType

USER_AGENT_MAX_LENGTH = 512
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class DeviceInfo:
    user_agent: str = ""
    ip_address: str | None = None
    country: str | None = None
    device_type: str = DeviceType.UNKNOWN
    browser: str = ""
    os: str = ""


@dataclass(frozen=True)
class UserAgentSummary:
    device_type: str
    browser: str
    os: str


def _networks(values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def _parse_ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    # An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    return address is not None and any(address in network for network in _networks(settings.HJ_TRUSTED_PROXIES))


def client_ip(request: HttpRequest) -> tuple[str | None, bool]:
    """The client's address, and whether it was reported by a trusted proxy.

    X-Forwarded-For is read only when the direct peer is a declared proxy. The chain is walked from
    the right (the hop our proxy appended) past every trusted proxy; the first other address is the
    client. A client can prepend anything to the header, but never past a proxy we trust.
    """
    peer = _parse_ip(request.META.get("REMOTE_ADDR"))
    if not _is_trusted(peer):
        return (str(peer) if peer else None), False
    chain = split_proxy_chain(request.META.get("HTTP_X_FORWARDED_FOR", ""), False) or []
    for hop in reversed(chain):
        address = _parse_ip(str(hop))
        if address is None:
            break
        if not _is_trusted(address):
            return str(address), True
    return (str(peer) if peer else None), True


def country_for(ip: str | None) -> str | None:
    """ISO 3166-1 alpha-2 from the offline database; None for private, loopback and reserved ranges."""
    address = _parse_ip(ip)
    if address is None or not address.is_global:
        return None
    return iptocc.country_code(str(address))


def _country_from_header(request: HttpRequest) -> str | None:
    header = settings.HJ_COUNTRY_HEADER
    if not header:
        return None
    value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "").strip().upper()
    # CDNs send XX for unknown and T1 for Tor; neither is a country.
    if len(value) == 2 and value.isalpha() and value not in {"XX", "T1"}:
        return value
    return None


@lru_cache(maxsize=2048)
def summarize_user_agent(user_agent: str) -> UserAgentSummary:
    """Device type, browser and OS, parsed by django-user-agents' parser (cached: parsing is slow)."""
    if not user_agent.strip():
        return UserAgentSummary(DeviceType.UNKNOWN, "", "")
    parsed = parse_user_agent(user_agent)
    if parsed.is_bot:
        device_type = DeviceType.BOT
    elif parsed.is_tablet:
        device_type = DeviceType.TABLET
    elif parsed.is_mobile:
        device_type = DeviceType.MOBILE
    elif parsed.is_pc:
        device_type = DeviceType.DESKTOP
    else:
        device_type = DeviceType.UNKNOWN
    return UserAgentSummary(
        device_type=device_type,
        # "Chrome 120" and "macOS 10.15": browsers read best by major version, systems by two parts.
        browser=_label(parsed.browser.family, parsed.browser.version[:1]),
        os=_label(_os_name(parsed.os.family), parsed.os.version[:2]),
    )


def _os_name(family: str) -> str:
    return {"Mac OS X": "macOS"}.get(family, family)


def _label(family: str, version: tuple) -> str:
    if not family or family == "Other":
        return ""
    numbers = [str(part) for part in version if part not in (None, "")]
    return f"{family} {'.'.join(numbers)}".strip()[:64]


def describe_device(*, user_agent: str, ip_address: str | None, country: str | None = None) -> DeviceInfo:
    """Device metadata from a user agent and an address (country looked up unless given)."""
    # Control characters (a NUL above all, which PostgreSQL refuses to store) never come from a real
    # browser; they are dropped, not stored. docs/api.md §12, "Device metadata".
    user_agent = CONTROL_CHARACTERS.sub("", user_agent)[:USER_AGENT_MAX_LENGTH]
    summary = summarize_user_agent(user_agent)
    return DeviceInfo(
        user_agent=user_agent, ip_address=ip_address, country=country or country_for(ip_address),
        device_type=summary.device_type, browser=summary.browser, os=summary.os,
    )


def device_from_request(request: HttpRequest) -> DeviceInfo:
    ip, via_trusted_proxy = client_ip(request)
    return describe_device(
        user_agent=request.META.get("HTTP_USER_AGENT", ""), ip_address=ip,
        country=_country_from_header(request) if via_trusted_proxy else None,
    )
