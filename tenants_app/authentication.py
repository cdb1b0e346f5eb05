"""DRF authentication by a tenant's secret or publishable key."""

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from hellojohn_project.api.authentication import bearer_credential, require_tenant
from hellojohn_project.api.errors import Unauthorized
from hellojohn_project.api.principal import Principal
from tenants_app.selectors import api_key_for
from tenants_app.services import KEY_PREFIXES, record_key_use

_KEY_PREFIXES = tuple(f"{prefix}_" for prefix in KEY_PREFIXES.values())


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Principal, Principal] | None:
        credential = bearer_credential(request)
        if credential is None or not credential.startswith(_KEY_PREFIXES):
            return None  # not a key: the access-token authentication decides
        api_key = api_key_for(credential)
        if api_key is None:
            raise Unauthorized("The API key is unknown or revoked.", code="invalid_api_key")
        require_tenant(request, api_key.tenant_id)
        record_key_use(api_key=api_key)
        principal = Principal(kind=api_key.kind, tenant=api_key.tenant, api_key=api_key)
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
