from django.urls import path

from referrals import (
    views,
    views_access,
    views_added_value,
    views_concerns,
    views_dashboard,
    views_deadlines,
    views_outcomes,
    views_remit,
)

urlpatterns = [
    path("commissioner/dashboard/", views_dashboard.dashboard, name="dashboard"),
    path(
        "commissioner/dashboard/<slug:section>.csv",
        views_dashboard.dashboard_csv,
        name="dashboard_csv",
    ),
    path(
        "commissioner/dashboard/preparing/",
        views_dashboard.dashboard_preparing,
        name="dashboard_preparing",
    ),
    path(
        "commissioner/dashboard/prepare/",
        views_dashboard.dashboard_prepare,
        name="dashboard_prepare",
    ),
    path(
        "commissioner/dashboard/breaches/",
        views_dashboard.breach_referrals,
        name="breach_referrals",
    ),
    path(
        "commissioner/dashboard/overrides/",
        views_dashboard.override_referrals,
        name="override_referrals",
    ),
    path(
        "commissioner/dashboard/added-value/",
        views_added_value.added_value_section,
        name="added_value_section",
    ),
    path("commissioner/added-value/", views_added_value.added_value, name="added_value"),
    path(
        "commissioner/added-value/download/",
        views_added_value.added_value_csv,
        name="added_value_csv",
    ),
    path("outcomes/", views_added_value.our_outcomes, name="our_outcomes"),
    path("outcomes/download/", views_added_value.our_outcomes_csv, name="our_outcomes_csv"),
    path("referrals/", views.referral_list, name="referral_list"),
    path("referrals/new/", views.referral_create, name="referral_create"),
    path("referrals/waiting/", views.referral_waiting, name="referral_waiting"),
    path("referrals/remit-check/", views.referral_remit_check, name="referral_remit_check"),
    path("referrals/patient-lookup/", views.patient_lookup, name="patient_lookup"),
    path("referrals/patient-search/", views.patient_search, name="patient_search"),
    path("remit/", views_remit.remit_page, name="remit_page"),
    path("referrals/<int:pk>/", views.referral_detail, name="referral_detail"),
    # Before the catch-all action path below, which "remit-mark" would otherwise match.
    path(
        "referrals/<int:pk>/remit-mark/",
        views_remit.referral_remit_mark,
        name="referral_remit_mark",
    ),
    path(
        "referrals/<int:pk>/remit-mark/withdraw/",
        views_remit.referral_remit_mark_withdraw,
        name="referral_remit_mark_withdraw",
    ),
    path("referrals/<int:pk>/concerns/new/", views_concerns.concern_raise, name="concern_raise"),
    path("referrals/<int:pk>/consent/", views.referral_consent, name="referral_consent"),
    path("referrals/<int:pk>/episode/", views_outcomes.episode_open, name="episode_open"),
    path("referrals/<int:pk>/<slug:action>/", views.referral_action, name="referral_action"),
    path("episodes/", views_outcomes.episode_list, name="episode_list"),
    path("episodes/<int:pk>/", views_outcomes.episode_detail, name="episode_detail"),
    path("episodes/<int:pk>/edit/", views_outcomes.episode_edit, name="episode_edit"),
    path("episodes/<int:pk>/goals/", views_outcomes.episode_goal_add, name="episode_goal_add"),
    path("episodes/<int:pk>/inputs/", views_outcomes.episode_input_add, name="episode_input_add"),
    path(
        "episodes/<int:pk>/scores/",
        views_outcomes.episode_score_record,
        name="episode_score_record",
    ),
    path("goals/<int:pk>/mark/", views_outcomes.goal_mark, name="goal_mark"),
    path("concerns/", views_concerns.concern_list, name="concern_list"),
    path("concerns/deadlines/", views_deadlines.concern_deadlines, name="concern_deadlines"),
    path("access-log/", views_access.access_log, name="access_log"),
    path("access-log/download/", views_access.access_log_csv, name="access_log_csv"),
    path(
        "concerns/<int:pk>/acknowledge/",
        views_concerns.concern_acknowledge,
        name="concern_acknowledge",
    ),
    path("concerns/<int:pk>/resolve/", views_concerns.concern_resolve, name="concern_resolve"),
    path("concerns/<int:pk>/reply/", views_concerns.concern_reply, name="concern_reply"),
]
