"""Coverage-guided fuzzing (atheris) of every parser that faces the network or the operator.

One module per target (``fuzz/<target>.py``); ``harness.py`` runs one target in its
own process, ``runner.py`` runs them all (``make fuzz``), ``seeds.py`` builds the
seed corpus at run time. docs/fuzzing.md has the oracles and the figures.
"""
