//! Watching a desk: `postdesk status` (text, JSON, exit 0 healthy / 1 needs
//! an operator) and the daemon's Prometheus endpoint, scraped over TCP and
//! parsed as the text exposition format. Maildir sources and a POP3 source
//! on a closed local port: no mail server needed (the real Dovecot's
//! refused login is in tests/stack/health.rs).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

use crate::support::{Desk, customer_mail, drop_into_maildir, files_in, wait_until};

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// GET `path` over plain HTTP/1.1; the status line and the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("a header and a body");
    let status = head.lines().next().unwrap_or_default().to_string();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("Content-Length")
        .parse()
        .unwrap();
    assert_eq!(length, body.len(), "Content-Length");
    (status, body.to_string())
}

/// The samples of an exposition text, `name{labels}` → value; panics on a
/// line that is neither a comment nor a well-formed sample, or a sample
/// whose family has no TYPE line before it.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut typed: Vec<String> = Vec::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut w = rest.split(' ');
            let name = w.next().unwrap().to_string();
            let kind = w.next().unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name);
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "stray line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?}"
        );
        // A histogram's samples are its name with _bucket, _sum, _count.
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| typed.iter().any(|t| t == f))
            })
            .unwrap_or(name);
        assert!(typed.iter().any(|t| t == family), "{name} has no TYPE");
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split(',') {
                let (k, v) = pair.split_once('=').expect("label=value");
                assert!(
                    !k.is_empty() && v.starts_with('"') && v.ends_with('"'),
                    "{line}"
                );
            }
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

#[test]
fn the_metrics_count_what_the_desk_took_and_sent() {
    let port = free_port();
    let desk = Desk::with_extra(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let d = desk.start();
    d.wait_log(&["serving metrics at /metrics"], Duration::from_secs(10));
    // Before any mail: the source is up once it has looked at its Maildir.
    wait_until("the source up", Duration::from_secs(10), || {
        let (status, body) = http_get(port, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        let m = parse_exposition(&body);
        (m.get("postdesk_source_up{source=\"inbox\"}") == Some(&1.0)).then_some(())
    });

    // Three customers write; one unreadable file is held.
    for n in 0..3 {
        drop_into_maildir(
            &desk.path("var/inbox"),
            &format!("m{n}"),
            &customer_mail(
                &format!("c{n}@customer.example"),
                &format!("Help {n}"),
                &format!("metrics-{n}@c.example"),
                "hello",
            ),
        );
    }
    drop_into_maildir(
        &desk.path("var/inbox"),
        "junk",
        b"\x00\x01 not a mail at all",
    );
    wait_until(
        "three tickets and their mail sent",
        Duration::from_secs(20),
        || {
            let (tickets, _) = desk.counts();
            let queued = desk.store().map(|s| {
                s.read()
                    .desk_figures(postdesk::domain::clock::Clock::now(
                        &postdesk::domain::clock::SystemClock,
                    ))
                    .unwrap()
                    .outbox
                    .queued
            });
            (tickets == 3 && queued == Some(0) && !files_in(&desk.path("var/sent/new")).is_empty())
                .then_some(())
        },
    );
    let sent = files_in(&desk.path("var/sent/new")).len() as f64;

    let (_, body) = http_get(port, "/metrics");
    let m = parse_exposition(&body);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{body}"));
    assert_eq!(
        get("postdesk_messages_taken_total{source=\"inbox\",outcome=\"stored\"}"),
        3.0
    );
    assert_eq!(
        get("postdesk_messages_taken_total{source=\"inbox\",outcome=\"quarantined\"}"),
        1.0
    );
    assert_eq!(
        get("postdesk_outbox_mails{transport=\"maildir\",status=\"sent\"}"),
        sent
    );
    assert_eq!(
        get("postdesk_outbox_mails{transport=\"maildir\",status=\"queued\"}"),
        0.0
    );
    assert_eq!(
        get("postdesk_outbox_mails{transport=\"maildir\",status=\"failed\"}"),
        0.0
    );
    assert_eq!(get("postdesk_quarantine_held{reason=\"unreadable\"}"), 1.0);
    assert_eq!(get("postdesk_tickets_open{status=\"new\"}"), 3.0);
    assert_eq!(get("postdesk_source_up{source=\"inbox\"}"), 1.0);
    assert_eq!(get("postdesk_source_failures_total{source=\"inbox\"}"), 0.0);
    assert!(get("postdesk_database_bytes") > 0.0);

    // Anything but GET /metrics is refused, and the endpoint stays up.
    assert_eq!(http_get(port, "/").0, "HTTP/1.1 404 Not Found");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert_eq!(http_get(port, "/metrics").0, "HTTP/1.1 200 OK");

    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
}

/// One source's intake-latency histogram from a scrape: the cumulative
/// buckets in `le` order (checked monotonic, +Inf equal to `_count`), the
/// count and the sum.
fn latency_of(m: &HashMap<String, f64>, source: &str) -> (Vec<(f64, f64)>, f64, f64) {
    let prefix = format!("postdesk_intake_latency_seconds_bucket{{source=\"{source}\",le=\"");
    let mut buckets: Vec<(f64, f64)> = m
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 5, "buckets of {source}: {buckets:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "{source}: buckets not monotonic: {buckets:?}"
    );
    let key = |s: &str| format!("postdesk_intake_latency_seconds_{s}{{source=\"{source}\"}}");
    let count = m[&key("count")];
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count), "{source}");
    (buckets, count, m[&key("sum")])
}

