#!/usr/bin/env bash
# The package test (root, on a Debian machine; .ci/run runs it): install
# the .deb (built by cargo deb, packaging/deb/build.sh) with dpkg -i, check
# what it put where, check the shipped config, run the daemon as the
# postdesk user on the installed paths for one mail round trip through the
# installed Maildir, with one template overridden in /etc/postdesk/templates,
# then purge and check that nothing is left but the postdesk user (Debian
# policy keeps system users).
#
#   packaging/deb/test.sh PACKAGE.deb
set -euo pipefail

deb=${1:?usage: test.sh PACKAGE.deb}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "test.sh: needs root (dpkg -i)" >&2; exit 77; }
if dpkg -s postdesk >/dev/null 2>&1; then
    echo "test.sh: postdesk is installed on this machine already; not touching it" >&2
    exit 1
fi
fail() { echo "package test: FAILED: $*" >&2; exit 1; }
step() { echo "package test: $*"; }

daemon=
cleanup() {
    if [ -n "$daemon" ]; then kill -TERM "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
    if dpkg -s postdesk >/dev/null 2>&1; then
        rm -rf /etc/postdesk/templates/en
        dpkg --purge postdesk >/dev/null || true
    fi
}
trap cleanup EXIT

step "control fields"
control() { dpkg-deb --field "$deb" "$1"; }
[ "$(control Package)" = postdesk ] || fail "Package: $(control Package)"
[ "$(control Section)" = mail ] || fail "Section: $(control Section)"
[ "$(control Priority)" = optional ] || fail "Priority: $(control Priority)"
control Depends | grep -q 'libc6' || fail "Depends has no libc6: $(control Depends)"
control Depends | grep -q 'passwd' || fail "Depends has no passwd: $(control Depends)"
# The extended description: lines after the synopsis.
[ "$(control Description | wc -l)" -gt 2 ] || fail "no extended description"

step "dpkg -i $deb"
dpkg -i "$deb" >/dev/null

step "files"
postdesk --version | grep -q '^postdesk ' || fail "postdesk --version"
[ "$(command -v postdesk)" = /usr/bin/postdesk ] || fail "postdesk is not /usr/bin/postdesk"
if command -v man >/dev/null && [ -x /usr/bin/mandb ]; then
    man -w postdesk.toml | grep -q 'man5/postdesk.toml.5' || fail "man -w postdesk.toml"
    man -w 8 postdesk | grep -q 'man8/postdesk.8' || fail "man -w 8 postdesk"
fi
for f in /usr/share/man/man5/postdesk.toml.5.gz /usr/share/man/man8/postdesk.8.gz \
    /usr/lib/systemd/system/postdesk.service /usr/lib/sysusers.d/postdesk.conf \
    /usr/lib/tmpfiles.d/postdesk.conf /usr/share/postdesk/templates/en \
    /usr/share/doc/postdesk/examples/postdesk.toml /usr/share/doc/postdesk/copyright \
    /usr/share/bash-completion/completions/postdesk /usr/share/zsh/vendor-completions/_postdesk \
    /usr/share/fish/vendor_completions.d/postdesk.fish; do
    [ -e "$f" ] || fail "$f missing"
done
# Every shipped template of every language, as in the source.
diff -r "$top/conf/templates" /usr/share/postdesk/templates >/dev/null ||
    fail "/usr/share/postdesk/templates differs from conf/templates"
grep -q '^#compdef postdesk' /usr/share/zsh/vendor-completions/_postdesk || fail "zsh completion"
grep -q 'complete -c postdesk' /usr/share/fish/vendor_completions.d/postdesk.fish || fail "fish completion"
grep -q 'check-config' /usr/share/bash-completion/completions/postdesk || fail "bash completion"
bash -n /usr/share/bash-completion/completions/postdesk || fail "bash completion syntax"
grep -qx /etc/postdesk/postdesk.toml /var/lib/dpkg/info/postdesk.conffiles ||
    fail "postdesk.toml is not a conffile"

step "user and directories"
getent passwd postdesk >/dev/null || fail "no postdesk user"
shell=$(getent passwd postdesk | cut -d: -f7)
case "$shell" in */nologin | */false) ;; *) fail "postdesk has the login shell $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/lib/postdesk)" = "postdesk:postdesk 750" ] ||
    fail "/var/lib/postdesk is $(stat -c '%U:%G %a' /var/lib/postdesk)"
[ "$(stat -c '%U:%G %a' /etc/postdesk/postdesk.toml)" = "root:postdesk 640" ] ||
    fail "/etc/postdesk/postdesk.toml is $(stat -c '%U:%G %a' /etc/postdesk/postdesk.toml)"
[ "$(stat -c '%U:%G %a' /etc/postdesk/templates)" = "root:postdesk 750" ] ||
    fail "/etc/postdesk/templates is $(stat -c '%U:%G %a' /etc/postdesk/templates)"
