#!/usr/bin/env bash
# tests/mailstack/stop.sh DIR [--purge]
#
# Stops the Postfix and Dovecot that start.sh DIR started: their masters and
# every process below them, by PID only (TERM, KILL after 10 s), after
# checking that each PID really is this DIR's master. Then checks that the
# ports are closed and removes sockets and pid files. --purge also deletes
# DIR (mail, logs, certificates: everything). Exit 0 only if nothing of this
# stack is left running.
set -uo pipefail

say() { echo "mailstack: $*" >&2; }
fail() { echo "mailstack: ERROR: $*" >&2; exit 1; }

PURGE=0 ARG=""
for a in "$@"; do
  case "$a" in
    --purge) PURGE=1 ;;
    -*) fail "unknown option $a" ;;
    *) [ -z "$ARG" ] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }; ARG=$a ;;
  esac
done
[ -n "$ARG" ] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
[ -d "$ARG" ] || { say "$ARG does not exist: nothing to stop"; exit 0; }
DIR=$(cd "$ARG" && pwd -P)
[ -f "$DIR/dovecot/dovecot.conf" ] || [ -f "$DIR/postfix/main.cf" ] || [ -f "$DIR/mailstack.env" ] ||
  fail "$DIR does not look like a mailstack DIR; refusing to touch it"

# Process state from /proc/PID/stat (no procps needed). PID 1 here is not a
# real init: it reaps orphans late, and kill -0 succeeds on a zombie.
alive() {
  local st
  { st=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  st=${st##*) } # the state letter follows the ")" closing the command name
  st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Every descendant of PID (breadth first), from the ppid field of /proc/*/stat.
descendants() {
  local f st rest pid cur
  local -a queue=("$1")
  local -A children=()
  for f in /proc/[0-9]*/stat; do
    { st=$(<"$f"); } 2>/dev/null || continue
    rest=${st##*) }
    rest=${rest#* } # skip the state; ppid comes next
    pid=${f#/proc/}
    pid=${pid%/stat}
    children[${rest%% *}]+=" $pid"
  done
  while [ ${#queue[@]} -gt 0 ]; do
    cur=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in ${children[$cur]:-}; do
      echo "$pid"
      queue+=("$pid")
    done
  done
}

# Is PID the KIND master of THIS DIR (and not a reused PID or another stack)?
is_ours() { # is_ours PID KIND
  alive "$1" || return 1
  case "$2" in
    dovecot) tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-c $DIR/dovecot/dovecot.conf" ;;
    postfix) [ "$(cat "/proc/$1/comm" 2>/dev/null)" = master ] &&
      tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$DIR/postfix" ;;
  esac
}

# The KIND master: from our pid file, the server's own pid file, or -- when a
# start.sh died half-way -- a scan of /proc for a process is_ours accepts.
find_master() { # find_master KIND
  local f pid own
  [ "$1" = dovecot ] && own=$DIR/run/dovecot/master.pid || own=$DIR/spool/postfix/pid/master.pid
  for f in "$DIR/pids/$1.pid" "$own"; do
    [ -f "$f" ] || continue
    pid=$(tr -dc '0-9' <"$f")
    [ -n "$pid" ] && is_ours "$pid" "$1" && { echo "$pid"; return 0; }
  done
  for f in /proc/[0-9]*/comm; do
    case "$(cat "$f" 2>/dev/null)" in dovecot | master) ;; *) continue ;; esac
    pid=${f#/proc/}
    pid=${pid%/comm}
    is_ours "$pid" "$1" && { echo "$pid"; return 0; }
  done
  return 1
}

still_alive() { # still_alive SECONDS PID...: prints the survivors, 0 if none
  local secs=$1 p left
  shift
  for _ in $(seq $((secs * 10))); do
    left=""
    for p in "$@"; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "$left"
  return 1
}

stop_kind() { # stop_kind KIND
  local pid procs left
  if ! pid=$(find_master "$1"); then
    say "$1: not running"
    rm -f "$DIR/pids/$1.pid"
    return 0
  fi
  # Remember the children now: after the master exits they are re-parented.
  procs="$pid $(descendants "$pid" | tr '\n' ' ')"
  if [ "$1" = postfix ]; then
    postfix -c "$DIR/postfix" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
  else
    kill -TERM "$pid" 2>/dev/null
  fi
  # shellcheck disable=SC2086 # a list of PIDs
  if ! left=$(still_alive 10 $procs); then
    say "$1: still running after 10 s:$left; sending KILL"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    # shellcheck disable=SC2086
    left=$(still_alive 5 $left) || { say "$1: could not kill:$left"; return 1; }
  fi
  rm -f "$DIR/pids/$1.pid"
  say "$1: stopped (master $pid, $(wc -w <<<"$procs") processes)"
}

# The OAuth 2.0 server: one python3 process, ours if its command line
# names this DIR.
stop_oauth() {
  local pid
  [ -f "$DIR/pids/oauth.pid" ] || return 0
  pid=$(tr -dc '0-9' <"$DIR/pids/oauth.pid")
  if [ -n "$pid" ] && alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "oauth-server.py $DIR/state/oauth "; then
    kill -TERM "$pid" 2>/dev/null
    still_alive 10 "$pid" >/dev/null || { kill -KILL "$pid" 2>/dev/null; still_alive 5 "$pid" >/dev/null; } ||
      { say "oauth: could not kill $pid"; return 1; }
    say "oauth: stopped ($pid)"
  fi
  rm -f "$DIR/pids/oauth.pid"
}

rc=0
stop_kind postfix || rc=1 # first: its smtpd talks to Dovecot's auth socket
stop_kind dovecot || rc=1
stop_oauth || rc=1

if [ -f "$DIR/mailstack.env" ]; then
  # shellcheck disable=SC2013 # one port number per matching line
  for p in $(sed -n 's/^MAILSTACK_[A-Z0-9]*_PORT=\([0-9]*\)$/\1/p' "$DIR/mailstack.env"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      say "127.0.0.1:$p still listening"
      rc=1
    fi
  done
fi
[ $rc = 0 ] || fail "not everything stopped"
# Only now that nothing runs: sockets and stale pid files go.
rm -rf "$DIR/run/dovecot" "$DIR/spool/postfix/pid" "$DIR/spool/postfix/public" "$DIR/spool/postfix/private"
if [ $PURGE = 1 ]; then
  rm -rf "$DIR"
  say "removed $DIR"
fi
say "stopped"
