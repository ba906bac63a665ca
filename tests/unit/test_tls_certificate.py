"""Action tls_certificate, run as the roles run it: ansible-playbook on this controller, real files, real openssl.

The roles' certificates are used by real Consul, Nomad, Prometheus, Pushgateway and registry programs in every
Molecule scenario; these tests pin down the action's own contract (what it issues, when it issues again, check mode
and the errors that come before any write).
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def play(tmp_path, *tasks, check=False):
    """Run the tasks on localhost; (return code, the registered results by task index, the whole output)."""
    steps = []
    for index, args in enumerate(tasks):
        steps.append({"name": f"step {index}", "mlops.stack.tls_certificate": args, "register": f"r{index}",
                      "ignore_errors": True})  # fmt: skip
        keep = {"content": f"{{{{ r{index} | to_json }}}}", "dest": str(tmp_path / f"result{index}.json")}
        steps.append({"ansible.builtin.copy": keep, "check_mode": False})
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": steps}]))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".build"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")  # fmt: skip
    command = [str(PLAYBOOK), "-i", "localhost,", "-c", "local", str(book),
               "-e", f"ansible_python_interpreter={sys.executable}"] + (["--check"] if check else [])
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    out = done.stdout + done.stderr
    missing = [i for i in range(len(tasks)) if not (tmp_path / f"result{i}.json").is_file()]
    assert not missing, out
    return done.returncode, [json.loads((tmp_path / f"result{i}.json").read_text()) for i in range(len(tasks))], out


def ca_args(folder):
    return {"path": str(folder / "ca.crt"), "key_path": str(folder / "ca.key"), "common_name": "test CA",
            "ca": True, "days": 3650}  # fmt: skip


def host_args(folder, record="names-1", **over):
    args = {"path": str(folder / "host.crt"), "key_path": str(folder / "host.key"), "common_name": "server.dc1.consul",
            "subject_alt_names": ["DNS:server.dc1.consul", "DNS:localhost", "IP:127.0.0.1"], "days": 30,
            "ca_path": str(folder / "ca.crt"), "ca_key_path": str(folder / "ca.key"),
            "record_path": str(folder / "host.request"), "record": record}  # fmt: skip
    args.update(over)
    return args


def mode_of(path):
    return oct(path.stat().st_mode & 0o777)


def load(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_a_ca_and_a_host_certificate_that_openssl_verifies_then_nothing(tmp_path):
    rc, (ca, host), out = play(tmp_path, ca_args(tmp_path), host_args(tmp_path))
    assert rc == 0, out
    assert ca["changed"] and ca["key_generated"] and host["changed"] and host["issued"]
    verified = subprocess.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(tmp_path / "ca.crt"),
                               str(tmp_path / "host.crt")], capture_output=True, text=True, check=False)  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert mode_of(tmp_path / "ca.key") == mode_of(tmp_path / "host.key") == "0o600"
    assert mode_of(tmp_path / "host.crt") == "0o644" and mode_of(tmp_path / "host.request") == "0o600"
    assert (tmp_path / "host.request").read_text() == "names-1\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tls-certificate-")]

    authority, cert = load(tmp_path / "ca.crt"), load(tmp_path / "host.crt")
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usage) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["server.dc1.consul", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=29, hours=23) < lifetime <= datetime.timedelta(days=30)

    before = {name: (tmp_path / name).read_bytes() for name in ("ca.crt", "ca.key", "host.crt", "host.key")}
    rc, results, out = play(tmp_path, ca_args(tmp_path), host_args(tmp_path))
    assert rc == 0 and [r["changed"] for r in results] == [False, False], out
    assert before == {name: (tmp_path / name).read_bytes() for name in before}


def test_a_new_record_or_force_issues_again_with_the_same_key_and_check_mode_writes_nothing(tmp_path):
    assert play(tmp_path, ca_args(tmp_path), host_args(tmp_path))[0] == 0
    key, cert = (tmp_path / "host.key").read_bytes(), (tmp_path / "host.crt").read_bytes()

    rc, (checked,), out = play(tmp_path, host_args(tmp_path, record="names-2"), check=True)
    assert rc == 0 and checked["changed"] and checked["issued"] and not checked["key_generated"], out
    assert (tmp_path / "host.crt").read_bytes() == cert and (tmp_path / "host.request").read_text() == "names-1\n"

    rc, (renamed,), out = play(tmp_path, host_args(tmp_path, record="names-2"))
    assert rc == 0 and renamed["changed"] and not renamed["key_generated"], out
    assert (tmp_path / "host.key").read_bytes() == key and (tmp_path / "host.crt").read_bytes() != cert
    assert (tmp_path / "host.request").read_text() == "names-2\n"

    cert = (tmp_path / "host.crt").read_bytes()
    rc, (forced,), out = play(tmp_path, host_args(tmp_path, record="names-2", force=True))
    assert rc == 0 and forced["changed"] and (tmp_path / "host.crt").read_bytes() != cert, out
    assert (tmp_path / "host.key").read_bytes() == key


def test_bad_input_fails_naming_the_field_before_anything_is_written(tmp_path):
    assert play(tmp_path, ca_args(tmp_path))[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    assert play(other, ca_args(other))[0] == 0
    wrong_key = host_args(tmp_path, ca_key_path=str(other / "ca.key"))
    bad_name = host_args(tmp_path, subject_alt_names=["DNS:server.dc1.consul", "email:ops@example.org"])
    no_folder = host_args(tmp_path, path=str(tmp_path / "missing" / "host.crt"))
    no_ca = host_args(tmp_path, ca_path=str(tmp_path / "absent.crt"))
    no_signer = {k: v for k, v in host_args(tmp_path).items() if k != "ca_key_path"}
    rc, results, out = play(tmp_path, wrong_key, bad_name, no_folder, no_ca, no_signer)
    assert rc == 0, out  # each step's failure is kept (ignore_errors) to be read here
    messages = [r.get("msg", "") for r in results]
    assert all(r.get("failed") for r in results), messages
    assert "ca_key_path" in messages[0] and "is not the key of" in messages[0]
    assert "subject_alt_names[1]" in messages[1] and "email:ops@example.org" in messages[1]
    assert messages[2].startswith("path: the folder of")
    assert "ca_path/ca_key_path" in messages[3] and "absent.crt" in messages[3]
    assert "ca_key_path" in messages[4]
    assert not (tmp_path / "host.key").exists() and not (tmp_path / "host.crt").exists()
    assert not (tmp_path / "host.request").exists()
