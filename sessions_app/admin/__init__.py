"""The operators' console: registers every model admin with Django's admin site.

Django's autodiscovery imports `sessions_app.admin`; importing each module here is what registers
its `@admin.register` class. The console for the kernel's models (tenants, their keys, end users)
lives here rather than in `tenants_app`, because it reads sessions and revokes them: the kernel
imports nothing from `sessions_app`.
"""

from sessions_app.admin import api_keys, sessions, tenants, users, webhooks

__all__ = ["api_keys", "sessions", "tenants", "users", "webhooks"]
