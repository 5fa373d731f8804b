#!/bin/sh
# sh tests/mail/answer.sh ADDRESS REPLY.eml — what a mail client does when
# ADDRESS answers the newest mail the desk sent it (var/sent/new): REPLY.eml
# gets In-Reply-To and References naming that mail, and lands in the desk's
# inbox (written to tmp/, then moved to new/, as Maildir wants).
set -eu
to=$1
reply=$2
mail=$(grep -l -i "^To:.*$to" var/sent/new/* | xargs ls -t | head -n 1)
id=$(sed -n 's/^[Mm][Ee][Ss][Ss][Aa][Gg][Ee]-[Ii][Dd]: *//p' "$mail" | head -n 1 | tr -d '\r')
name=answer-$(date +%s)-$$.eml
{
  printf 'In-Reply-To: %s\nReferences: %s\n' "$id" "$id"
  cat "$reply"
} > "var/inbox/tmp/$name"
mv "var/inbox/tmp/$name" "var/inbox/new/$name"
