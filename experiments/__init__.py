"""Reproduction and study scripts: AA-BiGAN next to the authors' code, cells of the paper's Table 1,
the tabular design study and Table 2 under both selection policies.

Each module runs as ``python -m experiments.NAME`` from the repository root; what they wrote is in
``experiments/results/``. They are not the product: the suite's own command line is
``run_benchmark.py``.
"""
