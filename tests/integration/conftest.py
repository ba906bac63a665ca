"""Fixtures for integration tests against real programs (see programs.py)."""

import pytest

from programs import Program


@pytest.fixture
def run_program(tmp_path, request):
    """Start real programs; stop them after the test; print their logs if it failed."""
    started: list[Program] = []

    def start(name: str, argv: list[str], health_url: str, env: dict | None = None, timeout: float = 60) -> Program:
        program = Program(name, argv, health_url, tmp_path, env)
        started.append(program)
        return program.start(timeout)

    yield start
    for program in reversed(started):
        program.stop()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        for program in started:
            print(f"\n--- log of {program.name} ({program.log_path}) ---\n{program.tail(200)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
