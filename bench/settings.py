"""Settings for the in-process benchmarks: the production settings, plus the peer's views.

Not the test settings: those swap in a cheap Argon2, and the sign-in numbers must carry the
production cost. Rate limits are raised (through the same HJ_RATE_* variables an operator would
set) because a benchmark is one client hammering one endpoint on purpose.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("HJ_ENCRYPTION_KEY", "YmVuY2gtb25seS13ZWJob29rLXNlY3JldC1rZXktMzI=")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,testserver")
for _scope in ("SIGN_IN_PER_IP", "SIGN_IN_PER_EMAIL", "SIGN_UP_PER_IP", "SIGN_UP_PER_KEY",
               "REFRESH_PER_IP", "REFRESH_PER_KEY", "WEB_SIGN_IN"):
    os.environ.setdefault(f"HJ_RATE_{_scope}", "1000000/min")

# Section 3c delivers webhooks to a receiver on loopback, which the outbound checks refuse unless an
# operator allows its network (HJ_WEBHOOK_ALLOWED_NETWORKS, docs/api.md "Webhooks").
os.environ.setdefault("HJ_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")

import warnings  # noqa: E402

from hellojohn_project.settings import *  # noqa: E402, F403

# Static files are not collected for a benchmark; whitenoise's warning about it is noise here.
warnings.filterwarnings("ignore", "No directory at", UserWarning)

ROOT_URLCONF = "bench.urls"

# simplejwt with its defaults (HS256 signed with SECRET_KEY), as a typical project uses it.
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_simplejwt"]  # noqa: F405

# The audit trail is still formatted and written (its cost is part of every revocation), but to
# a file rather than the terminal: a 10,000-session revoke-all is one very long line.
LOGGING["handlers"]["stderr"] = {  # noqa: F405
    "class": "logging.FileHandler",
    "filename": os.environ.get("HJ_BENCH_LOG", os.devnull),
    "formatter": "json",
}
