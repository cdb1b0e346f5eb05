"""A malformed HJ_ENCRYPTION_KEY (hj.E001) or HJ_WEBHOOK_ALLOWED_NETWORKS entry (hj.E002) is a system check
error, not a 500 on the first webhook created."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from sessions_app.webhooks.checks import allowed_networks_valid, encryption_keys_valid


def test_a_key_that_is_not_a_fernet_key_fails_the_check():
    good = Fernet.generate_key().decode()
    with override_settings(HJ_ENCRYPTION_KEYS=[good, "not-a-fernet-key"]):
        problems = encryption_keys_valid(None)
        assert [(p.id, p.msg.split(":")[0]) for p in problems] == [
            ("hj.E001", "HJ_ENCRYPTION_KEY entry 1 is not a Fernet key")]
        with pytest.raises(SystemCheckError, match=r"hj\.E001"):
            call_command("check")


def test_valid_keys_pass():
    with override_settings(HJ_ENCRYPTION_KEYS=[Fernet.generate_key().decode(), Fernet.generate_key().decode()]):
        assert encryption_keys_valid(None) == []


def test_an_allowed_network_that_is_not_a_cidr_fails_the_check():
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8", "10.0.0.0/33", "localhost"]):
        assert [p.id for p in allowed_networks_valid(None)] == ["hj.E002", "hj.E002"]
        with pytest.raises(SystemCheckError, match=r"hj\.E002"):
            call_command("check")
    with override_settings(HJ_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8", " ::1/128", ""]):
        assert allowed_networks_valid(None) == []
