//! mailcmd: the `#command` lines at the top of a staff reply (`#status
//! on-hold`, `#close`, `#type refund`, `#note` …), parsed before anything is
//! applied so that a reply is acted on all or nothing.
//!
//! Commands stand on their own lines before any other text; the first line
//! that is not a command ends them. What follows is the text to relay.

use crate::domain::{Address, Status, TicketId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    Status(Status),
    Close,
    Reject,
    Reopen,
    Hold,
    Type(String),
    /// Move the ticket to another queue, by its name.
    Queue(String),
    Priority(bool),
    /// A staff member's name or address; resolved against the staff list.
    Assign(String),
    Account(String),
    Merge(TicketId),
    /// The whole message is an internal note: stored, sent to staff only.
    Note,
    /// Remove a participant from the ticket's recipients.
    Drop(Address),
    /// Include an address in the customer side: it gets this reply and the
    /// ticket's later mail (a person the customer copied, say).
    Cc(Address),
    /// Ask the account's primary address to confirm the ticket, with an
    /// optional reason (the rest of the line) quoted in the mail.
    Verify(Option<String>),
    /// Relay the knowledge base article NAME, merged with the reply's text.
    Kb(String),
    /// The ticket teaches the knowledge base nothing when it closes.
    NoKb,
}

/// A staff reply split into its commands and the text that remains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    pub commands: Vec<StaffCommand>,
    /// The reply without its command lines (leading blank lines trimmed).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {input}: {message}")]
pub struct CommandError {
    pub line: usize,
    pub input: String,
    pub message: String,
}

const KNOWN: &str = "#status, #close, #reject, #reopen, #hold, #type, #queue, #priority, #assign, #account, #merge, #note, #drop, #cc, #verify, #kb, #nokb";

