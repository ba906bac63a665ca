#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_certificate: documentation only; the action plugin of the same name does the work, on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_certificate
short_description: Generate a key and issue a certificate on the controller, in one step
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Runs on the controller, in the process of the task (an action plugin). Nothing is sent to the host, and one task
    replaces the key, request, signature and fingerprint steps of community.crypto's modules.
  - Generates the key (ECDSA P-256, PKCS#8, mode C(0600)) when O(key_path) does not exist, and keeps it otherwise.
  - Issues the certificate (mode C(0644)) when it or its key does not exist, when O(force) is true, or when O(record)
    differs from what O(record_path) holds; then writes O(record) there (mode C(0600)). An unchanged certificate costs
    nothing but reading two small files.
  - With O(ca=true) the certificate is a self-signed CA (basic constraints C(CA:TRUE) and key usage C(keyCertSign),
    C(cRLSign) and C(digitalSignature), both critical); otherwise it is signed by O(ca_path) with O(ca_key_path), for
    both server and client authentication.
  - Every file is written through a temporary file in the same folder, its mode set before the rename.
  - Bad input (a subject alternative name without C(DNS:), C(IP:) or C(URI:), a CA key that does not belong to the CA
    certificate, a folder that does not exist) fails naming the field before anything is written.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  path:
    description: Where the certificate is kept (PEM).
    type: path
    required: true
  key_path:
    description: Where its private key is kept (PEM); generated when missing.
    type: path
    required: true
  common_name:
    description: The subject's common name.
    type: str
    required: true
  subject_alt_names:
    description: Subject alternative names, each C(DNS:name), C(IP:address) or C(URI:uri).
    type: list
    elements: str
    default: []
  days:
    description: Days from now until the certificate expires.
    type: int
    required: true
  ca:
    description: Issue a self-signed CA certificate instead of one signed by O(ca_path).
    type: bool
    default: false
  ca_path:
    description: The CA's certificate; required unless O(ca=true).
    type: path
  ca_key_path:
    description: The CA's private key; required unless O(ca=true).
    type: path
  record_path:
    description:
      - A file beside the certificate that keeps what it was issued for (the roles keep a fingerprint of its names,
        lifetime and CA there); required with O(record).
    type: path
  record:
    description:
      - What the certificate must have been issued for; it is issued again when O(record_path) holds anything else.
    type: str
  force:
    description: Issue the certificate again, with the same key (the roles renew it so close to its end).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - cryptography on the controller (a dependency of ansible-core)
notes:
  - It never reads or writes anything on the host; the roles install the files with M(mlops.stack.host_files).
  - The key's content is never returned.
"""

EXAMPLES = r"""
- name: Generate the CA once
  mlops.stack.tls_certificate:
    path: "{{ secrets }}/ca.crt"
    key_path: "{{ secrets }}/ca.key"
    common_name: mlops.stack consul CA
    ca: true
    days: 3650

- name: Issue this host's certificate
  mlops.stack.tls_certificate:
    path: "{{ secrets }}/{{ inventory_hostname }}.crt"
    key_path: "{{ secrets }}/{{ inventory_hostname }}.key"
    common_name: server.dc1.consul
    subject_alt_names: [DNS:server.dc1.consul, DNS:localhost, IP:127.0.0.1]
    days: 825
    ca_path: "{{ secrets }}/ca.crt"
    ca_key_path: "{{ secrets }}/ca.key"
    record_path: "{{ secrets }}/{{ inventory_hostname }}.request"
    record: "{{ {'cn': 'server.dc1.consul', 'days': 825} | to_json | hash('sha256') }}"
"""

RETURN = r"""
issued:
  description: Whether the certificate was (in check mode, would be) issued.
  returned: always
  type: bool
key_generated:
  description: Whether the key was (in check mode, would be) generated.
  returned: always
  type: bool
"""
