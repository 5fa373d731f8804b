//! S/MIME through the binary (issue 16), with material the `openssl` CLI
//! makes at run time: a throw-away CA, certificates for Ann (RSA and
//! ECDSA P-256) and for Mallory, mail signed by `openssl smime` (the older
//! x-pkcs7 names) and `openssl cms`, detached and opaque (`-nodetach`,
//! the smime.p7m Outlook sends). Opaque mail shows its content, signatures
//! are checked and shown, a changed content is BAD, a certificate of
//! another address or one the desk does not know proves nothing, and one
//! the desk knows (its CA, or the account's own certificate) makes the
//! mail genuine.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::outbox::ingest;
use crate::support::{ADDRESS, Desk};

/// A throw-away PKI in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

/// How a test mail is signed.
#[derive(Clone, Copy, Debug)]
enum Tool {
    /// `openssl smime -sign`: application/x-pkcs7-signature and -mime.
    Smime,
    /// `openssl cms -sign`: application/pkcs7-signature and -mime.
    Cms,
}

fn openssl() -> bool {
    let found = Command::new("openssl").arg("version").output().is_ok();
    if !found {
        assert!(
            std::env::var("POSTDESK_REQUIRE_MAILSTACK").as_deref() != Ok("1"),
            "openssl is required (POSTDESK_REQUIRE_MAILSTACK=1)"
        );
        eprintln!("skipped: openssl is not installed");
    }
    found
}

fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Pki {
    /// A CA, and certificates issued by it: `ann` (RSA), `ann-ec` (P-256)
    /// for ann@customer.example, `mallory` for mallory@evil.example; and
    /// `self-ann`, Ann's address in a self-signed certificate; `ann-old`,
    /// Ann's from the CA, expired; `ann-inter`, Ann's from `inter`, an
    /// intermediate CA the CA issued.
    fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        let d = pki.dir.path();
        run(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=Throwaway Test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        );
        pki.issue(
            "ann",
            "Ann Customer",
            "ann@customer.example",
            &["-newkey", "rsa:2048"],
        );
        pki.issue(
            "ann-ec",
            "Ann Customer",
            "ann@customer.example",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        );
        pki.issue(
            "mallory",
            "Mallory",
            "mallory@evil.example",
            &["-newkey", "rsa:2048"],
        );
        pki.issue_expired("ann-old");
        // Ann's certificate from an intermediate CA of the trusted one.
        pki.issue_by(
            "ca",
            "inter",
            "/CN=Throwaway Intermediate CA",
            &["-newkey", "rsa:2048"],
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
        );
        pki.issue_by(
            "inter",
            "ann-inter",
            "/CN=Ann Customer/emailAddress=ann@customer.example",
            &["-newkey", "rsa:2048"],
            "basicConstraints=CA:FALSE\nsubjectAltName=email:ann@customer.example\n",
        );
        run(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "self-ann.key",
                "-out",
                "self-ann.crt",
                "-days",
                "30",
                "-subj",
                "/CN=Ann Customer/emailAddress=ann@customer.example",
            ],
        );
        pki
    }

    fn issue(&self, name: &str, cn: &str, email: &str, key: &[&str]) {
        let ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,nonRepudiation\n\
extendedKeyUsage=emailProtection\nsubjectAltName=email:{email}\n"
        );
        let subject = format!("/CN={cn}/emailAddress={email}");
        self.issue_by("ca", name, &subject, key, &ext);
    }

    /// `name`.crt and .key, issued by `issuer` (.crt, .key) with the
    /// extensions `ext`.
    fn issue_by(&self, issuer: &str, name: &str, subject: &str, key: &[&str], ext: &str) {
        let d = self.dir.path();
        let (keyfile, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let mut args = vec!["req", "-new", "-nodes"];
        args.extend_from_slice(key);
        args.extend_from_slice(&["-keyout", &keyfile, "-out", &csr, "-subj", subject]);
        run(d, &args);
        let extfile = format!("{name}.ext");
        std::fs::write(d.join(&extfile), ext).unwrap();
        let (crt, ca, ca_key) = (
            format!("{name}.crt"),
            format!("{issuer}.crt"),
            format!("{issuer}.key"),
        );
        let args = ["x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key];
        let more = [
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "30",
            "-extfile",
            &extfile,
        ];
        run(d, &args.into_iter().chain(more).collect::<Vec<_>>());
    }

    /// `name`: Ann's certificate from the same CA, valid in 2020 only
    /// (`openssl ca`, which takes explicit dates).
    fn issue_expired(&self, name: &str) {
        let d = self.dir.path();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("serial"), "1000\n").unwrap();
        std::fs::write(
            d.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\n\
serial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n\
emailAddress = optional\n",
        )
        .unwrap();
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        let subject = "/CN=Ann Customer/emailAddress=ann@customer.example";
        run(
            d,
            &["req", "-new", "-nodes", "-newkey", "rsa:2048"]
                .into_iter()
                .chain(["-keyout", &key, "-out", &csr, "-subj", subject])
                .collect::<Vec<_>>(),
        );
        let dates = [
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20210101000000Z",
        ];
        run(
            d,
            &[
                "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key",
            ]
            .into_iter()
            .chain(["-in", &csr, "-out", &crt, "-extfile", "ann.ext", "-notext"])
            .chain(dates)
            .collect::<Vec<_>>(),
        );
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `entity` (a MIME entity, CRLF) signed by `signer`'s certificate, as
    /// the MIME part openssl writes (its header included).
    fn sign(&self, tool: Tool, signer: &str, entity: &str, opaque: bool, extra: &[&str]) -> String {
        let d = self.dir.path();
        std::fs::write(d.join("entity.txt"), entity).unwrap();
        let (crt, key) = (format!("{signer}.crt"), format!("{signer}.key"));
        let mut args = vec![
            match tool {
                Tool::Smime => "smime",
                Tool::Cms => "cms",
            },
            "-sign",
            "-signer",
            &crt,
            "-inkey",
            &key,
            "-in",
            "entity.txt",
            "-crlfeol",
        ];
        if opaque {
            args.push("-nodetach");
        }
        args.extend_from_slice(extra);
        String::from_utf8(run(d, &args)).unwrap()
    }

    /// An opaque signed-data of `entity` in DER, for tampering.
    fn sign_der(&self, signer: &str, entity: &str) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(d.join("entity.txt"), entity).unwrap();
        let (crt, key) = (format!("{signer}.crt"), format!("{signer}.key"));
        run(
            d,
            &[
                "cms",
                "-sign",
                "-nodetach",
                "-binary",
                "-outform",
                "DER",
                "-signer",
                &crt,
                "-inkey",
                &key,
                "-in",
                "entity.txt",
            ],
        )
    }
}

/// The mail: `from`'s header, then the signed MIME part openssl wrote.
fn mail(from: &str, id: &str, subject: &str, signed: &str) -> Vec<u8> {
    let signed = signed.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "Return-Path: <{from}>\r\nFrom: {from}\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n\
Date: Mon, 07 Dec 2026 10:20:00 +0100\r\nMessage-ID: <{id}@customer.example>\r\n\
X-Mailer: Microsoft Outlook 16.0\r\n{signed}"
    )
    .into_bytes()
}

const TEXT: &str = "Content-Type: text/plain; charset=utf-8\r\n\r\n\
Please renew the certificate of www.customer.example before Friday.\r\n";

/// A text and an attachment, as a mail client signs them.
const WITH_ATTACHMENT: &str = "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n\
--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
The invoice of November is attached, please check line 4.\r\n\
--mix\r\nContent-Type: application/pdf; name=\"invoice-11.pdf\"\r\n\
Content-Disposition: attachment; filename=\"invoice-11.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IK\r\n--mix--\r\n";

