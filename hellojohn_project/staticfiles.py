"""Static files storage for production: whitenoise's manifest, without a 500 when an entry is missing.

Before `collectstatic` runs, the manifest storage raises "Missing staticfiles manifest entry" from
every `{% static %}`, so every page, the 404 page included, answered 500. Here a missing entry is
logged and the unhashed URL is rendered (the page works, its file is a 404); `check --deploy` says
that collectstatic has not run (hellojohn_project/checks.py).
"""

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger("hellojohn.static")


class ForgivingManifestStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:  # not in the manifest, and not collected either
            logger.warning("static file %s is not collected; run `manage.py collectstatic`", name)
            return name
