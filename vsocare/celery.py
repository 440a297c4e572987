import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vsocare.settings")

app = Celery("vsocare")
# Every Celery option lives in the Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