fn show(desk: &Desk, n: i64) -> String {
    desk.ok(&["ticket", "show", &n.to_string()])
}

/// A desk with Ann's account; `extra` is appended (tables, `[intake]`).
fn desk(account: &str, extra: &str) -> Desk {
    Desk::with_extra(&format!(
        r#"
[intake]
authserv_id = "mx.desk.example"

[[account]]
id = "cust-1"
name = "Customer One"
primary = "ann@customer.example"
{account}
{extra}
"#
    ))
}

#[test]
fn opaque_and_detached_signed_mail_shows_its_content_and_a_good_signature() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let desk = desk("", "");
    // (tool, signer, entity, opaque, more options, what the ticket must show);
    // `-stream` writes BER with indefinite lengths, as streaming clients do.
    let none: &[&str] = &[];
    let cases = [
        (
            Tool::Smime,
            "ann",
            TEXT,
            false,
            none,
            "renew the certificate",
        ),
        (
            Tool::Smime,
            "ann",
            TEXT,
            true,
            none,
            "renew the certificate",
        ),
        (Tool::Cms, "ann", TEXT, false, none, "renew the certificate"),
        (
            Tool::Cms,
            "ann",
            WITH_ATTACHMENT,
            true,
            none,
            "invoice-11.pdf",
        ),
        (
            Tool::Cms,
            "ann-ec",
            TEXT,
            true,
            none,
            "renew the certificate",
        ),
        (
            Tool::Smime,
            "ann-ec",
            WITH_ATTACHMENT,
            false,
            none,
            "invoice-11.pdf",
        ),
        (
            Tool::Cms,
            "ann",
            WITH_ATTACHMENT,
            true,
            &["-stream"],
            "invoice-11.pdf",
        ),
        (
            Tool::Smime,
            "ann",
            TEXT,
            false,
            &["-stream"],
            "renew the certificate",
        ),
    ];
    for (n, (tool, signer, entity, opaque, extra, want)) in cases.into_iter().enumerate() {
        let what = format!("{tool:?} {signer} opaque={opaque} {extra:?}");
        let signed = pki.sign(tool, signer, entity, opaque, extra);
        if opaque {
            // The content is inside the CMS structure, not readable as text.
            assert!(signed.contains("smime.p7m"), "{what}: {signed}");
            assert!(!signed.contains("renew the certificate"), "{what}");
        }
        let raw = mail("ann@customer.example", &format!("s{n}"), "Renewal", &signed);
        ingest(&desk, &raw);
        let n = n as i64 + 1;
        let text = show(&desk, n);
        assert!(text.contains(want), "{what}: {text}");
        if entity == WITH_ATTACHMENT {
            assert!(text.contains("check line 4"), "{what}: {text}");
        }
        assert!(
            text.contains("good signature by S/MIME certificate ann@customer.example"),
            "{what}: {text}"
        );
        // Kept as received.
        let stored = desk.open_store().read().message_raw(n).unwrap().unwrap();
        assert_eq!(stored, raw, "{what}");
    }
}

/// Outlook's way: the older x-pkcs7 names, SHA-1, a multipart/alternative
/// of base64 text and HTML, CRLF throughout; detached and opaque.
#[test]
fn outlook_style_signed_mail_shows_its_text() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let desk = desk("", "");
    let text_b64 = "RGVhciBzdXBwb3J0LA0KDQpvdXIgbWFpbGJveCBxdW90YSBpcyBmdWxsIGFnYWluLCBwbGVhc2UgcmFpc2UgaXQuDQoNCkFubg0K";
    let entity = format!(
        "Content-Type: multipart/alternative;\r\n\tboundary=\"----=_NextPart_001_0007_01DB0A.5C1E2F10\"\r\n\r\n\
------=_NextPart_001_0007_01DB0A.5C1E2F10\r\nContent-Type: text/plain;\r\n\tcharset=\"us-ascii\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{text_b64}\r\n\r\n\
------=_NextPart_001_0007_01DB0A.5C1E2F10\r\nContent-Type: text/html;\r\n\tcharset=\"us-ascii\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n<html><body><p>Dear support,</p><p>our mailbox quota is full again.</p></body></html>\r\n\r\n\
------=_NextPart_001_0007_01DB0A.5C1E2F10--\r\n"
    );
    for (n, opaque) in [false, true].into_iter().enumerate() {
        let signed = pki.sign(Tool::Smime, "ann", &entity, opaque, &["-md", "sha1"]);
        assert!(signed.contains("x-pkcs7"), "{signed}");
        let raw = mail("ann@customer.example", &format!("o{n}"), "Quota", &signed);
        ingest(&desk, &raw);
        let text = show(&desk, n as i64 + 1);
        assert!(text.contains("mailbox quota is full again"), "{text}");
        assert!(text.contains("good signature by S/MIME"), "{text}");
    }
}

