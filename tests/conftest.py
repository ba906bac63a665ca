"""Shared pytest settings: tools/ is importable (the mirror tool is tested)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
