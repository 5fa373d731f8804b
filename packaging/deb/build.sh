#!/usr/bin/env bash
# Builds postdesk_VERSION_ARCH.deb from an already built binary, with
# dpkg-deb alone (no cargo-deb to compile first: CI builds the release
# binary anyway, and a test may package a debug build).
#
#   packaging/deb/build.sh BINARY [OUTDIR]
#
# e.g. packaging/deb/build.sh target/release/postdesk target/deb
# Prints the path of the package it wrote.
set -euo pipefail

bin=${1:?usage: build.sh BINARY [OUTDIR]}
out=${2:-target/deb}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$top/Cargo.toml" | head -n1)
arch=$(dpkg --print-architecture)
[ -x "$bin" ] || { echo "build.sh: $bin is not an executable" >&2; exit 66; }
# The binary must be the one these files describe.
"$bin" --version | grep -qx "postdesk $version" ||
    { echo "build.sh: $bin is not postdesk $version" >&2; exit 65; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/postdesk"
install -d -m 0755 "$root/usr/share/man/man8" "$root/usr/share/man/man5"
gzip -9n -c "$top/man/postdesk.8" >"$root/usr/share/man/man8/postdesk.8.gz"
gzip -9n -c "$top/man/postdesk.toml.5" >"$root/usr/share/man/man5/postdesk.toml.5.gz"
install -D -m 0644 "$here/postdesk.toml" "$root/etc/postdesk/postdesk.toml"
install -D -m 0644 "$top/systemd/postdesk.service" "$root/usr/lib/systemd/system/postdesk.service"
install -D -m 0644 "$top/systemd/postdesk.sysusers" "$root/usr/lib/sysusers.d/postdesk.conf"
install -D -m 0644 "$top/systemd/postdesk.tmpfiles" "$root/usr/lib/tmpfiles.d/postdesk.conf"
mkdir -p "$root/usr/share/postdesk"
cp -r "$top/conf/templates" "$root/usr/share/postdesk/templates"
doc="$root/usr/share/doc/postdesk"
install -D -m 0644 "$top/conf/postdesk.toml" "$doc/examples/postdesk.toml"
gzip -9n -c "$top/README.md" >"$doc/README.md.gz"
cat >"$doc/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: postdesk

Files: *
License: MIT or Apache-2.0
 The full texts are in /usr/share/common-licenses/Apache-2.0 and at
 https://opensource.org/license/mit.
COPYRIGHT
find "$root" -type d -exec chmod 0755 {} +
find "$root/usr/share" -type f -exec chmod 0644 {} +

install -d -m 0755 "$root/DEBIAN"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
echo /etc/postdesk/postdesk.toml >"$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: postdesk
Version: $version
Architecture: $arch
Maintainer: postdesk maintainers <postdesk@localhost>
Installed-Size: $size
Depends: libc6, libgcc-s1, passwd
Recommends: systemd
Section: mail
Priority: optional
Description: email-native support-ticketing daemon
 postdesk collects the mail customers send to a support address (POP3,
 IMAP, Maildir, or a pipe from the MTA), threads each message into a
 ticket by the token in its subject, keeps everything in SQLite and answers
 purely by mail: receipts, staff notifications, relayed replies,
 inactivity warnings and close notices.
CONTROL

mkdir -p "$out"
deb="$out/postdesk_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
