# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_days_left: how long PEM certificates on the controller stay valid, without a module run."""

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_days_left
short_description: Days until each PEM certificate on the controller expires
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Reads each certificate in the controller's own process and returns the days (a float) until its C(notAfter);
    negative once it has expired.
  - The roles compare it with their renewal threshold (C(consul_tls_renew_days), C(nomad_tls_renew_days)) and issue a
    host certificate again only when it is that close to its end, so an unchanged controller costs no module run.
options:
  _terms:
    description: Paths of PEM certificates on the controller (the first certificate of each file counts).
    type: list
    elements: path
    required: true
notes:
  - Reads the certificate's C(notAfter) with a small DER reader of its own rather than the C(cryptography) package,
    whose import would cost each task worker that evaluates a condition with this lookup about 20 ms of CPU.
"""

EXAMPLES = r"""
- name: Issue the certificate again when it expires within 30 days
  ansible.builtin.include_tasks: issue.yml
  when: query('mlops.stack.certificate_days_left', '/srv/secrets/host.crt') | first < 30
"""

RETURN = r"""
_raw:
  description: The days left for each path, in the order given.
  type: list
  elements: float
"""

import base64
import binascii
import datetime
import re

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
# DER tags read on the way to notAfter.
_SEQUENCE = 0x30
_INTEGER = 0x02
_VERSION = 0xA0  # [0] EXPLICIT
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18


def _element(der, offset, tags):
    """The DER element at offset, whose tag must be one of tags: (tag, content start, content end)."""
    try:
        tag, length = der[offset], der[offset + 1]
    except IndexError:
        raise ValueError("the certificate ends early") from None
    if tag not in tags:
        raise ValueError("unexpected DER tag 0x%02x at byte %d" % (tag, offset))
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or offset + count > len(der):
            raise ValueError("unsupported DER length at byte %d" % offset)
        length = int.from_bytes(der[offset : offset + count], "big")
        offset += count
    if offset + length > len(der):
        raise ValueError("the certificate ends early")
    return tag, offset, offset + length


def not_after(pem):
    """The notAfter time (aware, UTC) of the first certificate in pem (bytes)."""
    block = _PEM_BLOCK.search(pem)
    if block is None:
        raise ValueError("no PEM certificate block")
    try:
        der = base64.b64decode(b"".join(block.group(1).split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the PEM block is not base64: %s" % error) from None
    # Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
    #                                                        signature, issuer, validity, ... }, ... }
    position = _element(der, 0, (_SEQUENCE,))[1]
    position = _element(der, position, (_SEQUENCE,))[1]
    tag, _start, end = _element(der, position, (_VERSION, _INTEGER))
    if tag == _VERSION:
        end = _element(der, end, (_INTEGER,))[2]
    end = _element(der, end, (_SEQUENCE,))[2]  # signature algorithm
    end = _element(der, end, (_SEQUENCE,))[2]  # issuer
    validity = _element(der, end, (_SEQUENCE,))[1]
    end = _element(der, validity, (_UTC_TIME, _GENERALIZED_TIME))[2]  # notBefore
    tag, start, end = _element(der, end, (_UTC_TIME, _GENERALIZED_TIME))
    text = der[start:end].decode("ascii", "replace")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280: YY of 50 and above is 19YY
        if not re.fullmatch(r"\d{12}Z", text):
            raise ValueError("unexpected UTCTime %r" % text)
        text = ("19" if int(text[:2]) >= 50 else "20") + text
    elif not re.fullmatch(r"\d{14}Z", text):
        raise ValueError("unexpected GeneralizedTime %r" % text)
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC)


def days_left(pem, now=None):
    """Days from now until the first certificate in pem (bytes) expires."""
    now = now or datetime.datetime.now(datetime.UTC)
    return (not_after(pem) - now).total_seconds() / 86400


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        result = []
        for term in terms:
            if not isinstance(term, str) or not term:
                raise AnsibleLookupError("certificate_days_left: each term must be a path, not %r" % (term,))
            try:
                with open(term, "rb") as handle:
                    pem = handle.read()
                result.append(days_left(pem))
            except OSError as error:
                raise AnsibleLookupError("certificate_days_left: cannot read %s: %s" % (term, error)) from error
            except ValueError as error:
                message = "certificate_days_left: %s is not a PEM certificate: %s" % (term, error)
                raise AnsibleLookupError(message) from error
        return result
