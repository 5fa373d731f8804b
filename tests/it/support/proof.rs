//! A desk for the proof-of-ownership tests (issue 19): a staff team, and an
//! account whose primary address differs from its authorized sender.

use super::Desk;
use super::outbox::{Mail, ingest, mails, new_mails, only, reply_to};

pub const PRIMARY: &str = "admin@customer.example";
pub const OPS: &str = "ops@customer.example";
pub const TEAM: &str = "team@desk.example";
pub const ALICE: &str = "alice@desk.example";

/// The config of [`proof_desk`]; `extra` goes into its `[intake]` table.
pub fn proof_config(intake: &str) -> String {
    format!(
        r#"
[intake]
{intake}

[staff]
notify = ["{TEAM}"]

[[staff.member]]
name = "Alice"
address = "{ALICE}"

[[account]]
id = "cust-1"
name = "Customer One"
primary = "{PRIMARY}"
authorized = ["{OPS}"]
language = "it"
"#
    )
}

/// A desk with [`proof_config`], its declared account applied.
pub fn proof_desk(intake: &str) -> Desk {
    let desk = Desk::with_extra(&proof_config(intake));
    desk.ok(&["account", "list"]);
    desk
}

/// The customer's mail, as `from` writes it (`id` its Message-ID).
pub fn request(from: &str, id: &str, subject: &str, body: &str) -> Vec<u8> {
    super::customer_mail(from, subject, id, body)
}

/// Alice answers the newest staff notification with `body`; returns the
/// mails it caused.
pub fn alice_answers(desk: &Desk, body: &str, id: &str) -> Vec<Mail> {
    let before = mails(desk);
    let notify = before
        .iter()
        .rev()
        .find(|m| m.kind == "staff-notify" && m.to(TEAM))
        .expect("a staff notification")
        .clone();
    ingest(
        desk,
        &reply_to(&notify, &format!("Alice <{ALICE}>"), id, body),
    );
    new_mails(desk, before.len())
}

/// The one verification mail in `list`, to the primary address.
pub fn verify_mail(list: &[Mail]) -> Mail {
    only(list, "verify", PRIMARY).clone()
}
