//! The spelling of one value in the file, for serde's `with`/`deserialize_with`: durations
//! (read by `humantime`, written in their shortest exact form), sizes in KB/MB/GB (1 KB = 1024
//! bytes, as in Dovecot and Exim), whole numbers in a range, and the choices of domain types
//! that have no serde of their own. Each error names what was expected; the caller adds the key
//! and the line.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::Language;
use crate::domain::calendar::{Span, WEEKDAYS};
use crate::domain::lifecycle::{CloseAfter, Side};

/// Size units in bytes, matched upper-cased, largest first: the order [`format_scaled`] picks
/// from. KiB means the same as KB.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("GB", 1 << 30),
    ("GIB", 1 << 30),
    ("MB", 1 << 20),
    ("MIB", 1 << 20),
    ("KB", 1 << 10),
    ("KIB", 1 << 10),
    ("", 1),
    ("B", 1),
];
/// Duration units in milliseconds, for writing only: `humantime` reads all of them back.
const DURATION_UNITS: &[(&str, u64)] = &[
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// `"500ms"`, `"60s"`, `"5m"`, `"2h"`, `"1d"`: a whole number and one unit, blanks allowed,
/// read by `humantime`. Its other spellings (`"1.5h"`, `"1w"`, `"5M"` for months) stay refused,
/// as the man page says: a fraction or a month is not worth a second syntax, and `"5M"` is too
/// near `"5m"`. A bare number is refused because nothing says whether it means seconds or
/// minutes.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let unit = t[end..].trim();
    let parsed = if end > 0 && ["ms", "s", "m", "h", "d"].contains(&unit) {
        humantime::parse_duration(&format!("{}{unit}", &t[..end])).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        format!("invalid duration \"{s}\": expected a whole number and a unit: \"500ms\", \"60s\", \"5m\", \"2h\" or \"1d\"")
    })
}

/// Bytes (`"1000"`, `"1000B"`) or a whole number of KB, MB or GB (any case; KiB, MiB, GiB too).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let upper = s.trim().to_ascii_uppercase();
    let end = upper
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(upper.len());
    let per = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == upper[end..].trim());
    per.and_then(|(_, per)| upper[..end].parse::<u64>().ok()?.checked_mul(*per))
        .ok_or_else(|| {
            format!("invalid size \"{s}\": expected bytes (\"1000\") or a whole number with KB, MB or GB (\"512KB\", \"25MB\", \"1GB\"; 1 KB = 1024 bytes)")
        })
}

/// The shortest exact spelling, so `format → parse` is the identity. Durations below a
/// millisecond cannot come from the file and are truncated.
pub fn format_duration(d: Duration) -> String {
    let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    format_scaled(millis, DURATION_UNITS)
}

pub fn format_size(bytes: u64) -> String {
    format_scaled(bytes, SIZE_UNITS)
}

/// `n` in the largest unit that divides it exactly.
fn format_scaled(n: u64, units: &[(&str, u64)]) -> String {
    let unit = units.iter().find(|(_, per)| n.is_multiple_of(*per));
    unit.map_or_else(|| n.to_string(), |(name, per)| format!("{}{name}", n / per))
}

/// Reads a string and parses it inside the visitor, so that an error carries the value's own
/// line even inside a list (toml gives the span only to errors raised there).
pub fn parse_str<'de, D, T>(
    d: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Parse<F>(F);
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> de::Visitor<'de> for Parse<F> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.0)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(Parse(parse))
}

fn nonzero<T: PartialEq + Default>(v: T) -> Result<T, String> {
    if v == T::default() {
        Err("must be greater than zero".to_string())
    } else {
        Ok(v)
    }
}

/// A duration greater than zero.
pub mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        parse_str(d, |s| parse_duration(s).and_then(nonzero))
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }
}

/// A size greater than zero.
pub mod size {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        parse_str(d, |s| parse_size(s).and_then(nonzero))
    }

    pub fn serialize<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(*n))
    }
}

/// A whole number in `MIN..=MAX`. Read as i64, so that an out-of-range value gets this
/// message rather than serde's.
pub fn range<'de, const MIN: i64, const MAX: i64, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let n = i64::deserialize(d)?;
    match T::try_from(n) {
        Ok(v) if (MIN..=MAX).contains(&n) => Ok(v),
        _ => Err(D::Error::custom(format!("must be {MIN}-{MAX}, not {n}"))),
    }
}

/// A TCP port; 0 is how a section says "not given: the usual port for the TLS mode".
pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    range::<1, 65535, D, u16>(d)
}

/// A value read through its `FromStr` and written through its `Display`.
pub struct Text<T>(pub T);

