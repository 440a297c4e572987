from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-in/two-factor/", views.two_factor_verify, name="two_factor_verify"),
    path("sign-in/two-factor/set-up/", views.two_factor_enrol, name="two_factor_enrol"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "account/password/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/unlock/", views.user_unlock, name="user_unlock"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path(
        "notifications/read/",
        views.notifications_mark_all_read,
        name="notifications_mark_all_read",
    ),
    path("notifications/settings/", views.notification_settings, name="notification_settings"),
]
