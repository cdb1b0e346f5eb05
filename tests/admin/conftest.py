"""Fixtures of the admin tests: a superuser operator signed in on a test client."""

import pytest
from django.contrib.auth.models import User as Operator
from django.test import Client

from tests.admin_helpers import superuser_client


@pytest.fixture
def root(db: None) -> tuple[Client, Operator]:
    """A superuser named "root", signed in: (client, operator)."""
    return superuser_client()
