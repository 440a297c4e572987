from django.contrib import admin
from django.urls import include, path

from vsocare import views

urlpatterns = [
    path("", views.home, name="home"),
    path("referrer/", views.icc_home, name="icc_home"),
    path("commissioner/", views.commissioner_home, name="commissioner_home"),
    path("vso/", views.vso_lead_home, name="vso_lead_home"),
    path("vso/worker/", views.vso_worker_home, name="vso_worker_home"),
    path("administrator/", views.administrator_home, name="administrator_home"),
    path("health/", views.health, name="health"),
    path("", include("accounts.urls")),
    path("", include("commissioning.urls")),
    path("", include("commissioning.urls_open_data")),
    path("", include("referrals.urls")),
    path("admin/", admin.site.urls),
]
