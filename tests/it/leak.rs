//! Invariant 7 (issue 10): nothing postdesk sent only to staff — an
//! internal note, a notification, the command help — reaches a customer,
//! whatever a staff member's mail client quotes and however they post.
//! Every posting style (top, bottom, inline) is replayed in every client
//! style (plain `>` quoting re-wrapped or not, Outlook's unquoted header
//! block, HTML blockquote, Gmail, Outlook HTML, Thunderbird HTML) as a
//! staff answer to a notification whose history carries a note; every
//! mail to the customer side is then searched for the note.

use crate::support;
use crate::support::outbox::{Mail, ingest, kinds, mails, new_mails, take};
use crate::support::{ADDRESS, Desk, customer_mail};

const DESK: &str = r#"
[staff]
notify = ["team@desk.example"]

[[staff.member]]
name = "Alice"
address = "alice@desk.example"

[[account]]
id = "ann-co"
primary = "ann@customer.example"
"#;

/// The internal note, and the help text of the notification: neither may
/// ever reach Ann.
const SECRET: &str = "discount negotiated with their CFO, do not mention";
const HELP: &str = "Lines at the top of your reply act on the ticket";
/// What Alice means to say to Ann.
const ANSWER: &str = "Hello Ann, the new invoice is attached to your account now.";

#[derive(Clone, Copy, Debug)]
enum Posting {
    Top,
    Bottom,
    Inline,
}

#[derive(Clone, Copy, Debug)]
enum Client {
    /// `> ` before each quoted line (Thunderbird, mutt, Apple Mail plain).
    Plain,
    /// `> ` quoting re-wrapped at 60 columns (Gmail plain, mutt with format=flowed off).
    Rewrapped,
    /// Outlook: the quote unprefixed under a `From:/Sent:/To:/Subject:` block.
    OutlookText,
    /// HTML only: `<blockquote type="cite">` (Apple Mail, Thunderbird).
    HtmlBlockquote,
    /// HTML only: Gmail's `gmail_quote`.
    Gmail,
    /// HTML only: Outlook's `divRplyFwdMsg`.
    OutlookHtml,
}

