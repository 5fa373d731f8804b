//! lifecycle: the rules of a ticket's life, as pure functions — which event
//! moves a ticket to which status ([`decide`], one table, tested as a
//! table), and when the inactivity rules warn and close ([`plan`]).
//!
//! Everything that changes a ticket asks [`decide`] first: intake for a
//! customer's message, the sweep for an inactivity close, the operator's
//! `postdesk ticket …` commands, and staff replies, notes and `#status`
//! commands by mail. The callers carry out the decision in their
//! transaction (see `change`); nothing here touches the database.
//!
//! The clocks: a ticket in `new` or `in-progress` waits for staff, one in
//! `waiting-for-customer` waits for the customer; `on-hold`, `closed` and
//! `rejected` wait for nobody, so no timer runs. `waiting_since` is when the
//! current wait began; it restarts when the side being waited for changes,
//! on a reopen, and at every staff reply that reaches the customer (the
//! customer was promised time from our latest answer). Nothing else resets
//! the staff clock: an internal note or a command that keeps the ticket
//! waiting for staff leaves it running, or a note would postpone the
//! warnings and the close forever while the customer waits. Automatic mail
//! never touches it.

use chrono::{DateTime, Duration, Utc};

use super::Status;
use super::calendar::{Calendar, Span};

/// The two sides of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Staff,
    Customer,
}

impl Side {
    pub const ALL: [Side; 2] = [Side::Staff, Side::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Staff => "staff",
            Side::Customer => "customer",
        }
    }
}

/// Whom a ticket in `status` is waiting for, if anyone: whose silence the
/// inactivity rules measure.
pub fn waits_for(status: Status) -> Option<Side> {
    match status {
        Status::New | Status::InProgress => Some(Side::Staff),
        Status::WaitingForCustomer => Some(Side::Customer),
        Status::OnHold | Status::Closed | Status::Rejected => None,
    }
}

/// Something that happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// A message from the customer side that is not automatic.
    /// `within_window`: a closed ticket was closed no longer than
    /// `reopen_window` ago (meaningless for an open ticket).
    CustomerMessage { within_window: bool },
    /// A staff reply that goes to the customer.
    StaffReply,
    /// Staff activity that is no answer: an internal note.
    StaffNote,
    /// An out-of-office, auto-reply or bounce: stored, nothing else.
    AutomaticMessage,
    /// `postdesk ticket set-status`, `#status`.
    SetStatus(Status),
    /// `postdesk ticket close`, `#close`.
    Close,
    /// `postdesk ticket reopen`: back to in-progress, whatever the window.
    Reopen,
    /// The sweep, when a close rule falls due.
    InactivityClose,
}

/// What an event does to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changes (the event is still recorded in the history).
    Keep,
    /// The ticket moves to `to` (possibly its current status, when only the
    /// clock restarts).
    Apply(Transition),
    /// A customer's reply to a ticket closed longer than `reopen_window`:
    /// it opens a new ticket that refers to this one.
    NewTicket,
    /// A command that makes no sense in this status; nothing changes.
    Refuse(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: Status,
    /// `waiting_since` becomes now, and the warnings start over.
    pub restart_clock: bool,
    /// A closed or rejected ticket opens again.
    pub reopened: bool,
}

/// The transition table. See the module doc for the clock rule.
pub fn decide(from: Status, event: LifecycleEvent) -> Decision {
    use Status::*;
    let closed = !from.is_open();
    let to = match event {
        LifecycleEvent::AutomaticMessage => return Decision::Keep,
        LifecycleEvent::CustomerMessage { within_window } => match from {
            _ if closed && within_window => InProgress,
            _ if closed => return Decision::NewTicket,
            InProgress => return Decision::Keep,
            _ => InProgress,
        },
        LifecycleEvent::StaffReply => match from {
            // Another answer while the customer has the ticket: the
            // customer's clock starts again from it.
            New | InProgress | WaitingForCustomer => WaitingForCustomer,
            // Staff put it on hold on purpose (a `#status` in the same mail
            // can change that); a closed ticket stays closed.
            OnHold | Closed | Rejected => return Decision::Keep,
        },
        // A note is no answer: the waiting side's clock runs on.
        LifecycleEvent::StaffNote => return Decision::Keep,
        LifecycleEvent::SetStatus(s) if s == from => {
            return Decision::Refuse(format!("ticket is already {from}"));
        }
        LifecycleEvent::SetStatus(s) => s,
        LifecycleEvent::Close if from == Closed => {
            return Decision::Refuse("ticket is already closed".into());
        }
        LifecycleEvent::Close => Closed,
        LifecycleEvent::Reopen if !closed => {
            return Decision::Refuse(format!("ticket is {from}, not closed or rejected"));
        }
        LifecycleEvent::Reopen => InProgress,
        LifecycleEvent::InactivityClose => match from {
            New | InProgress | WaitingForCustomer => Closed,
            OnHold | Closed | Rejected => return Decision::Keep,
        },
    };
    let reopened = closed && to.is_open();
    // A side's clock starts when the ticket starts waiting for it; within
    // one wait only an answer that reached the customer restarts it.
    let restart_clock = match waits_for(to) {
        Some(side) => {
            waits_for(from) != Some(side) || reopened || event == LifecycleEvent::StaffReply
        }
        None => false,
    };
    Decision::Apply(Transition {
        to,
        restart_clock,
        reopened,
    })
}

