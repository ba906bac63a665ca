"""Helpers: real programs from the artifact mirror, started on loopback for tests.

The mirror (MLOPS_MIRROR_DIR, filled by tools/mirror.py; tools/test does it)
is read from disk: each archive is checked against its upstream-named
checksum file before it is unpacked, then the program runs from the unpacked
folder on a free loopback port with a temporary data folder. Its log is
printed when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import random
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import mirror

ROOT = Path(__file__).resolve().parents[2]
PINS = yaml.safe_load((ROOT / "versions.yml").read_text())


def mirror_dir() -> Path:
    path = Path(os.environ.get("MLOPS_MIRROR_DIR") or mirror.DEFAULT_CACHE / "mirror")
    if not (path / "versions.json").exists():
        pytest.fail(f"no artifact mirror at {path}: run tools/mirror.py (tools/test does) first")
    return path


# Below the kernel's ephemeral range (32768-60999 by default), so no client
# socket of another process takes a port between its choice here and the
# program's bind. Two test runs side by side get two ranges
# (MLOPS_TEST_PORTS=FIRST-LAST; tools/test gives its second run its own).
_FIRST, _LAST = (int(p) for p in os.environ.get("MLOPS_TEST_PORTS", "20000-29999").split("-"))
_PORT_RANGE = range(_FIRST, _LAST + 1)
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free for TCP and UDP (Serf uses both), never handed out before in this run.

    The kernel's own choice (bind to port 0) can return the same port twice in a
    row once the probe socket is closed, so two ports of one agent could collide.
    """
    rng = random.SystemRandom()
    for _attempt in range(200):
        port = rng.choice(_PORT_RANGE)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, socket.socket(
                socket.AF_INET, socket.SOCK_DGRAM
            ) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {_PORT_RANGE}")


def verified_archive(program: str, version: str | None = None) -> Path:
    """The mirror's archive for program/version after checking its SHA256."""
    version = version or PINS[program]
    recipe = mirror.RECIPES[program]
    folder = mirror_dir() / program / version
    archive = folder / recipe.fmt(recipe.archive, version, mirror.go_arch())
    sums = mirror.parse_checksums((folder / recipe.fmt(recipe.checksums, version, mirror.go_arch())).read_text())
    assert archive.name in sums, f"{archive.name} is not listed in its checksum file"
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert digest == sums[archive.name], f"{archive.name}: sha256 {digest} != {sums[archive.name]}"
    return archive


def unpack(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)  # noqa: S202 - archives from our own verified mirror
        for member in dest.iterdir():
            member.chmod(0o755)
        return dest
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="tar")
        top = tar.getnames()[0].split("/")[0]
    return dest / top


class Program:
    """A real program started as a child process, waited on until healthy."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        health_url: str,
        workdir: Path,
        env: dict | None = None,
        ready: Callable[[bytes], bool] | None = None,
        health_headers: dict | None = None,
        health_context: ssl.SSLContext | None = None,
    ):
        self.name, self.argv, self.health_url, self.workdir = name, argv, health_url, workdir
        self.ready = ready or (lambda body: True)
        # HTTPS and basic auth on the health URL (programs that ask for them).
        self.health_headers, self.health_context = health_headers or {}, health_context
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Program:
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv, cwd=self.workdir, stdout=self.log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                request = urllib.request.Request(self.health_url, headers=self.health_headers)
                with urllib.request.urlopen(request, timeout=2, context=self.health_context) as resp:
                    if resp.status == 200 and self.ready(resp.read()):
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not healthy at {self.health_url} after {timeout}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
