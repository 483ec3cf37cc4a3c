"""The wheel a user installs holds every module of the source tree, under the `lgn` name alone.

The tests run from an editable install, which finds modules the package list forgets: this
builds the real wheel (as `pip install .` does) and compares its files with the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> where its files land in the wheel (pyproject.toml's package-dir)
TREES = {"lgn": "lgn", "hdl": "lgn/hdl", "sim": "lgn/sim", "boards": "lgn/boards"}


def _source_files() -> set[str]:
    files = set()
    for src, dst in TREES.items():
        for path in (ROOT / src).rglob("*"):
            if path.suffix in {".py", ".c", ".v"} and "__pycache__" not in path.parts:
                rel = path.relative_to(ROOT / src)
                if src == "lgn" and rel.parts[0] in {"hdl", "sim", "boards"}:
                    continue
                files.add(f"{dst}/{rel.as_posix()}")
    return files


@pytest.mark.eda
def test_the_wheel_holds_every_source_module_and_claims_only_lgn(tmp_path):
    src = tmp_path / "src"  # a clean copy: setuptools would reuse a stale build/ folder in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for tree in TREES:
        shutil.copytree(ROOT / tree, src / tree, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(src)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("lgn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _source_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)[:10]}: add their packages to pyproject.toml"
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"lgn"}
