"""What a batch renders: the items of a folder of images (sidecar files by name) or of a JSONL manifest.

Folder: every image (``.png .jpg .jpeg .webp .bmp .tif .tiff``, hidden files aside) is an item named by
its stem; beside ``NAME.png`` are read ``NAME.mask.*`` (fluid mask), ``NAME.depth.*`` (depth map, also
``.npy``/``.pfm``), ``NAME.hints.json`` (arrows) and ``NAME.json`` (labelme).
Manifest: one JSON object a line with ``image`` and optional ``mask``, ``depth``, ``hints`` (arrows, or
a ``.json`` file), ``labelme`` (an object, or a ``.json`` file), ``out`` (the video's file name) and any
setting of ``settings.SETTINGS`` (``camera`` may be a keyframe object or file); paths are relative to
the manifest's folder.

A problem found here (an unreadable line, a bad setting, two masks, a duplicate name) makes that item
fail with the reason; it never stops the listing.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import CinemagraphError
from ..job import JobInputs
from ..settings import camera_text, check_settings, config_from_settings
from ..video import FORMATS

log = logging.getLogger("cinemagraph")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
MAP_SUFFIXES = IMAGE_SUFFIXES + (".npy", ".pfm")
SIDECAR_TAGS = (".mask", ".depth")
FILE_KEYS = ("image", "mask", "depth", "hints", "labelme", "out")
"""Manifest keys besides the settings."""


@dataclass(frozen=True)
class BatchItem:
    """One video to make.

    source: where it comes from, for people ('river.png', 'list.jsonl:3').
    output: its file name in the output folder; None when it has none (an unreadable line, a duplicate).
    inputs: its files (None when they could not be read).  settings: the render settings it is made with.
    error: why it cannot be made (found while listing), else None.
    """

    source: str
    output: Optional[str]
    inputs: Optional[JobInputs] = None
    settings: dict = field(default_factory=dict)
    error: Optional[str] = None


def list_items(source: Path, settings: Mapping[str, Any], fmt: str) -> list[BatchItem]:
    """The items of ``source`` (a folder or a ``.jsonl`` manifest), made with ``settings`` (a manifest line
    overrides them) into ``fmt`` videos (``.mp4``, ``.webp``, ``.gif``); duplicate names fail."""
    source = Path(source)
    if source.is_dir():
        items = _folder_items(source, settings, fmt)
    elif source.is_file():
        items = _manifest_items(source, settings, fmt)
    else:
        raise CinemagraphError(f"batch source {source} not found: give a folder of images or a .jsonl manifest")
    return _mark_duplicates(items)


def input_digest(inputs: JobInputs) -> str:
    """SHA-256 over every input of an item: the bytes of its files and its inline JSON, by role."""
    h = hashlib.sha256()
    for role in ("image", "mask", "depth", "hints", "labelme"):
        value = getattr(inputs, role)
        if value is None:
            continue
        h.update(f"\0{role}\0".encode())
        if isinstance(value, Path):
            try:
                with open(value, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            except OSError as e:
                raise CinemagraphError(f"cannot read the {role} file {value} ({e.strerror or e})") from e
        else:
            h.update(value.encode())
    return h.hexdigest()


def _folder_items(folder: Path, settings: Mapping[str, Any], fmt: str) -> list[BatchItem]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and Path(p.stem).suffix not in SIDECAR_TAGS]
    names = {p.stem for p in images}
    for p in files:
        tag_of = Path(p.stem)
        if tag_of.suffix in SIDECAR_TAGS + (".hints",) and tag_of.stem not in names:
            log.info("%s: no image %s.* beside it; ignored", p.name, tag_of.stem)
    base = _checked(settings, "command line", Path("."))
    by_name = {p.name: p for p in files}
    items = []
    for image in images:
        name = image.stem
        try:
            inputs = JobInputs(image=image, mask=_one_sidecar(files, name, ".mask"),
                               depth=_one_sidecar(files, name, ".depth"), hints=by_name.get(f"{name}.hints.json"),
                               labelme=by_name.get(f"{name}.json"))
            if inputs.hints is not None and inputs.labelme is not None:
                raise CinemagraphError(f"both {name}.hints.json and {name}.json (labelme) give arrows: keep one")
            items.append(BatchItem(image.name, name + fmt, inputs, base))
        except CinemagraphError as e:
            items.append(BatchItem(image.name, name + fmt, None, base, str(e)))
    return items


def _one_sidecar(files: list[Path], name: str, tag: str) -> Optional[Path]:
    found = [p for p in files if p.stem == name + tag and p.suffix.lower() in MAP_SUFFIXES]
    if len(found) > 1:
        raise CinemagraphError(f"more than one {tag[1:]} file for {name}: {', '.join(p.name for p in found)}; keep one")
    return found[0] if found else None


def _manifest_items(manifest: Path, settings: Mapping[str, Any], fmt: str) -> list[BatchItem]:
    try:
        lines = manifest.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CinemagraphError(f"cannot read the manifest {manifest} ({e})") from e
    base_dir = manifest.parent
    base = _checked(settings, "command line", Path("."))
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{manifest.name}:{number}"
        output = None
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("image"), str):
                raise CinemagraphError('a manifest line must be a JSON object with "image": "path/to/picture.png"')
            output = _output_name(entry.get("out"), Path(entry["image"]).stem, fmt)
            overrides = {k: v for k, v in entry.items() if k not in FILE_KEYS}
            inputs = JobInputs(image=_path(entry["image"], base_dir), mask=_path(entry.get("mask"), base_dir),
                               depth=_path(entry.get("depth"), base_dir),
                               hints=_json_value(entry.get("hints"), base_dir),
                               labelme=_json_value(entry.get("labelme"), base_dir))
            if inputs.hints is not None and inputs.labelme is not None:
                raise CinemagraphError('give "hints" or "labelme", not both')
            item_settings = _checked({**base, **overrides}, where, base_dir)
            items.append(BatchItem(where, output, inputs, item_settings))
        except json.JSONDecodeError as e:
            items.append(BatchItem(where, None, error=f"not a JSON line ({e.msg} at column {e.colno})"))
        except CinemagraphError as e:
            items.append(BatchItem(where, output, error=str(e)))
    return items


def _checked(settings: Mapping[str, Any], what: str, base_dir: Path) -> dict:
    """Settings with the camera as a preset name or keyframe JSON text, valid for a PipelineConfig."""
    values = dict(settings)
    camera = values.get("camera")
    if isinstance(camera, dict):
        values["camera"] = json.dumps(camera)
    elif isinstance(camera, str):
        values["camera"] = camera_text(camera, base_dir)
    values = check_settings(values, what)
    config_from_settings(values)
    return values


def _output_name(out: Any, stem: str, fmt: str) -> str:
    """The video's file name: ``out`` (a plain file name; the format's suffix added unless it has one) or stem + fmt."""
    if out is None:
        return stem + fmt
    if not isinstance(out, str) or not out or Path(out).name != out or out.startswith(".") or "\\" in out:
        raise CinemagraphError(f'"out" must be a file name in the output folder (no folders, not hidden), got {out!r}')
    return out if Path(out).suffix.lower() in FORMATS else out + fmt


def _path(value: Any, base_dir: Path) -> Optional[Path]:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise CinemagraphError(f"expected a file path, got {value!r}")
    p = Path(value)
    return p if p.is_absolute() else base_dir / p


def _json_value(value: Any, base_dir: Path):
    """A ``.json`` file name -> its Path; a list/object -> its JSON text; other text as it is."""
    if value is None or isinstance(value, (list, dict)):
        return None if value is None else json.dumps(value)
    if isinstance(value, str) and value.lower().endswith(".json"):
        return _path(value, base_dir)
    if isinstance(value, str):
        return value
    raise CinemagraphError(f"expected arrows/labelme JSON or a .json file, got {value!r}")


def _mark_duplicates(items: list[BatchItem]) -> list[BatchItem]:
    """An output name (case-insensitive) belongs to the first item that can be made; every other item with
    that name fails without an output: nothing is overwritten."""
    owners: dict[str, BatchItem] = {}
    for item in items:
        if item.error is None and item.output:
            owners.setdefault(item.output.lower(), item)
    out = []
    for item in items:
        owner = owners.get(item.output.lower()) if item.output else None
        if owner is not None and owner is not item:
            reason = (f"duplicate name: {item.output} is already the output of {owner.source}; rename one "
                      "(or give it another \"out\" in a manifest)")
            item = replace(item, output=None, error=item.error or reason)
        out.append(item)
    return out
