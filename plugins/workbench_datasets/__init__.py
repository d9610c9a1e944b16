"""Built-in datasets: MovieLens, Netflix Prize, Last.fm, any tabular file, synthetic, and
the catalogue of public datasets by name (``ml-1m``, ``amazon-2018:Books``, ...).

Registered through the same ``register_datasets`` hook a third-party plugin uses; the
modules are imported inside the hook so listing plugins stays fast.
"""

from workbench import hookimpl


@hookimpl
def register_datasets(register):
    from workbench_datasets.lastfm import LastFM
    from workbench_datasets.movielens import MovieLens
    from workbench_datasets.netflix import Netflix
    from workbench_datasets.synthetic import Synthetic
    from workbench_datasets.tabular import Tabular

    register(Synthetic, default=True)
    register(MovieLens, aliases=["ml"])
    register(Netflix)
    register(LastFM, aliases=["last.fm"])
    register(Tabular, aliases=["csv", "file"], default="files")
    from workbench_datasets.public import classes

    for cls in classes():
        register(cls, aliases=list(cls.entry.aliases))


@hookimpl
def register_commands(app, kit):
    from workbench_datasets.commands import register

    register(app, kit)
