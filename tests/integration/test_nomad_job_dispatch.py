"""nomad_job_dispatch and nomad_job_info against a real Nomad agent."""

from modules import run_module

TRAINER = """
job "trainer" {
  type = "batch"
  parameterized {
    meta_required = ["MODEL_NAME"]
    meta_optional = ["TRAINING_EPOCHS"]
  }
  group "train" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "train" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo training $NOMAD_META_MODEL_NAME; test \\"$NOMAD_META_MODEL_NAME\\" != broken"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"""


def runs(address):
    return run_module("nomad_job_info", {"address": address, "prefix": "trainer/dispatch-"})["jobs"]


def test_dispatch_waits_is_idempotent_with_a_token_and_reports_failures(nomad_dev):
    assert run_module("nomad_job", {"address": nomad_dev, "hcl": TRAINER})["changed"] is True
    args = {"address": nomad_dev, "name": "trainer", "meta": {"MODEL_NAME": "iris", "TRAINING_EPOCHS": 3},
            "idempotency_token": "run-1", "wait": True, "wait_timeout": 120}  # fmt: skip

    checked = run_module("nomad_job_dispatch", args, check=True)
    assert checked["changed"] is True, checked
    assert runs(nomad_dev) == [], "check mode dispatched a run"

    first = run_module("nomad_job_dispatch", args)
    assert first["changed"] is True and first["status"] == "complete", first
    assert first["dispatched_job_id"].startswith("trainer/dispatch-")

    again = run_module("nomad_job_dispatch", args)
    assert again["changed"] is False and again["dispatched_job_id"] == first["dispatched_job_id"], again
    checked_again = run_module("nomad_job_dispatch", args, check=True)
    assert checked_again["changed"] is False and checked_again["dispatched_job_id"] == first["dispatched_job_id"]
    assert len(runs(nomad_dev)) == 1

    info = run_module("nomad_job_info", {"address": nomad_dev, "name": first["dispatched_job_id"]})
    assert info["exists"] is True and info["status"] == "dead"
    assert info["summary"]["train"]["Complete"] == 1
    assert [a["ClientStatus"] for a in info["allocations"]] == ["complete"]
    missing = run_module("nomad_job_info", {"address": nomad_dev, "name": "no-such-job"})
    assert missing["exists"] is False and not missing.get("failed"), missing

    broken = dict(args, meta={"MODEL_NAME": "broken"})
    broken["idempotency_token"] = "run-2"  # noqa: S105 - not a secret
    failed = run_module("nomad_job_dispatch", broken)
    assert failed["failed"] is True and "Exit Code: 1" in failed["msg"], failed
    assert failed["dispatched_job_id"].startswith("trainer/dispatch-")


def test_dispatch_bad_input_is_refused_clearly(nomad_dev):
    run_module("nomad_job", {"address": nomad_dev, "hcl": TRAINER})
    missing_meta = run_module("nomad_job_dispatch", {"address": nomad_dev, "name": "trainer"})
    assert missing_meta["failed"] is True
    assert missing_meta["msg"].startswith("Nomad refused to dispatch job trainer:"), missing_meta["msg"]
    assert "MODEL_NAME" in missing_meta["msg"]
    no_job = run_module("nomad_job_dispatch", {"address": nomad_dev, "name": "nope"})
    assert no_job["failed"] is True and no_job["msg"] == "name: no job nope to dispatch"
    assert runs(nomad_dev) == []
