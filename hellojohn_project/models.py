"""The table behind hellojohn_project.counters: one fixed-window counter per rate-limit key."""

from django.db import models


class RateCounter(models.Model):
    """Attempts counted under one key in the current window; a row is reused when its window ends."""

    # sha256 of the caller's key: any key fits, and no email address is stored.
    digest = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField()
    # Epoch seconds (the clock of the process that opened the window).
    window_ends_at = models.FloatField(db_index=True)

    class Meta:
        db_table = "hj_rate_counter"

    def __str__(self) -> str:
        return f"{self.digest[:12]}: {self.count}"
