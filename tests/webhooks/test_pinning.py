"""DNS rebinding: the address a connection goes to is the one that was checked. The resolver
(webhooks.addresses.resolve) is replaced by one whose answer changes between calls."""

import datetime as dt
import ssl
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from webhooks import addresses, delivery, sending
from webhooks.choices import DeliveryStatus
from webhooks.forms import TrustedSiteForm

from .conftest import make_site
from .receiver import Receiver

PUBLIC = "93.184.215.14"


class ChangingResolver:
    """Answers each lookup with the next answer of `answers` (the last one repeats)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, host, port):
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


@pytest.fixture
def fresh_session():
    """A new keep-alive session (no connection pooled by an earlier test)."""
    sending._local.__dict__.clear()
    yield
    sending._local.__dict__.clear()


def _site_form(url):
    return TrustedSiteForm(
        data={
            "name": "rebind",
            "url": url,
            "content_type": "application/json",
            "auth_method": "none",
            "jwt_algorithm": "HS256",
            "jwt_claims": "{}",
            "timeout_seconds": 5,
            "max_concurrency": 2,
            "active": "on",
        }
    )


def test_a_host_that_answers_public_then_private_is_refused_at_connection_time(
    modules, receiver, settings, monkeypatch, sent, fresh_session
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    resolver = ChangingResolver([PUBLIC], ["127.0.0.1"])
    monkeypatch.setattr(addresses, "resolve", resolver)
    port = receiver.server.server_address[1]
    form = _site_form(f"http://rebind.example:{port}/hooks")
    assert form.is_valid(), form.errors  # the save-time check saw the public answer
    site = form.save()
    row = sent(delivery.enqueue_message, site, "", "{}")
    row.refresh_from_db()
    assert row.status == DeliveryStatus.RETRYING
    assert "resolves to 127.0.0.1, a private or reserved address" in row.last_error
    assert receiver.requests == []  # never connected
    assert resolver.calls == ["rebind.example", "rebind.example"]


@pytest.mark.parametrize("answer", [["127.0.0.1"], [PUBLIC, "10.0.0.7"], ["::ffff:169.254.169.254"]])
def test_any_private_address_in_the_answer_refuses_the_request(
    settings, monkeypatch, receiver, answer, fresh_session
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    monkeypatch.setattr(addresses, "resolve", ChangingResolver(answer))
    port = receiver.server.server_address[1]
    result = sending.post(f"http://hooks.example:{port}/", "{}", {}, 2)
    assert result.status_code is None and "private or reserved" in result.error
    assert receiver.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_site_host_name(
    modules, receiver, monkeypatch, sent, fresh_session
):
    """127.0.0.0/8 is allowed in the tests: the one lookup answers 127.0.0.1, the request reaches
    the receiver there, and the Host header still names the site's host."""
    resolver = ChangingResolver(["127.0.0.1"], ["10.9.9.9"])
    monkeypatch.setattr(addresses, "resolve", resolver)
    port = receiver.server.server_address[1]
    site = make_site(f"http://hooks.example.test:{port}/in")
    row = sent(delivery.enqueue_message, site, "x", '{"a": 1}')
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DONE
    headers, body, path = receiver.accepted[0]
    assert headers["host"] == f"hooks.example.test:{port}" and path == "/in/x" and body == '{"a": 1}'
    assert resolver.calls == ["hooks.example.test"]  # resolved once, for the connection


def _certificate(tmp):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{tmp}/cert.pem", f"{tmp}/key.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


@pytest.mark.parametrize("host, verified", [("hooks.example.test", True), ("other.example.test", False)])
def test_tls_verifies_the_certificate_for_the_host_name_not_the_pinned_address(
    monkeypatch, fresh_session, host, verified
):
    """The socket goes to 127.0.0.1, TLS still sends SNI and checks the certificate against the
    site's host name: the right name passes, another name on the same address fails."""
    monkeypatch.setattr(addresses, "resolve", ChangingResolver(["127.0.0.1"]))
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        cert_path, key_path = _certificate(tmp)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        seen = []
        context.sni_callback = lambda sock, name, ctx: seen.append(name)
        receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
        sending._session().verify = cert_path
        port = receiver.server.server_address[1]
        result = sending.post(f"https://{host}:{port}/hook", "{}", {}, 5)
    if verified:
        assert result.ok, result.error
        assert seen == [host] and receiver.accepted[0][0]["host"] == f"{host}:{port}"
    else:
        assert result.status_code is None and "certificate" in result.error.lower()
        assert receiver.accepted == []
