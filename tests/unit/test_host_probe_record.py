"""host_probe's record and one look per host: which earlier reading a probe may reuse, and how one reading for
several probes is split. (Run for real by tests/integration/test_host_probe_ahead.py and site.yml's scenarios.)"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".build"))

from ansible_collections.mlops.stack.plugins.module_utils.probe import (
    DEFAULT_CHECKSUM_MAX_SIZE,
    probe_spec,
    record_text,
    recorded_specs,
    reusable_reading,
    split_reading,
)

SPEC = probe_spec({"paths": ["/etc/consul.d/consul.hcl", "/usr/local/bin/consul"], "users": ["consul"],
                   "groups": ["consul"], "units": ["consul"]})
READING = {"files": {"/etc/consul.d/consul.hcl": {"exists": True}}, "users": {}, "groups": {}, "units": {},
           "packages": {}, "trees": {}, "machine": "x86_64", "systemd_running": True, "os_release": {}}


def ahead(**recorded):
    return {"changed": False, "recorded": recorded}


def test_the_spec_is_the_lists_sorted_with_the_default_checksum_limit():
    assert SPEC == {"paths": ["/etc/consul.d/consul.hcl", "/usr/local/bin/consul"], "users": ["consul"],
                    "groups": ["consul"], "units": ["consul"], "packages": [], "trees": [],
                    "checksum_max_size": DEFAULT_CHECKSUM_MAX_SIZE}
    assert probe_spec({"checksum_max_size": "1024", "paths": None})["checksum_max_size"] == 1024


def test_a_reading_of_exactly_the_same_lists_is_reused():
    assert reusable_reading(ahead(**{"install:consul": {"spec": SPEC, "result": READING}}), "install:consul",
                            SPEC) is READING


def test_the_order_of_a_list_means_nothing():
    # The roles build their lists with union, whose order changes from one run to the next.
    again = probe_spec({"paths": ["/usr/local/bin/consul", "/etc/consul.d/consul.hcl", "/usr/local/bin/consul"],
                        "users": ["consul"], "groups": ["consul"], "units": ["consul"]})
    assert again == SPEC and SPEC["paths"] == ["/etc/consul.d/consul.hcl", "/usr/local/bin/consul"]


def test_other_lists_another_name_or_no_look_are_read_again():
    recorded = {"install:consul": {"spec": SPEC, "result": READING}}
    assert reusable_reading(ahead(**recorded), "install:consul", dict(SPEC, paths=SPEC["paths"][:1])) is None
    assert reusable_reading(ahead(**recorded), "install:consul", dict(SPEC, units=[])) is None
    assert reusable_reading(ahead(**recorded), "install:consul", dict(SPEC, checksum_max_size=1)) is None
    assert reusable_reading(ahead(**recorded), "install:nomad", SPEC) is None
    # Forgotten after a write ({}), failed, skipped or not a look at all.
    for look in ({}, None, "text", dict(ahead(**recorded), failed=True), {"skipped": True},
                 {"recorded": "x"}, ahead(**{"install:consul": {"spec": SPEC}})):
        assert reusable_reading(look, "install:consul", SPEC) is None


def test_the_record_reads_back_and_is_stable():
    text = record_text({"b": SPEC, "a": probe_spec({"paths": ["/x"]})})
    assert text == record_text({"a": probe_spec({"paths": ["/x"]}), "b": SPEC})
    assert recorded_specs(text) == {"a": probe_spec({"paths": ["/x"]}), "b": SPEC}


def test_a_missing_or_damaged_record_holds_nothing():
    for text in ("", "{", "[]", '{"probes": []}', '{"version": 1}'):
        assert recorded_specs(text) == {}
    assert recorded_specs('{"probes": {"a": "x", "b": {"paths": ["/y"]}}}') == {"b": probe_spec({"paths": ["/y"]})}


SIZE = DEFAULT_CHECKSUM_MAX_SIZE


def test_one_reading_splits_into_each_probes_part():
    shared = {
        "files": {("/a", SIZE): {"exists": True}, ("/b", SIZE): {"exists": False},
                  ("/a", 10): {"exists": True, "size": 20}, ("/b", 10): {"exists": False}},
        "users": {"consul": {"exists": True}, "nomad": {"exists": False}},
        "groups": {"consul": {"exists": True}},
        "units": {"consul": {"active": "active"}, "nomad": {"active": "inactive"}},
        "packages": {"docker.io": {"installed": False}},
        "trees": {"/t": ["/t/x"]},
        "systemd_running": True, "machine": "aarch64", "os_release": {"id": "debian"},
    }
    wanted = probe_spec({"paths": ["/a"], "users": ["consul"], "groups": ["consul"], "units": ["consul"]})
    consul = split_reading(shared, wanted)
    assert consul == {"files": {"/a": {"exists": True}}, "users": {"consul": {"exists": True}},
                      "groups": {"consul": {"exists": True}}, "units": {"consul": {"active": "active"}},
                      "packages": {}, "trees": {}, "systemd_running": True, "machine": "aarch64",
                      "os_release": {"id": "debian"}}
    small = split_reading(shared, probe_spec({"paths": ["/a", "/b"], "checksum_max_size": 10, "trees": ["/t"],
                                              "packages": ["docker.io"]}))
    assert small["files"] == {"/a": {"exists": True, "size": 20}, "/b": {"exists": False}}
    assert small["trees"] == {"/t": ["/t/x"]} and small["packages"] == {"docker.io": {"installed": False}}
    assert small["users"] == {} and small["units"] == {}
