from django.urls import path

from referrals import views, views_dashboard

urlpatterns = [
    path("commissioner/dashboard/", views_dashboard.dashboard, name="dashboard"),
    path(
        "commissioner/dashboard/<slug:section>.csv",
        views_dashboard.dashboard_csv,
        name="dashboard_csv",
    ),
    path(
        "commissioner/dashboard/breaches/",
        views_dashboard.breach_referrals,
        name="breach_referrals",
    ),
    path("referrals/", views.referral_list, name="referral_list"),
    path("referrals/new/", views.referral_create, name="referral_create"),
    path("referrals/waiting/", views.referral_waiting, name="referral_waiting"),
    path("referrals/remit-check/", views.referral_remit_check, name="referral_remit_check"),
    path("referrals/patient-lookup/", views.patient_lookup, name="patient_lookup"),
    path("referrals/patient-search/", views.patient_search, name="patient_search"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral_detail"),
    path("referrals/<int:pk>/<slug:action>/", views.referral_action, name="referral_action"),
]