impl<'de, T: FromStr<Err: Display>> Deserialize<'de> for Text<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, |s| {
            s.parse().map(Text).map_err(|e: T::Err| e.to_string())
        })
    }
}

/// A list of [`Text`] values: each bad entry is reported at its own place.
/// Folders (`templates`): a list of paths, or one path as a string.
pub mod folders {
    use super::*;
    use std::path::PathBuf;

    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a folder or a list of folders")]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(p) => vec![p],
            OneOrMany::Many(list) => list,
        })
    }

    pub fn serialize<S: Serializer>(list: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
        list.serialize(s)
    }
}

/// [`folders`] for a key that may be absent.
pub mod folders_opt {
    use super::*;
    use std::path::PathBuf;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<PathBuf>>, D::Error> {
        super::folders::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(list: &Option<Vec<PathBuf>>, s: S) -> Result<S::Ok, S::Error> {
        list.serialize(s)
    }
}

pub mod text_list {
    use super::*;

    pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr<Err: Display>,
    {
        let list = Vec::<Text<T>>::deserialize(d)?;
        Ok(list.into_iter().map(|t| t.0).collect())
    }

    pub fn serialize<S: Serializer, T: Display>(list: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|v| v.to_string()))
    }
}

/// A domain enum spelled by a fixed set of words in the file.
pub trait Choice: Copy + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

impl Choice for Language {
    const ALL: &'static [Self] = &Language::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Choice for Side {
    const ALL: &'static [Self] = &Side::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// `must be one of "a", "b", not "x"`: the message for every choice, serde's own enums included
/// (see `read::reword`).
pub fn not_one_of(given: &str, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("must be one of {}, not \"{given}\"", names.join(", "))
}

fn read_choice<T: Choice>(s: &str) -> Result<T, String> {
    let names: Vec<&str> = T::ALL.iter().map(|v| v.name()).collect();
    T::ALL
        .iter()
        .copied()
        .find(|v| v.name() == s)
        .ok_or_else(|| not_one_of(s, &names))
}

pub mod choice {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<T, D::Error> {
        parse_str(d, read_choice)
    }

    pub fn serialize<S: Serializer, T: Choice>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.name())
    }
}

pub mod choice_opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>, T: Choice>(d: D) -> Result<Option<T>, D::Error> {
        super::choice::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer, T: Choice>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Choice::name).serialize(s)
    }
}

/// A length that may also be a number: `close_after = -1`, `reopen_window = 0`.
#[derive(Deserialize, Serialize)]
#[serde(untagged, expecting = "a string such as \"6 days\", or a number")]
enum Length {
    Text(String),
    Number(i64),
}

/// `intake.reopen_window`: `"30d"` or `"30 days"` (calendar time); `0`, `"0d"` or `"0 days"`:
/// never reopen (`None`).
pub mod reopen_window {
    use super::*;

    const HOW: &str = "expected a duration such as \"30d\" or \"30 days\", or 0 (never reopen)";

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = match Length::deserialize(d)? {
            Length::Number(0) => return Ok(None),
            Length::Number(n) => {
                return Err(D::Error::custom(format!("{n} is not a duration: {HOW}")));
            }
            Length::Text(t) => t,
        };
        // "30 days" is our calendar spelling; business days have no fixed length.
        let parsed = parse_duration(&text)
            .ok()
            .or_else(|| match text.parse::<Span>() {
                Ok(Span::Days(n)) => Some(Duration::from_secs(u64::from(n) * 86_400)),
                Ok(Span::Hours(n)) => Some(Duration::from_secs(u64::from(n) * 3600)),
                Ok(Span::Minutes(n)) => Some(Duration::from_secs(u64::from(n) * 60)),
                Ok(Span::BusinessDays(_)) | Err(_) => None,
            });
        match parsed {
            Some(d) => Ok(Some(d).filter(|d| !d.is_zero())),
            None => Err(D::Error::custom(format!(
                "invalid duration \"{text}\": {HOW}"
            ))),
        }
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => Length::Text(format_duration(*d)),
            None => Length::Number(0),
        }
        .serialize(s)
    }
}

/// `[[inactivity]] close_after`: a [`Span`], `""` (close at once) or -1 (never).
pub mod close_after {
    use super::*;

    const HOW: &str = "expected a length such as \"6 days\" or \"14 business days\", \"\" (close at once) or -1 (never)";

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CloseAfter, D::Error> {
        match Length::deserialize(d)? {
            Length::Number(-1) => Ok(CloseAfter::Never),
            Length::Number(n) => Err(D::Error::custom(format!("{n}: {HOW}"))),
            Length::Text(t) if t.trim().is_empty() => Ok(CloseAfter::Immediately),
            Length::Text(t) if t.trim() == "-1" => Ok(CloseAfter::Never),
            Length::Text(t) => t.parse().map(CloseAfter::After).map_err(D::Error::custom),
        }
    }

