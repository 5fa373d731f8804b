#!/usr/bin/env bash
# tests/mailstack/start.sh DIR
#
# postdesk's real test mail stack, on 127.0.0.1 only:
#   Dovecot 2.3  POP3 (+STLS), POP3S, IMAP (+STARTTLS, IDLE), IMAPS, LMTP
#   Postfix 3.7  SMTP (+STARTTLS, AUTH optional), SMTPS, submission
#                (STARTTLS + AUTH required). Postfix accepts ANY recipient
#                and hands the mail to Dovecot's LMTP, which writes
#                DIR/mail/<domain>/<local>/Maildir.
#   oauth-server.py  an OAuth 2.0 authorization server (token, device and
#                introspection endpoints; python3 stdlib) that Dovecot asks
#                about XOAUTH2/OAUTHBEARER tokens (SMTP AUTH too, through
#                Dovecot's SASL). Its URL is MAILSTACK_OAUTH_URL; the same
#                server over HTTPS (the stack's CA) is MAILSTACK_OAUTHS_URL.
# Installs the Debian packages when missing (apt-get, non-interactive), writes
# every config, cert, queue, log, socket and pid file into DIR, starts both
# servers by hand (no systemd here) and prints MAILSTACK_* KEY=VALUE lines,
# also written to DIR/mailstack.env. Run as root. Stop with stop.sh DIR.
#
# Environment (optional):
#   MAILSTACK_PORT_BASE   Ports: BASE+25 smtp, +465 smtps, +587 submission,
#                         +110 pop3, +995 pop3s, +143 imap, +993 imaps,
#                         +80 the OAuth 2.0 server, +443 the same over HTTPS.
#                         Unset (the usual case): a free BASE is chosen at
#                         start, so two stacks -- two test runs -- on one
#                         machine never collide; the ports are in
#                         DIR/mailstack.env. Set: exactly that BASE, or fail
#                         if one of its ports is taken.
#   MAILSTACK_USERS       "user@domain:password ..." (default: alice, bob and
#                         support @example.test, password <local>-pw)
#   MAILSTACK_MASTER_PASSWORD  master login "<address>*mailstack-admin"
#                         (default mailstack-admin-pw) reads any mailbox
#   MAILSTACK_SKIP_INSTALL=1   never run apt-get; fail if a package is missing
#   MAILSTACK_REPLACE_MTA=1    let apt remove another installed MTA (exim4,
#                              dma, ...) to install postfix
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "mailstack: $*" >&2; }
fail() { echo "mailstack: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "run as root (apt-get; both servers drop privileges themselves)"
T_BEGIN=$(now)

BASE=${MAILSTACK_PORT_BASE:-}
if [ -n "$BASE" ] && { ! [[ "$BASE" =~ ^[0-9]+$ ]] || [ "$BASE" -lt 1024 ] || [ "$BASE" -gt 64540 ]; }; then
  fail "MAILSTACK_PORT_BASE must be a number in 1024..64540"
fi
set_ports() { # set_ports BASE
  BASE=$1
  SMTP_PORT=$((BASE + 25)) SMTPS_PORT=$((BASE + 465)) SUBMISSION_PORT=$((BASE + 587))
  POP3_PORT=$((BASE + 110)) POP3S_PORT=$((BASE + 995))
  IMAP_PORT=$((BASE + 143)) IMAPS_PORT=$((BASE + 993))
  OAUTH_PORT=$((BASE + 80)) OAUTHS_PORT=$((BASE + 443))
  PORTS="$SMTP_PORT $SMTPS_PORT $SUBMISSION_PORT $POP3_PORT $POP3S_PORT $IMAP_PORT $IMAPS_PORT $OAUTH_PORT $OAUTHS_PORT"
}
USERS=${MAILSTACK_USERS:-"support@example.test:support-pw alice@example.test:alice-pw bob@example.test:bob-pw"}
MASTER_PASSWORD=${MAILSTACK_MASTER_PASSWORD:-mailstack-admin-pw}

# ------------------------------------------------------------------ packages
PACKAGES="dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix openssl python3"

missing_packages() {
  local p
  for p in $PACKAGES; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || printf ' %s' "$p"
  done
}

# apt-get that waits for other apt runs. DPkg::Lock::Timeout covers only the
# dpkg lock; a concurrent apt-get holding the lists/archives lock makes ours
# fail at once, so retry those every 5 s (up to 5 minutes).
apt() {
  local out rc
  out=$(mktemp)
  for _ in $(seq 60); do
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" >"$out" 2>&1 || rc=$?
    [ $rc -eq 0 ] && { rm -f "$out"; return 0; }
    grep -q 'Could not get lock\|Unable to lock\|Unable to acquire' "$out" || break
    sleep 5
  done
  cat "$out" >&2; rm -f "$out"; return $rc
}

other_mta() {
  # Every Debian MTA Provides and Conflicts mail-transport-agent.
  dpkg-query -W -f='${Package}\t${Provides}\t${db:Status-Abbrev}\n' 2>/dev/null |
    awk -F'\t' '$2 ~ /mail-transport-agent/ && $3 ~ /^ii/ && $1 != "postfix" { printf " %s", $1 }'
}

INSTALL_SECS=0
install_packages() {
  local missing t0 policy_made=0
  missing=$(missing_packages)
  [ -n "$missing" ] || return 0
  [ "${MAILSTACK_SKIP_INSTALL:-0}" != 1 ] || fail "missing packages:$missing (MAILSTACK_SKIP_INSTALL=1)"
  if [[ " $missing " == *" postfix "* ]] && [ "${MAILSTACK_REPLACE_MTA:-0}" != 1 ]; then
    local other
    other=$(other_mta)
    # apt would silently remove it: the MTA of some other service here.
    [ -z "$other" ] || fail "installing postfix would remove the installed MTA:$other (set MAILSTACK_REPLACE_MTA=1 to allow)"
  fi
  say "installing:$missing"
  t0=$(now)
  # Package scripts would start system-wide Dovecot/Postfix on 0.0.0.0;
  # Debian's policy-rc.d hook (exit 101) forbids it. Container images often
  # ship one already; add ours only for the duration of the install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_made=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # No debconf question, and no /etc/postfix/main.cf: we never use /etc/postfix.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt update
  # shellcheck disable=SC2086 # word splitting of the package list is wanted
  if ! apt install -y --no-install-recommends $missing; then
    say "install failed; refreshing the package lists and retrying once"
    apt update
    # shellcheck disable=SC2086
    apt install -y --no-install-recommends $missing
  fi
  if [ $policy_made = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  INSTALL_SECS=$(since "$t0")
  say "installed in ${INSTALL_SECS}s"
  missing=$(missing_packages)
  [ -z "$missing" ] || fail "still missing after apt-get:$missing"
}

# ------------------------------------------------------------------ DIR
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prepare_dir() {
  mkdir -p "$1"
  DIR=$(cd "$1" && pwd -P)
  case "$DIR" in
    *[[:space:]\'\"\\@\&\|\#]*) fail "DIR must not contain spaces, quotes, backslash, @, &, | or #: $DIR" ;;
  esac
  # Unix socket paths are limited to 107 bytes; Dovecot's longest socket is
  # DIR plus ~37 characters.
  [ ${#DIR} -le 60 ] || fail "DIR is ${#DIR} characters long, at most 60 fit in a unix socket path: $DIR"

  local f pid
  for f in "$DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    pid=$(tr -dc '0-9' <"$f")
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      dovecot | master) fail "already running ($f: $pid); run stop.sh $DIR first" ;;
    esac
  done

  MAIL_UID=$(id -u mail) MAIL_GID=$(id -g mail)
  # mktemp -d makes 0700; the mail, dovecot and postfix users must get through.
  chmod 0755 "$DIR"
  mkdir -p "$DIR"/{dovecot,postfix,spool/postfix,run,state/dovecot,state/postfix,state/oauth,log,pids,tls,mail}
  chmod 0755 "$DIR"/{dovecot,postfix,spool,spool/postfix,run,state,log,pids,tls}
  chown postfix: "$DIR/state/postfix"
  chmod 0700 "$DIR/state/postfix"
  chown "$MAIL_UID:$MAIL_GID" "$DIR/mail"
  chmod 0750 "$DIR/mail"
  setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups test -x "$DIR/mail" ||
    fail "user 'mail' cannot reach $DIR/mail: a parent directory is not searchable by others (mode 0700?)"
}

# ------------------------------------------------------------------ ports
# Two start.sh on one machine (two test runs, two engineers) must not pick
# the same ports: BASE is chosen among 10000, 11000, ... 31000 (all nine
# ports stay below Linux's ephemeral range, 32768+, so no outgoing
# connection holds one by chance), in random order, the first whose nine
# ports nothing listens on. 20000 is left out: ../shared/mailstack's recipe
# uses it by default. The choice is made under a lock held until our
# servers listen, so a concurrent start.sh sees them taken.
PORT_LOCK=/tmp/postdesk-mailstack-ports.lock

ports_free() {
  local p
  for p in $PORTS; do ! port_open "$p" || return 1; done
}

choose_ports() {
  exec 9>>"$PORT_LOCK"
  flock -w 300 9 || fail "could not take $PORT_LOCK within 5 minutes"
  if [ -n "$BASE" ]; then
    set_ports "$BASE"
    ports_free || fail "a port of MAILSTACK_PORT_BASE=$BASE is already in use ($PORTS)"
    return 0
  fi
  local b
  for b in $(seq 10000 1000 31000 | grep -vx 20000 | shuf); do
    set_ports "$b"
    ports_free && { say "ports: base $BASE ($PORTS)"; return 0; }
  done
  fail "no free port base among 10000..31000"
}

release_port_lock() { exec 9>&-; }

# ------------------------------------------------------------------ TLS
# A throwaway CA and a leaf certificate for localhost and 127.0.0.1. One
# self-signed cert from 'openssl req -x509' would carry CA:TRUE, which rustls
# refuses as a server certificate (CaUsedAsEndEntity): clients trust ca.crt.
make_certs() {
  [ -s "$DIR/tls/server.crt" ] && [ -s "$DIR/tls/ca.crt" ] && return 0
  (
    cd "$DIR/tls"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
      -subj "/CN=postdesk mailstack test CA" -keyout ca.key -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey rsa:2048 -nodes -sha256 \
      -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
      -set_serial "0x$(openssl rand -hex 8)" -sha256 -days 825 \
      -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext
    chmod 0644 ca.crt server.crt
  )
}

# ------------------------------------------------------------------ users
write_users() {
  local entry user pass md
  : >"$DIR/users.passwd.new"
  set -f # the list is split on spaces, never globbed
  for entry in $USERS; do
    user=${entry%%:*} pass=${entry#*:}
    [[ "$entry" == *:* && "$user" == *@*.* && -n "$pass" && "$pass" != *[:\"\\]* ]] ||
      fail "bad MAILSTACK_USERS entry '$entry' (want user@domain:password; no : \" or \\ in the password)"
    user=${user,,}
    echo "$user:{PLAIN}$pass" >>"$DIR/users.passwd.new"
    md="$DIR/mail/${user#*@}/${user%@*}/Maildir"
    install -d -o "$MAIL_UID" -g "$MAIL_GID" -m 0700 \
      "$DIR/mail/${user#*@}" "$DIR/mail/${user#*@}/${user%@*}" "$md" "$md/new" "$md/cur" "$md/tmp"
  done
  set +f
  # Dovecot's auth process (user dovecot) reads it; rename = atomic update.
  chown root:dovecot "$DIR/users.passwd.new"
  chmod 0640 "$DIR/users.passwd.new"
  mv -f "$DIR/users.passwd.new" "$DIR/users.passwd"
  install -o root -g dovecot -m 0640 /dev/null "$DIR/master-users.passwd"
  echo "mailstack-admin:{PLAIN}$MASTER_PASSWORD" >"$DIR/master-users.passwd"
}

# ------------------------------------------------------------------ configs
render() { # render TEMPLATE OUTPUT
  sed -e "s|@@DIR@@|$DIR|g" -e "s|@@MAIL_UID@@|$MAIL_UID|g" -e "s|@@MAIL_GID@@|$MAIL_GID|g" \
    -e "s|@@SMTP_PORT@@|$SMTP_PORT|g" -e "s|@@SMTPS_PORT@@|$SMTPS_PORT|g" \
    -e "s|@@SUBMISSION_PORT@@|$SUBMISSION_PORT|g" \
    -e "s|@@POP3_PORT@@|$POP3_PORT|g" -e "s|@@POP3S_PORT@@|$POP3S_PORT|g" \
    -e "s|@@IMAP_PORT@@|$IMAP_PORT|g" -e "s|@@IMAPS_PORT@@|$IMAPS_PORT|g" \
    -e "s|@@OAUTH_PORT@@|$OAUTH_PORT|g" \
    "$HERE/templates/$1" >"$2"
  chmod 0644 "$2"
  ! grep -q '@@[A-Z_]*@@' "$2" || fail "unreplaced placeholder in $2"
}

write_env() {
  cat >"$DIR/mailstack.env.new" <<EOF
MAILSTACK_DIR=$DIR
MAILSTACK_HOST=127.0.0.1
MAILSTACK_SMTP_PORT=$SMTP_PORT
MAILSTACK_SMTPS_PORT=$SMTPS_PORT
MAILSTACK_SUBMISSION_PORT=$SUBMISSION_PORT
MAILSTACK_POP3_PORT=$POP3_PORT
MAILSTACK_POP3S_PORT=$POP3S_PORT
MAILSTACK_IMAP_PORT=$IMAP_PORT
MAILSTACK_IMAPS_PORT=$IMAPS_PORT
MAILSTACK_OAUTH_PORT=$OAUTH_PORT
MAILSTACK_OAUTH_URL=http://127.0.0.1:$OAUTH_PORT
MAILSTACK_OAUTHS_PORT=$OAUTHS_PORT
MAILSTACK_OAUTHS_URL=https://127.0.0.1:$OAUTHS_PORT
MAILSTACK_CA_CERT=$DIR/tls/ca.crt
MAILSTACK_TLS_SERVER_NAME=localhost
MAILSTACK_MAIL_ROOT=$DIR/mail
MAILSTACK_USERS="$USERS"
MAILSTACK_MASTER_USER_SUFFIX=*mailstack-admin
MAILSTACK_MASTER_PASSWORD=$MASTER_PASSWORD
MAILSTACK_POSTFIX_CONFIG=$DIR/postfix
MAILSTACK_DOVECOT_PID=$(cat "$DIR/pids/dovecot.pid" 2>/dev/null || true)
MAILSTACK_POSTFIX_PID=$(cat "$DIR/pids/postfix.pid" 2>/dev/null || true)
MAILSTACK_OAUTH_PID=$(cat "$DIR/pids/oauth.pid" 2>/dev/null || true)
MAILSTACK_INSTALL_SECS=$INSTALL_SECS
MAILSTACK_START_SECS=${START_SECS:-}
EOF
  mv -f "$DIR/mailstack.env.new" "$DIR/mailstack.env"
}

# ------------------------------------------------------------------ start
start_servers() {
  # The OAuth 2.0 server first: Dovecot asks it about every token. Our
  # child, detached from our stdout/stderr and the port lock like the others.
  setsid python3 "$HERE/oauth-server.py" "$DIR/state/oauth" "$OAUTH_PORT" \
    "$OAUTHS_PORT" "$DIR/tls/server.crt" "$DIR/tls/server.key" \
    </dev/null >>"$DIR/log/oauth.log" 2>&1 9>&- &
  echo $! >"$DIR/pids/oauth.pid"
  # Dovecot next: Postfix's SMTP AUTH asks Dovecot's auth socket.
  # Daemons must not inherit our stdout/stderr: the Dovecot master keeps fd 2
  # open for ever, and "$(start.sh DIR)" would never see end of file.
  # Nor the port lock (fd 9): a master holding it would block every later
  # start.sh until it exits.
  if ! dovecot -c "$DIR/dovecot/dovecot.conf" </dev/null >>"$DIR/log/dovecot-stderr.log" 2>&1 9>&-; then
    cat "$DIR/log/dovecot-stderr.log" >&2
    tail -n 20 "$DIR/log/dovecot.log" >&2 2>/dev/null || true
    fail "dovecot did not start"
  fi
  wait_file "$DIR/run/dovecot/master.pid"
  tr -dc '0-9' <"$DIR/run/dovecot/master.pid" >"$DIR/pids/dovecot.pid"

  # 'postfix start' runs 'postfix check' (creates the queue tree with the
  # right owners), then 'master -w', which returns once the master is up.
  if ! postfix -c "$DIR/postfix" start </dev/null >"$DIR/log/postfix-start.log" 2>&1 9>&-; then
    cat "$DIR/log/postfix-start.log" >&2
    tail -n 20 "$DIR/log/postfix.log" >&2 2>/dev/null || true
    # The postfix command prints its fatal errors to syslog (absent here) and
    # to stderr only when that is a terminal: run the check again on a pty.
    script -qec "postfix -c '$DIR/postfix' check" /dev/null </dev/null >&2 9>&- || true
    fail "postfix did not start"
  fi
  wait_file "$DIR/spool/postfix/pid/master.pid"
  tr -dc '0-9' <"$DIR/spool/postfix/pid/master.pid" >"$DIR/pids/postfix.pid"
}

wait_file() { # wait_file PATH: up to 10 s for PATH to be non-empty
  for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  fail "$1 did not appear within 10 s"
}

# Ready means: every port listens, IMAP LOGIN succeeds (Dovecot auth is up,
# which Postfix's AUTH needs too) and Postfix greets with 220.
imap_login_ok() {
  local line first=${USERS%% *}
  exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT" || return 1
  IFS= read -r -t 5 line <&3 || { exec 3>&-; return 1; }
  printf 'a1 LOGIN "%s" "%s"\r\na2 LOGOUT\r\n' "${first%%:*}" "${first#*:}" >&3
  while IFS= read -r -t 5 line <&3; do
    case "$line" in
      "a1 OK"*) exec 3>&-; return 0 ;;
      "a1 "*) exec 3>&-; return 1 ;;
    esac
  done
  exec 3>&-
  return 1
}
smtp_greets() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT" || return 1
  IFS= read -r -t 5 line <&3 || { exec 3>&-; return 1; }
  printf 'QUIT\r\n' >&3
  exec 3>&-
  [[ "$line" == 220* ]]
}
wait_ready() {
  local p
  for p in $PORTS; do
    for _ in $(seq 200); do port_open "$p" && break; sleep 0.05; done
    port_open "$p" || fail "nothing listens on 127.0.0.1:$p after 10 s"
  done
  for _ in $(seq 100); do
    imap_login_ok && smtp_greets && return 0
    sleep 0.1
  done
  tail -n 20 "$DIR/log/dovecot.log" "$DIR/log/postfix.log" >&2 2>/dev/null || true
  fail "no IMAP login or SMTP greeting within 10 s"
}

# ------------------------------------------------------------------ main
install_packages
prepare_dir "$1"
choose_ports
make_certs
write_users
render dovecot.conf.in "$DIR/dovecot/dovecot.conf"
render dovecot-oauth2.conf.ext.in "$DIR/dovecot/oauth2.conf.ext"
render postfix-main.cf.in "$DIR/postfix/main.cf"
render postfix-master.cf.in "$DIR/postfix/master.cf"
write_env # ports are known before anything starts: stop.sh reads them

# From here on a failure stops whatever did start.
trap 'rc=$?; if [ $rc -ne 0 ]; then say "start failed; stopping what started"; "$HERE/stop.sh" "$DIR" >&2 || true; fi' EXIT
T_START=$(now)
start_servers
wait_ready
START_SECS=$(since "$T_START")
release_port_lock # our servers listen: the next start.sh sees the ports taken
write_env
trap - EXIT
say "ready: servers up in ${START_SECS}s (install ${INSTALL_SECS}s, total $(since "$T_BEGIN")s)"
cat "$DIR/mailstack.env"
