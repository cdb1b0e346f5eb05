"""The PostgreSQL database backend: Django's, with a connection health check that sends nothing (base.py)."""
