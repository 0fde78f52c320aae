"""Comfy Registry metadata: pyproject.toml lists exactly requirements.txt's dependencies and the fields the
registry reads (https://docs.comfy.org/registry/specifications)."""
import re
from pathlib import Path

import pytest

import cinemagraph_core

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

REPO = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def requirements() -> list[str]:
    """requirements.txt's requirement lines (comments and blank lines dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines())
    return [line for line in lines if line]


def test_dependencies_are_requirements_txt():
    assert pyproject()["project"]["dependencies"] == requirements()


def test_registry_fields():
    meta = pyproject()
    project, comfy = meta["project"], meta["tool"]["comfy"]
    name = project["name"]
    assert len(name) < 100 and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*([._-][A-Za-z0-9]+)*", name)
    assert "comfyui" not in name.lower()
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"]) and project["version"] == cinemagraph_core.__version__
    assert project["description"].strip()
    assert (REPO / project["license"]["file"]).is_file() and (REPO / project["readme"]).is_file()
    readme_python = re.search(r"Python (\d+\.\d+)\+", (REPO / "README.md").read_text()).group(1)
    assert project["requires-python"] == f">={readme_python}"
    assert comfy["PublisherId"] and comfy["DisplayName"] and "Icon" in comfy
