#!/usr/bin/env bash
# Headless Chromium for tests/test_check_html.py: the HTML report of
# `spamscore check` is rendered and its DOM and a screenshot are checked
# (IPA Gothic: a small Japanese font, so Japanese reports are legible in it).
set -euo pipefail
apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core fonts-ipafont-gothic >/dev/null
chromium --version
