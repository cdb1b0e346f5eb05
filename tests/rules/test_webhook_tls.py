"""HTTPS delivery: the connection goes to the checked address while TLS (SNI and the certificate) is
checked for the URL's host name, against a real TLS receiver on loopback with a CA of the test's own."""

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from sessions_app.webhooks import sender
from sessions_app.webhooks.outbound import Target

HOST = "hooks.example.test"


def _certificate(subject: str, issuer_key, issuer_name, key, *, ca: bool, san: list | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_receiver(tmp_path: Path):
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = _certificate("Test CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate(HOST, ca_key, ca_name, leaf_key, ca=False,
                        san=[x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/hook").respond_with_data("ok")
    yield server, str(tmp_path / "ca.pem"), server_names
    server.clear()
    server.stop()


def _target(server: HTTPServer, host: str = HOST) -> Target:
    return Target(scheme="https", host=host, port=server.port, path="/hook", addresses=("127.0.0.1",))


def test_https_goes_to_the_checked_address_with_sni_and_host_for_the_name(tls_receiver):
    server, ca, server_names = tls_receiver
    outcome = sender.post(_target(server), body=b"{}", headers={"Content-Type": "application/json"}, ca_certs=ca)
    assert outcome.succeeded, outcome
    assert server_names == [HOST]
    [(request, _)] = server.log
    assert request.headers["Host"] == f"{HOST}:{server.port}"


def test_a_certificate_for_another_name_is_a_tls_error(tls_receiver):
    server, ca, _ = tls_receiver
    outcome = sender.post(_target(server, host="other.example.test"), body=b"{}", headers={}, ca_certs=ca)
    assert (outcome.response_status, outcome.error) == (None, "tls_error")
    assert server.log == []


def test_an_untrusted_certificate_is_a_tls_error(tls_receiver):
    server, _, _ = tls_receiver
    outcome = sender.post(_target(server), body=b"{}", headers={})  # the system's trust store
    assert (outcome.response_status, outcome.error) == (None, "tls_error")
    assert server.log == []
