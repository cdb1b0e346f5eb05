"""The end-user pages, per tenant: /t/<slug>/sign-in, /t/<slug>/sessions and the sign-out actions."""

from django.urls import path

from sessions_app.web import views

urlpatterns = [
    path("<slug:slug>/", views.tenant_home, name="home"),
    path("<slug:slug>/sign-in", views.sign_in, name="sign-in"),
    path("<slug:slug>/sessions", views.session_list, name="sessions"),
    path("<slug:slug>/sign-out", views.sign_out, name="sign-out"),
    path("<slug:slug>/password", views.change_password, name="change-password"),
    path("<slug:slug>/sessions/sign-out-others", views.sign_out_others, name="sign-out-others"),
    path("<slug:slug>/sessions/<str:session_id>/sign-out", views.sign_out_session, name="sign-out-session"),
]
