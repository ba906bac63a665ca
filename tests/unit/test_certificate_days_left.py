"""The certificate_days_left lookup: days until a PEM certificate on the controller expires."""

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]


def certificate_ending(not_after: datetime.datetime) -> x509.Certificate:
    """A self-signed certificate whose notAfter is the given time (UTCTime before 2050, GeneralizedTime after)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server.global.nomad")])
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=30)).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def certificate(lifetime: datetime.timedelta) -> bytes:
    """A self-signed PEM certificate that ends lifetime from now (negative: in the past)."""
    cert = certificate_ending(datetime.datetime.now(datetime.UTC) + lifetime)
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def lookup(lookup_plugin):
    return lookup_plugin("certificate_days_left")


def test_days_left_of_each_certificate_in_order(tmp_path, lookup):
    hour, long = tmp_path / "hour.crt", tmp_path / "long.crt"
    hour.write_bytes(certificate(datetime.timedelta(hours=1)))
    long.write_bytes(certificate(datetime.timedelta(days=825)))
    short_left, long_left = lookup.run([str(hour), str(long)], variables={})
    assert 0 < short_left < 1 / 24 + 0.001
    assert 824.99 < long_left <= 825


def test_an_expired_certificate_has_negative_days(tmp_path, lookup):
    expired = tmp_path / "expired.crt"
    expired.write_bytes(certificate(datetime.timedelta(days=-2)))
    (left,) = lookup.run([str(expired)], variables={})
    assert -2.01 < left < -1.99


def test_a_missing_file_or_not_a_certificate_is_a_clear_error(tmp_path, lookup):
    from ansible.errors import AnsibleLookupError

    with pytest.raises(AnsibleLookupError, match=r"cannot read .*missing\.crt"):
        lookup.run([str(tmp_path / "missing.crt")], variables={})
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate\n")
    with pytest.raises(AnsibleLookupError, match=r"garbage\.crt is not a PEM certificate"):
        lookup.run([str(garbage)], variables={})


@pytest.mark.parametrize("year", [1999, 2026, 2049, 2050, 2060])
def test_the_der_reader_reads_the_same_end_as_cryptography(lookup_plugin, year):
    # The lookup reads notAfter with a DER reader of its own (no cryptography import in each task worker);
    # UTCTime (two-digit years, RFC 5280's 1950-2049) and GeneralizedTime must both match cryptography's reading.
    not_after = type(lookup_plugin("certificate_days_left")).run.__globals__["not_after"]
    cert = certificate_ending(datetime.datetime(year, 7, 1, 12, 30, 5, tzinfo=datetime.UTC))
    pem = b"leading text\n" + cert.public_bytes(serialization.Encoding.PEM)
    assert not_after(pem) == cert.not_valid_after_utc


def test_a_truncated_or_garbled_certificate_is_a_clear_error(tmp_path, lookup):
    from ansible.errors import AnsibleLookupError

    pem = certificate(datetime.timedelta(days=1)).decode()
    body = "".join(pem.splitlines()[1:-1])
    truncated = tmp_path / "truncated.crt"
    truncated.write_text(f"-----BEGIN CERTIFICATE-----\n{body[:40]}\n-----END CERTIFICATE-----\n")
    with pytest.raises(AnsibleLookupError, match=r"truncated\.crt is not a PEM certificate: the certificate ends"):
        lookup.run([str(truncated)], variables={})
    garbled = tmp_path / "garbled.crt"
    garbled.write_text("-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(AnsibleLookupError, match=r"garbled\.crt is not a PEM certificate: the PEM block is not base64"):
        lookup.run([str(garbled)], variables={})
