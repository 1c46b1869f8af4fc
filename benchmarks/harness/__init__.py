"""The benchmark harness behind ``benchmarks/run.py`` (not part of the installed package).

Modules: ``corpus`` (unpack, verify, sample the pinned corpus; generated mini corpus),
``gen`` (synthetic messages), ``systems`` (spamscore through its CLI, the peers through
the reference scripts in ``benchmarks/peers/``), ``stages`` (where spamscore's time goes),
``scaling`` (cost against message size and corpus size), ``report`` (table, JSON, ROC plot).
"""