/// The intake-latency histogram counts every message taken, per source —
/// read from a Maildir by the daemon, piped to `ingest` (a process of its
/// own) — and survives a restart (it is kept in the database).
#[test]
fn the_intake_latency_histogram_counts_every_message_taken() {
    let port = free_port();
    let desk = Desk::with_extra(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let scrape = || parse_exposition(&http_get(port, "/metrics").1);
    let d = desk.start();
    d.wait_log(&["serving metrics at /metrics"], Duration::from_secs(10));
    // A configured source is there, empty, before any mail.
    let (buckets, count, sum) = latency_of(&scrape(), "inbox");
    assert!(buckets.iter().all(|b| b.1 == 0.0) && count == 0.0 && sum == 0.0);

    for n in 0..4 {
        let id = format!("latency-{n}@c.example");
        let mail = customer_mail(&format!("c{n}@customer.example"), "Slow?", &id, "hi");
        drop_into_maildir(&desk.path("var/inbox"), &format!("m{n}"), &mail);
    }
    drop_into_maildir(&desk.path("var/inbox"), "junk", b"\x00 no mail");
    for n in 0..2 {
        let id = format!("piped-{n}@c.example");
        let mail = customer_mail(&format!("p{n}@customer.example"), "Piped", &id, "hi");
        let out = desk.ingest(&mail);
        assert!(out.status.success(), "{out:?}");
    }
    // The daemon's Maildir round: four stored, one quarantined.
    let m = wait_until(
        "five messages of inbox counted",
        Duration::from_secs(20),
        || {
            let m = scrape();
            let key = "postdesk_intake_latency_seconds_count{source=\"inbox\"}";
            (m.get(key) == Some(&5.0)).then_some(m)
        },
    );
    let taken = |source: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| {
                k.starts_with(&format!(
                    "postdesk_messages_taken_total{{source=\"{source}\","
                ))
            })
            .map(|(_, v)| v)
            .sum()
    };
    let (buckets, count, sum) = latency_of(&m, "inbox");
    assert_eq!(count, taken("inbox"), "one latency per message taken");
    // A local Maildir: well under a minute each, and not all zero.
    assert!(sum > 0.0 && sum < count * 60.0, "sum {sum}");
    assert_eq!(buckets.iter().find(|b| b.0 == 60.0).unwrap().1, count);
    let (_, piped, _) = latency_of(&m, "ingest");
    assert_eq!(piped, 2.0);

    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
    // Kept in the database: the same figures after a restart.
    let d = desk.start();
    d.wait_log(&["serving metrics at /metrics"], Duration::from_secs(10));
    let again = scrape();
    assert_eq!(latency_of(&again, "inbox"), latency_of(&m, "inbox"));
    assert_eq!(latency_of(&again, "ingest").1, 2.0);
    let (status, _, log) = d.stop();
    assert!(status.success(), "{status:?}\n{log}");
}

