# Loading the Celery app with Django means @shared_task binds to it in every process.
from vsocare.celery import app as celery_app

__all__ = ["celery_app"]
