"""Shared fixtures of the unit tests."""

import importlib.util
import sys
from pathlib import Path

import pytest

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given

    def trust_as_template(value):
        return value

ROOT = Path(__file__).resolve().parents[2]


def load_file(relative_path):
    """A Python file of the checkout (a plugin, the training program), loaded as a module of its own name."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trust(value):
    """A value as Ansible holds what it read from YAML: every string in it trusted as a template."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trust(v) for v in value]
    return value


def forget_collections():
    """Drop ansible_collections from sys.modules: other tests import the collection's code as a plain package."""
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]


@pytest.fixture
def collection_plugins():
    """Ansible's own plugin loader with this collection, from a clean slate, and none left behind."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder._remove()
    forget_collections()
    init_plugin_loader([str(ROOT / ".build")])
    yield
    _AnsibleCollectionFinder._remove()
    forget_collections()


@pytest.fixture
def lookup_plugin(collection_plugins):
    """lookup_plugin(name): the collection's lookup plugin, loaded by Ansible's own plugin loader from a clean slate."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import lookup_loader

    return lambda name: lookup_loader.get("mlops.stack." + name, loader=DataLoader())
