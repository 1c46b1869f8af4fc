#!/usr/bin/env bash
# Postfix for tests/test_postfix.py and benchmarks/milter_load.py.
# The tests run their own private instance (postfix -c DIR) on a loopback port;
# the system instance must stay stopped and unconfigured.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get install -y --no-install-recommends postfix ca-certificates >/dev/null
# Installing may start the system Postfix (policy-rc.d permitting): stop it.
if postfix status >/dev/null 2>&1; then
    postfix stop || true
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl stop postfix.service 2>/dev/null || true
    systemctl disable postfix.service 2>/dev/null || true
fi
# Sanity: the tools and accounts the tests rely on exist.
command -v postfix postconf postsuper sendmail >/dev/null
getent passwd postfix >/dev/null
getent group postdrop >/dev/null
getent passwd nobody >/dev/null
