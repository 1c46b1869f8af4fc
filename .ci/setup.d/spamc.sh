#!/usr/bin/env bash
# spamc, SpamAssassin's client, for tests/test_spamd.py and benchmarks/spamd_load.py:
# the tests talk to `spamscore serve` with the real client.  Only the client:
# no spamd, no rules (--no-install-recommends keeps spamassassin itself out).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends spamc >/dev/null
# Sanity: the binary the tests run, and that it is SpamAssassin's.
command -v spamc >/dev/null
spamc -V | grep -q "SpamAssassin Client"
