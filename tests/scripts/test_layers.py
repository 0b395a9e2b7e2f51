"""scripts/layers: green on the tree, red on an arrow up a layer or a cycle of files."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "scripts" / "layers"


def run(root):
    return subprocess.run([str(LAYERS), "--root", str(root)], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def tree(tmp_path):
    """A copy of the layered folders and their CMake files."""
    shutil.copy(ROOT / "CMakeLists.txt", tmp_path)
    for folder in ("net", "servers", "loadgen", "harness"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def append_include(path, header):
    text = path.read_text()
    path.write_text(f'#include "{header}"\n' + text)


def test_the_tree_holds_its_layers():
    result = run(ROOT)
    assert result.returncode == 0, result.stderr
    # The graph is printed, and its arrows run down only.
    assert "harness/sweep -> harness/results" in result.stdout
    assert "harness/results -> harness/sweep" not in result.stdout
    assert "no arrow up a layer, no cycle between files" in result.stdout


def test_the_copy_holds_too(tree):
    assert run(tree).returncode == 0


def test_an_include_up_a_layer_fails(tree):
    append_include(tree / "harness/results/point.cpp", "harness/sweep/config.hpp")
    result = run(tree)
    assert result.returncode == 1
    assert ("harness/results/point.cpp:1: includes harness/sweep/config.hpp, but harness/results "
            "may not reach harness/sweep") in result.stderr


def test_a_library_reaching_the_harness_fails(tree):
    append_include(tree / "loadgen/engine.cpp", "harness/base/files.hpp")
    result = run(tree)
    assert result.returncode == 1
    assert "loadgen may not reach harness/base" in result.stderr


def test_an_arrow_declared_in_cmake_allows_the_include(tree):
    append_include(tree / "harness/results/point.cpp", "servers/registry.hpp")
    assert run(tree).returncode == 1
    cmake = tree / "harness/results/CMakeLists.txt"
    cmake.write_text(cmake.read_text().replace("PUBLIC cmb::harness_base",
                                               "PUBLIC cmb::harness_base cmb::servers"))
    assert run(tree).returncode == 0


def test_a_cycle_between_files_fails(tree):
    append_include(tree / "harness/base/clock.hpp", "harness/base/files.hpp")
    append_include(tree / "harness/base/files.cpp", "harness/base/clock.hpp")
    result = run(tree)
    assert result.returncode == 1
    assert "files include each other in a cycle: harness/base/clock <-> harness/base/files" \
        in result.stderr


def test_a_cycle_between_libraries_fails(tree):
    cmake = tree / "net/CMakeLists.txt"
    cmake.write_text(cmake.read_text().replace("PUBLIC fmt::fmt", "PUBLIC fmt::fmt cmb::servers"))
    result = run(tree)
    assert result.returncode == 1
    assert "the libraries link each other in a cycle: net -> servers" in result.stderr
