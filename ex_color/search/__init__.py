"""`excolor search`: an Optuna study over an experiment's recipe, each trial an ordinary `--seeds` redux.

- `spec`: the experiment's `search:` block (objectives, constraints, the space), checked before anything runs.
- `dopesheet`: a dopesheet with a column scaled by a searched factor.
- `study`: the Optuna study (storage, one trial at a time, Ctrl-C, resume, several workers).
- `outputs`: search.json, search.md, figures/ and the best trial as an `excolor run` command line.
"""