/// Whether a ticket closed at `closed_at` may still be reopened by a reply
/// at `now`; `window` None means never.
pub fn within_reopen_window(
    closed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    window: Option<Duration>,
) -> bool {
    window.is_some_and(|w| now - closed_at <= w)
}

// ---------------------------------------------------------------------------
// Inactivity rules
// ---------------------------------------------------------------------------

/// When a rule closes the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAfter {
    /// `close_after = ""`: as soon as the ticket waits for that side (on the
    /// next working day if it is not one).
    Immediately,
    After(Span),
    /// `close_after = -1`.
    Never,
}

/// One `[[inactivity]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactivityRule {
    pub waiting_for: Side,
    pub warn_after: Vec<Span>,
    pub close_after: CloseAfter,
}

impl InactivityRule {
    /// The rules when the config has no `[[inactivity]]`: staff silent 2
    /// days → warning, 4 days → warning, 6 days → close; customer silent 7
    /// business days → warning, 14 → close.
    pub fn defaults() -> Vec<InactivityRule> {
        vec![
            InactivityRule {
                waiting_for: Side::Staff,
                warn_after: vec![Span::Days(2), Span::Days(4)],
                close_after: CloseAfter::After(Span::Days(6)),
            },
            InactivityRule {
                waiting_for: Side::Customer,
                warn_after: vec![Span::BusinessDays(7)],
                close_after: CloseAfter::After(Span::BusinessDays(14)),
            },
        ]
    }
}

/// A canonical text of the rules and the calendar: when it changes, the
/// stored deadlines are stale and the sweep computes them again.
pub fn fingerprint(rules: &[InactivityRule], cal: &Calendar) -> String {
    let hours = cal
        .working_hours()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut s = format!(
        "tz={};days={:?};hours={hours};holidays=",
        cal.timezone().name(),
        cal.working_days()
    );
    for h in cal.holidays() {
        s.push_str(&format!("{h},"));
    }
    for r in rules {
        let close = match r.close_after {
            CloseAfter::Immediately => "now".to_string(),
            CloseAfter::After(span) => span.to_string(),
            CloseAfter::Never => "never".to_string(),
        };
        let warn: Vec<String> = r.warn_after.iter().map(|w| w.to_string()).collect();
        s.push_str(&format!(
            ";{}:warn={}:close={close}",
            r.waiting_for.as_str(),
            warn.join("|")
        ));
    }
    s
}

/// One threshold of a plan: the rule's length (None for an immediate close)
/// and the instant it is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub span: Option<Span>,
    pub at: DateTime<Utc>,
}

/// What the rule for a waiting ticket will do, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub side: Side,
    pub since: DateTime<Utc>,
    /// In time order, all before the close.
    pub warnings: Vec<Threshold>,
    /// In a working period (see `Calendar::working_time`).
    pub close: Option<Threshold>,
}

/// What is due for a ticket at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Nothing,
    /// Send warning `index` (0-based) of the plan. When a sweep comes late
    /// and several are due, only the latest goes out: one mail, not a burst.
    Warn {
        index: usize,
    },
    Close,
}

