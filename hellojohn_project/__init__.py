"""HelloJohn Sessions: the Django project (settings, root URLs, WSGI/ASGI entry points)."""

__version__ = "0.1.0"
