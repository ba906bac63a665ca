"""Waiting on a condition in the scenarios' tests (imported through sys.path, like tls_checks)."""

import time


def eventually(check, timeout, interval, errors=(AssertionError,)):
    """check()'s result, retried every interval seconds while it raises one of errors, until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except errors:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
