"""Pieces both credential checks share: reading the bearer credential and the tenant header.

The order of checks is the contract's (`docs/api.md` section 4): missing credential, bad credential,
missing X-Tenant-ID, credential of another tenant, wrong kind for the route (permissions).
"""

from rest_framework.request import Request

from hellojohn_project.api.errors import ApiError, Forbidden, Unauthorized

TENANT_HEADER = "HTTP_X_TENANT_ID"


def bearer_credential(request: Request) -> str | None:
    """The credential after `Bearer `, or None when there is no Authorization header at all."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None or header == "":
        return None
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthorized("Send the credential as 'Authorization: Bearer <credential>'.", code="invalid_token")
    return credential


def require_tenant(request: Request, tenant_id: str) -> None:
    """The X-Tenant-ID header must be present and name the credential's own tenant."""
    claimed = request.META.get(TENANT_HEADER, "").strip()
    if not claimed:
        raise ApiError("The X-Tenant-ID header is required.", code="missing_tenant_id")
    if claimed != tenant_id:
        raise Forbidden("The credential does not belong to the tenant in X-Tenant-ID.", code="tenant_mismatch")
