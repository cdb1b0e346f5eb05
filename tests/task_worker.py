"""Runs the background worker (django-tasks-db's `db_worker`) in the test process until no task is ready."""

from django_tasks_db.management.commands.db_worker import Worker


def run_worker() -> int:
    """Every task ready now, as `manage.py db_worker --batch` runs them; answers how many ran."""
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker", excluded_queue_names=[])
    worker.run()
    return worker._run_tasks
