"""``python -m simweb verl-config``: prints the path of the shipped verl tool config."""

from __future__ import annotations

import sys

from ._paths import VERL_TOOL_CONFIG


def main(argv: list[str]) -> int:
    if argv == ["verl-config"]:
        print(VERL_TOOL_CONFIG)
        return 0
    print("usage: python -m simweb verl-config", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
