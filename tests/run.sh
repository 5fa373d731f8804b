#!/usr/bin/env bash
# tests/run.sh [CARGO TEST ARGS...] — the whole test suite, the command the
# README gives and CI runs: the unit tests, the two integration binaries
# (tests/it: the fast ones, one module per area; tests/stack: against the
# real mail servers) and the benches in test mode (small sizes).
#
# As root it starts the project's real mail stack (Dovecot + Postfix on
# 127.0.0.1, tests/mailstack/, installed with apt-get when missing, on free
# ports in a directory of its own, so two runs never collide) around
# `cargo test`, so the `stack` tests talk to real servers. Without root those
# tests say "skipped" — unless POSTDESK_REQUIRE_MAILSTACK=1 (CI) makes that
# a failure, as POSTDESK_REQUIRE_CORPUS=1 does for the ../shared corpus.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" = 0 ]; then
  exec tests/run-with-mailstack.sh cargo test --all-targets "$@"
fi
echo "tests/run.sh: not root, so no mail stack: the real-server tests will skip" >&2
exec cargo test --all-targets "$@"
