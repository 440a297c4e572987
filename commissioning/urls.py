from django.urls import path

from commissioning import views
from commissioning import views_specifications as specs

urlpatterns = [
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path(
        "organisations/<int:pk>/listing/",
        views.organisation_listing_edit,
        name="organisation_listing_edit",
    ),
    path("organisations/<int:pk>/verify/", views.organisation_verify, name="organisation_verify"),
    path("directory/", views.directory, name="directory"),
    path("directory/services/<int:pk>/", views.service_detail, name="service_detail"),
    path(
        "directory/services/<int:pk>/edit/", views.service_listing_edit, name="service_listing_edit"
    ),
    path("commissioning/frameworks/", specs.framework_list, name="framework_list"),
    path("commissioning/frameworks/new/", specs.framework_edit, name="framework_create"),
    path("commissioning/frameworks/<int:pk>/", specs.framework_detail, name="framework_detail"),
    path("commissioning/frameworks/<int:pk>/edit/", specs.framework_edit, name="framework_edit"),
    path("commissioning/specifications/", specs.specification_list, name="specification_list"),
    path(
        "commissioning/specifications/<int:pk>/",
        specs.specification_detail,
        name="specification_detail",
    ),
    path(
        "commissioning/specifications/<int:pk>/edit/",
        specs.specification_edit,
        name="specification_edit",
    ),
    path(
        "commissioning/specifications/<int:pk>/publish/",
        specs.specification_publish,
        name="specification_publish",
    ),
    path(
        "commissioning/specifications/<int:pk>/new-version/",
        specs.specification_new_version,
        name="specification_new_version",
    ),
    path(
        "commissioning/specifications/<int:pk>/retire/",
        specs.specification_retire,
        name="specification_retire",
    ),
    path(
        "commissioning/specifications/<int:pk>/compare/",
        specs.specification_compare,
        name="specification_compare",
    ),
    path(
        "commissioning/services/<int:service_pk>/specifications/new/",
        specs.specification_create,
        name="specification_create",
    ),
]
