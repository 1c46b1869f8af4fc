#!/usr/bin/env bash
# Peer filters for tests/test_benchmarks_smoke.py: Bogofilter (cheap) and GNU time
# (/usr/bin/time -v, which the reference peer scripts use to measure memory).
# SpamAssassin and Rspamd are only needed by the full benchmark (benchmarks/run.py
# installs them itself when run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends bogofilter time