[ "$(stat -c '%a' /usr/bin/postdesk)" = 755 ] || fail "/usr/bin/postdesk is $(stat -c '%a' /usr/bin/postdesk)"
if command -v systemd-analyze >/dev/null; then
    # Complaints about the host (no running systemd) are not the unit's.
    systemd-analyze verify /usr/lib/systemd/system/postdesk.service 2>&1 |
        grep 'postdesk.service' && fail "systemd-analyze verify"
fi

step "check-config on the installed config, as root and as postdesk"
postdesk check-config >/dev/null 2>&1 || fail "check-config"
runuser -u postdesk -- postdesk check-config >/dev/null 2>&1 || fail "check-config as postdesk"

# The shipped config asks a stranger to confirm before a ticket opens:
# Ann's first answer is the confirm template.
step "the English confirm template overridden in /etc/postdesk/templates"
install -d -m 0750 -o root -g postdesk /etc/postdesk/templates/en
{ echo "PACKAGE-TEST OVERRIDE"; cat /usr/share/postdesk/templates/en/confirm.txt; } >/etc/postdesk/templates/en/confirm.txt
chgrp postdesk /etc/postdesk/templates/en/confirm.txt
chmod 0640 /etc/postdesk/templates/en/confirm.txt
runuser -u postdesk -- postdesk check-config >/dev/null 2>&1 || fail "check-config with the override"

step "a mail round trip through the installed Maildir, as postdesk"
log=$(mktemp)
# setpriv execs postdesk itself (runuser would sit between, as a PAM
# session, and turn the SIGTERM below into its own exit status).
setpriv --reuid=postdesk --regid=postdesk --init-groups postdesk run 2>"$log" &
daemon=$!
for _ in $(seq 100); do grep -q 'postdesk running' "$log" && break; sleep 0.1; done
grep -q 'postdesk running' "$log" || { cat "$log"; fail "the daemon did not start"; }
mail=$(mktemp)
printf 'From: Ann <ann@customer.example>\r\nTo: support@localhost\r\nSubject: Printer on fire\r\nMessage-ID: <pkg-test-1@customer.example>\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n' >"$mail"
install -o postdesk -g postdesk -m 0640 "$mail" /var/lib/postdesk/inbox/tmp/pkg-test-1
mv /var/lib/postdesk/inbox/tmp/pkg-test-1 /var/lib/postdesk/inbox/new/pkg-test-1
for _ in $(seq 200); do [ -n "$(ls -A /var/lib/postdesk/sent/new 2>/dev/null)" ] && break; sleep 0.1; done
[ -n "$(ls -A /var/lib/postdesk/sent/new 2>/dev/null)" ] || { cat "$log"; fail "no mail sent"; }
# Each sent mail's recipients and whether its decoded text has the marker.
seen=$(python3 - /var/lib/postdesk/sent/new/* <<'PY'
import email, email.policy, sys
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    text = ''.join(p.get_content() for p in m.walk() if p.get_content_type() == 'text/plain')
    print(m['To'], 'marked' if 'PACKAGE-TEST OVERRIDE' in text else 'plain')
PY
)
echo "$seen" | grep -q 'ann@customer.example' || fail "nothing sent to Ann"
echo "$seen" | grep 'ann@customer.example' | grep -q marked ||
    fail "Ann's mail is not /etc/postdesk/templates/en/confirm.txt: $seen"
[ -z "$(ls -A /var/lib/postdesk/inbox/new)" ] || fail "the mail stayed in the inbox"
code=0
runuser -u postdesk -- postdesk status >/dev/null || code=$?
[ "$code" = 0 ] || fail "postdesk status as postdesk: exit $code"
kill -TERM "$daemon"
code=0
wait "$daemon" || code=$?
[ "$code" = 0 ] || { cat "$log"; fail "the daemon exited $code after SIGTERM"; }
daemon=
[ "$(stat -c '%U' /var/lib/postdesk/postdesk.db)" = postdesk ] || fail "the database is not postdesk's"

step "purge"
# The operator's own file is the operator's: dpkg would leave it (and so
# /etc/postdesk/templates); gone, purge must leave nothing.
rm -r /etc/postdesk/templates/en
dpkg --purge postdesk >/dev/null
for f in /usr/bin/postdesk /etc/postdesk /var/lib/postdesk /usr/share/postdesk /usr/share/doc/postdesk \
    /usr/share/man/man8/postdesk.8.gz /usr/share/man/man5/postdesk.toml.5.gz \
    /usr/lib/systemd/system/postdesk.service /usr/lib/sysusers.d/postdesk.conf \
    /usr/lib/tmpfiles.d/postdesk.conf /usr/share/bash-completion/completions/postdesk; do
    [ ! -e "$f" ] || fail "$f left after purge"
done
step "ok"