/// Reads the commands at the top of `text`. `types` are the ticket types of
/// the config. Every bad line is reported; when there is one, none applies.
pub fn parse_commands(text: &str, types: &[String]) -> Result<Commands, Vec<CommandError>> {
    let mut commands = Vec::new();
    let mut errors = Vec::new();
    let mut rest_from = text.len();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let Some(word) = command_word(trimmed) else {
            rest_from = start;
            break;
        };
        let arg = trimmed[1 + word.len()..].trim();
        match command(word, arg, types) {
            Ok(c) => commands.push(c),
            Err(message) => errors.push(CommandError {
                line: i + 1,
                input: trimmed.to_string(),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = if rest_from < text.len() {
        &text[rest_from..]
    } else {
        ""
    };
    Ok(Commands {
        commands,
        text: text.trim_end().to_string(),
    })
}

/// `#word` at the start of a line. `#12` or `# heading` are ordinary text,
/// so a reply may still begin with "#1042 is fixed too".
fn command_word(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let word = &rest[..end];
    let next = rest[end..].chars().next();
    (!word.is_empty() && next.is_none_or(char::is_whitespace)).then_some(word)
}

fn command(word: &str, arg: &str, types: &[String]) -> Result<StaffCommand, String> {
    let none = |c: StaffCommand| {
        if arg.is_empty() {
            Ok(c)
        } else {
            Err(format!("takes no argument, got {arg:?}"))
        }
    };
    let needs = |what: &str| -> Result<&str, String> {
        if arg.is_empty() {
            Err(format!("needs {what}"))
        } else {
            Ok(arg)
        }
    };
    match word.to_ascii_lowercase().as_str() {
        "status" => needs("a status")?
            .parse()
            .map(StaffCommand::Status)
            .map_err(|e| e.to_string()),
        "close" => none(StaffCommand::Close),
        "reject" => none(StaffCommand::Reject),
        "reopen" => none(StaffCommand::Reopen),
        "hold" => none(StaffCommand::Hold),
        "note" => none(StaffCommand::Note),
        "type" => {
            let t = needs("a ticket type")?.to_ascii_lowercase();
            if types.contains(&t) {
                Ok(StaffCommand::Type(t))
            } else {
                Err(format!("unknown ticket type; known: {}", types.join(", ")))
            }
        }
        "queue" => Ok(StaffCommand::Queue(needs("a queue name")?.to_string())),
        "priority" => match needs("high or normal")?.to_ascii_lowercase().as_str() {
            "high" => Ok(StaffCommand::Priority(true)),
            "normal" => Ok(StaffCommand::Priority(false)),
            _ => Err("expected high or normal".into()),
        },
        "assign" => needs("a staff name or address").map(|a| StaffCommand::Assign(a.to_string())),
        "account" => {
            let id = needs("an account id")?;
            if id.contains(char::is_whitespace) {
                Err("an account id has no spaces".into())
            } else {
                Ok(StaffCommand::Account(id.to_string()))
            }
        }
        "merge" => needs("a ticket number")?
            .parse::<TicketId>()
            .ok()
            .filter(|n| n.0 > 0)
            .map(StaffCommand::Merge)
            .ok_or_else(|| "expected a ticket number".into()),
        "drop" => Address::parse(needs("an address")?)
            .map(StaffCommand::Drop)
            .map_err(|e| e.to_string()),
        "cc" => Address::parse(needs("an address")?)
            .map(StaffCommand::Cc)
            .map_err(|e| e.to_string()),
        "verify" => Ok(StaffCommand::Verify(
            (!arg.is_empty()).then(|| arg.chars().take(200).collect()),
        )),
        "kb" => {
            let name = needs("an article's name")?;
            if name.contains(char::is_whitespace) {
                Err("an article's name has no spaces".into())
            } else {
                Ok(StaffCommand::Kb(name.to_string()))
            }
        }
        "nokb" => none(StaffCommand::NoKb),
        _ => Err(format!("unknown command; known: {KNOWN}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> Vec<String> {
        vec!["technical".into(), "billing".into(), "refund".into()]
    }

    fn ok(text: &str) -> Commands {
        parse_commands(text, &types()).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    #[test]
    fn commands_at_the_top_are_taken_and_removed() {
        use StaffCommand::*;
        let table: &[(&str, &[StaffCommand], &str)] = &[
            ("Just text.\n#close\n", &[], "Just text.\n#close"),
            ("#close\n", &[Close], ""),
            (
                "\n  #type Billing \r\n#priority high\nHello Ann,\r\nfixed.\n",
                &[Type("billing".into()), Priority(true)],
                "Hello Ann,\r\nfixed.",
            ),
            (
                "#status on-hold\n\n#assign bob\n\nText",
                &[Status(crate::domain::Status::OnHold), Assign("bob".into())],
                "Text",
            ),
            (
                "#note\nInternal: customer is difficult.",
                &[Note],
                "Internal: customer is difficult.",
            ),
            ("#merge #12\n", &[Merge(TicketId(12))], ""),
            (
                "#drop cc@x.example\n#reopen\n#hold\n#reject",
                &[
                    Drop(Address::parse("cc@x.example").unwrap()),
                    Reopen,
                    Hold,
                    Reject,
                ],
                "",
            ),
            ("#account cust-001\nok", &[Account("cust-001".into())], "ok"),
            ("#verify\nok", &[Verify(None)], "ok"),
            (
                "#Verify  MX change for example.com \n",
                &[Verify(Some("MX change for example.com".into()))],
                "",
            ),
            (
                "#cc Carl@Customer.example\nok",
                &[Cc(Address::parse("carl@customer.example").unwrap())],
                "ok",
            ),
            (
                "#1042 is fixed too.\n#close",
                &[],
                "#1042 is fixed too.\n#close",
            ),
            ("# Heading\ntext", &[], "# Heading\ntext"),
            (
                "#hashtag-style words stay text",
                &[],
                "#hashtag-style words stay text",
            ),
            ("", &[], ""),
        ];
        for (input, commands, text) in table {
            let got = ok(input);
            assert_eq!(&got.commands, commands, "{input:?}");
            assert_eq!(got.text, *text, "{input:?}");
        }
    }

    #[test]
    fn every_bad_line_is_reported_and_none_applies() {
        let cases: &[(&str, &str)] = &[
            ("#frobnicate\n", "unknown command"),
            ("#status open\n", "unknown status"),
            ("#type hardware\n", "unknown ticket type"),
            ("#priority urgent\n", "high or normal"),
            ("#close now\n", "takes no argument"),
            ("#merge twelve\n", "ticket number"),
            ("#merge 0\n", "ticket number"),
            ("#assign\n", "needs a staff name"),
            ("#drop not-an-address\n", "not an email address"),
            ("#cc\n", "needs an address"),
            ("#account two words\n", "no spaces"),
        ];
        for (input, want) in cases {
            let errs = parse_commands(input, &types()).expect_err(input);
            assert_eq!(errs.len(), 1, "{input:?}");
            assert!(errs[0].to_string().contains(want), "{input:?}: {}", errs[0]);
            assert!(errs[0].to_string().starts_with("line 1:"), "{}", errs[0]);
        }
        let errs = parse_commands("#close\n#type nope\n#bogus\nText", &types()).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3]);
    }
}
