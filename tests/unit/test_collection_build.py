"""The collection tarball never ships a secrets folder, wherever a bring-up left one in the tree."""

import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where bring-ups write: beside each inventory, and anywhere else an operator points one.
SECRET_FILES = [
    ".secrets/consul/dc1/management.token",
    "inventories/local/.secrets/consul/dc1/ca.key",
    "inventories/local/.secrets/nomad/global/management.token",
    "inventories/aws/.secrets/consul/dc1/gossip.seed",
    "inventories/example/.secrets/nomad/global/ml-workload.token",
    "playbooks/.secrets/nomad/global/ca.key",
]


def test_tarball_has_no_secrets_folder(tmp_path):
    tree = tmp_path / "stack"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = tree / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    for name in SECRET_FILES:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not-a-real-secret\n")
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), str(tree)],
        check=True,
        capture_output=True,
    )
    (tarball,) = tmp_path.glob("mlops-stack-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "roles/consul/tasks/main.yml" in names  # the build did pack the collection
    assert [n for n in names if ".secrets" in n] == []
