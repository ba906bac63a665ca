"""nomad_job against a real Nomad agent: check, apply, again; waits; bad input."""

import json
import urllib.error
import urllib.request

from modules import run_module

SERVICE = """
variable "greeting" {
  type    = string
  default = "hello"
}

job "web" {
  type = "service"
  group "web" {
    update {
      min_healthy_time = "1s"
      healthy_deadline = "30s"
      progress_deadline = "40s"
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["600"]
      }
      env {
        GREETING = var.greeting
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"""

BATCH = """
job "once" {
  type = "batch"
  group "once" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "once" {
      driver = "raw_exec"
      config {
        command = "COMMAND"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"""

BROKEN_IMAGE = """
job "broken" {
  type = "service"
  group "broken" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    update {
      min_healthy_time  = "1s"
      healthy_deadline  = "10s"
      progress_deadline = "15s"
    }
    task "broken" {
      driver = "docker"
      config {
        image = "mlops-stack.invalid/no-such-image:1"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"""


def get(address, path):
    try:
        with urllib.request.urlopen(f"{address}/v1/{path}", timeout=10) as answer:
            return json.loads(answer.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def test_service_job_check_apply_again_change_and_purge(nomad_dev):
    args = {"address": nomad_dev, "hcl": SERVICE, "wait": True, "wait_timeout": 120}

    checked = run_module("nomad_job", args, check=True, diff=True)
    assert checked["changed"] is True, checked
    assert checked["plan"]["diff_type"] == "Added"
    assert get(nomad_dev, "job/web") is None, "check mode registered the job"

    applied = run_module("nomad_job", args, diff=True)
    assert applied["changed"] is True, applied
    assert applied["status"] == "successful"
    assert [a["ClientStatus"] for a in applied["allocations"]] == ["running"]

    again = run_module("nomad_job", args)
    assert again["changed"] is False, again
    assert run_module("nomad_job", args, check=True, diff=True)["changed"] is False

    # One variable changes one field: the plan's diff shows only that.
    changed_args = dict(args, variables={"greeting": "bonjour"})
    planned = run_module("nomad_job", changed_args, check=True, diff=True)
    assert planned["changed"] is True
    diff_lines = [line for line in planned["diff"]["prepared"].splitlines() if line.strip()]
    assert any("Env[GREETING]: hello => bonjour" in line for line in diff_lines), diff_lines
    assert not any(":" in line and "GREETING" not in line for line in diff_lines), diff_lines
    assert get(nomad_dev, "job/web")["Version"] == 0
    updated = run_module("nomad_job", changed_args)
    assert updated["changed"] is True and updated["version"] == 1 and updated["status"] == "successful"

    assert run_module("nomad_job", {"address": nomad_dev, "name": "web", "state": "absent"}, check=True)["changed"]
    assert get(nomad_dev, "job/web") is not None, "check mode removed the job"
    assert run_module("nomad_job", {"address": nomad_dev, "name": "web", "state": "absent"})["changed"] is True
    assert get(nomad_dev, "job/web") is None
    assert run_module("nomad_job", {"address": nomad_dev, "name": "web", "state": "absent"})["changed"] is False


def test_batch_jobs_report_their_outcome(nomad_dev):
    ok = run_module("nomad_job", {"address": nomad_dev, "hcl": BATCH.replace("COMMAND", "/bin/true"), "wait": True})
    assert ok["changed"] is True and ok["status"] == "complete", ok

    failing = run_module(
        "nomad_job", {"address": nomad_dev, "hcl": BATCH.replace("COMMAND", "/bin/false"), "wait": True}
    )
    assert failing.get("failed") is True, failing
    assert "batch job once failed" in failing["msg"] and "Exit Code: 1" in failing["msg"], failing["msg"]


def test_a_broken_image_fails_with_the_allocation_event(nomad_dev):
    result = run_module("nomad_job", {"address": nomad_dev, "hcl": BROKEN_IMAGE, "wait": True, "wait_timeout": 120})
    assert result.get("failed") is True, result
    assert "deployment of job broken failed" in result["msg"], result["msg"]
    assert "no-such-image" in result["msg"], result["msg"]


MISCONFIGURED = """
job "misconfigured" {
  type = "service"
  group "misconfigured" {
    task "misconfigured" {
      driver = "docker"
      config {
        image        = "mlops-stack/debian:12"
        bogus_option = true
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
"""


def test_a_service_that_cannot_recover_fails_at_once_not_at_the_deadline(nomad_dev):
    """A driver config Nomad cannot parse, with Nomad's default restart, reschedule and update blocks (a
    10-minute progress deadline, rescheduling without end): the wait ends with the driver's message once
    every allocation failed unrecoverably, while Nomad's deployment is still running."""
    result = run_module("nomad_job", {"address": nomad_dev, "hcl": MISCONFIGURED, "wait": True, "wait_timeout": 600})
    assert result.get("failed") is True, result
    assert "job misconfigured failed: every allocation failed with no restart or reschedule left" in result["msg"]
    assert 'No argument or block type is named "bogus_option"' in result["msg"], result["msg"]
    assert get(nomad_dev, "job/misconfigured/deployment")["Status"] == "running"


def test_bad_input_is_one_clear_line_and_changes_nothing(nomad_dev):
    broken_hcl = 'job "x" {\n  group "g" {\n    tsk "t" {}\n  }\n}\n'
    invalid = run_module("nomad_job", {"address": nomad_dev, "hcl": broken_hcl})
    assert invalid["failed"] is True
    assert invalid["msg"].startswith("Nomad could not parse the job:"), invalid["msg"]
    assert "input.hcl:3,5" in invalid["msg"] and "\n" not in invalid["msg"], invalid["msg"]

    not_a_job = run_module("nomad_job", {"address": nomad_dev, "job": {"Name": "no id"}})
    assert not_a_job["failed"] is True and not_a_job["msg"].startswith("job: not a Nomad API job"), not_a_job

    unreachable = run_module("nomad_job", {"address": "http://127.0.0.1:1", "hcl": SERVICE})
    assert unreachable["failed"] is True and "unreachable" in unreachable["msg"], unreachable
    assert "Traceback" not in json.dumps(unreachable)

    assert get(nomad_dev, "jobs") == []
