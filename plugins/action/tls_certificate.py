# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_certificate: a key and a certificate issued on the controller, in the controller's own process.

The documentation is in plugins/modules/tls_certificate.py. Everything happens here, in the worker that runs the
task: no module is sent anywhere, so a host's key and certificate cost one step instead of the four module runs
(key, request, signature, fingerprint) that community.crypto's modules take.
"""

from __future__ import annotations

import datetime
import ipaddress
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.mlops.stack.plugins.module_utils.files import read_bytes, write_bytes

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    x509 = None

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "key_path": {"type": "path", "required": True},
    "common_name": {"type": "str", "required": True},
    "subject_alt_names": {"type": "list", "elements": "str", "default": []},
    "days": {"type": "int", "required": True},
    "ca": {"type": "bool", "default": False},
    "ca_path": {"type": "path"},
    "ca_key_path": {"type": "path"},
    "record_path": {"type": "path"},
    "record": {"type": "str"},
    "force": {"type": "bool", "default": False},
}
# A few minutes before now: a host whose clock is slightly behind the controller's accepts it at once.
BACKDATE = datetime.timedelta(minutes=5)


def general_names(values):
    """x509 names of DNS:, IP: and URI: entries; a ValueError naming the entry for anything else."""
    names = []
    for index, value in enumerate(values):
        kind, name = value.split(":", 1) if ":" in value else (value, "")
        try:
            if kind == "DNS" and name:
                names.append(x509.DNSName(name))
            elif kind == "IP" and name:
                names.append(x509.IPAddress(ipaddress.ip_address(name)))
            elif kind == "URI" and name:
                names.append(x509.UniformResourceIdentifier(name))
            else:
                raise ValueError("it must start with DNS:, IP: or URI: and name something")
        except ValueError as error:
            raise ValueError("subject_alt_names[%d] (%r): %s" % (index, value, error)) from error
    return names


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


def issue(key, common_name, sans, days, ca_cert=None, ca_key=None, now=None):
    """A certificate for key: a self-signed CA when ca_cert is None, else a server and client one signed by the CA."""
    now = now or datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if ca_cert is None else ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )  # fmt: skip
    if ca_cert is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )  # fmt: skip
        signer = key
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        signer = ca_key
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer, hashes.SHA256())


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if x509 is None:
            raise AnsibleActionFail("tls_certificate needs the Python package cryptography on the controller")
        args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            required_if=[("ca", False, ("ca_path", "ca_key_path"))],
            required_together=[("record_path", "record")],
        )[1]
        if args["days"] < 1:
            raise AnsibleActionFail("days must be at least 1, got %d" % args["days"])
        try:
            sans = general_names(args["subject_alt_names"])
        except ValueError as error:
            raise AnsibleActionFail(str(error)) from error
        for field in ("path", "key_path", "record_path"):
            if args[field] and not os.path.isdir(os.path.dirname(args[field]) or "."):
                raise AnsibleActionFail("%s: the folder of %s does not exist" % (field, args[field]))

        key_pem_now = read_bytes(args["key_path"])
        key = None
        if key_pem_now is not None:
            try:
                key = serialization.load_pem_private_key(key_pem_now, password=None)
            except (ValueError, TypeError) as error:
                raise AnsibleActionFail("key_path: %s is not an unencrypted PEM private key: %s"
                                        % (args["key_path"], error)) from error  # fmt: skip
        record_now = read_bytes(args["record_path"]) if args["record_path"] else None
        record_differs = bool(args["record_path"]) and (record_now or b"").decode(errors="replace").strip() != (
            args["record"].strip()
        )
        cert_missing = read_bytes(args["path"]) is None
        due = key is None or cert_missing or args["force"] or record_differs
        result.update(changed=due, key_generated=key is None, issued=due)
        if not due or self._task.check_mode:
            return result

        ca_cert = ca_key = None
        if not args["ca"]:
            ca_cert, ca_key = self._signer(args)
        if key is None:
            key = new_key()
            write_bytes(args["key_path"], key_pem(key), 0o600)
        certificate = issue(key, args["common_name"], sans, args["days"], ca_cert, ca_key)
        write_bytes(args["path"], certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        if args["record_path"]:
            write_bytes(args["record_path"], (args["record"].strip() + "\n").encode(), 0o600)
        return result

    @staticmethod
    def _signer(args):
        """The CA's certificate and key, read before anything is written."""
        ca_pem, ca_key_pem = read_bytes(args["ca_path"]), read_bytes(args["ca_key_path"])
        if ca_pem is None or ca_key_pem is None:
            missing = args["ca_path"] if ca_pem is None else args["ca_key_path"]
            raise AnsibleActionFail("ca_path/ca_key_path: the CA's %s does not exist" % missing)
        try:
            ca_cert = x509.load_pem_x509_certificate(ca_pem)
            ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
        except (ValueError, TypeError) as error:
            raise AnsibleActionFail("ca_path/ca_key_path: cannot read the CA: %s" % error) from error
        if ca_cert.public_key().public_numbers() != ca_key.public_key().public_numbers():
            raise AnsibleActionFail("ca_key_path: %s is not the key of %s" % (args["ca_key_path"], args["ca_path"]))
        return ca_cert, ca_key
