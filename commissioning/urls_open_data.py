# The open-data publication of the directory (Open Referral UK / HSDS 3.0).
from django.urls import path

from commissioning import views_open_data

urlpatterns = [
    path(
        "directory/services.json",
        views_open_data.directory_services_json,
        name="directory_services_json",
    ),
]
