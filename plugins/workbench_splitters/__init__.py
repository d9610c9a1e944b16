"""Built-in splitters: holdout, k-fold, per-user holdout, temporal, leave-one-out,
new users (fold-in), predefined folds and rolling-origin temporal CV.

Registered through the same ``register_splitters`` hook a third-party plugin uses.
"""

from workbench import hookimpl


@hookimpl
def register_splitters(register):
    from workbench_splitters.new_users import NewUsers
    from workbench_splitters.per_user import LeaveOneOut, UserHoldout
    from workbench_splitters.predefined import Predefined
    from workbench_splitters.random_splits import Holdout, KFold
    from workbench_splitters.rolling import RollingOrigin
    from workbench_splitters.temporal import Temporal

    register(Holdout, aliases=["random"], default=True)
    register(KFold, aliases=["cv"], default={"folds": "kfold", "search": "kfold n_folds=3"})
    register(UserHoldout, aliases=["per-user"])
    register(Temporal, aliases=["time"])
    register(LeaveOneOut, aliases=["loo"])
    register(NewUsers, aliases=["fold-in"])
    register(Predefined, aliases=["folds"])
    register(RollingOrigin, aliases=["rolling-origin", "time-cv"])
