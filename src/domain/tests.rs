use super::*;

#[test]
fn status_round_trips_through_its_wire_name() {
    for st in Status::ALL {
        assert_eq!(st.as_str().parse::<Status>().unwrap(), st);
    }
    assert!("open".parse::<Status>().is_err());
    assert_eq!("In-Progress".parse::<Status>().unwrap(), Status::InProgress);
}

#[test]
fn address_parsing_and_case() {
    let a = Address::parse(" <Ann@Example.COM> ").unwrap();
    assert_eq!(a.as_str(), "Ann@Example.COM");
    assert_eq!(a.domain(), "example.com");
    assert_eq!(a, Address::parse("ann@example.com").unwrap());
    for bad in [
        "",
        "ann",
        "@x.example",
        "ann@",
        "a b@x.example",
        "a@b@c",
        "a@.x",
    ] {
        assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

/// Every spelling of one mailbox is that mailbox (issue 17, item 9):
/// the trailing dot, needless quotes, case, IDN in Unicode or punycode.
#[test]
fn address_spellings_compare_as_one_mailbox() {
    let plain = Address::parse("x@evil.example").unwrap();
    for spelling in [
        "x@evil.example.",
        "x@evil.example..",
        "\"x\"@evil.example",
        "<\"x\"@evil.example.>",
        "X@EVIL.EXAMPLE",
        "\"X\"@Evil.Example.",
    ] {
        let a = Address::parse(spelling).unwrap();
        assert_eq!(a, plain, "{spelling}");
        assert_eq!(a.key(), "x@evil.example", "{spelling}");
        assert_eq!(a.domain(), "evil.example", "{spelling}");
        assert_eq!(a.lookup_key(), "x@evil.example", "{spelling}");
    }
    // Staff, blocked addresses and authorized senders match by
    // same_mailbox, in every comparison mode.
    let strict = MatchOptions {
        case_sensitive_local_part: true,
        ignore_plus_tags: false,
    };
    let odd = Address::parse("\"x\"@EVIL.example.").unwrap();
    assert!(odd.same_mailbox(&plain, &strict) && plain.same_mailbox(&odd, &strict));
    assert!(SenderPattern::Address(plain.clone()).matches(&odd, &MatchOptions::default()));
    // The spelling is kept for display and for the mail we send.
    assert_eq!(
        Address::parse("\"X\"@Evil.Example.").unwrap().as_str(),
        "\"X\"@Evil.Example."
    );
    // Quotes hide nothing: what they held is read as if unquoted.
    assert_eq!(
        Address::parse("\"a.b\"@x.example").unwrap().local_part(),
        "a.b"
    );
    assert_eq!(
        Address::parse("\"a\".b@x.example").unwrap().local_part(),
        "a.b"
    );
    for bad in [
        "\"ann@good.example\"@evil.example",
        "\"x y\"@evil.example",
        "\"x@evil.example",
        "\"x\\\"y\"@evil.example",
        "x@.",
        "x@..",
    ] {
        assert!(Address::parse(bad).is_err(), "{bad:?} should be refused");
    }
    // IDN: Unicode and punycode are one domain, whatever the case.
    let idn = Address::parse("x@xn--vil-9la.example").unwrap();
    for spelling in [
        "x@évil.example",
        "x@ÉVIL.EXAMPLE",
        "x@XN--VIL-9LA.example",
        "x@évil。example",
    ] {
        let a = Address::parse(spelling).unwrap();
        assert_eq!(a, idn, "{spelling}");
        assert_eq!(a.domain(), "xn--vil-9la.example", "{spelling}");
    }
    assert_ne!(idn, plain);
    // Unicode domain patterns are stored in the same form.
    assert_eq!(
        SenderPattern::parse("Évil.Example.").unwrap(),
        SenderPattern::Domain("xn--vil-9la.example".into())
    );
    assert!(
        SenderPattern::parse("*.évil.example")
            .unwrap()
            .matches(&a("x@mx.xn--vil-9la.example."), &MatchOptions::default())
    );
}

#[test]
fn ticket_id_accepts_a_leading_hash() {
    assert_eq!("#42".parse::<TicketId>().unwrap(), TicketId(42));
    assert!("x".parse::<TicketId>().is_err());
}

fn a(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// Who an authorized-senders entry lets in, under each comparison
/// setting: (pattern, sender, default, case-sensitive, plus-tags ignored).
#[test]
fn sender_patterns_match_as_documented() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool, bool, bool)] = &[
        // addresses: the domain never cares about case
        ("ops@customer.example",   "ops@customer.example",    true,  true,  true),
        ("ops@customer.example",   "ops@CUSTOMER.Example",    true,  true,  true),
        ("ops@customer.example",   "OPS@customer.example",    true,  false, true),
        ("Ops@customer.example",   "ops@customer.example",    true,  false, true),
        ("ops@customer.example",   "ops2@customer.example",   false, false, false),
        ("ops@customer.example",   "ops@eu.customer.example", false, false, false),
        // plus tags: only ignored when the config says so, on both sides
        ("ops@customer.example",   "ops+billing@customer.example", false, false, true),
        ("ops+billing@customer.example", "ops@customer.example",   false, false, true),
        ("ops+a@customer.example", "ops+a@customer.example",  true,  true,  true),
        ("ops+a@customer.example", "ops+b@customer.example",  false, false, true),
        ("ops@customer.example",   "+ops@customer.example",   false, false, false),
        // a domain covers itself only
        ("customer.example",       "anyone@customer.example", true,  true,  true),
        ("customer.example",       "Anyone@Customer.EXAMPLE", true,  true,  true),
        ("Customer.Example",       "x@customer.example",      true,  true,  true),
        ("customer.example",       "x@eu.customer.example",   false, false, false),
        ("customer.example",       "x@notcustomer.example",   false, false, false),
        ("customer.example",       "x@customer.example.evil", false, false, false),
        // *.domain covers subdomains at any depth, not the domain itself
        ("*.customer.example",     "x@eu.customer.example",   true,  true,  true),
        ("*.customer.example",     "x@a.eu.customer.example", true,  true,  true),
        ("*.customer.example",     "x@customer.example",      false, false, false),
        ("*.customer.example",     "x@evilcustomer.example",  false, false, false),
        ("*.customer.example",     "x@EU.Customer.Example",   true,  true,  true),
    ];
    let modes = [
        MatchOptions::default(),
        MatchOptions {
            case_sensitive_local_part: true,
            ignore_plus_tags: false,
        },
        MatchOptions {
            case_sensitive_local_part: false,
            ignore_plus_tags: true,
        },
    ];
    for &(pattern, sender, plain, sensitive, tags) in cases {
        let p = SenderPattern::parse(pattern).unwrap();
        for (opts, want) in modes.iter().zip([plain, sensitive, tags]) {
            assert_eq!(
                p.matches(&a(sender), opts),
                want,
                "{pattern} vs {sender} with {opts:?}"
            );
        }
    }
}

