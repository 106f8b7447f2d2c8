"""What the benchmark and study scripts share: flags and provenance, the score runs, their archive and tables.

The scripts live outside the package (``benchmarks/`` for the figures the docs quote, ``studies/`` for research
probes); the code they would otherwise import from one another lives here, with tests.
"""
