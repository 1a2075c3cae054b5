"""Gunicorn settings for Rehabit behind a TLS reverse proxy (deploy/nginx/rehabit.conf).

Used by deploy/systemd/rehabit-web.service:
    gunicorn -c deploy/gunicorn.conf.py clinic.wsgi:application
Every value can be overridden from the environment the unit loads (.env).
"""

import multiprocessing
import os

# Only the proxy on this machine talks to gunicorn.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: Rehabit's pages are short database round trips; a handout that is
# not cached yet renders in the task worker, not here.
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# A request that takes longer than this is stuck: the worker is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows into an outage.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-* only from the local proxy.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Access log: the path without its query string, status, size and time taken.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Load the app before forking: a broken setting fails the start, not each request.
preload_app = True
