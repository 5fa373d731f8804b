//! Accounts from the shell and from the config: `postdesk account …`, the
//! stable JSON scripts read, declared accounts applied at start (and
//! removed when no longer declared), an accounts file of thousands, and
//! confirmation codes that expire (library level, with a chosen clock).

use std::sync::Arc;

use crate::support;
use crate::support::{Desk, customer_mail};
use chrono::{Duration, TimeZone, Utc};
use postdesk::apply::Outcome;
use postdesk::config::Config;
use postdesk::intake::{Pipeline, RawMail, Taken};
use postdesk::store::Store;

fn ids(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn account_commands_and_their_json() {
    let desk = Desk::strict("");
    // Reading commands need a desk; adding one creates it.
    assert_eq!(desk.run(&["account", "list"], b"").status.code(), Some(66));
    desk.ok(&[
        "account",
        "add",
        "isp-01",
        "--name",
        "ISP One",
        "--primary",
        "noc@isp.example",
        "--authorized",
        "isp.example",
    ]);
    desk.ok(&[
        "account",
        "add",
        "cust-001",
        "--primary",
        "Admin@Customer.example",
        "--parent",
        "ISP-01",
        "--authorized",
        "ops@customer.example, customer.example",
        "--authorized",
        "*.eu.customer.example",
        "--language",
        "fr",
        "--delegate",
        "tech@partner.example",
        "--priority",
    ]);
    let list = desk.json(&["account", "list", "--json"]);
    assert_eq!(ids(&list), ["cust-001", "isp-01"]);
    let c = &list[0];
    // The scripts' interface: every field, with these names.
    let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "authorized",
            "created",
            "declared",
            "delegates",
            "id",
            "language",
            "name",
            "parent",
            "primary",
            "priority",
            "require_authentication",
            "updated"
        ]
    );
    assert_eq!(c["name"], "cust-001", "the id when no name is given");
    assert_eq!(c["primary"], "Admin@Customer.example");
    assert_eq!(
        c["authorized"],
        serde_json::json!([
            "ops@customer.example",
            "customer.example",
            "*.eu.customer.example"
        ])
    );
    assert_eq!(c["parent"], "isp-01");
    assert_eq!(c["language"], "fr");
    assert_eq!(c["delegates"], serde_json::json!(["tech@partner.example"]));
    assert_eq!(
        (&c["priority"], &c["declared"]),
        (&true.into(), &false.into())
    );
    assert_eq!(c["require_authentication"], serde_json::Value::Null);
    assert_eq!(
        ids(&desk.json(&["account", "list", "--parent", "isp-01", "--json"])),
        ["cust-001"]
    );

    let shown = desk.json(&["account", "show", "ISP-01", "--json"]);
    assert_eq!(shown["children"], serde_json::json!(["cust-001"]));
    assert_eq!(shown["senders"][0]["source"], "cli");
    assert_eq!(shown["history"][0]["detail"], "created");

    // set, authorize, revoke.
    desk.ok(&[
        "account",
        "set",
        "cust-001",
        "--no-parent",
        "--priority",
        "no",
        "--language",
        "default",
        "--delegates",
        "",
    ]);
    desk.ok(&[
        "account",
        "authorize",
        "cust-001",
        "boss@customer.example",
        "ops@customer.example",
    ]);
    let out = desk.ok(&[
        "account",
        "revoke",
        "cust-001",
        "customer.example,nothere.example",
    ]);
    assert!(
        out.contains("customer.example: revoked")
            && out.contains("nothere.example: was not authorized"),
        "{out}"
    );
    let c = desk.json(&["account", "show", "cust-001", "--json"]);
    assert_eq!(
        (&c["parent"], &c["priority"], &c["language"]),
        (
            &serde_json::Value::Null,
            &false.into(),
            &serde_json::Value::Null
        )
    );
    assert_eq!(c["delegates"], serde_json::json!([]));
    assert_eq!(
        c["authorized"],
        serde_json::json!([
            "boss@customer.example",
            "ops@customer.example",
            "*.eu.customer.example"
        ])
    );
    let text = desk.ok(&["account", "show", "cust-001"]);
    assert!(
        text.contains("Primary:     Admin@Customer.example")
            && text.contains("revoked customer.example"),
        "{text}"
    );

    // Refusals are data errors, with a clear message.
    for (args, says) in [
        (
            vec!["account", "add", "CUST-001", "--primary", "x@x.example"],
            "exists already",
        ),
        (
            vec![
                "account",
                "add",
                "x",
                "--primary",
                "x@x.example",
                "--parent",
                "nope",
            ],
            "does not exist",
        ),
        (
            vec!["account", "set", "isp-01", "--parent", "cust-001"],
            "unchanged",
        ),
        (vec!["account", "show", "nope"], "no account"),
        (
            vec![
                "account",
                "add",
                "y",
                "--primary",
                "y@y.example",
                "--require-authentication",
                "yes",
            ],
            "authserv_id",
        ),
    ] {
        let out = desk.run(&args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        if says == "unchanged" {
            // isp-01 → cust-001 is fine now that cust-001 has no parent: no loop.
            assert!(out.status.success(), "{args:?}: {err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(65), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let loop_ = desk.run(&["account", "set", "cust-001", "--parent", "isp-01"], b"");
    assert!(
        String::from_utf8_lossy(&loop_.stderr).contains("own parent"),
        "{loop_:?}"
    );
    let usage = desk.run(&["account", "authorize", "cust-001", "not a domain!"], b"");
    assert_eq!(usage.status.code(), Some(64));

    // remove: refused for a parent, then done; tickets keep the id.
    desk.ingest(&customer_mail(
        "boss@customer.example",
        "Help",
        "h1@customer.example",
        "x",
    ));
    assert_eq!(desk.tickets()[0]["account"], "cust-001");
    let out = desk.run(&["account", "remove", "cust-001"], b"");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("parent of isp-01"),
        "{out:?}"
    );
    desk.ok(&["account", "set", "isp-01", "--no-parent"]);
    desk.ok(&["account", "remove", "cust-001"]);
    assert_eq!(ids(&desk.json(&["account", "list", "--json"])), ["isp-01"]);
    assert_eq!(desk.tickets()[0]["account"], "cust-001");
}

#[test]
fn import_adds_and_updates_all_or_nothing() {
    let desk = Desk::strict("");
    let file = desk.path("accounts.toml");
    std::fs::write(
        &file,
        "[[account]]\nid = \"child\"\nprimary = \"c@c.example\"\nparent = \"isp\"\n\
         [[account]]\nid = \"isp\"\nprimary = \"noc@isp.example\"\nauthorized = [\"isp.example\"]\n",
    )
    .unwrap();
    let out = desk.ok(&["account", "import", file.to_str().unwrap()]);
    assert!(out.contains("2 added, 0 updated, 0 unchanged"), "{out}");
    let out = desk.ok(&["account", "import", file.to_str().unwrap()]);
    assert!(out.contains("0 added, 0 updated, 2 unchanged"), "{out}");
    std::fs::write(&file, "[[account]]\nid = \"isp\"\nprimary = \"noc@isp.example\"\nname = \"Renamed\"\n\
                           [[account]]\nid = \"orphan\"\nprimary = \"o@o.example\"\nparent = \"missing\"\n").unwrap();
    let out = desk.run(&["account", "import", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(65), "{out:?}");
    assert_eq!(
        desk.json(&["account", "show", "isp", "--json"])["name"],
        "isp",
        "nothing changed"
    );
    // A bad file names its line.
    std::fs::write(&file, "[[account]]\nid = \"x\"\n\nprimary = \"nope\"\n").unwrap();
    let out = desk.run(&["account", "import", file.to_str().unwrap()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("accounts.toml:4: account[0].primary"), "{err}");
}

#[test]
fn declared_accounts_are_applied_at_start_and_owned_by_the_config() {
    let first = r#"
[[account]]
id = "cust-001"
name = "Customer One"
primary = "admin@customer.example"
authorized = ["customer.example"]
"#;
    let desk = Desk::strict(first);
    let list = desk.json(&["account", "list", "--json"]);
    assert_eq!(ids(&list), ["cust-001"]);
    assert_eq!(list[0]["declared"], true);
    // The CLI may add its own entries, not change or remove the config's.
    desk.ok(&["account", "authorize", "cust-001", "extra@else.example"]);
    for args in [
        vec!["account", "set", "cust-001", "--priority", "yes"],
        vec!["account", "remove", "cust-001"],
        vec!["account", "revoke", "cust-001", "customer.example"],
    ] {
        let out = desk.run(&args, b"");
        assert_eq!(out.status.code(), Some(65), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("config"),
            "{args:?}: {out:?}"
        );
    }
    // The config changes: the account follows, the CLI's entry stays.
    let text = std::fs::read_to_string(&desk.config).unwrap();
    std::fs::write(
        &desk.config,
        text.replace("Customer One", "Customer 1").replace(
            "customer.example\"]",
            "customer.example\", \"*.customer.example\"]",
        ),
    )
    .unwrap();
    let c = &desk.json(&["account", "list", "--json"])[0];
    assert_eq!(c["name"], "Customer 1");
    assert_eq!(
        c["authorized"],
        serde_json::json!([
            "extra@else.example",
            "customer.example",
            "*.customer.example"
        ])
    );
    // No longer declared: removed.
    let text = std::fs::read_to_string(&desk.config).unwrap();
    let cut = text.find("[[account]]").unwrap();
    std::fs::write(&desk.config, &text[..cut]).unwrap();
    assert!(ids(&desk.json(&["account", "list", "--json"])).is_empty());
}

#[test]
fn thousands_of_accounts_from_a_file() {
    let desk = Desk::strict("accounts_file_placeholder");
    let mut file = String::new();
    for i in 0..3000 {
        file.push_str(&format!(
            "[[account]]\nid = \"c{i}\"\nprimary = \"admin@c{i}.example\"\nauthorized = [\"c{i}.example\", \"*.c{i}.example\"]\n"
        ));
    }
    std::fs::write(desk.path("accounts.toml"), file).unwrap();
    // accounts_file is a top-level key: it goes before the first table.
    let text = std::fs::read_to_string(&desk.config)
        .unwrap()
        .replace("accounts_file_placeholder", "");
    std::fs::write(
        &desk.config,
        format!("accounts_file = \"accounts.toml\"\n{text}"),
    )
    .unwrap();
    assert_eq!(
        desk.json(&["account", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3000
    );
    for (from, account) in [
        ("x@c1234.example", "c1234"),
        ("y@eu.c2999.example", "c2999"),
    ] {
        let out = desk.ingest(&customer_mail(
            from,
            account,
            &format!("{account}@m.example"),
            "x",
        ));
        assert!(out.status.success());
        let t = desk.tickets();
        assert!(
            t.iter()
                .any(|t| t["subject"] == account && t["account"] == account),
            "{t:#?}"
        );
    }
    let out = desk.ok(&["check-config"]);
    assert!(
        out.contains("accounts_file = ") && !out.contains("c1234"),
        "the file is named, not copied"
    );
}

/// A code works until it expires, and only once; checked with the library
/// and a chosen clock.
#[test]
fn confirmation_codes_expire() {
    let text = "[service]\naddress = \"support@desk.example\"\nticket_prefix = \"DESK\"\ndatabase = \"x.db\"\n\
                [intake]\nverify_expiry = \"2h\"\n";
    let config =
        Arc::new(Config::from_toml(text, "test", std::path::Path::new("/nonexistent")).unwrap());
    let pipeline = Pipeline::new(config, [9; 32]).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 16, 9, 0, 0).unwrap();
    let take = |store: &mut Store, raw: Vec<u8>, at| {
        let mail = RawMail {
            source: "test".into(),
            source_id: None,
            raw,
        };
        pipeline.take(store, &[mail], at).unwrap().remove(0)
    };
    for (late, released) in [
        (Duration::minutes(119), true),
        (Duration::minutes(121), false),
    ] {
        let mut store = Store::open_in_memory().unwrap();
        let held = take(
            &mut store,
            customer_mail("s@x.example", "Hi", "h@x.example", "x"),
            t0,
        );
        assert!(
            matches!(
                held,
                Taken::Applied(Outcome::Held {
                    answer: Some(_),
                    ..
                })
            ),
            "{held:?}"
        );
        let confirm = store.read().outbox(None, 10).unwrap().remove(0);
        let reply = support::mail_with(
            "s@x.example",
            &format!("Re: {}", confirm.subject),
            &format!("r{released}@x.example"),
            "me",
            &[],
            &[],
        );
        let taken = take(&mut store, reply, t0 + late);
        assert_eq!(
            matches!(
                taken,
                Taken::Applied(Outcome::Confirmed { released: 1, .. })
            ),
            released,
            "after {late}: {taken:?}"
        );
        assert_eq!(store.read().ticket_count().unwrap(), i64::from(released));
    }
}
