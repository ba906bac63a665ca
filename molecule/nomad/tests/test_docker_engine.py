"""The engine a Nomad client relies on: running, rotating logs, running containers."""

import json
import os

IMAGE = os.environ.get("MLOPS_IMAGE_PREFIX", "mlops-stack/debian") + ":12"


def test_engine_enabled_and_running(host):
    svc = host.service("docker")
    assert svc.is_enabled
    assert svc.is_running


def test_daemon_json_rotates_container_logs(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert host.check_output("docker info --format '{{.LoggingDriver}}'") == "json-file"


def test_containers_survive_a_restart_of_the_engine(host):
    """live-restore (docker_engine_live_restore, on by default) is on in the running engine."""
    assert json.loads(host.file("/etc/docker/daemon.json").content_string)["live-restore"] is True
    assert host.check_output("docker info --format '{{.LiveRestoreEnabled}}'") == "true"


def test_further_daemon_options_apply(host):
    # docker_engine_daemon_options from the Molecule base config.
    assert json.loads(host.file("/etc/docker/daemon.json").content_string)["bip"] == "10.213.0.1/24"
    assert "inet 10.213.0.1/24" in host.check_output("ip -4 addr show docker0")


def test_runs_a_container_with_rotated_logs(host):
    assert host.check_output(f"docker run --rm {IMAGE} echo hello-from-container") == "hello-from-container"
    host.run("docker rm -f mlops-log-probe")
    host.check_output(f"docker run -d --name mlops-log-probe {IMAGE} sleep 30")
    inspect = "docker inspect --format '{{json .HostConfig.LogConfig}}' mlops-log-probe"
    log_config = json.loads(host.check_output(inspect))
    host.run("docker rm -f mlops-log-probe")
    assert log_config == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}
