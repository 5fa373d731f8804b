//! calendar: the desk's business calendar — an IANA time zone (chrono-tz),
//! the working days of the week and the holidays — and the arithmetic the
//! inactivity rules need on it.
//!
//! Definitions (postdesk.toml(5) documents them the same way):
//!
//! - **N days** (or hours, minutes) is calendar time. Days are calendar days
//!   in the desk's zone: Saturday 10:00 + 2 days is Monday 10:00 local time
//!   even across a daylight-saving change (47 or 49 hours then). Hours and
//!   minutes are exact elapsed time.
//! - **N business days** counts only working days (a working weekday that is
//!   not a holiday). The clock runs only on working days: an instant on a
//!   non-working day counts from the start (00:00 local) of the next working
//!   day, and the result is the same local time of day N working days later.
//!   So Friday 10:00 + 1 business day is Monday 10:00, and Saturday 10:00 +
//!   1 business day is Tuesday 00:00 (Monday was the one working day).
//! - **working time**: an instant on a non-working day is moved to the start
//!   (00:00 local) of the next working day. A close that falls due on a
//!   Saturday therefore happens at Monday 00:00 (the first sweep after it).
//!   With working hours (`working_hours = "09:00-18:00"`) the working
//!   periods are those hours of the working days: an instant outside them
//!   moves to the next period's start (Saturday 10:00 → Monday 09:00,
//!   Tuesday 19:30 → Wednesday 09:00), and warnings move too.
//!
//! A local time that does not exist (the hour skipped in spring) is read with
//! the offset before the gap, i.e. moved forward by the gap; a local time
//! that exists twice (the hour repeated in autumn) is the earlier instant.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// A length of time in an inactivity rule, as written in the config:
/// `"2 days"`, `"7 business days"`, `"12 hours"`, `"30 minutes"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    Minutes(u32),
    Hours(u32),
    Days(u32),
    BusinessDays(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid length {0:?}: expected a whole number and a unit: \"2 days\", \"7 business days\", \"12 hours\" or \"30 minutes\""
)]
pub struct BadSpan(pub String);

impl FromStr for Span {
    type Err = BadSpan;
    fn from_str(s: &str) -> Result<Span, BadSpan> {
        let bad = || BadSpan(s.to_string());
        let t = s.trim();
        let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let n: u32 = t[..end].parse().map_err(|_| bad())?;
        // Units in words, singular or plural, any blanks between them.
        let unit: Vec<String> = t[end..]
            .split_whitespace()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let unit: Vec<&str> = unit.iter().map(String::as_str).collect();
        Ok(match unit[..] {
            ["minute" | "minutes"] => Span::Minutes(n),
            ["hour" | "hours"] => Span::Hours(n),
            ["day" | "days"] => Span::Days(n),
            ["business", "day" | "days"] => Span::BusinessDays(n),
            _ => return Err(bad()),
        })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, one, many) = match *self {
            Span::Minutes(n) => (n, "minute", "minutes"),
            Span::Hours(n) => (n, "hour", "hours"),
            Span::Days(n) => (n, "day", "days"),
            Span::BusinessDays(n) => (n, "business day", "business days"),
        };
        write!(f, "{n} {}", if n == 1 { one } else { many })
    }
}

impl Span {
    pub fn is_zero(self) -> bool {
        matches!(
            self,
            Span::Minutes(0) | Span::Hours(0) | Span::Days(0) | Span::BusinessDays(0)
        )
    }

    /// Whether two spans can be ordered without knowing the start: both
    /// business days, or both calendar time.
    pub fn comparable(self, other: Span) -> bool {
        matches!(self, Span::BusinessDays(_)) == matches!(other, Span::BusinessDays(_))
    }

    /// A sort key among comparable spans (minutes, or business days).
    pub fn magnitude(self) -> u64 {
        match self {
            Span::Minutes(n) => u64::from(n),
            Span::Hours(n) => u64::from(n) * 60,
            Span::Days(n) => u64::from(n) * 1440,
            Span::BusinessDays(n) => u64::from(n),
        }
    }
}