#[test]
fn sender_patterns_parse_and_refuse() {
    let list =
        SenderPattern::parse_list("ops@customer.example, customer.com;*.eu.x.example\n").unwrap();
    assert_eq!(
        list,
        [
            SenderPattern::Address(a("ops@customer.example")),
            SenderPattern::Domain("customer.com".into()),
            SenderPattern::Subdomains("eu.x.example".into()),
        ]
    );
    assert_eq!(list[2].to_string(), "*.eu.x.example");
    for bad in [
        "",
        "*",
        "*.",
        "a..b",
        "-a.example",
        "a b.example",
        "*.*.x",
        "x@",
        "@x",
        "a.example-",
    ] {
        assert!(
            SenderPattern::parse(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
    assert!(SenderPattern::parse_list("ok.example, bad..example").is_err());
    // The lookup key is wide enough for every comparison mode.
    assert_eq!(a("Ops+Billing@X.Example").lookup_key(), "ops@x.example");
    assert_eq!(
        a("x@a.eu.x.example").parent_domains(),
        ["eu.x.example", "x.example", "example"]
    );
    assert!(
        SenderPattern::parse("x@y.example").unwrap().specificity()
            > SenderPattern::parse("y.example").unwrap().specificity()
    );
    assert!(
        SenderPattern::parse("*.eu.y.example")
            .unwrap()
            .specificity()
            > SenderPattern::parse("*.y.example").unwrap().specificity()
    );
}

#[test]
fn account_ids() {
    assert_eq!(
        AccountId::parse("cust-001").unwrap(),
        AccountId::parse("CUST-001").unwrap()
    );
    for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
        assert!(AccountId::parse(bad).is_err(), "{bad:?}");
    }
}
