"""Content-addressed copies of evidence files under <repo>/.release/evidence."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from release.errors import InputError
from release.gates.model import ArtifactRef

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _component(value: str) -> str:
    """Make one path component safe: no separators, no dot-dot."""
    cleaned = _SAFE.sub("_", value).strip(".") or "_"
    return cleaned


class ArtifactStore:
    """Copies evidence files to <root>/<version>/rc.<n>/<gate>/run-<id>/<name> and hashes them."""

    def __init__(self, root: Path) -> None:
        """Use root as the evidence folder (created on first store)."""
        self.root = Path(root)

    def relpath_for(self, version: str, rc: int, gate: str, run_id: int, name: str) -> str:
        """Return the path, relative to root, where an artifact of this run is kept."""
        parts = [_component(version), f"rc.{int(rc)}", _component(gate), f"run-{int(run_id)}", _component(name)]
        return "/".join(parts)

    def store(self, src_path: Path, *, version: str, rc: int, gate: str, run_id: int, kind: str) -> ArtifactRef:
        """Copy src_path into the store atomically and return its reference with sha256 and size."""
        src = Path(src_path)
        if not src.is_file():
            raise InputError(f"artifact {src} does not exist or is not a file")
        relpath = self.relpath_for(version, rc, gate, run_id, src.name)
        dest = self.root / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
        try:
            with src.open("rb") as reader, os.fdopen(fd, "wb") as writer:
                for chunk in iter(lambda: reader.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    writer.write(chunk)
                writer.flush()
                os.fsync(writer.fileno())
            os.replace(tmp_name, dest)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return ArtifactRef(path=relpath, sha256=digest.hexdigest(), size=size, kind=kind)

    def path_of(self, ref: ArtifactRef) -> Path:
        """Return the absolute path of a stored artifact."""
        return self.root / ref.path

    def remove_run(self, version: str, rc: int, gate: str, run_id: int) -> None:
        """Delete the stored files of one run (used when a run's ledger write failed)."""
        folder = self.root / _component(version) / f"rc.{int(rc)}" / _component(gate) / f"run-{int(run_id)}"
        shutil.rmtree(folder, ignore_errors=True)
