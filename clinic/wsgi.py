"""The WSGI entry point for gunicorn: `gunicorn clinic.wsgi`. It also keeps the
garbage collector's full passes short (clinic.gcfreeze)."""

import os

from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

from clinic.gcfreeze import WARM_UP_REQUESTS, FreezeAfterWarmUp, freeze_long_lived

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

application = get_wsgi_application()
freeze_long_lived()
# A worker forked from a preloading master (deploy/gunicorn.conf.py) starts with
# this receiver's count as it was at the fork, so each worker counts its own.
request_finished.connect(FreezeAfterWarmUp(WARM_UP_REQUESTS), weak=False)
