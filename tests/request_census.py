"""A pytest plugin that counts the HTTP requests each test module sends through Django, by answer.

The README's Reliability section reports these numbers; rerun them with

    .venv/bin/python -m pytest -p tests.request_census tests/contract/test_fuzz_contract.py \
        tests/contract/test_fuzz_params.py tests/contract/test_hostile_requests.py tests/api/test_rate_limits.py
    (PostgreSQL: prefix `.venv/bin/python -m tests.pgcluster --` and add tests/rules/test_concurrency_sessions.py)

Every request the test client, APIClient or schemathesis's WSGI transport makes passes through
BaseHandler.get_response, in any thread, so counting there sees all of them.
"""

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from django.core.handlers.base import BaseHandler

_counts: defaultdict[str, Counter[int]] = defaultdict(Counter)
_current = {"module": "(setup)"}
_lock = threading.Lock()


def _counting(get_response: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: BaseHandler, request: Any) -> Any:
        response = get_response(self, request)
        with _lock:
            _counts[_current["module"]][response.status_code] += 1
        return response

    return wrapper


def pytest_configure(config: pytest.Config) -> None:
    BaseHandler.get_response = _counting(BaseHandler.get_response)  # type: ignore[method-assign]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _current["module"] = item.nodeid.split("::")[0]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write = terminalreporter.write_line
    write("")
    write("requests sent through Django, by test module and answer")
    total: Counter[int] = Counter()
    for module, statuses in sorted(_counts.items()):
        total += statuses
        by_class = Counter(f"{status // 100}xx" for status in statuses.elements())
        write(f"  {module}: {sum(statuses.values())} requests  {dict(sorted(by_class.items()))}  "
              f"statuses {dict(sorted(statuses.items()))}")
    server_errors = sum(n for status, n in total.items() if status >= 500)
    write(f"  total: {sum(total.values())} requests, {server_errors} answered 5xx")
