"""A contract test suite every model plugin reuses (built-in and third-party): the model
contract written as tests, importable without pytest installed.

Usage, in a plugin's tests::

    from workbench.testing import ModelContract

    class TestMyModel(ModelContract):
        def make_model(self, **params):
            return MyModel(n_epochs=5, seed=params.pop("seed", 0), **params)

pytest collects the inherited ``test_*`` methods. Override `make_data` to train on other
data (e.g. implicit feedback), and set ``learns = False`` for models that are not expected to
beat the global mean (e.g. popularity for rating prediction). The suite tests only what a
model declares it can do (``model.declared()``, its `workbench.Capabilities`): a ranking model
(``predicts="scores"``) skips the rating tests, a model without a ``fold_in`` strategy skips
the fold-in tests and one that does not declare ``update_users`` skips those.
"""

from workbench.testing.contract import ModelContract, holdout, low_rank_ratings

__all__ = ["ModelContract", "holdout", "low_rank_ratings"]
