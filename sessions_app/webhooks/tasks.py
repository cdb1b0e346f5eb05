"""The worker's task (django-tasks, database backend): wake up and deliver whatever is due.

The task carries no arguments and no state: deliveries live in their own rows (attempts, next attempt,
lease), because the task library neither retries nor recovers a task whose worker died. A task row is
only a wake-up, inserted in the transaction that made work due (the outbox) or scheduled with
`run_after` for the next retry or the end of a lease. Running one too many costs one empty query.
"""

from datetime import datetime, timedelta

from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult


@task()
def deliver_webhooks() -> int:
    """Delivers every due webhook delivery; answers how many attempts it made."""
    from sessions_app.webhooks.worker import deliver_due  # the worker imports this module to schedule

    return deliver_due()


def wake_worker(*, at: datetime | None = None) -> None:
    """A wake-up now (one INSERT in the caller's transaction), or at `at` unless one is already set then."""
    if at is not None:
        # Whole seconds, rounded up: never before `at`, and equal wake-ups are recognised as one.
        at = at.replace(microsecond=0) + timedelta(seconds=1)
        waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=deliver_webhooks.module_path,
                                              run_after=at)
        if not waiting.exists():
            deliver_webhooks.using(run_after=at).enqueue()
        return
    deliver_webhooks.enqueue()
