from django.urls import path

from commissioning import views

urlpatterns = [
    path("organisations/", views.organisation_list, name="organisation_list"),
]
