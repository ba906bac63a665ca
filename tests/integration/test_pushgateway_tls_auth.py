"""The real Pushgateway behind HTTPS and basic auth, as the roles set it up (a web
configuration file from the web_config filter), and the training program pushing
to it the way the Nomad job runs it: by address, checking the certificate against
the Pushgateway's name in Consul's DNS with the monitoring CA, with the password."""

import base64
import datetime
import importlib.util
import ipaddress
import secrets
import ssl
import string
import urllib.error
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from programs import free_port, http, unpack, verified_archive

ROOT = Path(__file__).resolve().parents[2]
NAME = "pushgateway.service.consul"
# Generated per run, as the roles generate theirs.
PASSWORD = "".join(secrets.choice(string.ascii_letters + string.digits) for _position in range(32))


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


web_config = load("web_config", ROOT / "plugins/filter/web_config.py").web_config
train = load("train", ROOT / "roles/ml_workload/files/image/train.py")


def issue(folder: Path, *, ca_name: str, server_names: list, ip=None):
    """A CA and a server certificate it signs (as community.crypto does for the roles)."""
    now = datetime.datetime.now(datetime.UTC)
    tomorrow = now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca = (
        x509.CertificateBuilder().subject_name(ca_subject).issuer_name(ca_subject).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(tomorrow)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in server_names] + ([x509.IPAddress(ipaddress.ip_address(ip))] if ip else [])
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_names[0])]))
        .issuer_name(ca_subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(tomorrow)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "agent.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "agent.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder


@pytest.fixture
def secured_pushgateway(run_program, tmp_path):
    """The Pushgateway with the certificate the role gives it: its Consul name, not the address it is reached at."""
    tls = issue(tmp_path / "tls", ca_name="monitoring CA", server_names=[NAME, "localhost"])
    config = web_config({"mlops": PASSWORD}, cert_file=str(tls / "agent.crt"), key_file=str(tls / "agent.key"))
    (tmp_path / "web.yml").write_text(yaml.safe_dump(config))
    folder = unpack(verified_archive("pushgateway"), tmp_path / "pgw")
    port = free_port()
    context = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    context.check_hostname = False  # the health probe only: it goes by address
    auth = {"Authorization": "Basic " + base64.b64encode(f"mlops:{PASSWORD}".encode()).decode()}
    run_program(
        "pushgateway",
        [
            str(folder / "pushgateway"),
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.config.file={tmp_path / 'web.yml'}",
        ],
        f"https://127.0.0.1:{port}/-/ready",
        health_headers=auth,
        health_context=context,
    )
    return {"url": f"https://127.0.0.1:{port}", "ca": tls / "ca.crt", "context": context, "auth": auth}


def pusher(monkeypatch, gateway, **env):
    settings = {
        "PUSHGATEWAY_CA_FILE": str(gateway["ca"]),
        "PUSHGATEWAY_TLS_SERVER_NAME": NAME,
        "PUSHGATEWAY_USERNAME": "mlops",
        "PUSHGATEWAY_PASSWORD": PASSWORD,
    } | env
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return train.Pusher(gateway["url"], "training", "digits-sgd", "ml-train/dispatch-1")


SAMPLE = [("mlops_training_accuracy", "Accuracy.", {"epoch": "1"}, 0.91)]


def test_the_training_program_pushes_over_https_with_the_password(secured_pushgateway, monkeypatch):
    pusher(monkeypatch, secured_pushgateway).push(SAMPLE)
    request = urllib.request.Request(secured_pushgateway["url"] + "/metrics", headers=secured_pushgateway["auth"])
    with urllib.request.urlopen(request, timeout=10, context=secured_pushgateway["context"]) as resp:
        body = resp.read().decode()
    (line,) = [line for line in body.splitlines() if line.startswith("mlops_training_accuracy{")]
    for label in ('dispatch_id="ml-train/dispatch-1"', 'epoch="1"', 'job="training"', 'model="digits-sgd"'):
        assert label in line, line
    assert line.endswith(" 0.91"), line


@pytest.mark.parametrize(
    ("env", "refusal"),
    [
        ({"PUSHGATEWAY_PASSWORD": "not-the-password"}, "401"),
        ({"PUSHGATEWAY_USERNAME": ""}, "401"),
        # Reached by address, the certificate must still name the Pushgateway.
        ({"PUSHGATEWAY_TLS_SERVER_NAME": ""}, "IP address mismatch"),
        ({"PUSHGATEWAY_TLS_SERVER_NAME": "prometheus.service.consul"}, "Hostname mismatch"),
    ],
    ids=["wrong-password", "no-user", "no-server-name", "another-name"],
)
def test_the_training_program_is_refused_without_the_password_or_the_name(
    secured_pushgateway, monkeypatch, env, refusal
):
    with pytest.raises(urllib.error.URLError) as caught:
        pusher(monkeypatch, secured_pushgateway, **env).push(SAMPLE)
    assert refusal in str(caught.value), caught.value


def test_a_certificate_from_another_ca_is_refused(secured_pushgateway, monkeypatch, tmp_path):
    other = issue(tmp_path / "other", ca_name="another CA", server_names=[NAME])
    with pytest.raises(urllib.error.URLError, match="certificate verify failed"):
        pusher(monkeypatch, secured_pushgateway, PUSHGATEWAY_CA_FILE=str(other / "ca.crt")).push(SAMPLE)


def test_nothing_is_read_without_the_password(secured_pushgateway):
    assert http("GET", secured_pushgateway["url"].replace("https", "http") + "/metrics")[0] == 400  # plain HTTP
    request = urllib.request.Request(secured_pushgateway["url"] + "/metrics")
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(request, timeout=10, context=secured_pushgateway["context"])
