"""factory-boy factories for rows the tests need in bulk. Rows that carry rules (sessions with
tokens, users with validated passwords) are made through the services instead."""

from datetime import timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from sessions_app.models import DeviceType, Session
from tenants_app.models import Tenant, TenantConfig, User

TEST_PASSWORD = "correct horse battery staple"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    config = factory.RelatedFactory("tests.factories.TenantConfigFactory", factory_related_name="tenant")


class TenantConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TenantConfig

    tenant = factory.SubFactory(TenantFactory, config=None)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.LazyFunction(lambda: make_password(TEST_PASSWORD))


class SessionFactory(factory.django.DjangoModelFactory):
    """A bare session row (no tokens): for listing, admin and retention tests."""

    class Meta:
        model = Session

    user = factory.SubFactory(UserFactory)
    tenant = factory.SelfAttribute("user.tenant")
    user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"
    ip_address = "8.8.8.8"
    country = "US"
    device_type = DeviceType.DESKTOP
    browser = "Chrome 120"
    os = "macOS 10.15"
    created_at = factory.LazyFunction(timezone.now)
    last_active_at = factory.SelfAttribute("created_at")
    expires_at = factory.LazyAttribute(lambda s: s.created_at + timedelta(days=30))
