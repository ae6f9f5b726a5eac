"""Speed and memory measurements beside :mod:`benchmark.perf`, each run as ``python -m benchmark.speed.NAME``.

They print numbers; no test asserts a duration. Side-by-side comparisons with an earlier commit
(``--against``) run both trees in alternating rounds of fresh processes (:mod:`benchmark.speed.harness`).
"""
