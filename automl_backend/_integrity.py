"""manifest.json: the SHA-256 of each file a model folder's loaders read back.

Loading a model can run code from the folder (a pickle always can; a skops file can
through the types it names), so a loader first checks that every file the manifest
lists still has the hash it had when saved, and refuses a folder without a manifest.
The manifest sits beside the files and carries no key: it catches a changed or
swapped file and a folder cosci did not write, not a forger who rewrites the manifest
too. That is why loaders also refuse pickles and types off an allow-list unless
trusted; ``trust`` (``--trust`` on the command line) skips every check.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from automl_backend._errors import UntrustedModelError

MANIFEST_FILE = "manifest.json"

TRUST_HINT = (
    "loading a model folder runs code from it; pass --trust (trust=True in Python) "
    "only for folders you made"
)


def refusal(what: Path, why: str) -> UntrustedModelError:
    """The one-line error for a folder or file that fails a check."""
    return UntrustedModelError(f"refusing to load {what}: {why}; {TRUST_HINT}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_files(folder: Path, names: Iterable[str], *, missing_ok: bool = False) -> None:
    """Add (or update) the hashes of ``names`` (paths relative to ``folder``);
    ``missing_ok`` passes over those that were not written."""
    manifest = _read(folder) or {}
    for name in names:
        if missing_ok and not (folder / name).is_file():
            continue
        manifest[checked_name(name)] = file_sha256(folder / name)
    partial = folder / f".{MANIFEST_FILE}.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(partial, folder / MANIFEST_FILE)


def verify_folder(folder: Path, required: Iterable[str]) -> None:
    """Raise :class:`UntrustedModelError` unless every listed hash matches and every
    ``required`` file is listed."""
    required = list(required)
    manifest = _read(folder)
    if manifest is None:
        raise refusal(
            folder / required[0] if required else folder,
            f"its folder has no {MANIFEST_FILE} with its files' SHA-256 "
            "(a folder from an older cosci, or not written by cosci)",
        )
    for name in required:
        if name not in manifest:
            raise refusal(folder / name, f"{name} is not listed in {MANIFEST_FILE}")
    for name, expected in sorted(manifest.items()):
        file = folder / name
        if not file.is_file():
            raise refusal(folder, f"{name}, listed in {MANIFEST_FILE}, is missing")
        if file_sha256(file) != expected:
            raise refusal(
                file,
                f"{name} does not match its SHA-256 in {MANIFEST_FILE} "
                "(it changed after it was saved)",
            )


def _read(folder: Path) -> dict[str, str] | None:
    """The manifest, None when there is none; a malformed one is refused."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return {checked_name(k): _checked_digest(v) for k, v in data.items()}
    except (OSError, ValueError) as exc:
        raise refusal(folder, f"its {MANIFEST_FILE} is not valid ({exc})") from None


def checked_name(name: object) -> str:
    """A relative path inside the folder (never absolute, never through ``..``)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"bad file name {name!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ValueError(f"file name {name!r} points outside the folder")
    return str(path)


def _checked_digest(value: object) -> str:
    if not (isinstance(value, str) and len(value) == 64 and set(value) <= set("0123456789abcdef")):
        raise ValueError(f"bad SHA-256 {value!r}")
    return value
