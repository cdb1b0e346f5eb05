"""Test settings: the project's settings, with a test secret and cheaper password hashing.

Argon2 stays the first hasher (so tests prove it is in use), with lighter parameters: the
production cost would make every sign-in in the suite take a tenth of a second.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-for-the-suite-only-0123456789abcdef")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("HJ_ENCRYPTION_KEY", "dGVzdC1vbmx5LXdlYmhvb2stc2VjcmV0LWtleS0wMzI=")

from hellojohn_project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["tests.hashers.QuickArgon2PasswordHasher", *PASSWORD_HASHERS[1:]]  # noqa: F405

# The suite never runs collectstatic, and the manifest storage refuses any {% static %} it has no
# manifest entry for; pages under test resolve static files straight from the finders instead.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

# Each test starts with an empty cache (conftest), also tests without database access; rate limits
# count in hellojohn_project.counters' table whatever the cache is.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# With DATABASE_REPLICA_URL set (tests.pgcluster --replica), the replica alias is the test database
# itself: a standby cannot hold a test database of its own, and each test's data, in a transaction
# of the default connection, must be what its reads see. tests/deploy/test_read_replica.py uses a
# real streaming replica instead.
if "replica" in DATABASES:  # noqa: F405
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # noqa: F405
