//! Where the mail templates come from: `templates` as a search path,
//! through the binary. Each template is read from the first folder that
//! has its file, else it is the built-in one (the package's
//! `/etc/postdesk/templates` before `/usr/share/postdesk/templates`); a
//! missing folder is a `check-config` error at its own line.

use crate::support::outbox::{kinds, only, reply_to, take};
use crate::support::{Desk, customer_mail};

/// A desk whose `[service] templates` is `folders` (a TOML value), with
/// one staff member.
fn desk(folders: &str) -> Desk {
    let desk =
        Desk::with_extra("[[staff.member]]\nname = \"Alice\"\naddress = \"alice@desk.example\"\n");
    let text = std::fs::read_to_string(&desk.config).unwrap();
    let text = text.replacen(
        "[service]\n",
        &format!("[service]\ntemplates = {folders}\n"),
        1,
    );
    std::fs::write(&desk.config, text).unwrap();
    desk
}

fn put(desk: &Desk, folder: &str, lang: &str, name: &str, text: &str) {
    let dir = desk.path(folder).join(lang);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), text).unwrap();
}

#[test]
fn each_template_comes_from_the_first_folder_that_has_it_else_built_in() {
    let desk = desk(r#"["site", "shared"]"#);
    // The receipt: in both (the first wins); the staff notification: only
    // in the second; the relay of a staff answer: in neither.
    put(
        &desk,
        "site",
        "en",
        "receipt",
        "SITE receipt for {{ticket}}.\n",
    );
    put(
        &desk,
        "shared",
        "en",
        "receipt",
        "SHARED receipt for {{ticket}}.\n",
    );
    put(
        &desk,
        "shared",
        "en",
        "staff-notify",
        "SHARED notification: {{ticket}}\n{{message}}\n",
    );
    let sent = take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Printer",
            "t-1@c.example",
            "It jams.",
        ),
    );
    let receipt = only(&sent, "receipt", "ann@customer.example");
    assert!(
        receipt.text().starts_with("SITE receipt for #1."),
        "{}",
        receipt.text()
    );
    let notify = only(&sent, "staff-notify", "alice@desk.example");
    assert!(
        notify.text().starts_with("SHARED notification: #1") && notify.text().contains("It jams."),
        "{}",
        notify.text()
    );
    let answer = reply_to(
        notify,
        "alice@desk.example",
        "a-1@desk.example",
        "Try this.",
    );
    let sent = take(&desk, &answer);
    let relayed = sent
        .iter()
        .find(|m| m.to("ann@customer.example"))
        .unwrap_or_else(|| panic!("no relay to Ann in {:?}", kinds(&sent)));
    let text = relayed.text();
    assert!(text.contains("Try this."), "{text}");
    assert!(
        !text.contains("SITE") && !text.contains("SHARED"),
        "built-in relay: {text}"
    );
    // The built-in relay's own line naming the token
    // (conf/templates/en/relay.txt), filled in.
    let builtin = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/templates/en/relay.txt"),
    )
    .unwrap();
    let line = builtin
        .lines()
        .find(|l| l.contains("{{token}}"))
        .expect("relay.txt names the token")
        .replace("{{token}}", "[DESK #1]");
    assert!(text.contains(&line), "{line:?} not in {text}");
}

#[test]
fn check_config_names_a_missing_template_folder_at_its_line() {
    let desk = Desk::new();
    std::fs::create_dir_all(desk.path("site")).unwrap();
    std::fs::write(
        &desk.config,
        "[service]\n\
         address = \"support@desk.example\"\n\
         database = \"var/x.db\"\n\
         templates = [\n\
             \"site\",\n\
             \"gone\",\n\
         ]\n\
         \n\
         [[queue]]\n\
         name = \"billing\"\n\
         address = \"billing@desk.example\"\n\
         templates = \"also-gone\"\n",
    )
    .unwrap();
    let out = desk.run(&["check-config"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("postdesk.toml:6: service.templates:") && lines[0].contains("gone"),
        "{err}"
    );
    assert!(
        lines[1].contains("postdesk.toml:12: queue[0].templates:")
            && lines[1].contains("also-gone"),
        "{err}"
    );
    // Both folders there: it loads; a misspelt file in one is named.
    for d in ["gone", "also-gone"] {
        std::fs::create_dir_all(desk.path(d).join("en")).unwrap();
    }
    let out = desk.run(&["check-config"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(desk.path("gone/en/reciept.txt"), "Hello").unwrap();
    let out = desk.run(&["check-config"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("service.templates:")
            && err.contains("reciept.txt")
            && err.contains("not a template"),
        "{err}"
    );
}
