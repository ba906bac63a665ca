"""with_retries (module_utils/_http.py), the one retry loop of the API clients (pure logic, on a fake clock).

Against the real programs: tests/integration/test_consul_acl.py and test_nomad_acl.py, and the nomad_cluster
scenario, whose consul_acl run follows the stop of the first server (an election).
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".build"))  # ansible_collections/mlops/stack -> the checkout

from ansible_collections.mlops.stack.plugins.module_utils._http import with_retries  # noqa: E402
from ansible_collections.mlops.stack.plugins.module_utils.consul import ConsulAPIError, leaderless  # noqa: E402


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def failing(*errors, result="done"):
    """A call that raises each of errors in turn, then returns result."""
    pending = list(errors)

    def call():
        if pending:
            raise pending.pop(0)
        return result

    return call


def no_leader():
    return ConsulAPIError("PUT", "http://c/v1/acl/bootstrap", 500, "Raft leader not found in server lookup mapping")


def test_a_transient_error_is_repeated_until_the_call_answers():
    clock = Clock()
    assert with_retries(failing(no_leader(), no_leader()), leaderless, 60, clock=clock, sleep=clock.sleep) == "done"
    assert clock.sleeps == [1.0, 1.0]


def test_any_other_error_is_raised_at_once():
    clock = Clock()
    refused = ConsulAPIError("GET", "http://c/v1/acl/tokens", 403, "Permission denied")
    with pytest.raises(ConsulAPIError) as raised:
        with_retries(failing(refused), leaderless, 60, clock=clock, sleep=clock.sleep)
    assert raised.value is refused and clock.sleeps == []


def test_the_last_transient_error_is_raised_after_the_timeout():
    clock = Clock()
    errors = [no_leader() for attempt in range(10)]
    with pytest.raises(ConsulAPIError) as raised:
        with_retries(failing(*errors), leaderless, 3, clock=clock, sleep=clock.sleep)
    assert raised.value is errors[4] and clock.now == 4.0


@pytest.mark.parametrize("status, message, transient", [
    (500, "No cluster leader", True),
    (500, "rpc error making call: Raft leader not found in server lookup mapping", True),
    # Seen right after the leader's host stopped (nomad_cluster's re-run with the first server gone).
    (500, "rpc error getting client: failed to get conn: rpc error: lead thread didn't get connection", True),
    (500, "ACL not found", False),
    (403, "Permission denied: leader", False),
    (None, "connection refused", False),
])
def test_consul_answers_without_a_leader_are_transient(status, message, transient):
    assert leaderless(ConsulAPIError("GET", "http://c/v1/x", status, message)) is transient
