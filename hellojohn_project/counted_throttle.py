"""DRF's SimpleRateThrottle counting through hellojohn_project.counters (atomic, shared by processes).

SimpleRateThrottle keeps a list of timestamps in the cache and writes it back: with several
processes, or parallel requests, two of them read the same list and both let a request through.
Here the count is one atomic hit on a fixed window that the first attempt opens.
"""

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from hellojohn_project import counters


class CountedRateThrottle(SimpleRateThrottle):
    resets_at: float = 0.0

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        counted = counters.hit(self.key, self.duration, now=self.now)
        self.resets_at = counted.resets_at
        return counted.count <= self.num_requests

    def wait(self) -> float | None:
        return max(0.0, self.resets_at - self.now)
