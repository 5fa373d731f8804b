//! `[[queue]]` resolved into [`Queue`]s: each key a queue leaves out takes
//! the desk-wide setting, so the rest of postdesk reads one value per queue
//! and never looks a fallback up again. A desk without `[[queue]]` is one
//! implicit queue made of `[service]`, `[intake]`, `[staff]` and
//! `[[inactivity]]`, so a config of before keeps its meaning.

use super::Loader;
use super::schema::{Intake, QueueKeys, Service, Source, Staff};
use super::values::word;
use crate::domain::queue::same_name;
use crate::domain::{Address, Queue};

/// What a queue falls back to.
pub(super) struct DeskWide<'a> {
    pub service: &'a Service,
    pub intake: &'a Intake,
    pub staff: &'a Staff,
}

impl Loader<'_> {
    /// Every queue, in the file's order (the first wins when a mail names
    /// several); the implicit queue when the file has none.
    pub(super) fn queues(
        &mut self,
        list: Vec<(String, QueueKeys)>,
        desk: &DeskWide<'_>,
    ) -> Option<Vec<Queue>> {
        if list.is_empty() {
            return Some(vec![implicit(desk)]);
        }
        let mut ok = true;
        let mut out: Vec<Queue> = Vec::new();
        let mut seen: Vec<(Address, String)> = Vec::new();
        for (key, k) in list {
            let name_key = format!("{key}.name");
            ok &= self.check(
                word(&k.name, |c| c.is_ascii_alphanumeric() || "_-".contains(c)),
                &name_key,
                "must be letters, digits, _ or - (staff write `#queue NAME`)",
            );
            if let Some(j) = out.iter().position(|q| same_name(&q.name, &k.name)) {
                ok = self.check(
                    false,
                    &name_key,
                    format!("\"{}\" is already queue[{j}]'s name", k.name),
                );
            }
            let addresses = std::iter::once((k.address.clone(), format!("{key}.address")));
            let aliases = k.aliases.iter().enumerate();
            let all =
                addresses.chain(aliases.map(|(j, a)| (a.clone(), format!("{key}.aliases[{j}]"))));
            for (a, at) in all.collect::<Vec<_>>() {
                if let Some((_, first)) = seen.iter().find(|(b, _)| *b == a) {
                    ok = self.check(false, &at, format!("{a} is already {first}"));
                } else {
                    seen.push((a, at));
                }
            }
            match self.queue(&key, k, desk) {
                Some(q) => out.push(q),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// One `[[queue]]` checked and resolved.
    fn queue(&mut self, key: &str, k: QueueKeys, desk: &DeskWide<'_>) -> Option<Queue> {
        let mut ok = true;
        let s = desk.service;
        let display_name = k.display_name.unwrap_or_else(|| s.name.clone());
        ok &= self.check(
            !display_name.trim().is_empty() && !display_name.contains(char::is_control),
            &format!("{key}.display_name"),
            "must be one non-empty line (it is the display name of the queue's mail)",
        );
        let ticket_prefix = k.ticket_prefix.unwrap_or_else(|| s.ticket_prefix.clone());
        ok &= self.check(
            ticket_prefix.len() <= 20
                && word(&ticket_prefix, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            &format!("{key}.ticket_prefix"),
            "must be 1-20 characters of A-Z a-z 0-9 _ - (it goes inside the subject token [PREFIX #N])",
        );
        let ticket_types = k.ticket_types.unwrap_or_else(|| s.ticket_types.clone());
        ok &= self.check(
            !ticket_types.is_empty(),
            &format!("{key}.ticket_types"),
            "must list at least one type",
        );
        for (i, t) in ticket_types.iter().enumerate() {
            let good = word(t, |c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
            }) && !ticket_types[..i].contains(t);
            ok &= self.check(
                good,
                &format!("{key}.ticket_types[{i}]"),
                format!("\"{t}\" must be lowercase a-z, 0-9 or -, and listed once"),
            );
        }
        let default_type = match k.default_type {
            Some(t) => {
                ok &= self.check(
                    ticket_types.contains(&t),
                    &format!("{key}.default_type"),
                    format!("\"{t}\" is not one of the queue's ticket_types"),
                );
                t
            }
            None => ticket_types.first().cloned().unwrap_or_default(),
        };
        let mut team = k.notify.clone();
        for (i, name) in k.members.iter().enumerate() {
            match desk.staff.members.iter().find(|m| same_name(&m.name, name)) {
                Some(m) if !team.contains(&m.address) => team.push(m.address.clone()),
                Some(_) => {}
                None => {
                    ok = self.check(
                        false,
                        &format!("{key}.members[{i}]"),
                        format!("\"{name}\" is no [[staff.member]]'s name"),
                    );
                }
            }
        }
        if team.is_empty() {
            team = desk.staff.recipients();
        }
        let inactivity = match k.inactivity {
            None => None,
            Some(rules) => {
                let list = rules.into_iter().enumerate();
                let keyed = list.map(|(i, r)| Some((format!("{key}.inactivity[{i}]"), r.0)));
                Some(self.inactivity(keyed.collect::<Vec<_>>())?)
            }
        };
        let templates = match k.templates {
            Some(list) => Some(self.paths(&format!("{key}.templates"), list)?),
            None => None,
        };
        let queue = Queue {
            name: k.name,
            address: k.address,
            aliases: k.aliases,
            display_name,
            ticket_prefix,
            ticket_types,
            default_type,
            default_language: k.default_language.unwrap_or(s.default_language),
            confirm_receipt: k.confirm_receipt.unwrap_or(desk.intake.confirm_receipt),
            unknown_sender: k.unknown_sender.unwrap_or(desk.intake.unknown_sender),
            team,
            inactivity,
            templates: templates.unwrap_or_else(|| s.templates.clone()),
        };
        ok.then_some(queue)
    }

    /// A source's `queue` must name one.
    pub(super) fn source_queues(&mut self, sources: &[Source], queues: &[Queue]) {
        for (i, s) in sources.iter().enumerate() {
            if let Some(name) = &s.queue {
                let known = queues.iter().any(|q| same_name(&q.name, name));
                let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
                self.check(
                    known,
                    &format!("source[{i}].queue"),
                    format!(
                        "\"{name}\" is no queue of this desk (it has: {})",
                        names.join(", ")
                    ),
                );
            }
        }
    }
}

/// The one queue of a desk without `[[queue]]`: today's `[service]`.
fn implicit(desk: &DeskWide<'_>) -> Queue {
    let s = desk.service;
    Queue {
        name: Queue::IMPLICIT.to_string(),
        address: s.address.clone(),
        aliases: s.aliases.clone(),
        display_name: s.name.clone(),
        ticket_prefix: s.ticket_prefix.clone(),
        ticket_types: s.ticket_types.clone(),
        default_type: s.ticket_types.first().cloned().unwrap_or_default(),
        default_language: s.default_language,
        confirm_receipt: desk.intake.confirm_receipt,
        unknown_sender: desk.intake.unknown_sender,
        team: desk.staff.recipients(),
        inactivity: None,
        templates: s.templates.clone(),
    }
}
