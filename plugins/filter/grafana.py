# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""grafana_resolve_inputs: a dashboard's __inputs resolved the way Grafana's import does it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: grafana_resolve_inputs
short_description: Resolve a Grafana dashboard's C(__inputs) the way Grafana's import API does
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
description:
  - Dashboards exported for sharing declare C(__inputs) and refer to them as C(${NAME}), for example
    C(${DS_PROMETHEUS}) for a datasource uid. Grafana resolves them only in its import API, not in file
    provisioning, so a dashboard written to a provisioning folder needs them resolved first.
  - Does what Grafana's import does, and only that. Every declared input needs a value, except server-side
    expressions (plugin C(__expr__)), which become C(__expr__). Every C(${NAME}) of a declared input inside a
    string value is replaced (regular expression C(\$\{.+?\})); other C(${...}) and all keys stay as they are.
    C(__inputs), C(__requires) and C(__elements) are removed.
  - Fails, naming the input, when a declared input has no value.
  - The C(mlops.stack.grafana_dashboard) module does the same with its C(inputs) option.
positional: inputs
options:
  _input:
    description: The dashboard JSON, as a dict or a JSON string.
    type: raw
    required: true
  inputs:
    description: The inputs' values, by name (C(DS_PROMETHEUS=prometheus)).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Write a shared dashboard for file provisioning, its datasource input resolved
  ansible.builtin.copy:
    content: "{{ node_dashboard | mlops.stack.grafana_resolve_inputs({'DS_PROMETHEUS': 'prometheus'}) | to_nice_json }}"
    dest: /var/lib/grafana/dashboards/node.json
    mode: "0644"
  vars:
    node_dashboard: "{{ lookup('ansible.builtin.file', 'dashboards/node.json') }}"
"""

RETURN = r"""
_value:
  description:
    - The dashboard with the declared inputs substituted, without C(__inputs), C(__requires) and C(__elements).
  type: dict
"""

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import resolve_dashboard_inputs


def grafana_resolve_inputs(dashboard, inputs=None):
    if isinstance(dashboard, str):
        try:
            dashboard = json.loads(dashboard)
        except ValueError as error:
            raise AnsibleFilterError("grafana_resolve_inputs: the dashboard is not valid JSON: %s" % error) from None
    try:
        return resolve_dashboard_inputs(dashboard, inputs)
    except ValueError as error:
        raise AnsibleFilterError("grafana_resolve_inputs: %s" % error) from None


class FilterModule:
    def filters(self):
        return {"grafana_resolve_inputs": grafana_resolve_inputs}