    pub fn serialize<S: Serializer>(c: &CloseAfter, s: S) -> Result<S::Ok, S::Error> {
        match c {
            CloseAfter::Immediately => Length::Text(String::new()),
            CloseAfter::After(span) => Length::Text(span.to_string()),
            CloseAfter::Never => Length::Number(-1),
        }
        .serialize(s)
    }
}

/// `intake.spam_header`: `"X-Spam-Flag: YES"` → the field name and the value that means spam;
/// `""`: no check.
pub mod spam_header {
    use super::*;

    pub fn deserialize<'de, D>(d: D) -> Result<Option<(String, String)>, D::Error>
    where
        D: Deserializer<'de>,
    {
        parse_str(d, |s| {
            if s.trim().is_empty() {
                return Ok(None);
            }
            let bad = || {
                format!(
                    "\"{s}\" must be \"Field-Name: value\", e.g. \"X-Spam-Flag: YES\" (or \"\" for no check)"
                )
            };
            let (name, value) = s.split_once(':').ok_or_else(bad)?;
            let (name, value) = (name.trim(), value.trim());
            if value.is_empty() || name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic()) {
                return Err(bad());
            }
            Ok(Some((name.to_string(), value.to_string())))
        })
    }

    pub fn serialize<S>(v: &Option<(String, String)>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
    {
        let text = v.as_ref().map(|(n, v)| format!("{n}: {v}"));
        s.serialize_str(text.as_deref().unwrap_or_default())
    }
}

/// `schedule.digest`: a cron expression as `cron_schedule` reads it, or
/// `""` for none.
pub mod cron_schedule_opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<cron::Schedule>, D::Error> {
        parse_str(d, |text| {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let de = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text);
            super::cron_schedule::deserialize(de)
                .map(Some)
                .map_err(|e| e.to_string())
        })
    }

    pub fn serialize<S: Serializer>(v: &Option<cron::Schedule>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_ref().map(|c| c.source()).unwrap_or_default())
    }
}

/// `schedule.sweep`: a cron expression with seconds, parsed once here and shown as written.
pub mod cron_schedule {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<cron::Schedule, D::Error> {
        parse_str(d, |text| match text.parse::<cron::Schedule>() {
            // "Ever", not "from now": reading the config does not read the clock.
            Ok(s)
                if s.after(&chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
                    .next()
                    .is_some() =>
            {
                Ok(s)
            }
            Ok(_) => Err(format!("\"{text}\" never fires")),
            Err(e) => Err(format!(
                "invalid cron expression \"{text}\" ({}): expected 6 fields, seconds first, e.g. \"0 */10 * * * *\" (every ten minutes)",
                one_line_cron_error(text, &e.to_string())
            )),
        })
    }

    pub fn serialize<S: Serializer>(v: &cron::Schedule, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.source())
    }

    /// The cron crate's error without its copy of the expression and its
    /// caret line: one line, as every config error is.
    pub(crate) fn one_line_cron_error(text: &str, error: &str) -> String {
        let words: Vec<&str> = error
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != text.trim() && !l.chars().all(|c| c == '^'))
            .collect();
        words.join(" ")
    }
}

/// `"mon"` … `"sun"`.
pub struct Weekday(pub chrono::Weekday);

impl<'de> Deserialize<'de> for Weekday {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, |name| match WEEKDAYS.iter().position(|d| *d == name) {
            Some(n) => chrono::Weekday::try_from(n as u8)
                .map(Weekday)
                .map_err(|e| e.to_string()),
            None => Err(format!(
                "\"{name}\" is not a day: expected one of {}",
                WEEKDAYS.join(", ")
            )),
        })
    }
}

/// A holiday, `YYYY-MM-DD`.
pub struct Date(pub chrono::NaiveDate);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, |text| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    format!("\"{text}\" is not a date: expected YYYY-MM-DD, e.g. \"2026-12-25\"")
                })
        })
    }
}

/// `calendar.working_hours`: `"09:00-18:00"`.
pub struct Hours(pub crate::domain::calendar::WorkingHours);

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, |text| {
            text.parse().map(Hours).map_err(|e| format!("{e}"))
        })
    }
}

/// `calendar.timezone`: an IANA name.
pub struct TimeZone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, |name| {
            name.parse().map(TimeZone).map_err(|_| {
                format!("unknown time zone \"{name}\": expected an IANA name such as \"Europe/Paris\", \"America/New_York\" or \"UTC\"")
            })
        })
    }
}

/// Whether `s` is a non-empty word of `allowed` characters (names, prefixes).
pub(super) fn word(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}