/// The working hours of a working day, local time: `"09:00-18:00"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid working hours {0:?}: expected \"HH:MM-HH:MM\" with the start before the end, e.g. \"09:00-18:00\""
)]
pub struct BadHours(pub String);

impl FromStr for WorkingHours {
    type Err = BadHours;
    fn from_str(s: &str) -> Result<WorkingHours, BadHours> {
        let bad = || BadHours(s.to_string());
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start >= end {
            return Err(bad());
        }
        Ok(WorkingHours { start, end })
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// The desk's calendar. Holidays are local dates in the desk's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    working: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    /// None: the whole of a working day works.
    hours: Option<WorkingHours>,
}

/// The weekday names of the config, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Default for Calendar {
    /// UTC, Monday to Friday, no holidays.
    fn default() -> Calendar {
        Calendar::new(
            Tz::UTC,
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
}

impl Calendar {
    /// `working_days` must not be empty (the config refuses that): with no
    /// working day nothing could ever close.
    pub fn new(tz: Tz, working_days: &[Weekday], holidays: &[NaiveDate]) -> Calendar {
        let mut working = [false; 7];
        for d in working_days {
            working[d.num_days_from_monday() as usize] = true;
        }
        Calendar {
            tz,
            working,
            holidays: holidays.iter().copied().collect(),
            hours: None,
        }
    }

    /// The same calendar with working hours.
    pub fn with_hours(mut self, hours: Option<WorkingHours>) -> Calendar {
        self.hours = hours;
        self
    }

    pub fn working_hours(&self) -> Option<WorkingHours> {
        self.hours
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn working_days(&self) -> Vec<Weekday> {
        (0..7u8)
            .filter(|&i| self.working[i as usize])
            .filter_map(|i| Weekday::try_from(i).ok())
            .collect()
    }

    pub fn holidays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.holidays.iter().copied()
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        self.working[d.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&d)
    }

    /// `t` in the desk's zone.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.tz)
    }

    /// The instant of local date-time `local` (see the module doc for gaps
    /// and repeated hours).
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                // In a gap: use the offset in force a day before (no zone has
                // two changes within a day), which moves it forward by the gap.
                let before = local - Duration::hours(24);
                let offset = match self.tz.offset_from_local_datetime(&before) {
                    LocalResult::Single(o) | LocalResult::Ambiguous(o, _) => o.fix(),
                    LocalResult::None => Utc.fix(),
                };
                (local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
            }
        }
    }

    /// The first working day on or after `d`. Holidays are finite and at
    /// least one weekday works, so this ends; the bound is a safety net.
    fn working_on_or_after(&self, d: NaiveDate) -> NaiveDate {
        let mut day = d;
        for _ in 0..=(self.holidays.len() + 7) {
            if self.is_working_day(day) {
                return day;
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => return day,
            }
        }
        day
    }

    /// `t` if it falls on a working day, else 00:00 local of the next one.
    fn working_day_time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let date = self.local(t).date_naive();
        if self.is_working_day(date) {
            return t;
        }
        let day = self.working_on_or_after(date);
        self.instant(day.and_time(NaiveTime::MIN))
    }

    /// `t` if it falls in a working period, else the start of the next one:
    /// without working hours 00:00 of the next working day, with them the
    /// next start of the hours on a working day.
    pub fn working_time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let Some(h) = self.hours else {
            return self.working_day_time(t);
        };
        let local = self.local(t).naive_local();
        let date = local.date();
        if self.is_working_day(date) {
            if local.time() < h.start {
                return self.instant(date.and_time(h.start));
            }
            if local.time() < h.end {
                return t;
            }
        }
        let day = match date.succ_opt() {
            Some(next) => self.working_on_or_after(next),
            None => return t,
        };
        self.instant(day.and_time(h.start))
    }

    /// When a warning due at `t` goes out: at `t`, or with working hours at
    /// the start of the next working period (without them a warning may go
    /// out on any day, as it always has).
    pub fn warning_time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.hours.is_some() {
            self.working_time(t)
        } else {
            t
        }
    }

    /// `t` plus `span`, by the definitions of the module doc.
    pub fn add(&self, t: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        match span {
            Span::Minutes(n) => t + Duration::minutes(i64::from(n)),
            Span::Hours(n) => t + Duration::hours(i64::from(n)),
            Span::Days(n) => {
                let local = self.local(t).naive_local();
                match local.checked_add_days(Days::new(u64::from(n))) {
                    Some(later) => self.instant(later),
                    None => DateTime::<Utc>::MAX_UTC,
                }
            }
            Span::BusinessDays(n) => {
                // Whole days: the hours move only the final instant.
                let start = self.local(self.working_day_time(t)).naive_local();
                let mut day = start.date();
                for _ in 0..n {
                    let Some(next) = day.succ_opt() else {
                        return DateTime::<Utc>::MAX_UTC;
                    };
                    day = self.working_on_or_after(next);
                }
                self.instant(day.and_time(start.time()))
            }
        }
    }

    /// A time for people, in the desk's zone: `2026-11-23 09:00 CET`.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        self.local(t).format("%Y-%m-%d %H:%M %Z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn paris(holidays: &[&str]) -> Calendar {
        let h: Vec<NaiveDate> = holidays.iter().map(|d| date(d)).collect();
        Calendar::new(
            chrono_tz::Europe::Paris,
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            &h,
        )
    }

    #[test]
    fn spans_parse_and_print() {
        let ok = [
            ("2 days", Span::Days(2)),
            ("1 day", Span::Days(1)),
            ("7 business days", Span::BusinessDays(7)),
            ("  14  Business   Days ", Span::BusinessDays(14)),
            ("1 business day", Span::BusinessDays(1)),
            ("12 hours", Span::Hours(12)),
            ("30 minutes", Span::Minutes(30)),
            ("0 days", Span::Days(0)),
        ];
        for (text, want) in ok {
            assert_eq!(text.parse::<Span>(), Ok(want), "{text:?}");
            assert_eq!(want.to_string().parse::<Span>(), Ok(want));
        }
        for bad in [
            "",
            "2",
            "days",
            "2d",
            "-1 days",
            "1.5 days",
            "2 weeks",
            "2 business",
            "2 working days",
        ] {
            assert!(bad.parse::<Span>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(Span::Days(1).to_string(), "1 day");
        assert_eq!(Span::BusinessDays(7).to_string(), "7 business days");
    }

    #[test]
    fn working_days_weekends_and_holidays() {
        let cal = paris(&["2026-12-25"]);
        #[rustfmt::skip]
        let cases = [
            ("2026-11-20", true),   // Friday
            ("2026-11-21", false),  // Saturday
            ("2026-11-22", false),  // Sunday
            ("2026-11-23", true),   // Monday
            ("2026-12-25", false),  // a holiday on a Friday
            ("2026-12-24", true),
        ];
        for (d, want) in cases {
            assert_eq!(cal.is_working_day(date(d)), want, "{d}");
        }
        // Another week: Sunday to Thursday.
        let gulf = Calendar::new(
            chrono_tz::Asia::Dubai,
            &[
                Weekday::Sun,
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
            ],
            &[],
        );
        assert!(gulf.is_working_day(date("2026-11-22")));
        assert!(!gulf.is_working_day(date("2026-11-20")));
    }

    /// (start, span, expected end), all RFC 3339.
    #[test]
    fn adding_spans_on_the_paris_calendar() {
        let cal = paris(&["2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"]);
        #[rustfmt::skip]
        let cases: &[(&str, Span, &str)] = &[
            // Calendar days keep the local time of day.
            ("2026-11-16T10:00:00+01:00", Span::Days(2), "2026-11-18T10:00:00+01:00"),
            ("2026-11-20T10:00:00+01:00", Span::Days(2), "2026-11-22T10:00:00+01:00"),
            // Hours and minutes are elapsed time.
            ("2026-11-16T10:00:00+01:00", Span::Hours(36), "2026-11-17T22:00:00+01:00"),
            ("2026-11-16T23:50:00+01:00", Span::Minutes(20), "2026-11-17T00:10:00+01:00"),
            // Business days skip the weekend.
            ("2026-11-16T10:00:00+01:00", Span::BusinessDays(7), "2026-11-25T10:00:00+01:00"),
            ("2026-11-16T10:00:00+01:00", Span::BusinessDays(14), "2026-12-04T10:00:00+01:00"),
            ("2026-11-20T10:00:00+01:00", Span::BusinessDays(1), "2026-11-23T10:00:00+01:00"),
            ("2026-11-20T17:30:00+01:00", Span::BusinessDays(5), "2026-11-27T17:30:00+01:00"),
            // Starting on a non-working day: the clock starts Monday 00:00.
            ("2026-11-21T10:00:00+01:00", Span::BusinessDays(1), "2026-11-24T00:00:00+01:00"),
            ("2026-11-22T23:00:00+01:00", Span::BusinessDays(2), "2026-11-25T00:00:00+01:00"),
            ("2026-11-21T10:00:00+01:00", Span::BusinessDays(0), "2026-11-23T00:00:00+01:00"),
            // The holiday weeks: 24, 25 and 31 December and 1 January are off.
            ("2026-12-22T09:00:00+01:00", Span::BusinessDays(1), "2026-12-23T09:00:00+01:00"),
            ("2026-12-22T09:00:00+01:00", Span::BusinessDays(2), "2026-12-28T09:00:00+01:00"),
            ("2026-12-23T09:00:00+01:00", Span::BusinessDays(7), "2027-01-07T09:00:00+01:00"),
            ("2026-12-24T09:00:00+01:00", Span::BusinessDays(1), "2026-12-29T00:00:00+01:00"),
            ("2026-12-21T09:00:00+01:00", Span::BusinessDays(14), "2027-01-14T09:00:00+01:00"),
        ];
        for &(start, span, want) in cases {
            assert_eq!(cal.add(utc(start), span), utc(want), "{start} + {span}");
        }
    }

    #[test]
    fn daylight_saving_changes() {
        let cal = paris(&[]);
        #[rustfmt::skip]
        let cases: &[(&str, Span, &str)] = &[
            // Autumn, 25 Oct 2026 03:00 CEST → 02:00 CET: two calendar days are 49 hours.
            ("2026-10-24T10:00:00+02:00", Span::Days(2), "2026-10-26T10:00:00+01:00"),
            ("2026-10-24T10:00:00+02:00", Span::Hours(48), "2026-10-26T09:00:00+01:00"),
            // Friday before the change + 1 business day: Monday, same wall-clock time.
            ("2026-10-23T10:00:00+02:00", Span::BusinessDays(1), "2026-10-26T10:00:00+01:00"),
            // Spring, 29 Mar 2026 02:00 CET → 03:00 CEST: two calendar days are 47 hours.
            ("2026-03-28T10:00:00+01:00", Span::Days(2), "2026-03-30T10:00:00+02:00"),
            // 02:30 does not exist on the 29th: it is read as 03:30 CEST.
            ("2026-03-28T02:30:00+01:00", Span::Days(1), "2026-03-29T03:30:00+02:00"),
            // 02:30 exists twice on 25 Oct: the earlier one (CEST).
            ("2026-10-24T02:30:00+02:00", Span::Days(1), "2026-10-25T02:30:00+02:00"),
        ];
        for &(start, span, want) in cases {
            assert_eq!(cal.add(utc(start), span), utc(want), "{start} + {span}");
        }
        // Another zone, another date: New York, 1 Nov 2026.
        let ny = Calendar::new(chrono_tz::America::New_York, &[Weekday::Mon], &[]);
        assert_eq!(
            ny.add(utc("2026-10-31T12:00:00-04:00"), Span::Days(1)),
            utc("2026-11-01T12:00:00-05:00")
        );
    }

    #[test]
    fn working_time_moves_weekends_and_holidays_to_the_next_working_morning() {
        let cal = paris(&["2026-12-25"]);
        #[rustfmt::skip]
        let cases = [
            ("2026-11-20T23:59:00+01:00", "2026-11-20T23:59:00+01:00"), // Friday stays
            ("2026-11-21T10:00:00+01:00", "2026-11-23T00:00:00+01:00"), // Saturday → Monday
            ("2026-11-22T23:59:00+01:00", "2026-11-23T00:00:00+01:00"), // Sunday → Monday
            ("2026-12-25T08:00:00+01:00", "2026-12-28T00:00:00+01:00"), // holiday Friday → Monday
            // The zone decides the day: 01:00 UTC on Saturday is Saturday in Paris…
            ("2026-11-21T01:00:00+00:00", "2026-11-23T00:00:00+01:00"),
        ];
        for (t, want) in cases {
            assert_eq!(cal.working_time(utc(t)), utc(want), "{t}");
        }
        let la = Calendar::new(
            chrono_tz::America::Los_Angeles,
            &[
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            &[],
        );
        let t = utc("2026-11-21T01:00:00+00:00");
        assert_eq!(la.working_time(t), t, "…and Friday 17:00 in Los Angeles");
    }

    #[test]
    fn working_hours_parse() {
        let h: WorkingHours = "09:00-18:00".parse().unwrap();
        assert_eq!(h.to_string(), "09:00-18:00");
        assert_eq!(
            " 8:30 - 17:00 "
                .parse::<WorkingHours>()
                .unwrap()
                .to_string(),
            "08:30-17:00"
        );
        for bad in [
            "",
            "09:00",
            "18:00-09:00",
            "09:00-09:00",
            "9h-18h",
            "09:00-25:00",
        ] {
            assert!(bad.parse::<WorkingHours>().is_err(), "{bad:?} accepted");
        }
    }

    /// With working hours, an instant outside them moves to the next
    /// period's start; without them, only non-working days move (to 00:00).
    #[test]
    fn working_time_with_working_hours() {
        let cal = paris(&["2026-12-25"]).with_hours(Some("09:00-18:00".parse().unwrap()));
        #[rustfmt::skip]
        let cases = [
            ("2026-11-20T10:00:00+01:00", "2026-11-20T10:00:00+01:00"), // Friday, in hours
            ("2026-11-20T09:00:00+01:00", "2026-11-20T09:00:00+01:00"), // the start itself
            ("2026-11-20T07:59:00+01:00", "2026-11-20T09:00:00+01:00"), // early → same morning
            ("2026-11-20T18:00:00+01:00", "2026-11-23T09:00:00+01:00"), // Friday evening → Monday
            ("2026-11-21T10:00:00+01:00", "2026-11-23T09:00:00+01:00"), // Saturday → Monday
            ("2026-11-23T00:00:00+01:00", "2026-11-23T09:00:00+01:00"), // Monday midnight
            ("2026-11-24T19:30:00+01:00", "2026-11-25T09:00:00+01:00"), // Tuesday evening
            ("2026-12-24T18:30:00+01:00", "2026-12-28T09:00:00+01:00"), // before a holiday Friday
        ];
        for (t, want) in cases {
            assert_eq!(cal.working_time(utc(t)), utc(want), "{t}");
            assert_eq!(cal.warning_time(utc(t)), utc(want), "{t}");
        }
        // Business days still count whole days: Friday 20:00 + 1 → Monday 20:00,
        // which is after hours, so the plan moves it to Tuesday 09:00.
        let t = cal.add(utc("2026-11-20T20:00:00+01:00"), Span::BusinessDays(1));
        assert_eq!(t, utc("2026-11-23T20:00:00+01:00"));
        assert_eq!(cal.working_time(t), utc("2026-11-24T09:00:00+01:00"));
        // Without hours a warning is never moved.
        let plain = paris(&[]);
        let sat = utc("2026-11-21T10:00:00+01:00");
        assert_eq!(plain.warning_time(sat), sat);
    }

    #[test]
    fn format_is_local_with_the_zone_abbreviation() {
        let cal = paris(&[]);
        assert_eq!(
            cal.format(utc("2026-11-23T08:00:00Z")),
            "2026-11-23 09:00 CET"
        );
        assert_eq!(
            cal.format(utc("2026-07-01T08:00:00Z")),
            "2026-07-01 10:00 CEST"
        );
    }
}
