#!/bin/sh
# Makes the OpenPGP and S/MIME test material of this folder with GnuPG and
# OpenSSL, as real clients make it (see README). Run from anywhere:
#   tests/mail/openpgp/make.sh
# Needs gpg (2.2 or later) and openssl. Writes keys and .eml files here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export GNUPGHOME=$(mktemp -d)
trap 'rm -rf "$GNUPGHOME"' EXIT
# A low S2K count: the keys are throw-away, and unlocking one with
# gpg-agent's calibrated count (tens of millions of rounds) makes every
# test slow. Real keys keep their own count.
printf 's2k-count 65536\n' > "$GNUPGHOME/gpg-agent.conf"
cd "$here"
gen() { # uid passphrase
    if [ -n "$2" ]; then
        gpg --batch --pinentry-mode loopback --passphrase "$2" --quick-gen-key "$1" ed25519 sign,cert never
    else
        gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "$1" ed25519 sign,cert never
    fi
    fpr=$(gpg --batch --with-colons --list-keys "$1" | awk -F: '/^fpr/ {print $10; exit}')
    gpg --batch --pinentry-mode loopback --passphrase "$2" --quick-add-key "$fpr" cv25519 encr never
}
gen "Test Desk <support@desk.example>" "desk passphrase"
gen "Old Desk Key <support@desk.example>" "desk passphrase"
gen "Ann Customer <ann@customer.example>" ""
gen "Support Team <team@desk.example>" ""
gen "Mallory <mallory@evil.example>" ""
desk=$(gpg --batch --with-colons --list-keys "Test Desk" | awk -F: '/^fpr/ {print $10; exit}')
old=$(gpg --batch --with-colons --list-keys "Old Desk Key" | awk -F: '/^fpr/ {print $10; exit}')
printf 'desk passphrase\n' > desk.pass
gpg --batch --pinentry-mode loopback --passphrase 'desk passphrase' --armor --export-secret-keys "$desk" > desk.sec.asc
gpg --batch --pinentry-mode loopback --passphrase 'desk passphrase' --armor --export-secret-keys "$old" > desk-old.sec.asc
gpg --batch --armor --export "$desk" > desk.pub.asc
gpg --batch --armor --export ann@customer.example > ann.pub.asc
gpg --batch --pinentry-mode loopback --passphrase '' --armor --export-secret-keys ann@customer.example > ann.sec.asc
gpg --batch --armor --export team@desk.example > team.pub.asc
gpg --batch --pinentry-mode loopback --passphrase '' --armor --export-secret-keys team@desk.example > team.sec.asc
gpg --batch --pinentry-mode loopback --passphrase '' --armor --export-secret-keys mallory@evil.example > mallory.sec.asc
gpg --batch --armor --export mallory@evil.example > mallory.pub.asc

enc() { # recipient-fpr < plaintext > armoured (signed by Ann)
    gpg --batch --yes --trust-model always --pinentry-mode loopback --passphrase '' \
        --local-user ann@customer.example --sign --encrypt --armor -r "$1"
}
# Thunderbird (and Enigmail) PGP/MIME: protected headers in the inner part,
# "..." as the outer subject, an attachment inside.
inner=$(printf '%s\r\n' \
 'Content-Type: multipart/mixed; boundary="------------inner42"; protected-headers="v1"' \
 'Subject: Root password for srv-17' \
 'From: Ann Customer <ann@customer.example>' \
 'To: support@desk.example' \
 '' \
 'This is a multi-part message in MIME format.' \
 '--------------inner42' \
 'Content-Type: text/plain; charset=UTF-8; format=flowed' \
 'Content-Transfer-Encoding: 7bit' \
 '' \
 'Hello, the new root password is PURPLE-OCTOPUS-4711, please reset' \
 'the mail quota of srv-17.' \
 '' \
 'Ann' \
 '--------------inner42' \
 'Content-Type: text/plain; charset=UTF-8; name="access.txt"' \
 'Content-Disposition: attachment; filename="access.txt"' \
 'Content-Transfer-Encoding: base64' \
 '' \
 "$(printf 'ssh admin@srv-17 with key SECRET-KEYFILE-99\n' | base64)" \
 '' \
 '--------------inner42--')