#[test]
fn a_changed_content_is_a_bad_signature() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let desk = desk("", "");
    // Detached: a word of the signed part changed on the way.
    let signed = pki.sign(Tool::Cms, "ann", TEXT, false, &[]);
    let tampered = signed.replace("before Friday", "before Monday");
    assert_ne!(signed, tampered);
    ingest(
        &desk,
        &mail("ann@customer.example", "t1", "Renewal", &tampered),
    );
    // Opaque: the same inside the CMS structure (same length, so the DER
    // still reads).
    let mut der = pki.sign_der("ann", TEXT);
    let at = der
        .windows(6)
        .position(|w| w == b"Friday")
        .expect("the content is in the DER");
    der[at..at + 6].copy_from_slice(b"Monday");
    let b64 = {
        use base64::Engine;
        let s = base64::engine::general_purpose::STANDARD.encode(&der);
        s.as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).to_string())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let opaque = format!(
        "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n\
Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n{b64}\r\n"
    );
    ingest(
        &desk,
        &mail("ann@customer.example", "t2", "Renewal", &opaque),
    );
    // Without its certificate (`-nocerts`) nothing can be checked.
    let bare = pki.sign(Tool::Cms, "ann", TEXT, false, &["-nocerts"]);
    ingest(&desk, &mail("ann@customer.example", "t3", "Renewal", &bare));
    let text = show(&desk, 3);
    assert!(text.contains("unknown key"), "{text}");
    assert!(text.contains("before Friday"), "{text}");
    for n in [1, 2] {
        let text = show(&desk, n);
        assert!(text.contains("BAD signature"), "{n}: {text}");
        assert!(text.contains("changed after it was signed"), "{n}: {text}");
        // The content still shows, as received.
        assert!(text.contains("before Monday"), "{n}: {text}");
    }
}