#[test]
fn metrics_are_off_by_default_and_a_taken_port_stops_the_start() {
    let desk = Desk::new();
    let d = desk.start();
    d.wait_log(&["postdesk running"], Duration::from_secs(10));
    assert!(!d.log_text().contains("metrics"), "{}", d.log_text());
    drop(d);

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let desk = Desk::with_extra(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let out = desk.run(&["run"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains(&format!(
            "cannot serve metrics on 127.0.0.1:{port} ([metrics] listen)"
        )),
        "{err}"
    );
}

#[test]
fn status_of_a_healthy_desk_exits_0_and_lists_every_part() {
    let desk = Desk::new();
    let d = desk.start();
    drop_into_maildir(
        &desk.path("var/inbox"),
        "one",
        &customer_mail(
            "ann@customer.example",
            "Printer",
            "status-1@c.example",
            "hi",
        ),
    );
    desk.wait_ticket("status-1@c.example", Duration::from_secs(10));
    let text = desk.ok(&["status"]);
    for part in [
        ": OK",
        "inbox (maildir): up",
        "taken in the last 24 h: 1",
        "outbox (maildir):",
        "quarantine:\n  empty",
        "new: 1",
        "waiting longest for staff: #1",
        "schema version",
    ] {
        assert!(text.contains(part), "no {part:?} in\n{text}");
    }
    let json = desk.json(&["status", "--json"]);
    assert_eq!(json["healthy"], true, "{json}");
    assert_eq!(json["alarms"].as_array().map(Vec::len), Some(0));
    assert_eq!(json["sources"][0]["name"], "inbox");
    assert_eq!(json["sources"][0]["taken_last_day"], 1);
    assert!(json["sources"][0]["last_ok"].is_string(), "{json}");
    assert_eq!(json["open"][0][0], "new");
    assert!(json["database_bytes"].as_i64().unwrap() > 0);
    drop(d);
}

#[test]
fn status_names_a_source_failing_longer_than_source_alarm_and_exits_1() {
    let port = free_port();
    let desk = Desk::with_extra(&format!(
        r#"
[[source]]
name = "dead-pop"
kind = "pop3"
host = "127.0.0.1"
port = {port}
tls = "none"
user = "support"
password_file = "pw"

[status]
source_alarm = "1s"
"#
    ));
    std::fs::write(desk.path("pw"), "secret\n").unwrap();
    let d = desk.start();
    d.wait_log(
        &["source=dead-pop", "mail server unavailable"],
        Duration::from_secs(10),
    );
    // Failing, but for less than source_alarm at first: shown, no alarm yet
    // (a race with a slow machine is avoided by waiting for the alarm below).
    let out = wait_until("the alarm", Duration::from_secs(15), || {
        let out = desk.run(&["status"], b"");
        (out.status.code() == Some(1)).then_some(out)
    });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": ATTENTION"), "{text}");
    assert!(text.contains("  ! source dead-pop failing since"), "{text}");
    assert!(text.contains("dead-pop (pop3): FAILING since"), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(text.contains("inbox (maildir): up"), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&desk.run(&["status", "--json"], b"").stdout).unwrap();
    assert_eq!(json["healthy"], false);
    let dead = &json["sources"][1];
    assert_eq!(dead["name"], "dead-pop");
    assert!(dead["failures"].as_i64().unwrap() >= 1, "{json}");
    assert!(
        dead["failing_since"].is_string() && dead["next_try"].is_string(),
        "{json}"
    );
    drop(d);
}

#[test]
fn status_without_a_database_says_so() {
    let desk = Desk::new();
    let out = desk.run(&["status"], b"");
    assert_eq!(out.status.code(), Some(66));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
}