armored=$(printf '%s' "$inner" | enc "$desk")
pgpmime() { # message-id armoured
cat <<MAIL
Return-Path: <ann@customer.example>
Message-ID: <$1>
Date: Mon, 16 Nov 2026 10:00:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0
From: Ann Customer <ann@customer.example>
To: support@desk.example
Subject: ...
Content-Type: multipart/encrypted;
 protocol="application/pgp-encrypted";
 boundary="------------enc0123456789"

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--------------enc0123456789
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--------------enc0123456789
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

$2

--------------enc0123456789--
MAIL
}
pgpmime "tb-pgpmime-1@customer.example" "$armored" | sed 's/$/\r/' > thunderbird-pgpmime.eml
# The same, encrypted to the old desk key (key rollover).
armored=$(printf '%s' "$inner" | enc "$old")
pgpmime "tb-pgpmime-old@customer.example" "$armored" | sed 's/$/\r/' > old-key-pgpmime.eml
# Encrypted to Mallory's key only: the desk cannot read it.
armored=$(printf '%s' "$inner" | enc mallory@evil.example)
pgpmime "tb-pgpmime-wrong@customer.example" "$armored" | sed 's/$/\r/' > wrong-key-pgpmime.eml

# Inline PGP, as mutt (pgp_autoinline) or a webmail extension writes it.
armored=$(printf 'My card number is 4111-GREEN-FALCON-0042.\nThanks, Ann\n' | enc "$desk")
{ cat <<MAIL
Return-Path: <ann@customer.example>
From: Ann Customer <ann@customer.example>
To: support@desk.example
Subject: Billing question
Date: Mon, 16 Nov 2026 10:05:00 +0100
Message-ID: <inline-1@customer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
User-Agent: Mutt/2.2.9

$armored
MAIL
} | sed 's/$/\r/' > inline.eml

# PGP/MIME signed (RFC 3156 multipart/signed), as Thunderbird writes it.
# RFC 3156: the signature covers the part's bytes with CRLF line ends, up
# to (not including) the CRLF before the boundary.
signed_part='Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

Please check the DNS of customer.example, signed by Ann.'
printf '%s' "$signed_part" | sed 's/$/\r/' | head -c -1 > part.bin
sig=$(gpg --batch --pinentry-mode loopback --passphrase '' --local-user ann@customer.example --detach-sign --armor -o - part.bin)
{ cat <<MAIL
Return-Path: <ann@customer.example>
From: Ann Customer <ann@customer.example>
To: support@desk.example
Subject: DNS check
Date: Mon, 16 Nov 2026 10:10:00 +0100
Message-ID: <signed-pgp-1@customer.example>
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature";
 boundary="------------sig987"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--------------sig987
$signed_part
--------------sig987
Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="OpenPGP_signature.asc"

$sig

--------------sig987--
MAIL
} | sed 's/$/\r/' > signed-pgpmime.eml

# Forged: From Ann, signed by Mallory's key (which the desk knows too).
sig=$(gpg --batch --pinentry-mode loopback --passphrase '' --local-user mallory@evil.example --detach-sign --armor -o - part.bin)
rm -f part.bin
sed -e 's/signed-pgp-1@/forged-1@/' signed-pgpmime.eml | awk -v sig="$sig" '
  /-----BEGIN PGP SIGNATURE-----/ { print sig; skip=1; next }
  skip && /-----END PGP SIGNATURE-----/ { skip=0; next }
  !skip' | sed 's/\r*$/\r/' > forged-signed.eml
# Ann's signature over a text changed after signing.
sed -e 's/signed-pgp-1@/tampered-1@/' -e 's/Please check the DNS/Please delete the DNS/' signed-pgpmime.eml > tampered-signed.eml

# S/MIME signed, detached (multipart/signed, as Outlook and Thunderbird send
# it) and opaque (application/pkcs7-mime), from a throw-away certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout smime.key -out smime.crt -days 3650 \
    -subj "/CN=Ann Customer/emailAddress=ann@customer.example" 2>/dev/null
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nOutlook says: please renew the certificate of www.customer.example.\r\n' > smime-body.txt
for mode in detached opaque; do
    flag=""; [ "$mode" = opaque ] && flag="-nodetach"
    { printf 'Return-Path: <ann@customer.example>\r\nFrom: Ann Customer <ann@customer.example>\r\nTo: support@desk.example\r\nSubject: Certificate renewal (%s)\r\nDate: Mon, 16 Nov 2026 10:20:00 +0100\r\nMessage-ID: <smime-%s@customer.example>\r\nX-Mailer: Microsoft Outlook 16.0\r\n' "$mode" "$mode"
      openssl smime -sign $flag -signer smime.crt -inkey smime.key -in smime-body.txt -crlfeol
    } > smime-$mode.eml
done
rm -f smime-body.txt