/// The plan for a ticket in `status` waiting since `since`; None when no
/// rule applies (on hold, closed, or no rule for that side).
pub fn plan(
    rules: &[InactivityRule],
    cal: &Calendar,
    status: Status,
    since: DateTime<Utc>,
) -> Option<Plan> {
    let side = waits_for(status)?;
    let rule = rules.iter().find(|r| r.waiting_for == side)?;
    let close = match rule.close_after {
        CloseAfter::Never => None,
        CloseAfter::Immediately => Some(Threshold {
            span: None,
            at: cal.working_time(since),
        }),
        CloseAfter::After(span) => Some(Threshold {
            span: Some(span),
            at: cal.working_time(cal.add(since, span)),
        }),
    };
    let mut warnings: Vec<Threshold> = rule
        .warn_after
        .iter()
        .map(|&span| Threshold {
            span: Some(span),
            at: cal.warning_time(cal.add(since, span)),
        })
        .filter(|w| close.is_none_or(|c| w.at < c.at))
        .collect();
    warnings.sort_by_key(|w| w.at);
    Some(Plan {
        side,
        since,
        warnings,
        close,
    })
}

impl Plan {
    /// The next instant something is due, given `warned` warnings sent.
    pub fn next_deadline(&self, warned: usize) -> Option<DateTime<Utc>> {
        let warn = self.warnings.get(warned).map(|w| w.at);
        let close = self.close.map(|c| c.at);
        match (warn, close) {
            (Some(w), Some(c)) => Some(w.min(c)),
            (w, c) => w.or(c),
        }
    }

