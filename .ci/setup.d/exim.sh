#!/usr/bin/env bash
# Exim with content scanning, for tests/test_spamd.py::test_exim_spam_acl (Exim's `spam =`
# ACL condition against `spamscore serve`).  Debian's exim4 packages and postfix conflict
# (each is the system MTA) and the Postfix tests need postfix installed, so exim4-daemon-heavy
# is unpacked under /opt/exim4-heavy (dpkg -x: no maintainer scripts, no service) with the
# libraries it needs that postfix's installation lacks.  The test runs it in `-bh` mode (one
# SMTP session on stdin, no daemon) with a private configuration (-C, as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
DEST=/opt/exim4-heavy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
chown _apt "$work" 2>/dev/null || true   # apt downloads as _apt where it can
cd "$work"
apt-get download exim4-daemon-heavy libmariadb3 libspf2-2 libidn12 >/dev/null
rm -rf "$DEST"
mkdir -p "$DEST"
for deb in ./*.deb; do
    dpkg -x "$deb" "$DEST"
done
# The binary refuses to start unless its compiled-in user exists (the package's postinst makes it).
getent passwd Debian-exim >/dev/null || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin Debian-exim
# Sanity: every library resolves and content scanning is compiled in.
export LD_LIBRARY_PATH="$DEST/usr/lib/x86_64-linux-gnu:$DEST/usr/lib"
if ldd "$DEST/usr/sbin/exim4" | grep -q "not found"; then
    ldd "$DEST/usr/sbin/exim4" | grep "not found" >&2
    exit 1
fi
# (-bV prints the build before it looks for the system configuration, which does not exist)
version=$("$DEST/usr/sbin/exim4" -bV 2>&1 || true)
grep -q Content_Scanning <<<"$version"
