"""Fail if an installed distribution's package folders hold files that pip did not install.

`python .ci/installed_files.py mpc-engine`: lists every file under the distribution's top-level
package folders in site-packages that its RECORD does not name (caches, state, logs written at
run time). pip leaves such files behind on uninstall, and a leftover package folder becomes a
namespace package that shadows the next install. Exit 1 and name them; exit 0 otherwise.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path


def unrecorded(dist_name: str) -> tuple[list[Path], list[Path]]:
    """(package folders checked, files in them that the distribution's RECORD does not list)."""
    dist = metadata.distribution(dist_name)
    recorded = {Path(dist.locate_file(f)).resolve() for f in dist.files or []}
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        tops = sorted({Path(str(f)).parts[0] for f in dist.files or [] if len(Path(str(f)).parts) > 1
                       and not Path(str(f)).parts[0].endswith((".dist-info", ".data"))})
    folders = [Path(dist.locate_file(t)).resolve() for t in tops]
    extra = [p for folder in folders if folder.is_dir() for p in sorted(folder.rglob("*"))
             if p.is_file() and p.resolve() not in recorded]
    return folders, extra


def main(argv: list[str]) -> int:
    name = argv[1] if len(argv) > 1 else "mpc-engine"
    folders, extra = unrecorded(name)
    if not folders:
        print(f"{name}: no package folders found", file=sys.stderr)
        return 1
    if extra:
        print(f"{name}: {len(extra)} file(s) inside the installed package that pip did not install "
              f"(run-time writes must go to per-user folders):", file=sys.stderr)
        for p in extra[:50]:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{name}: nothing written inside the installed package ({', '.join(str(f) for f in folders)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
