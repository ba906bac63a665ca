#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, update or delete a Grafana datasource, keyed by its uid."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_datasource
short_description: Create, update or delete a Grafana datasource, keyed by its uid
description:
  - Manages one datasource, found by its uid. Only the fields given here are compared with what Grafana returns,
    so a second run changes nothing and sends no write request.
  - Grafana never returns secrets (C(secureJsonData)), only which keys are set (C(secureJsonFields)). Secrets are
    compared by that presence; they are sent when the datasource is created, when a key is missing in Grafana,
    or on every run with O(enforce_secure_json_data=true). They are never returned.
  - An update sends the whole record (Grafana's update replaces it), built from what Grafana holds with the given
    fields on top and Grafana's current version, so a concurrent update is refused rather than overwritten.
  - A read-only (provisioned) datasource cannot be changed or deleted through the API; the module fails, naming
    it, when a change would be needed.
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.grafana
  - ansible.builtin.action_common_attributes
options:
  uid:
    description: Uid of the datasource (letters, digits, C(-) and C(_), at most 40 characters).
    type: str
    required: true
  name:
    description: Name of the datasource, unique in the organisation. Required with O(state=present).
    type: str
  type:
    description: Plugin id of the datasource, for example C(prometheus). Required with O(state=present).
    type: str
  access:
    description: How Grafana reaches it; a new datasource gets C(proxy) when this is not set.
    type: str
    choices: [proxy, direct]
  datasource_url:
    description:
      - URL of the datasource (its C(url) field), for example C(http://prometheus.service.consul:9090).
      - O(url) is Grafana's own URL.
    type: str
  user:
    description: User name for datasources that take one (databases).
    type: str
  database:
    description: Database name for datasources that take one.
    type: str
  basic_auth:
    description: Whether Grafana sends basic auth to the datasource (the password goes in O(secure_json_data)).
    type: bool
  basic_auth_user:
    description: User for O(basic_auth).
    type: str
  with_credentials:
    description: Whether browser requests send cookies and credentials (direct access).
    type: bool
  is_default:
    description: Whether this is the organisation's default datasource; Grafana clears the flag on the others.
    type: bool
  json_data:
    description:
      - Plugin settings (C(jsonData)), compared as a whole; for Prometheus for example C(httpMethod) and
        C(timeInterval).
    type: dict
  secure_json_data:
    description:
      - Secrets (C(secureJsonData)), for example C(basicAuthPassword) or C(httpHeaderValue1).
      - Compared only by presence in Grafana's C(secureJsonFields); an empty value means the key should not be set.
    type: dict
  enforce_secure_json_data:
    description:
      - Send O(secure_json_data) on every run, so a changed secret reaches Grafana.
      - Grafana cannot say whether a secret differs, so the task then always reports changed.
    type: bool
    default: false
  state:
    description: C(present) creates or updates the datasource; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads only; reports what would be created, changed or deleted.
  diff_mode:
    support: full
    details: Shows the compared fields before and after; secrets only as key names.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: partial
    details: Not with O(enforce_secure_json_data=true), which sends the secrets and reports changed on every run.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Prometheus as the default datasource
  mlops.stack.grafana_datasource:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: prometheus
    name: Prometheus
    type: prometheus
    datasource_url: http://prometheus.service.consul:9090
    is_default: true
    json_data:
      httpMethod: POST
      timeInterval: 15s

- name: Prometheus behind basic auth, the password pushed only when it is missing
  mlops.stack.grafana_datasource:
    url: https://grafana.example.com
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    uid: prometheus
    name: Prometheus
    type: prometheus
    datasource_url: https://prometheus.example.com
    basic_auth: true
    basic_auth_user: grafana
    secure_json_data:
      basicAuthPassword: "{{ prometheus_grafana_password }}"
    json_data:
      httpMethod: POST
      timeInterval: 15s

- name: Rotate that password (sent, and reported changed, on every run)
  mlops.stack.grafana_datasource:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: prometheus
    name: Prometheus
    type: prometheus
    secure_json_data:
      basicAuthPassword: "{{ new_password }}"
    enforce_secure_json_data: true

- name: Remove a datasource
  mlops.stack.grafana_datasource:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: old-loki
    state: absent
"""

RETURN = r"""
uid:
  description: Uid of the datasource.
  returned: always
  type: str
  sample: prometheus
datasource:
  description:
    - The datasource as Grafana returns it after the run; secrets appear only as C(secureJsonFields).
    - In check mode, the datasource as it was.
  returned: when the datasource exists
  type: dict
  sample:
    id: 3
    uid: prometheus
    name: Prometheus
    type: prometheus
    access: proxy
    url: http://127.0.0.1:9090
    isDefault: true
    jsonData:
      httpMethod: POST
    secureJsonFields:
      basicAuthPassword: true
    readOnly: false
    version: 2
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import validate_uid
from ansible_collections.mlops.stack.plugins.module_utils.grafana import (
    GrafanaAPIError,
    grafana_argument_spec,
    run_manager,
)

# Module option -> Grafana field, and the value Grafana reports when the field is unset.
FIELDS = (
    ("name", "name", ""),
    ("type", "type", ""),
    ("access", "access", ""),
    ("datasource_url", "url", ""),
    ("user", "user", ""),
    ("database", "database", ""),
    ("basic_auth", "basicAuth", False),
    ("basic_auth_user", "basicAuthUser", ""),
    ("with_credentials", "withCredentials", False),
    ("is_default", "isDefault", False),
    ("json_data", "jsonData", {}),
)
# What an update sends from the current record besides the given fields (it replaces the whole record).
RECORD = ("uid", "apiVersion", *(field for _option, field, _unset in FIELDS))
# What a diff shows for a secret that would be sent.
SECRET_PLACEHOLDER = "********"  # noqa: S105


class DatasourceManager:
    """Reads the datasource, compares the given fields, and writes only outside check mode."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.uid = self.params["uid"]
        self.desired = {
            field: self.params[option] for option, field, _unset in FIELDS if self.params[option] is not None
        }
        self.secrets = self.params["secure_json_data"] or {}

    @staticmethod
    def current_value(current, field):
        unset = dict((f, u) for _o, f, u in FIELDS)[field]
        value = current.get(field)
        return unset if value is None else value

    def compare(self, current):
        """(before, after, secret keys to send) for an existing datasource."""
        before = {field: self.current_value(current, field) for field in self.desired}
        after = dict(self.desired)
        present = current.get("secureJsonFields") or {}
        send = []
        if self.secrets:
            before["secureJsonFields"] = {key: bool(present.get(key)) for key in sorted(self.secrets)}
            after["secureJsonFields"] = {key: bool(value) for key, value in sorted(self.secrets.items())}
            if self.params["enforce_secure_json_data"]:
                send = sorted(self.secrets)
            else:
                send = [
                    key
                    for key in sorted(self.secrets)
                    if before["secureJsonFields"][key] != after["secureJsonFields"][key]
                ]
        if send:
            after["secureJsonData"] = {key: SECRET_PLACEHOLDER for key in send}
        return before, after, send

    def create(self):
        body = {"uid": self.uid, "access": "proxy"}
        body.update(self.desired)
        if self.secrets:
            body["secureJsonData"] = dict(self.secrets)
        return self.client.create_datasource(body)["datasource"]

    def update(self, current, send):
        body = {field: current[field] for field in RECORD if field in current}
        body.update(self.desired)
        body["version"] = current.get("version", 0)
        if send:
            body["secureJsonData"] = {key: self.secrets[key] for key in send}
        return self.client.update_datasource(self.uid, body)["datasource"]

    def refused_create(self, error):
        holder = self.client.get_datasource_by_name(self.desired["name"])
        if holder is not None and holder.get("uid") != self.uid:
            return error.explained(
                "the name %r belongs to the datasource with uid %s" % (holder.get("name"), holder.get("uid"))
            )
        return error.explained("Grafana has no datasource with uid %s" % self.uid)

    def present(self):
        current = self.client.get_datasource(self.uid)
        result = {"changed": False, "uid": self.uid}
        if current is None:
            after = dict(self.desired, access=self.desired.get("access", "proxy"))
            if self.secrets:
                after["secureJsonData"] = {key: SECRET_PLACEHOLDER for key in sorted(self.secrets)}
            created = {"changed": True, "uid": self.uid, "diff": {"before": {}, "after": after}}
            if self.module.check_mode:
                return created
            try:
                created["datasource"] = self.create()
                return created
            except GrafanaAPIError as error:
                if error.status not in (409, 412):
                    raise
                current = self.client.get_datasource(self.uid)  # created meanwhile?
                if current is None:
                    raise self.refused_create(error) from None
        result["datasource"] = current
        before, after, send = self.compare(current)
        if before == after and not send:
            return result
        result.update(changed=True, diff={"before": before, "after": after})
        if current.get("readOnly"):
            self.module.fail_json(
                msg="datasource %s (%s) is provisioned (readOnly), cannot be changed through the API; "
                "change it in Grafana's provisioning files" % (self.uid, current.get("name")),
                **result,
            )
        if not self.module.check_mode:
            result["datasource"] = self.update(current, send)
        return result

    def absent(self):
        current = self.client.get_datasource(self.uid)
        result = {"changed": current is not None, "uid": self.uid}
        if current is None:
            return result
        result["datasource"] = current
        before = {field: current.get(field) for field in ("uid", "name", "type", "url")}
        result["diff"] = {"before": before, "after": {}}
        if current.get("readOnly"):
            self.module.fail_json(
                msg="datasource %s (%s) is provisioned (readOnly), cannot be deleted through the API; "
                "remove it from Grafana's provisioning files" % (self.uid, current.get("name")),
                **result,
            )
        if not self.module.check_mode:
            self.client.delete_datasource(self.uid)
            del result["datasource"]
        return result

    def run(self):
        validate_uid(self.uid, "uid")
        for key, value in self.secrets.items():
            if not isinstance(value, str):
                raise ValueError("secure_json_data: the value of %s must be a string" % key)
        return self.present() if self.params["state"] == "present" else self.absent()


def main():
    argument_spec = grafana_argument_spec()
    argument_spec.update(
        uid=dict(type="str", required=True),
        name=dict(type="str"),
        type=dict(type="str"),
        access=dict(type="str", choices=["proxy", "direct"]),
        datasource_url=dict(type="str"),
        user=dict(type="str"),
        database=dict(type="str"),
        basic_auth=dict(type="bool"),
        basic_auth_user=dict(type="str"),
        with_credentials=dict(type="bool"),
        is_default=dict(type="bool"),
        json_data=dict(type="dict"),
        secure_json_data=dict(type="dict", no_log=True),
        enforce_secure_json_data=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ("name", "type"))],
        supports_check_mode=True,
    )
    run_manager(module, DatasourceManager)


if __name__ == "__main__":
    main()
