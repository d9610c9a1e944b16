"""``workbench clusters MODEL_FILE``: the user clusters and top items of a zero-filled NMF."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def clusters_command(kit: Any):
    """The ``clusters`` command, printing through the CLI's `CommandKit` ``kit``."""

    def clusters(
        model_file: Path = typer.Argument(..., help="A zero-filled 'nmf' model file."),
        top: int = typer.Option(5, "--top", "-n", help="Top items shown per component."),
        component: list[int] = typer.Option(
            [], "--component", "-c", help="Show only these components, repeatable."
        ),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """NMF user clusters (argmax of W): size of each, and each component's top items."""
        from workbench.api import load_model
        from workbench.errors import DataError
        from workbench_nmf.clusters import nmf_clusters

        model = load_model(model_file)
        try:
            result = nmf_clusters(model, top_n=top)
        except DataError as exc:
            raise DataError(f"{exc} ({model_file})") from None
        frame = result.components
        if component:
            frame = frame[frame["component"].isin(component)]
        n_unassigned = int((result.assignments["cluster"] < 0).sum())
        empty = {c: why for c, why in result.empty.items() if not component or c in component}
        if as_json:
            components = frame.to_dict("records")
            kit.print_json(
                {"unassigned_users": n_unassigned, "components": components,
                 "empty_components": {str(c): why for c, why in empty.items()}}
            )  # fmt: skip
            return
        table = result.table()
        if component:
            table = table[table["component"].isin(component)]
        kit.print_frame(
            table, title=f"NMF components of {model_file.name} (users: in the component's cluster)"
        )
        for comp, why in empty.items():
            kit.console.print(f"component {comp} has no users: {why}", markup=False)
        if n_unassigned:
            kit.console.print(f"{n_unassigned} users with all-zero weights belong to no cluster")

    return clusters


def register(app: typer.Typer, kit: Any) -> None:
    app.command(
        "clusters",
        epilog=kit.example(
            'workbench train nmf -d "movielens variant=100k" -o nmf.npz',
            "workbench clusters nmf.npz --top 5 -c 0 -c 1",
        ),
    )(clusters_command(kit))
