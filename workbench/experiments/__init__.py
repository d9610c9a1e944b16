"""Running comparisons: the experiment loop, its tasks, run folders and experiment files.

`compare` (`workbench.experiments.compare`) trains and evaluates models on every fold and
keeps each finished (model, fold) in a run folder (`runfolder`) that resumes after a crash;
`loop` is the one loop compare and tune share (candidates in, records out), `runner` runs one
task and hands batches to a registered backend (`workbench.backend`), and `config` reads TOML
experiment files. Imports the contract modules at the top of `workbench/`; nothing there
imports this package.
"""
