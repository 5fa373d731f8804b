#!/usr/bin/env bash
# The package under a real systemd (root, on a Debian host; .ci/run runs
# it after test.sh): a Debian bookworm tree made by debootstrap (kept
# between runs) is copied fresh and booted with systemd-nspawn --boot, so
# systemd is PID 1 there even where the host has none. In it: dpkg -i the
# package, `systemctl enable --now postdesk` (the whole install, as the
# README says), the unit's hardening in force (systemd-analyze security),
# a mail round trip through the installed Maildir and one piped to
# `postdesk ingest`, a reload, the outbox's look at /proc for a live
# sender (ProtectProc=invisible, ProcSubset=pid, PrivateUsers=yes must
# still show it a process of the postdesk user), a clean stop, a purge.
#
#   packaging/deb/nspawn-test.sh PACKAGE.deb
#
# POSTDESK_NSPAWN_TREE: where the debootstrap'd tree is kept
# (default /var/tmp/postdesk-nspawn-bookworm).
set -euo pipefail

deb=$(realpath "${1:?usage: nspawn-test.sh PACKAGE.deb}")
tree=${POSTDESK_NSPAWN_TREE:-/var/tmp/postdesk-nspawn-bookworm}
[ "$(id -u)" = 0 ] || { echo "nspawn-test.sh: needs root" >&2; exit 77; }
fail() { echo "nspawn test: FAILED: $*" >&2; exit 1; }
step() { echo "nspawn test: $*"; }

if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get install -y -q systemd-container debootstrap >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q systemd-container debootstrap >/dev/null; }
fi
if [ ! -x "$tree/lib/systemd/systemd" ]; then
    step "debootstrap bookworm into $tree (once)"
    rm -rf "$tree.tmp"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps,python3 \
        bookworm "$tree.tmp" >/dev/null
    mv "$tree.tmp" "$tree"
fi

root=$(mktemp -d /var/tmp/postdesk-nspawn.XXXXXX)
log=$(mktemp)
nspawn=
cleanup() {
    if [ -n "$nspawn" ]; then
        kill -TERM "$nspawn" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$nspawn" 2>/dev/null || true
        wait "$nspawn" 2>/dev/null || true
    fi
    rm -rf "$root" "$log"
}
trap cleanup EXIT
cp -a "$tree/." "$root/"
# Not /tmp: the container mounts a tmpfs there.
mkdir -p "$root/root/t"
cp "$deb" "$root/root/t/postdesk.deb"

step "boot"
# No machined or system bus on the host: no registration, no scope of
# its own (--keep-unit); the console is left to the container's journal.
systemd-nspawn -D "$root" --boot --register=no --keep-unit --console=passive \
    --machine=postdesk-test >"$log" 2>&1 &
nspawn=$!
init=
# The container's PID 1 is the child of nspawn that runs systemd (before
# that, nspawn's own helpers).
for _ in $(seq 300); do
    init=$(pgrep -P "$nspawn" -x systemd | head -n1 || true)
    [ -n "$init" ] && break
    sleep 0.1
done
[ -n "$init" ] || { cat "$log"; fail "systemd-nspawn started no init"; }
inside() { nsenter -t "$init" -a "$@"; }
# Until its bus is up systemctl cannot even ask.
state=
for _ in $(seq 600); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded | maintenance | stopping) break ;; esac
    sleep 0.1
done
[ "$state" = running ] || { inside systemctl --failed --no-pager || true; cat "$log"; fail "the container's systemd is $state"; }

step "dpkg -i; systemctl enable --now postdesk"
inside dpkg -i /root/t/postdesk.deb >/dev/null
inside systemctl enable --now postdesk.service 2>/dev/null
# Type=notify: active only once the daemon said READY=1.
inside systemctl is-active --quiet postdesk.service ||
    { inside journalctl -u postdesk --no-pager | tail -n 30; fail "postdesk.service is not active"; }
[ "$(inside systemctl show -p User --value postdesk.service)" = postdesk ] || fail "not run as postdesk"

step "hardening"
security=$(inside systemd-analyze security postdesk.service --no-pager 2>&1)
echo "$security" | tail -n1
for setting in ProtectProc= ProcSubset= PrivateUsers= RemoveIPC= PrivateMounts=; do
    echo "$security" | grep -F "$setting" | grep -q '^✓' || fail "$setting is not in force: $(echo "$security" | grep -F "$setting")"
