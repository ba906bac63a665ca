#!/usr/bin/python
# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, rename, move or delete a Grafana folder, keyed by its uid."""

from __future__ import annotations

DOCUMENTATION = r"""
module: grafana_folder
short_description: Create, rename, move or delete a Grafana folder, keyed by its uid
description:
  - Manages one folder, found by its uid, in Grafana's nested folder tree (Grafana 11 and later).
  - Reads the folder first and writes only when its title or parent differ, so a second run changes nothing and
    sends no write request.
  - A create that Grafana answers with 409 or 412 (the uid or the title under that parent is taken, as after a
    concurrent create) is read back by uid and handled as an existing folder.
  - A new title is saved with the folder's current version; a new parent is applied with Grafana's move API
    (an update never changes the parent).
version_added: 0.1.0
author: mlops.stack maintainers (@mlops-stack)
extends_documentation_fragment:
  - mlops.stack.grafana
  - ansible.builtin.action_common_attributes
options:
  uid:
    description:
      - Uid of the folder (letters, digits, C(-) and C(_), at most 40 characters).
    type: str
    required: true
  title:
    description:
      - Title of the folder, trimmed as Grafana does. Required with O(state=present).
      - Titles are unique among the folders of one parent.
    type: str
  parent_uid:
    description:
      - Uid of the parent folder. Leave it out for a top-level folder; a folder found elsewhere is moved.
      - The parent must exist. In check mode a missing parent is only a warning (an earlier task may create it).
    type: str
  force_delete_rules:
    description: With O(state=absent), also delete the alert rules stored in the folder (else Grafana refuses).
    type: bool
    default: false
  state:
    description:
      - C(present) creates or updates the folder; C(absent) deletes it.
      - Deleting a folder deletes everything in it, dashboards and subfolders included.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Reads only; reports what would be created, renamed, moved or deleted.
  diff_mode:
    support: full
    details: Shows uid, title and parent before and after.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: A top-level folder for the platform's dashboards
  mlops.stack.grafana_folder:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: platform
    title: Platform

- name: A folder inside it
  mlops.stack.grafana_folder:
    url: https://grafana.example.com
    token: "{{ grafana_token }}"
    uid: platform-nomad
    title: Nomad
    parent_uid: platform

- name: Remove the folder and everything in it
  mlops.stack.grafana_folder:
    url: https://grafana.example.com
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    uid: platform-nomad
    state: absent
"""

RETURN = r"""
uid:
  description: Uid of the folder.
  returned: always
  type: str
  sample: platform-nomad
folder:
  description: The folder as Grafana returns it (C(GET /api/folders/<uid>)) after the run.
  returned: when the folder exists after the run, outside check mode
  type: dict
  sample:
    id: 7
    uid: platform-nomad
    title: Nomad
    url: /dashboards/f/platform-nomad/nomad
    parentUid: platform
    version: 1
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mlops.stack.plugins.module_utils.dashboard_json import validate_uid
from ansible_collections.mlops.stack.plugins.module_utils.grafana import (
    GrafanaAPIError,
    grafana_argument_spec,
    run_manager,
)

# Grafana keeps this title for the root ("General") folder.
RESERVED_TITLE = "general"


class FolderManager:
    """Reads the folder, compares, and writes only outside check mode."""

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.uid = self.params["uid"]

    def validate(self):
        validate_uid(self.uid, "uid")
        validate_uid(self.params["parent_uid"], "parent_uid")
        if self.params["parent_uid"] == self.uid:
            raise ValueError("parent_uid: a folder cannot be its own parent")
        if self.params["state"] == "present":
            title = (self.params["title"] or "").strip()
            if not title:
                raise ValueError("title: must not be empty")
            if title.lower() == RESERVED_TITLE:
                raise ValueError("title: %r is the name Grafana keeps for its root folder" % title)
            self.params["title"] = title

    @staticmethod
    def view(folder):
        return {"uid": folder["uid"], "title": folder.get("title"), "parent_uid": folder.get("parentUid") or None}

    def check_parent(self, parent_uid):
        if not parent_uid or self.client.get_folder(parent_uid) is not None:
            return
        if self.module.check_mode:
            self.module.warn("parent_uid: no folder %s in Grafana yet; an earlier task may create it" % parent_uid)
            return
        raise ValueError("parent_uid: Grafana has no folder with uid %s" % parent_uid)

    def present(self):
        desired = {"uid": self.uid, "title": self.params["title"], "parent_uid": self.params["parent_uid"] or None}
        current = self.client.get_folder(self.uid)
        self.check_parent(desired["parent_uid"])
        result = {"changed": False, "uid": self.uid}
        if current is None:
            created = {"changed": True, "uid": self.uid, "diff": {"before": {}, "after": desired}}
            if self.module.check_mode:
                return created
            try:
                created["folder"] = self.client.create_folder(self.uid, desired["title"], desired["parent_uid"])
                return created
            except GrafanaAPIError as error:
                # 412 (a duplicate uid, as Grafana 9 to 12 answer) or 409 (the documented answer, or the title
                # taken under this parent): someone else created it; read it back by uid.
                if error.status not in (409, 412):
                    raise
                current = self.client.get_folder(self.uid)
                if current is None:
                    raise error.explained(
                        "Grafana has no folder with uid %s, so another folder holds that title under the same parent"
                        % self.uid
                    ) from None
        before = self.view(current)
        result["folder"] = current
        if before == desired:
            return result
        result["changed"] = True
        result["diff"] = {"before": before, "after": desired}
        if self.module.check_mode:
            return result
        if before["title"] != desired["title"]:
            self.client.update_folder(self.uid, desired["title"], current.get("version"))
        if before["parent_uid"] != desired["parent_uid"]:
            self.client.move_folder(self.uid, desired["parent_uid"])
        result["folder"] = self.client.get_folder(self.uid)
        return result

    def absent(self):
        current = self.client.get_folder(self.uid)
        result = {"changed": current is not None, "uid": self.uid}
        if current is None:
            return result
        result["diff"] = {"before": self.view(current), "after": {}}
        if not self.module.check_mode:
            self.client.delete_folder(self.uid, self.params["force_delete_rules"])
        return result

    def run(self):
        self.validate()
        return self.present() if self.params["state"] == "present" else self.absent()


def main():
    argument_spec = grafana_argument_spec()
    argument_spec.update(
        uid=dict(type="str", required=True),
        title=dict(type="str"),
        parent_uid=dict(type="str"),
        force_delete_rules=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ("title",))],
        supports_check_mode=True,
    )
    run_manager(module, FolderManager)


if __name__ == "__main__":
    main()
