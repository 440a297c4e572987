# Its own module: an AdminConfig imported into vsocare/apps.py would make Django unsure which
# config "vsocare" means.
from django.contrib.admin.apps import AdminConfig


class VsoCareAdminConfig(AdminConfig):
    default_site = "vsocare.admin.VsoCareAdminSite"
