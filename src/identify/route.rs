//! Routing: which queue a new message belongs to, by the address it was
//! sent to (issue 14). The envelope decides first — the queue its source
//! or `ingest --queue` names, then the `Delivered-To` / `X-Original-To`
//! the MTA wrote — then To, then Cc; the desk's first queue when the mail
//! names none. A mail naming several queues belongs to the first of them by
//! the config's order, the others are returned to be noted in its history.
//! A follow-up never comes here: it stays in its ticket's queue.

use crate::domain::queue::same_name;
use crate::domain::{Address, MatchOptions, Queue};
use crate::parse::Inbound;

/// How a message was routed, for the history and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutedBy {
    /// Its source's queue, or `ingest --queue`.
    Source,
    /// A `Delivered-To` or `X-Original-To` field.
    Envelope,
    To,
    Cc,
    /// It named no queue's address: the desk's first queue.
    Default,
}

impl RoutedBy {
    pub fn label(self) -> &'static str {
        match self {
            RoutedBy::Source => "its source",
            RoutedBy::Envelope => "its envelope recipient",
            RoutedBy::To => "To",
            RoutedBy::Cc => "Cc",
            RoutedBy::Default => "default",
        }
    }
}

/// The queue of a new message (an index into the queues) and the other
/// queues it was also sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub queue: usize,
    pub by: RoutedBy,
    /// Other queues the message named (envelope, To or Cc), config order.
    pub also: Vec<usize>,
}

/// Routes `inbound` among `queues` (never empty). `envelope_queue` is the
/// queue its source or the MTA's pipe names, by name.
pub fn route<Q: AsRef<Queue>>(
    inbound: &Inbound,
    queues: &[Q],
    envelope_queue: Option<&str>,
    opts: &MatchOptions,
) -> Route {
    let envelope = envelope_addresses(inbound);
    let to: Vec<Address> = inbound.to.iter().map(|m| m.address.clone()).collect();
    let cc: Vec<Address> = inbound.cc.iter().map(|m| m.address.clone()).collect();
    decide(queues, envelope_queue, [&envelope, &to, &cc], opts)
}

/// The decision on plain values: the addresses of the envelope, To and Cc.
pub fn decide<Q: AsRef<Queue>>(
    queues: &[Q],
    envelope_queue: Option<&str>,
    [envelope, to, cc]: [&[Address]; 3],
    opts: &MatchOptions,
) -> Route {
    // The queues each list names, in the config's order.
    let named = |list: &[Address]| -> Vec<usize> {
        let hit = |q: &Queue| list.iter().any(|a| q.answers_to(a, opts));
        (0..queues.len())
            .filter(|&i| hit(queues[i].as_ref()))
            .collect()
    };
    let by_source = envelope_queue.and_then(|n| {
        let same = |q: &Q| same_name(&q.as_ref().name, n);
        queues.iter().position(same)
    });
    let (envelope, to, cc) = (named(envelope), named(to), named(cc));
    let (queue, by) = if let Some(i) = by_source {
        (i, RoutedBy::Source)
    } else if let Some(&i) = envelope.first() {
        (i, RoutedBy::Envelope)
    } else if let Some(&i) = to.first() {
        (i, RoutedBy::To)
    } else if let Some(&i) = cc.first() {
        (i, RoutedBy::Cc)
    } else {
        (0, RoutedBy::Default)
    };
    let mut also: Vec<usize> = envelope
        .into_iter()
        .chain(to)
        .chain(cc)
        .filter(|&i| i != queue)
        .collect();
    also.sort_unstable();
    also.dedup();
    Route { queue, by, also }
}

