#!/usr/bin/env bash
# tests/run.sh [CARGO TEST ARGS...] — the whole test suite, the command the
# README gives and CI runs.
#
# As root it starts the project's real mail stack (Dovecot + Postfix on
# 127.0.0.1, tests/mailstack/, installed with apt-get when missing) around
# `cargo test`, so the SMTP tests talk to a real server. Without root those
# tests say "skipped" — unless POSTDESK_REQUIRE_MAILSTACK=1 (CI) makes that
# a failure, as POSTDESK_REQUIRE_CORPUS=1 does for the ../shared corpus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" = 0 ]; then
  exec tests/run-with-mailstack.sh cargo test --all-targets "$@"
fi
echo "tests/run.sh: not root, so no mail stack: the real-server tests will skip" >&2
exec cargo test --all-targets "$@"
