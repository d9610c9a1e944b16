"""One line, with the quoted command, for a spec typed without quotes.

``workbench compare --data movielens path=ml-100k`` hands click ``path=ml-100k`` as an extra
argument, and click answers with a boxed "Got unexpected extra argument(s)". A spec is one
argument: this finds the ``key=value`` words that follow a spec option's value (or the model
spec of ``train`` and ``tune``) and answers with the command as it should be typed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

#: Options whose value is a whole spec (``NAME key=value ...``).
SPEC_OPTIONS = frozenset(
    {"--data", "-d", "--model", "-m", "--split", "-s", "--export", "-e", "--outer",
     "--strategy", "--backend"}
)  # fmt: skip
#: Commands whose first argument is a model spec.
SPEC_COMMANDS = frozenset({"train", "tune"})
_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.-]*=")


def _quote(word: str) -> str:
    if " " in word and not re.search(r"[\"$`\\!]", word):
        return f'"{word}"'
    return shlex.quote(word)


def _join_from(args: list[str], start: int) -> bool:
    """Join the ``key=value`` words after ``args[start]`` into it; True if any were."""
    end = start + 1
    while end < len(args) and _ASSIGNMENT.match(args[end]):
        end += 1
    if end == start + 1:
        return False
    args[start:end] = [" ".join(shlex.quote(a) for a in args[start:end])]
    return True


def unquoted_spec_hint(argv: Sequence[str]) -> str | None:
    """The corrected command line when a spec was split over several words, else None."""
    args = list(argv)
    changed = False
    command_at = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            break
        if word in SPEC_OPTIONS and i + 1 < len(args) and not args[i + 1].startswith("-"):
            changed |= _join_from(args, i + 1)
            i += 2
            continue
        if (
            i == command_at
            and word in SPEC_COMMANDS
            and i + 1 < len(args)
            and not args[i + 1].startswith("-")
        ):
            changed |= _join_from(args, i + 1)
            i += 2
            continue
        i += 1
    if not changed:
        return None
    return "workbench " + " ".join(_quote(a) for a in args)
