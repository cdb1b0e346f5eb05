"""/v1/admin/config and /v1/users: a tenant's backend (secret key) managing rules and users."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hellojohn_project.api.errors import InvalidParameter, api_error_from
from hellojohn_project.api.pagination import paginate
from hellojohn_project.api.permissions import SecretKey
from hellojohn_project.api.principal import Principal
from sessions_app import services
from sessions_app.api.callers import actor_of, validated
from sessions_app.api.serializers import ConfigOut, ConfigPatchIn, UserCreateIn, UserOut, UserPageOut, UserPatchIn
from tenants_app.exceptions import UserNotFound
from tenants_app.ids import is_valid_id
from tenants_app.models import User
from tenants_app.selectors import config_of
from tenants_app.services import update_tenant_config


class ConfigViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(responses={200: ConfigOut}, tags=["admin"], operation_id="getConfig",
                   summary="Get the session rules", description="The tenant's config. Secret key.")
    def retrieve(self, request: Request) -> Response:
        return Response(ConfigOut(config_of(request.user.tenant)).data)

    @extend_schema(request=ConfigPatchIn, responses={200: ConfigOut}, tags=["admin"], operation_id="updateConfig",
                   summary="Update the session rules",
                   description="Partial update; answers the whole config. Fields out of bounds answer 400 "
                               "invalid_parameter with `fields`, and change nothing. Secret key.")
    def partial_update(self, request: Request) -> Response:
        changes = validated(ConfigPatchIn, request)
        config = update_tenant_config(tenant=request.user.tenant, changes=changes)
        return Response(ConfigOut(config).data)


class UserViewSet(ViewSet):
    permission_classes = [SecretKey]

    @extend_schema(request=UserCreateIn, responses={201: UserOut}, tags=["users"], operation_id="createUser",
                   summary="Create a user",
                   description="Without a password the user cannot sign in until one is set. Secret key.")
    def create(self, request: Request) -> Response:
        data = validated(UserCreateIn, request)
        user = services.create_user(tenant=request.user.tenant, email=data["email"],
                                    password=data.get("password"), name=data["name"], actor=actor_of(request.user))
        return Response(UserOut(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("email", OpenApiTypes.STR, description="Exact email, case-insensitive."),
            OpenApiParameter("limit", OpenApiTypes.INT), OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses={200: UserPageOut}, tags=["users"], operation_id="listUsers", summary="List users",
        description="The tenant's users, newest first, one page at a time; `email` finds one. Secret key.",
    )
    def list(self, request: Request) -> Response:
        users: QuerySet[User] = User.objects.filter(tenant=request.user.tenant)
        email = request.query_params.get("email")
        if email is not None:
            # PostgreSQL refuses NUL in text (a 500 from the driver); no stored email can hold one anyway.
            if "\x00" in email:
                raise InvalidParameter("Invalid 'email': Must not contain NUL characters.",
                                       fields={"email": ["Must not contain NUL characters."]})
            users = users.filter(email=services.canonical_email(email))
        return Response(paginate(request, users, time_field="created_at",
                                 render=lambda rows: UserOut(rows, many=True).data))

    @extend_schema(responses={200: UserOut}, tags=["users"], operation_id="getUser", summary="Get a user",
                   description="One user of the tenant. Secret key.")
    def retrieve(self, request: Request, id: str) -> Response:
        return Response(UserOut(self._get(request, id)).data)

    @extend_schema(request=UserPatchIn, responses={200: UserOut}, tags=["users"], operation_id="updateUser",
                   summary="Update a user",
                   description="Disabling the user revokes every session (user_disabled); a new password revokes "
                               "every session (password_changed). Secret key.")
    def partial_update(self, request: Request, id: str) -> Response:
        user = self._get(request, id)
        data = validated(UserPatchIn, request)
        principal: Principal = request.user
        services.update_user(user=user, actor=actor_of(principal), name=data.get("name"),
                             status=data.get("status"), password=data.get("password"))
        return Response(UserOut(user).data)

    def _get(self, request: Request, pk: str) -> User:
        user = None
        if is_valid_id(pk, "usr"):
            user = User.objects.select_related("tenant__config").filter(pk=pk, tenant=request.user.tenant).first()
        if user is None:
            raise api_error_from(UserNotFound(f"No user {pk[:40]} in this tenant."))
        return user
