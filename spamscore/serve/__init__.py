"""How scores reach a mail system: the pipe filter, the milter, the spamd server, and the X-Spam-* headers they write.

Nothing is imported here: ``spamscore filter`` imports :mod:`spamscore.serve.pipe` once per
message, and every module this package imported would be paid for by each of those runs
(benchmarks/startup.py measures it).
"""