done
# systemd-analyze security has no line of its own for it.
[ "$(inside systemctl show -p DevicePolicy --value postdesk.service)" = closed ] || fail "DevicePolicy is not closed"
exposure=$(echo "$security" | sed -n 's/.*Overall exposure level for postdesk.service: \([0-9.]*\).*/\1/p')
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "exposure $exposure (over 2.0)"

step "a mail round trip through the Maildir, one piped to ingest"
mail() {
    printf 'From: %s\r\nTo: support@localhost\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\n\r\nPlease help.\r\n' "$@"
}
mail 'Ann <ann@customer.example>' 'Printer on fire' nspawn-1@customer.example >"$root/root/t/m1"
inside install -o postdesk -g postdesk -m 0640 /root/t/m1 /var/lib/postdesk/inbox/tmp/m1
inside mv /var/lib/postdesk/inbox/tmp/m1 /var/lib/postdesk/inbox/new/m1
sent_to() { grep -l "^To:.*$1" "$root"/var/lib/postdesk/sent/new/* 2>/dev/null | grep -q .; }
for _ in $(seq 200); do sent_to ann@customer.example && break; sleep 0.1; done
sent_to ann@customer.example || { inside journalctl -u postdesk --no-pager | tail -n 30; fail "nothing sent to Ann"; }
mail 'Bob <bob@customer.example>' 'Scanner too' nspawn-2@customer.example >"$root/root/t/m2"
inside sh -c 'runuser -u postdesk -- postdesk ingest </root/t/m2' || fail "postdesk ingest as postdesk"
for _ in $(seq 200); do sent_to bob@customer.example && break; sleep 0.1; done
sent_to bob@customer.example || fail "nothing sent to Bob"

step "a sender outside the unit is seen alive from inside it"
# Before taking back a sender's claimed mail the outbox asks whether the
# sender's process still exists, with kill(PID, 0) (src/outbox/mod.rs):
# under ProtectProc=invisible with PrivateUsers=yes, a process of the
# postdesk user started outside the unit (an `ingest` under the MTA) is
# not in the unit's /proc. Asked here the same way, with the unit's
# settings, as its user.
inside sh -c 'setpriv --reuid=postdesk --regid=postdesk --init-groups sleep 120 >/dev/null 2>&1 & echo $! >/root/t/sleeper'
sleeper=$(cat "$root/root/t/sleeper")
probe() {
    inside systemd-run --wait --quiet --pipe -p User=postdesk -p Group=postdesk \
        -p ProtectProc=invisible -p ProcSubset=pid -p PrivateUsers=yes -p PrivateMounts=yes \
        python3 -c '
import os, sys
pid = int(sys.argv[1])
try:
    os.kill(pid, 0)
except ProcessLookupError:
    print("gone", os.path.exists(f"/proc/{pid}"))
except PermissionError:
    print("alive", os.path.exists(f"/proc/{pid}"))
else:
    print("alive", os.path.exists(f"/proc/{pid}"))
' "$1"
}
answer=$(probe "$sleeper")
echo "  postdesk's PID $sleeper from inside the unit: $answer (alive, in /proc)"
[ "${answer%% *}" = alive ] || fail "a live process of postdesk looks gone from the unit: $answer"
inside kill "$sleeper"
for _ in $(seq 50); do inside kill -0 "$sleeper" 2>/dev/null || break; sleep 0.1; done
answer=$(probe "$sleeper")
[ "${answer%% *}" = gone ] || fail "a dead process looks alive from the unit: $answer"

step "reload, status, stop"
inside systemctl reload postdesk.service
inside systemctl is-active --quiet postdesk.service || fail "not active after reload"
code=0
inside runuser -u postdesk -- postdesk status >/dev/null || code=$?
[ "$code" = 0 ] || fail "postdesk status: exit $code"
inside systemctl stop postdesk.service
[ "$(inside systemctl show -p Result --value postdesk.service)" = success ] ||
    { inside journalctl -u postdesk --no-pager | tail -n 30; fail "the stop was not clean"; }
if inside journalctl -u postdesk --no-pager -p warning | grep -v -- '-- ' | grep -q .; then
    inside journalctl -u postdesk --no-pager -p warning
    fail "warnings in the daemon's journal"
fi

step "purge"
inside systemctl disable postdesk.service 2>/dev/null
inside dpkg --purge postdesk >/dev/null
for f in /usr/bin/postdesk /etc/postdesk /var/lib/postdesk /usr/lib/systemd/system/postdesk.service; do
    [ ! -e "$root$f" ] || fail "$f left after purge"
done
step "ok"
