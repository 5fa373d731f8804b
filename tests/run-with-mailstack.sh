#!/usr/bin/env bash
# tests/run-with-mailstack.sh COMMAND [ARGS...]
#
# Runs COMMAND with a fresh test mail stack (tests/mailstack/start.sh) and
# its MAILSTACK_* variables in the environment; stops the stack and deletes
# its directory afterwards, whatever happens. Exits with COMMAND's status.
#
#   tests/run-with-mailstack.sh env POSTDESK_REQUIRE_MAILSTACK=1 cargo test --test stack
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

# Short on purpose: Dovecot's unix sockets live under it (107-byte limit).
MS=$(mktemp -d /tmp/ms.XXXX) || exit 1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  "$HERE/mailstack/stop.sh" "$MS" --purge >&2 || echo "run-with-mailstack: WARNING: stop.sh $MS failed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "$HERE/mailstack/start.sh" "$MS" >/dev/null; then
  echo "run-with-mailstack: the mail stack did not start (logs were in $MS/log)" >&2
  tail -n 30 "$MS"/log/*.log >&2 2>/dev/null || true
  exit 1
fi
set -a
# shellcheck disable=SC1091 # written by start.sh
. "$MS/mailstack.env"
set +a

"$@"
rc=$?
exit $rc