fn account_of(desk: &Desk, n: i64) -> String {
    desk.tickets()
        .iter()
        .find(|t| t["number"] == n)
        .and_then(|t| t["account"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// require_authentication: only a good signature by a certificate the
/// desk knows, for the From address, makes the mail genuine.
#[test]
fn only_a_known_certificate_of_the_from_address_makes_the_mail_genuine() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let ca = format!("[smime]\nca_file = \"{}\"\n", pki.path("ca.crt").display());
    let pinned = format!("smime_cert = \"{}\"\n", pki.path("self-ann.crt").display());
    let strict = "require_authentication = true\n";
    // (what, account keys, extra tables, signer, genuine)
    let cases: Vec<(&str, String, String, &str, bool)> = vec![
        ("CA known", strict.into(), ca.clone(), "ann", true),
        ("CA known, P-256", strict.into(), ca.clone(), "ann-ec", true),
        ("CA not known", strict.into(), String::new(), "ann", false),
        (
            "CA known, certificate expired",
            strict.into(),
            ca.clone(),
            "ann-old",
            false,
        ),
        (
            "self-signed, not known",
            strict.into(),
            ca.clone(),
            "self-ann",
            false,
        ),
        (
            "self-signed, the account's own",
            format!("{strict}{pinned}"),
            String::new(),
            "self-ann",
            true,
        ),
        (
            "another address's certificate, CA known",
            strict.into(),
            ca.clone(),
            "mallory",
            false,
        ),
    ];
    for (what, account, extra, signer, genuine) in cases {
        let desk = desk(&account, &extra);
        for (n, opaque) in [false, true].into_iter().enumerate() {
            let signed = pki.sign(Tool::Cms, signer, TEXT, opaque, &[]);
            ingest(
                &desk,
                &mail("ann@customer.example", &format!("g{n}"), "Renewal", &signed),
            );
            let n = n as i64 + 1;
            let got = account_of(&desk, n);
            let text = show(&desk, n);
            assert_eq!(
                got == "cust-1",
                genuine,
                "{what} opaque={opaque}: account {got:?}\n{text}"
            );
            // Whatever the proof, the content shows.
            assert!(text.contains("renew the certificate"), "{what}: {text}");
            if signer == "mallory" {
                assert!(text.contains("not the sender's key"), "{what}: {text}");
            } else if !genuine {
                assert!(text.contains("does not know"), "{what}: {text}");
            }
        }
    }
}

/// A chain: Ann's certificate from an intermediate CA the message carries
/// (`-certfile`), the root alone in ca_file. Without the intermediate in
/// the message, nothing leads to the root.
#[test]
fn a_chain_through_an_intermediate_ca_the_message_carries_is_followed() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let ca = format!("[smime]\nca_file = \"{}\"\n", pki.path("ca.crt").display());
    let inter = pki.path("inter.crt").display().to_string();
    let desk = desk("require_authentication = true\n", &ca);
    for (n, (extra, genuine)) in [(vec!["-certfile", inter.as_str()], true), (vec![], false)]
        .into_iter()
        .enumerate()
    {
        let signed = pki.sign(Tool::Cms, "ann-inter", TEXT, true, &extra);
        ingest(
            &desk,
            &mail("ann@customer.example", &format!("c{n}"), "Renewal", &signed),
        );
        let n = n as i64 + 1;
        let text = show(&desk, n);
        assert_eq!(
            account_of(&desk, n) == "cust-1",
            genuine,
            "{extra:?}: {text}"
        );
        assert!(text.contains("good signature"), "{text}");
    }
}

#[test]
fn a_certificate_file_that_is_no_certificate_stops_the_start() {
    let desk = Desk::with_extra("[smime]\nca_file = \"ca.pem\"\n");
    std::fs::write(desk.path("ca.pem"), "not a certificate\n").unwrap();
    let out = desk.ingest(b"From: a@x.example\r\nSubject: x\r\n\r\nhello\r\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ca_file"), "{err}");
    let out = desk.run(&["check-config"], b"");
    assert!(!out.status.success());
}

/// The staff notification of an opaque signed mail carries the files the
/// signature wraps (what the ticket shows), not smime.p7m.
#[test]
fn the_staff_get_the_files_an_opaque_signature_wraps() {
    if !openssl() {
        return;
    }
    let pki = Pki::new();
    let desk = desk("", "[staff]\nnotify = [\"team@desk.example\"]\n");
    let signed = pki.sign(Tool::Cms, "ann", WITH_ATTACHMENT, true, &[]);
    ingest(
        &desk,
        &mail("ann@customer.example", "f1", "Invoice", &signed),
    );
    let sent = crate::support::outbox::mails(&desk);
    let notify = crate::support::outbox::only(&sent, "staff-notify", "team@desk.example");
    let parsed = notify.parsed();
    let names: Vec<String> = parsed
        .attachments()
        .filter_map(|a| mail_parser::MimeHeaders::attachment_name(a).map(str::to_string))
        .collect();
    assert_eq!(names, ["invoice-11.pdf"], "{}", notify.head());
    assert!(notify.text().contains("check line 4"), "{}", notify.text());
}