/// The envelope recipients the MTA wrote: every `Delivered-To` and
/// `X-Original-To`, top-down (the topmost is the last hop's, ours).
fn envelope_addresses(inbound: &Inbound) -> Vec<Address> {
    inbound
        .headers
        .iter()
        .filter(|(name, _)| {
            name.eq_ignore_ascii_case("delivered-to") || name.eq_ignore_ascii_case("x-original-to")
        })
        .filter_map(|(_, value)| {
            let v = value.trim().trim_start_matches('<').trim_end_matches('>');
            Address::parse(v.trim()).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Language, UnknownSender};

    fn queue(name: &str, address: &str, aliases: &[&str]) -> Queue {
        Queue {
            name: name.into(),
            address: Address::parse(address).unwrap(),
            aliases: aliases.iter().map(|a| Address::parse(a).unwrap()).collect(),
            display_name: name.into(),
            ticket_prefix: "T".into(),
            ticket_types: vec!["technical".into()],
            default_type: "technical".into(),
            default_language: Language::En,
            confirm_receipt: true,
            unknown_sender: UnknownSender::Verify,
            team: Vec::new(),
            inactivity: None,
            templates: Vec::new(),
        }
    }

    fn list(s: &str) -> Vec<Address> {
        s.split_whitespace()
            .map(|a| Address::parse(a).unwrap())
            .collect()
    }

    #[test]
    fn envelope_then_to_then_cc_then_default() {
        let queues = [
            queue("support", "support@d.example", &["help@d.example"]),
            queue("billing", "billing@d.example", &[]),
            queue("abuse", "abuse@d.example", &[]),
        ];
        use RoutedBy::*;
        // (source queue, envelope, to, cc) → (queue, by, also)
        type Case<'a> = (
            Option<&'a str>,
            &'a str,
            &'a str,
            &'a str,
            (usize, RoutedBy, &'a [usize]),
        );
        let cases: &[Case<'_>] = &[
            (None, "", "", "", (0, Default, &[])),
            (None, "", "x@y.example", "", (0, Default, &[])),
            (None, "", "billing@d.example", "", (1, To, &[])),
            (None, "", "BILLING@D.example", "", (1, To, &[])),
            (None, "", "help@d.example", "", (0, To, &[])),
            (None, "", "x@y.example", "abuse@d.example", (2, Cc, &[])),
            // To wins over Cc, and Cc's queue is noted.
            (
                None,
                "",
                "billing@d.example",
                "support@d.example",
                (1, To, &[0]),
            ),
            // Two queues in To: the first by the config's order.
            (
                None,
                "",
                "abuse@d.example billing@d.example",
                "",
                (1, To, &[2]),
            ),
            // The envelope wins over To (a Bcc, a list, a forward).
            (
                None,
                "abuse@d.example",
                "billing@d.example",
                "",
                (2, Envelope, &[1]),
            ),
            (
                None,
                "someone@else.example",
                "billing@d.example",
                "",
                (1, To, &[]),
            ),
            // The source's queue wins over everything.
            (
                Some("billing"),
                "abuse@d.example",
                "support@d.example",
                "",
                (1, Source, &[0, 2]),
            ),
            (Some("Billing"), "", "", "", (1, Source, &[])),
            // An unknown name is no route.
            (Some("sales"), "", "abuse@d.example", "", (2, To, &[])),
        ];
        let opts = MatchOptions::default();
        for (source, env, to, cc, (q, by, also)) in cases {
            let r = decide(&queues, *source, [&list(env), &list(to), &list(cc)], &opts);
            let want = Route {
                queue: *q,
                by: *by,
                also: also.to_vec(),
            };
            assert_eq!(
                r, want,
                "source {source:?} envelope {env:?} to {to:?} cc {cc:?}"
            );
        }
    }

    #[test]
    fn delivered_to_and_x_original_to_are_read() {
        let queues = [
            queue("support", "support@d.example", &[]),
            queue("billing", "billing@d.example", &[]),
        ];
        for field in ["Delivered-To", "X-Original-To", "delivered-to"] {
            for value in [
                "billing@d.example",
                "<billing@d.example>",
                " billing@d.example ",
            ] {
                let raw = format!(
                    "{field}: {value}\r\nFrom: a@c.example\r\nTo: support@d.example\r\nSubject: x\r\n\r\nhi\r\n"
                );
                let inbound = crate::parse::parse(
                    raw.as_bytes(),
                    &crate::parse::ParseLimits {
                        max_size: 1 << 20,
                        max_depth: 10,
                        max_parts: 100,
                    },
                )
                .unwrap();
                let r = route(&inbound, &queues, None, &MatchOptions::default());
                assert_eq!((r.queue, r.by), (1, RoutedBy::Envelope), "{field}: {value}");
                assert_eq!(r.also, [0]);
            }
        }
    }
}
