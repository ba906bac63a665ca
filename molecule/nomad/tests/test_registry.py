"""The registry (Debian 12 host) as the Debian 13 host's Docker engine uses it: HTTPS with the monitoring CA,
nothing without the password, a push and a pull by digest with it."""

import os
import re
import shlex
from pathlib import Path

import pytest
import testinfra
from cryptography import x509

REGISTRY_HOST = "mlops-nomad-debian12"
# The name its certificate carries for Consul's DNS (a host name with "_" is no image reference).
NAME = "registry.service.consul"
ADDRESS = f"{NAME}:5000"
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory" / ".secrets"
# Generated once by the role on the controller.
PASSWORD = (SECRETS / "monitoring" / "registry.password").read_text().strip()
CA = f"/etc/docker/certs.d/{ADDRESS}/ca.crt"
LOGIN = f"printf %s {shlex.quote(PASSWORD)} | docker login -u mlops --password-stdin {ADDRESS}"
# The engine under test pushes and pulls; the registry runs on the other host.
testinfra_hosts = ["mlops-nomad-debian13"]


@pytest.fixture(scope="module")
def registry():
    return testinfra.get_host(f"docker://{REGISTRY_HOST}")


@pytest.fixture(scope="module")
def client(registry):
    """The Debian 13 host, set up as a user sets up a client: the registry's name, and the CA Docker trusts for it."""
    host = testinfra.get_host("docker://mlops-nomad-debian13")
    # Its address on the outer engine's network (its own engine's bridge is another interface).
    address = registry.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]
    host.check_output(f"grep -q ' {NAME}$' /etc/hosts || echo '{address} {NAME}' >> /etc/hosts")
    ca = registry.file("/etc/registry/tls/ca.crt").content_string
    host.check_output(f"mkdir -p {shlex.quote(str(Path(CA).parent))} && printf %s {shlex.quote(ca)} > {CA}")
    host.run(f"docker logout {ADDRESS}")
    yield host
    host.run(f"docker logout {ADDRESS}")


def status_of(host, auth: str, path: str) -> str:
    return host.run(f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 --cacert {CA} {auth} https://{ADDRESS}{path}").stdout


def test_runs_as_its_own_user_with_its_secrets_closed(registry):
    assert registry.service("registry").is_running
    assert registry.service("registry").is_enabled
    pid = registry.check_output("systemctl show --property=MainPID --value registry")
    assert int(registry.check_output(f"stat -c %u /proc/{pid}")) == registry.user("registry").uid
    for path in ("/etc/registry/config.yml", "/etc/registry/htpasswd", "/etc/registry/tls/agent.key"):
        secret = registry.file(path)
        assert (secret.user, secret.group, secret.mode) == ("root", "registry", 0o640), path
    assert re.fullmatch(r"mlops:\$2b\$10\$\S{53}\n", registry.file("/etc/registry/htpasswd").content_string)
    assert registry.file("/var/lib/registry").user == "registry"


def test_certificate_names_the_host_once_and_nothing_of_the_controller(registry):
    """Issued on the controller in delegated tasks: the names are the host's, each once (a name read there from
    ansible_host would be the controller's; and a name that differs from the kept request re-issues every run)."""
    cert = x509.load_pem_x509_certificate(registry.file("/etc/registry/tls/agent.crt").content)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = [f"{type(name).__name__}:{name.value}" for name in sans]
    assert names == [f"DNSName:{NAME}", f"DNSName:{REGISTRY_HOST}", "DNSName:localhost", "IPAddress:127.0.0.1"], names


def test_nothing_without_the_password(client):
    for path in ("/v2/", "/v2/_catalog"):
        assert status_of(client, "", path) == "401", path
        assert status_of(client, "-u mlops:wrong-password", path) == "401", path
    assert status_of(client, f"-u mlops:{PASSWORD}", "/v2/") == "200"


def test_push_and_pull_by_digest_need_the_password(client, registry):
    name = f"{ADDRESS}/mlops/probe:1"
    # A small image of its own (one layer, a few kB): what is measured is the registry, not the disk.
    client.check_output(f"tar -C /etc -c os-release | docker import - {name}")
    refused = client.run(f"docker push {name}")  # anonymous push
    assert refused.rc != 0 and "no basic auth credentials" in refused.stderr + refused.stdout, refused.stderr

    login = client.run(LOGIN)
    assert login.rc == 0, login.stderr
    pushed = client.check_output(f"docker push {name}")
    digest = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed).group(1)
    catalog = client.check_output(f"curl -fsS --cacert {CA} -u mlops:{PASSWORD} https://{ADDRESS}/v2/_catalog")
    assert '"mlops/probe"' in catalog

    by_digest = f"{ADDRESS}/mlops/probe@{digest}"
    client.check_output(f"docker rmi {name}")
    client.check_output(f"docker logout {ADDRESS}")
    refused = client.run(f"docker pull {by_digest}")  # unauthenticated pull
    assert refused.rc != 0 and "no basic auth credentials" in refused.stderr + refused.stdout, refused.stderr
    assert client.run(LOGIN).rc == 0
    client.check_output(f"docker pull {by_digest}")
    assert client.check_output(f"docker image inspect --format '{{{{index .RepoDigests 0}}}}' {by_digest}") == by_digest
