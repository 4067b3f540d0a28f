"""Hash of the P4 sources the committed p4src/build outputs were compiled from.

Rule: sha256 over every *.p4 file under p4src/ (build/ excluded), in sorted
order of their repository-relative POSIX paths, each fed as
path, NUL, contents, NUL. `make p4` writes it to p4src/build/SOURCES.sha256;
tests/test_p4_build.py recomputes it to detect stale outputs.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

P4SRC = Path(__file__).resolve().parent
REPO = P4SRC.parent


def source_files(p4src: Path = P4SRC) -> list[Path]:
    return sorted((p for p in p4src.rglob("*.p4") if "build" not in p.relative_to(p4src).parts),
                  key=lambda p: p.relative_to(p4src.parent).as_posix())


def sources_sha256(p4src: Path = P4SRC) -> str:
    h = hashlib.sha256()
    for path in source_files(p4src):
        h.update(path.relative_to(p4src.parent).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def main() -> int:
    digest = sources_sha256()
    lines = [f"{digest}  p4src/*.p4"]
    lines += [f"# {p.relative_to(REPO).as_posix()}" for p in source_files()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
