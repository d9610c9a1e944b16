"""Full-catalogue top-k selection: the compiled kernel behind the default `Model._rank`.

`kernel` scores chunks of users through the model's `_score` (a BLAS product for factor
models) and keeps each row's top-k in one cache-resident pass (numba, no GIL), seen items
skipped from the CSR rows, never a dense users x items matrix. Imports nothing from the
rest of the workbench (the contract imports it, never the other way round).
"""
