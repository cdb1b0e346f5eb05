"""The /v1 routes of the sessions app: auth, sessions, tenant config and users (`docs/api.md` sections 8 to 10)."""

from django.urls import path

from sessions_app.api import admin_views, auth_views, event_views, session_views, webhook_views

sessions = session_views.SessionViewSet
users = admin_views.UserViewSet
webhooks = webhook_views.WebhookViewSet
deliveries = webhook_views.WebhookDeliveryViewSet

urlpatterns = [
    path("auth/sign-up", auth_views.SignUpView.as_view(), name="sign-up"),
    path("auth/sign-in", auth_views.SignInView.as_view(), name="sign-in"),
    path("auth/token/refresh", auth_views.RefreshView.as_view(), name="token-refresh"),
    path("auth/sign-out", auth_views.SignOutView.as_view(), name="sign-out"),
    path("auth/me", auth_views.MeView.as_view(), name="me"),
    path("auth/password", auth_views.PasswordChangeView.as_view(), name="password"),
    path("sessions", sessions.as_view({"get": "list", "delete": "revoke_all"}), name="sessions"),
    path("sessions/verify", session_views.VerifyViewSet.as_view({"post": "create"}), name="sessions-verify"),
    path("sessions/<str:id>", sessions.as_view({"get": "retrieve", "delete": "destroy"}), name="session"),
    path("admin/config", admin_views.ConfigViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
         name="config"),
    path("users", users.as_view({"get": "list", "post": "create"}), name="users"),
    path("users/<str:id>", users.as_view({"get": "retrieve", "patch": "partial_update"}), name="user"),
    path("events", event_views.EventViewSet.as_view({"get": "list"}), name="events"),
    path("webhooks", webhooks.as_view({"get": "list", "post": "create"}), name="webhooks"),
    path("webhooks/<str:id>", webhooks.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="webhook"),
    path("webhooks/<str:id>/rotate-secret", webhooks.as_view({"post": "rotate_secret"}), name="webhook-rotate-secret"),
    path("webhooks/<str:id>/test", webhooks.as_view({"post": "test"}), name="webhook-test"),
    path("webhooks/<str:id>/deliveries", deliveries.as_view({"get": "list"}), name="webhook-deliveries"),
    path("webhooks/<str:id>/deliveries/<str:delivery_id>/retry", deliveries.as_view({"post": "retry"}),
         name="webhook-delivery-retry"),
]
