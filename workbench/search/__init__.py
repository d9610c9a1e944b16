"""Parameter search: search spaces, tuning and nested cross-validation on top of compare.

`space` parses search spaces (``lr=0.002:0.02:log``), `tuning` runs a search (a registered
`workbench.strategy.SearchStrategy` proposes candidates, the experiment loop of
`workbench.experiments` evaluates them) and ranks the candidates, `nested` scores a tuned
model honestly on outer folds. Imports `workbench.experiments` and the contract modules,
never the other way round.
"""