const POSTINGS: [Posting; 3] = [Posting::Top, Posting::Bottom, Posting::Inline];
const CLIENTS: [Client; 6] = [
    Client::Plain,
    Client::Rewrapped,
    Client::OutlookText,
    Client::HtmlBlockquote,
    Client::Gmail,
    Client::OutlookHtml,
];

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` re-wrapped at `width` columns, as some clients quote.
fn rewrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut current = String::new();
        for word in line.split_whitespace() {
            if !current.is_empty() && current.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out
}

/// The body of Alice's answer to `to` (with `commands` on top of her own
/// words), in `client`'s style and `posting`; and its Content-Type.
fn body(to: &Mail, posting: Posting, client: Client, commands: &str) -> (String, &'static str) {
    let quoted = to.text();
    let lines: Vec<&str> = quoted.lines().collect();
    let half = lines.len() / 2;
    let (first, second) = (lines[..half].join("\n"), lines[half..].join("\n"));
    let own = format!("{commands}{ANSWER}\n\nAlice");
    let attribution = "On Mon, 16 Nov 2026 at 10:00, Test Desk <support@desk.example> wrote:";
    match client {
        Client::Plain | Client::Rewrapped => {
            let quote = |t: &str| -> String {
                let lines: Vec<String> = if matches!(client, Client::Rewrapped) {
                    rewrap(t, 60)
                } else {
                    t.lines().map(str::to_string).collect()
                };
                lines
                    .iter()
                    .map(|l| {
                        if l.is_empty() {
                            ">".to_string()
                        } else {
                            format!("> {l}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let text = match posting {
                Posting::Top => format!("{own}\n\n{attribution}\n{}\n", quote(&quoted)),
                Posting::Bottom => format!("{attribution}\n{}\n\n{own}\n", quote(&quoted)),
                Posting::Inline => format!(
                    "{attribution}\n{}\n\n{own}\n\n{}\n\nThanks.\n",
                    quote(&first),
                    quote(&second)
                ),
            };
            (text, "text/plain; charset=utf-8")
        }
        Client::OutlookText => {
            // Outlook cannot bottom-post or quote inline: it always tops.
            let block = format!(
                "________________________________\nFrom: Test Desk <{ADDRESS}>\nSent: Monday, November 16, 2026 10:00 AM\nTo: Alice <alice@desk.example>\nSubject: {}\n\n{quoted}\n",
                to.subject()
            );
            (format!("{own}\n\n{block}"), "text/plain; charset=utf-8")
        }
        Client::HtmlBlockquote | Client::Gmail | Client::OutlookHtml => {
            let para = |t: &str| -> String {
                t.lines()
                    .map(|l| format!("{}<br>", html_escape(l)))
                    .collect::<String>()
            };
            let wrap = |t: &str| -> String {
                match client {
                    Client::HtmlBlockquote => format!(
                        "<div>{}</div><blockquote type=\"cite\">{}</blockquote>",
                        html_escape(attribution),
                        para(t)
                    ),
                    Client::Gmail => format!(
                        "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">{}<br></div><blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">{}</blockquote></div>",
                        html_escape(attribution),
                        para(t)
                    ),
                    _ => format!(
                        "<hr style=\"display:inline-block;width:98%\" tabindex=\"-1\"><div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\" style=\"font-size:11pt\" color=\"#000000\"><b>From:</b> Test Desk &lt;{ADDRESS}&gt;<br><b>Sent:</b> Monday, November 16, 2026 10:00 AM<br><b>To:</b> Alice<br><b>Subject:</b> {}</font><div>&nbsp;</div></div><div>{}</div>",
                        html_escape(&to.subject()),
                        para(t)
                    ),
                }
            };
            let mine = format!("<div dir=\"ltr\">{}</div>", para(&own));
            let html = match (posting, client) {
                (Posting::Top, _) | (_, Client::OutlookHtml) => format!("{mine}{}", wrap(&quoted)),
                (Posting::Bottom, _) => format!("{}{mine}", wrap(&quoted)),
                (Posting::Inline, _) => {
                    format!("{}{mine}{}<div>Thanks.</div>", wrap(&first), wrap(&second))
                }
            };
            (
                format!(
                    "<html><head><style>p {{margin:0}}</style></head><body>{html}</body></html>"
                ),
                "text/html; charset=utf-8",
            )
        }
    }
}

fn answer(to: &Mail, id: &str, posting: Posting, client: Client, commands: &str) -> Vec<u8> {
    let (body, content_type) = body(to, posting, client, commands);
    let their = to.message_id();
    format!(
        "From: Alice <alice@desk.example>\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\n\
Date: Mon, 16 Nov 2026 11:00:00 +0100\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{their}>\r\n\
References: <{their}>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        to.subject(),
        body.replace('\n', "\r\n")
    )
    .into_bytes()
}

/// A desk with ticket 1 whose staff history holds the note, and the
/// newest notification to the team, which shows it.
fn ticket_with_a_note() -> (Desk, Mail) {
    let desk = Desk::with_extra(DESK);
    desk.ok(&["account", "list"]);
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Invoice wrong",
            "ann-1@customer.example",
            "My November invoice is wrong.",
        ),
    );
    let first = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .unwrap();
    let note = support::outbox::reply_to(
        &first,
        "Alice <alice@desk.example>",
        "note-1@desk.example",
        &format!("#note\r\n{SECRET}\r\n"),
    );
    ingest(&desk, &note);
    // Ann writes again: the notification's history shows the note.
    let caused = take(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Re: [DESK #1] Invoice wrong",
            "ann-2@customer.example",
            "Any news?",
        ),
    );
    let notify = caused
        .into_iter()
        .find(|m| m.kind == "staff-notify")
        .expect("a notification of Ann's reply");
    assert!(notify.text().contains(SECRET), "{}", notify.text());
    assert!(notify.text().contains(HELP), "{}", notify.text());
    (desk, notify)
}

/// The mails to anyone but the staff side.
fn customer_side(list: &[Mail]) -> Vec<&Mail> {
    list.iter()
        .filter(|m| !m.rcpt.iter().any(|r| r.ends_with("@desk.example")))
        .collect()
}

#[test]
fn no_posting_style_of_any_client_carries_staff_text_to_the_customer() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for client in CLIENTS {
        for posting in POSTINGS {
            for commands in ["", "#close\n"] {
                cases += 1;
                let (desk, notify) = ticket_with_a_note();
                let before = mails(&desk).len();
                let id = format!("a-{client:?}-{posting:?}-{}@desk.example", commands.len());
                ingest(&desk, &answer(&notify, &id, posting, client, commands));
                let after = new_mails(&desk, before);
                let what = format!(
                    "{client:?} {posting:?} {}",
                    if commands.is_empty() {
                        "reply"
                    } else {
                        "#close"
                    }
                );
                let relays: Vec<&Mail> = after.iter().filter(|m| m.kind == "relay").collect();
                if relays.len() != 1 || !relays[0].text().contains(ANSWER) {
                    failures.push(format!(
                        "{what}: no relay with the answer: {:?}",
                        kinds(&after)
                    ));
                }
                for m in customer_side(&after) {
                    let text = String::from_utf8_lossy(&m.raw).to_string() + &m.text();
                    for (name, secret) in [("the note", SECRET), ("the command help", HELP)] {
                        if text.contains(secret) {
                            failures
                                .push(format!("{what}: {name} in the {} to {:?}", m.kind, m.rcpt));
                        }
                    }
                    if m.text().contains("#close") {
                        failures.push(format!("{what}: the command relayed as text"));
                    }
                }
                let status = desk.json(&["ticket", "show", "1", "--json"])["status"].clone();
                let want = if commands.is_empty() {
                    "waiting-for-customer"
                } else {
                    "closed"
                };
                if status != want {
                    failures.push(format!("{what}: status {status}, not {want}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A customer's bottom-posted or inline reply is stored with only what
/// she wrote (and, inline, the lines she answered as `> ` context): never
/// our receipt, its footer or the history it quotes, which every later
/// mail would repeat.
#[test]
fn a_customers_bottom_posted_and_inline_replies_keep_only_her_words() {
    let desk = Desk::with_extra(DESK);
    desk.ok(&["account", "list"]);
    ingest(
        &desk,
        &customer_mail(
            "ann@customer.example",
            "Invoice wrong",
            "ann-1@customer.example",
            "My November invoice is wrong.\n\nThe amount is twice what it should be.",
        ),
    );
    let receipt = mails(&desk)
        .into_iter()
        .find(|m| m.kind == "receipt")
        .unwrap();
    let quoted: String = receipt.text().lines().map(|l| format!("> {l}\n")).collect();
    let lines: Vec<&str> = quoted.lines().collect();
    let cut = lines
        .iter()
        .position(|l| l.contains("twice what it should be"))
        .unwrap();
    let bottom = format!(
        "On Mon, 16 Nov 2026 at 10:00, Test Desk <{ADDRESS}> wrote:\n{quoted}\nHere is the invoice number: 2026-1142.\n\nAnn\n"
    );
    let first_cut = lines
        .iter()
        .position(|l| l.contains("November invoice is wrong"))
        .unwrap();
    let inline = format!(
        "On Mon, 16 Nov 2026 at 10:00, Test Desk <{ADDRESS}> wrote:\n{}\nNumber 2026-1142.\n\n{}\nIt should be 40 EUR, not 80.\n\n{}\n",
        lines[..=first_cut].join("\n"),
        lines[first_cut + 1..=cut].join("\n"),
        lines[cut + 1..].join("\n")
    );
    for (i, (body, mine, context)) in [
        (&bottom, "invoice number: 2026-1142", None),
        (&inline, "should be 40 EUR", Some("twice what it should be")),
    ]
    .into_iter()
    .enumerate()
    {
        let raw = format!(
            "From: Ann <ann@customer.example>\r\nTo: {ADDRESS}\r\nSubject: Re: {}\r\n\
Message-ID: <ann-r{i}@customer.example>\r\nIn-Reply-To: <{}>\r\n\r\n{}",
            receipt.subject(),
            receipt.message_id(),
            body.replace('\n', "\r\n")
        );
        ingest(&desk, raw.as_bytes());
        let t = desk.json(&["ticket", "show", "1", "--json"]);
        let text = t["history"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|h| h["kind"] == "message-in")
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text.contains(mine), "{text}");
        for ours in ["automatic reply", "Please keep", "[ref "] {
            assert!(!text.contains(ours), "our receipt stored as hers: {text}");
        }
        match context {
            Some(c) => assert!(
                text.contains("> ") && text.contains(c),
                "context kept: {text}"
            ),
            None => assert!(!text.contains("> "), "no quote kept: {text}"),
        }
    }
}
