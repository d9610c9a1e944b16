"""``workbench recommend MODEL --all-users|--users-file F -o recs.csv``: lists for many users
to a file, in batches, with a progress bar (a thin layer over `workbench.api.bulk`)."""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import console, print_json
from workbench.cli.workflow import check_writable, note
from workbench.errors import ParamError


def recommend_to_file_cli(
    model_file: Path,
    output: Path | None,
    k: int,
    *,
    all_users: bool,
    users: list[str],
    users_file: Path | None,
    history: Path | None,
    include_seen: bool,
    batch_size: int,
    as_json: bool,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from workbench.api.bulk import read_user_ids, recommend_to_file

    if output is None:
        raise ParamError("--all-users and --users-file write a file: add --output recs.csv")
    if history is not None:
        raise ParamError("--history lists new users; --output writes known users' lists")
    chosen = [all_users, users_file is not None, bool(users)]
    if sum(chosen) != 1:
        raise ParamError("give one of --all-users, --users-file FILE or --user ID with --output")
    check_writable(output, "output")
    ids = read_user_ids(users_file) if users_file is not None else (users or None)
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(
        "[bold]recommending[/bold] users", *columns, console=console, transient=True,
        disable=as_json or not console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("users", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        n = recommend_to_file(
            model_file, output, k, users=ids, exclude_seen=not include_seen,
            batch_size=batch_size, progress=advance,
        )  # fmt: skip
    if as_json:
        print_json({"output": str(output), "users": n, "k": k})
    else:
        note(f"wrote the top-{k} lists of {n:,} users to {output}")
