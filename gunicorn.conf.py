"""gunicorn's settings for the web process (the Procfile's ``web:``): read by
``gunicorn -c gunicorn.conf.py 'bot:create_app()'``. Each can be changed by the
environment variable named beside it, without editing this file.
"""

import os
import shutil
import tempfile

# Where to listen: the platform's PORT, else 8000, on every interface (behind the proxy).
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Sync workers: each request is short work for the CPU and the database. On a 2-CPU machine
# 4 workers answered no more texts a second than 2 (each text cost more CPU, the CPUs being
# the limit); the webhook benchmark (benchmarks/webhook.py --workers N) measures yours.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"

# A worker that has not answered in this long is killed and replaced. Twilio gives up on a
# webhook after 15 s and the webhook never waits longer than WEBHOOK_DB_TIMEOUT (at most
# 10 s) for the database; staff pages that send texts (a small import's invitations,
# "send the invitation again" to everyone) take longer, so the limit is theirs.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30  # on a restart, requests in flight get this long to finish
keepalive = 5  # seconds an idle connection from the proxy is kept open

# A worker is replaced after this many requests (with jitter, not all at once): memory a
# long-running process gathers is given back.
max_requests = 5000
max_requests_jitter = 500

# The app is built in each worker (no database connection is made before the fork).
preload_app = False
# Workers' heartbeat files in memory, not on a disk that may stall (containers); gunicorn
# makes them with mkstemp, so the shared folder is safe.
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None

# One access line per request, without the query string (a search holds a patient's
# name), with the request id the app logs under and the time taken in milliseconds.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
# A CR or LF in a path ("%0d%0a") is written escaped: one line per request, none forged.
logger_class = "bot.ops.access_log.AccessLogger"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Metrics (GET /metrics): every worker counts in files of one folder, added up when
# scraped (prometheus-client's multi-process mode). Unless PROMETHEUS_MULTIPROC_DIR names
# one (to share with a clock on this machine: empty it before starting both), a folder of
# this run's own is made, and removed when gunicorn stops.
OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bot-metrics-")


def child_exit(server, worker):
    """A worker that ended: its live gauges are dropped (its counts stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