    pub fn due(&self, warned: usize, now: DateTime<Utc>) -> Due {
        if self.close.is_some_and(|c| c.at <= now) {
            return Due::Close;
        }
        let reached = self.warnings.iter().filter(|w| w.at <= now).count();
        if reached > warned {
            Due::Warn { index: reached - 1 }
        } else {
            Due::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;
    use chrono::Weekday;

    /// Every status × every event, against the table the issue and
    /// DESIGN.md describe. `K` keep, `N` new ticket, `R` refuse, else the
    /// target status with flags: `*` the clock restarts, `^` reopened.
    #[test]
    fn the_transition_table() {
        let all = Status::ALL;
        let events: Vec<(&str, LifecycleEvent)> = vec![
            (
                "customer",
                LifecycleEvent::CustomerMessage {
                    within_window: true,
                },
            ),
            (
                "customer-late",
                LifecycleEvent::CustomerMessage {
                    within_window: false,
                },
            ),
            ("staff-reply", LifecycleEvent::StaffReply),
            ("staff-note", LifecycleEvent::StaffNote),
            ("automatic", LifecycleEvent::AutomaticMessage),
            ("close", LifecycleEvent::Close),
            ("reopen", LifecycleEvent::Reopen),
            ("inactivity", LifecycleEvent::InactivityClose),
            ("set-new", LifecycleEvent::SetStatus(New)),
            ("set-in-progress", LifecycleEvent::SetStatus(InProgress)),
            ("set-waiting", LifecycleEvent::SetStatus(WaitingForCustomer)),
            ("set-on-hold", LifecycleEvent::SetStatus(OnHold)),
            ("set-closed", LifecycleEvent::SetStatus(Closed)),
            ("set-rejected", LifecycleEvent::SetStatus(Rejected)),
        ];
        // Columns in Status::ALL order:
        // new, in-progress, waiting-for-customer, on-hold, closed, rejected
        #[rustfmt::skip]
        let table: &[(&str, [&str; 6])] = &[
            ("customer",        ["in-progress", "K", "in-progress*", "in-progress*", "in-progress*^", "in-progress*^"]),
            ("customer-late",   ["in-progress", "K", "in-progress*", "in-progress*", "N", "N"]),
            ("staff-reply",     ["waiting-for-customer*", "waiting-for-customer*", "waiting-for-customer*", "K", "K", "K"]),
            ("staff-note",      ["K", "K", "K", "K", "K", "K"]),
            ("automatic",       ["K", "K", "K", "K", "K", "K"]),
            ("close",           ["closed", "closed", "closed", "closed", "R", "closed"]),
            ("reopen",          ["R", "R", "R", "R", "in-progress*^", "in-progress*^"]),
            ("inactivity",      ["closed", "closed", "closed", "K", "K", "K"]),
            ("set-new",         ["R", "new", "new*", "new*", "new*^", "new*^"]),
            ("set-in-progress", ["in-progress", "R", "in-progress*", "in-progress*", "in-progress*^", "in-progress*^"]),
            ("set-waiting",     ["waiting-for-customer*", "waiting-for-customer*", "R", "waiting-for-customer*", "waiting-for-customer*^", "waiting-for-customer*^"]),
            ("set-on-hold",     ["on-hold", "on-hold", "on-hold", "R", "on-hold^", "on-hold^"]),
            ("set-closed",      ["closed", "closed", "closed", "closed", "R", "closed"]),
            ("set-rejected",    ["rejected", "rejected", "rejected", "rejected", "rejected", "R"]),
        ];
        assert_eq!(table.len(), events.len());
        let mut wrong = Vec::new();
        for (name, row) in table {
            let event = events.iter().find(|(n, _)| n == name).unwrap().1;
            for (from, want) in all.iter().zip(row) {
                let got = match decide(*from, event) {
                    Decision::Keep => "K".to_string(),
                    Decision::NewTicket => "N".to_string(),
                    Decision::Refuse(_) => "R".to_string(),
                    Decision::Apply(t) => format!(
                        "{}{}{}",
                        t.to,
                        if t.restart_clock { "*" } else { "" },
                        if t.reopened { "^" } else { "" }
                    ),
                };
                if got != *want {
                    wrong.push(format!("{name} on {from}: got {got}, want {want}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn refusals_say_why() {
        match decide(Closed, LifecycleEvent::Close) {
            Decision::Refuse(why) => assert!(why.contains("already closed"), "{why}"),
            d => panic!("{d:?}"),
        }
        match decide(OnHold, LifecycleEvent::Reopen) {
            Decision::Refuse(why) => assert!(why.contains("on-hold"), "{why}"),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn reopen_window() {
        let closed = DateTime::parse_from_rfc3339("2026-11-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let w = Some(Duration::days(30));
        assert!(within_reopen_window(closed, closed + Duration::days(30), w));
        assert!(!within_reopen_window(
            closed,
            closed + Duration::days(30) + Duration::seconds(1),
            w
        ));
        assert!(!within_reopen_window(closed, closed, None), "0 = never");
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn paris() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::Paris,
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            &[],
        )
    }

    #[test]
    fn default_plans() {
        let rules = InactivityRule::defaults();
        let cal = paris();
        // Opened on a Monday: warnings on Wednesday and Friday, close on Sunday → Monday 00:00.
        let since = utc("2026-11-16T10:00:00+01:00");
        let p = plan(&rules, &cal, New, since).unwrap();
        assert_eq!(p.side, Side::Staff);
        let at: Vec<_> = p.warnings.iter().map(|w| w.at).collect();
        assert_eq!(
            at,
            [
                utc("2026-11-18T10:00:00+01:00"),
                utc("2026-11-20T10:00:00+01:00")
            ]
        );
        assert_eq!(p.close.unwrap().at, utc("2026-11-23T00:00:00+01:00"));

        let p = plan(&rules, &cal, WaitingForCustomer, since).unwrap();
        assert_eq!(p.side, Side::Customer);
        assert_eq!(p.warnings[0].at, utc("2026-11-25T10:00:00+01:00"));
        assert_eq!(p.close.unwrap().at, utc("2026-12-04T10:00:00+01:00"));

        for s in [OnHold, Closed, Rejected] {
            assert_eq!(plan(&rules, &cal, s, since), None, "{s}");
        }
        // No rule for a side: no timer.
        assert_eq!(plan(&rules[..1], &cal, WaitingForCustomer, since), None);
    }

    #[test]
    fn deadlines_and_what_is_due() {
        let rules = InactivityRule::defaults();
        let cal = paris();
        let since = utc("2026-11-16T10:00:00+01:00");
        let p = plan(&rules, &cal, InProgress, since).unwrap();
        let (w1, w2, close) = (p.warnings[0].at, p.warnings[1].at, p.close.unwrap().at);
        assert_eq!(p.next_deadline(0), Some(w1));
        assert_eq!(p.next_deadline(1), Some(w2));
        assert_eq!(p.next_deadline(2), Some(close));
        let s = Duration::seconds(1);
        #[rustfmt::skip]
        let cases = [
            (0, w1 - s, Due::Nothing),
            (0, w1, Due::Warn { index: 0 }),
            (1, w1 + s, Due::Nothing),
            (1, w2, Due::Warn { index: 1 }),
            (0, w2, Due::Warn { index: 1 }),   // late sweep: only the latest
            (2, close - s, Due::Nothing),
            (2, close, Due::Close),
            (0, close, Due::Close),            // very late: just close
        ];
        for (warned, now, want) in cases {
            assert_eq!(p.due(warned, now), want, "warned {warned} at {now}");
        }
    }

    #[test]
    fn immediate_and_never_closing_rules() {
        let cal = paris();
        let rules = vec![InactivityRule {
            waiting_for: Side::Customer,
            warn_after: vec![],
            close_after: CloseAfter::Immediately,
        }];
        // Answered on a Saturday: closes Monday 00:00.
        let p = plan(
            &rules,
            &cal,
            WaitingForCustomer,
            utc("2026-11-21T10:00:00+01:00"),
        )
        .unwrap();
        assert_eq!(p.close.unwrap().at, utc("2026-11-23T00:00:00+01:00"));
        let rules = vec![InactivityRule {
            waiting_for: Side::Customer,
            warn_after: vec![Span::Days(3)],
            close_after: CloseAfter::Never,
        }];
        let since = utc("2026-11-16T10:00:00+01:00");
        let p = plan(&rules, &cal, WaitingForCustomer, since).unwrap();
        assert_eq!(p.close, None);
        assert_eq!(
            p.next_deadline(1),
            None,
            "warned once and never closes: nothing left"
        );
    }

    #[test]
    fn warnings_at_or_after_the_close_are_dropped_and_mixed_units_are_ordered() {
        let cal = paris();
        let rules = vec![InactivityRule {
            waiting_for: Side::Staff,
            warn_after: vec![Span::BusinessDays(3), Span::Days(1), Span::Days(9)],
            close_after: CloseAfter::After(Span::Days(6)),
        }];
        // Friday: 1 day → Saturday; 3 business days → Wednesday; 9 days is
        // past the close on Thursday.
        let p = plan(&rules, &cal, New, utc("2026-11-20T10:00:00+01:00")).unwrap();
        let at: Vec<_> = p.warnings.iter().map(|w| w.at).collect();
        assert_eq!(
            at,
            [
                utc("2026-11-21T10:00:00+01:00"),
                utc("2026-11-25T10:00:00+01:00")
            ]
        );
        assert_eq!(p.close.unwrap().at, utc("2026-11-26T10:00:00+01:00"));
        // A warning on the close instant itself is dropped too.
        let rules = vec![InactivityRule {
            waiting_for: Side::Staff,
            warn_after: vec![Span::BusinessDays(3)],
            close_after: CloseAfter::After(Span::Days(5)),
        }];
        let p = plan(&rules, &cal, New, utc("2026-11-20T10:00:00+01:00")).unwrap();
        assert!(p.warnings.is_empty(), "{p:?}");
    }

    /// The status, the start of the wait, the warnings and the close.
    type Replayed = (
        Status,
        DateTime<Utc>,
        Vec<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );

    /// Replays `events` (local Paris times) from a ticket opened at
    /// `opened`, as `change` does: the status and `waiting_since` by
    /// [`decide`]; returns the status, the start of the wait and the
    /// plan's warnings and close.
    fn replay(cal: &Calendar, opened: &str, events: &[(&str, LifecycleEvent)]) -> Replayed {
        let (mut status, mut since) = (New, utc(opened));
        for &(at, event) in events {
            if let Decision::Apply(tr) = decide(status, event) {
                if tr.restart_clock {
                    since = utc(at);
                }
                status = tr.to;
            }
        }
        let p = plan(&InactivityRule::defaults(), cal, status, since).unwrap();
        let warnings = p.warnings.iter().map(|w| w.at).collect();
        (status, since, warnings, p.close.map(|c| c.at))
    }

    /// The clocks the customer was promised (issue 11, point 4), as tables
    /// of events and the warnings and close they lead to.
    #[test]
    fn clock_tables() {
        let cal = paris();
        let reply = LifecycleEvent::StaffReply;
        let note = LifecycleEvent::StaffNote;
        let customer = LifecycleEvent::CustomerMessage {
            within_window: true,
        };
        // Two staff replies 3 days apart, then silence: the customer's
        // warning is 7 business days after the second, the close 7 later.
        let (st, since, w, close) = replay(
            &cal,
            "2026-11-16T10:00:00+01:00",
            &[
                ("2026-11-16T11:00:00+01:00", reply),
                ("2026-11-19T11:00:00+01:00", reply),
            ],
        );
        assert_eq!(st, WaitingForCustomer);
        assert_eq!(since, utc("2026-11-19T11:00:00+01:00"));
        assert_eq!(w, [utc("2026-11-30T11:00:00+01:00")]);
        assert_eq!(close, Some(utc("2026-12-09T11:00:00+01:00")));

        // A note during staff silence changes no warning: day 2, day 4,
        // close day 6 from the customer's message.
        let silent = replay(&cal, "2026-11-16T10:00:00+01:00", &[]);
        #[rustfmt::skip]
        let staff_side: &[&[(&str, LifecycleEvent)]] = &[
            &[("2026-11-17T09:00:00+01:00", note)],
            &[("2026-11-17T09:00:00+01:00", note), ("2026-11-19T09:00:00+01:00", note)],
            // A command that keeps it waiting for staff does not reset it either.
            &[("2026-11-17T09:00:00+01:00", LifecycleEvent::SetStatus(InProgress))],
            // Nor does the customer writing again.
            &[("2026-11-17T09:00:00+01:00", customer)],
        ];
        for events in staff_side {
            let got = replay(&cal, "2026-11-16T10:00:00+01:00", events);
            assert_eq!(got.1, silent.1, "{events:?}");
            assert_eq!(got.2, silent.2, "{events:?}");
            assert_eq!(got.3, silent.3, "{events:?}");
        }
        assert_eq!(
            silent.2,
            [
                utc("2026-11-18T10:00:00+01:00"),
                utc("2026-11-20T10:00:00+01:00")
            ]
        );
        // What does reset the staff clock: waiting-for-customer, then the
        // customer's reply hands it back from that reply on.
        let (st, since, w, _) = replay(
            &cal,
            "2026-11-16T10:00:00+01:00",
            &[
                (
                    "2026-11-17T09:00:00+01:00",
                    LifecycleEvent::SetStatus(WaitingForCustomer),
                ),
                ("2026-11-18T09:00:00+01:00", customer),
            ],
        );
        assert_eq!((st, since), (InProgress, utc("2026-11-18T09:00:00+01:00")));
        assert_eq!(w[0], utc("2026-11-20T09:00:00+01:00"));
    }

    /// Working hours: warnings and closes due outside them go out at the
    /// start of the next working period, not at 00:00.
    #[test]
    fn working_hours_move_warnings_and_closes() {
        let cal = paris().with_hours(Some("09:00-18:00".parse().unwrap()));
        let rules = InactivityRule::defaults();
        // Opened Monday 20:00: the first warning, Wednesday 20:00, goes
        // out Thursday 09:00; the second (Friday 20:00) and the close
        // (Sunday 20:00) both fall on Monday 09:00, so only the close does.
        let p = plan(&rules, &cal, New, utc("2026-11-16T20:00:00+01:00")).unwrap();
        let at: Vec<_> = p.warnings.iter().map(|w| w.at).collect();
        assert_eq!(at, [utc("2026-11-19T09:00:00+01:00")]);
        assert_eq!(p.close.unwrap().at, utc("2026-11-23T09:00:00+01:00"));
        // Opened Tuesday 10:00: Thursday 10:00 stays, Saturday 10:00 goes
        // out Monday 09:00, the close stays Monday 10:00.
        let p = plan(&rules, &cal, New, utc("2026-11-17T10:00:00+01:00")).unwrap();
        let at: Vec<_> = p.warnings.iter().map(|w| w.at).collect();
        assert_eq!(
            at,
            [
                utc("2026-11-19T10:00:00+01:00"),
                utc("2026-11-23T09:00:00+01:00")
            ]
        );
        assert_eq!(p.close.unwrap().at, utc("2026-11-23T10:00:00+01:00"));
        // Answered Friday 17:30: the customer's warning is 7 business days
        // later at 17:30, in hours, so it stays.
        let p = plan(
            &rules,
            &cal,
            WaitingForCustomer,
            utc("2026-11-20T17:30:00+01:00"),
        )
        .unwrap();
        assert_eq!(p.warnings[0].at, utc("2026-12-01T17:30:00+01:00"));
        // Hours are part of the fingerprint: deadlines are computed again.
        assert_ne!(fingerprint(&rules, &cal), fingerprint(&rules, &paris()));
    }

    #[test]
    fn fingerprint_changes_with_rules_and_calendar() {
        let a = fingerprint(&InactivityRule::defaults(), &paris());
        assert_eq!(a, fingerprint(&InactivityRule::defaults(), &paris()));
        assert_ne!(a, fingerprint(&InactivityRule::defaults()[..1], &paris()));
        assert_ne!(
            a,
            fingerprint(&InactivityRule::defaults(), &Calendar::default())
        );
    }
}
