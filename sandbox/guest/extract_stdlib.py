"""Setup helper (host Python): extract CPython's stdlib for the std engine.

componentize-py's native library embeds the guest CPython's stdlib as a zstd-compressed
tar. The guest only has in its snapshot the modules the guest module imported at build
time; everything else is imported at run time from this directory, mounted read-only.

usage: extract_stdlib.py COMPONENTIZE_PY_SO OUT_DIR   (needs the `zstd` command)
"""

import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def main() -> int:
    so, out = Path(sys.argv[1]), Path(sys.argv[2])
    if shutil.which("zstd") is None:
        sys.exit("extract_stdlib: the `zstd` command is missing (Debian: apt-get install zstd)")
    data = so.read_bytes()
    for m in re.finditer(re.escape(ZSTD_MAGIC), data):
        # zstd stops with an error at the bytes after the frame; the frame's output is whole.
        p = subprocess.run(["zstd", "-dcq"], input=data[m.start():], capture_output=True)
        raw = p.stdout
        if len(raw) < 512 or raw[257:262] != b"ustar":
            continue
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            names = set(tar.getnames())
            if "json/__init__.py" not in names or "os.py" not in names:
                continue
            tmp = out.with_name(out.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            tar.extractall(tmp, filter="data")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
        print(f"stdlib: {len(names)} entries -> {out}")
        return 0
    sys.exit(f"extract_stdlib: no stdlib tar found in {so}")


if __name__ == "__main__":
    sys.exit(main())
