//! `postdesk oauth login` and `postdesk oauth status` without a provider:
//! what an operator sees before the first sign-in, for a name that does not
//! exist, for a flow that needs no login, and with the provider out of
//! reach. The sign-ins themselves run against the stack's OAuth server
//! (tests/stack/oauth.rs).

use crate::support::Desk;

/// Port 1 on loopback: nothing listens, the connection is refused at once.
const DEAD: &str = "http://127.0.0.1:1";

fn desk() -> Desk {
    let d = Desk::with_config(&format!(
        "[service]\ndatabase = \"var/pd.db\"\n\
         [[oauth]]\nname = \"dev\"\nflow = \"refresh_token\"\nclient_id = \"c\"\n\
         token_url = \"{DEAD}/token\"\ndevice_url = \"{DEAD}/device\"\nscope = \"mail\"\n\
         [[oauth]]\nname = \"app\"\nflow = \"client_credentials\"\nprovider = \"microsoft\"\n\
         tenant = \"contoso.example\"\nclient_id = \"c\"\nclient_secret_file = \"app.secret\"\n\
         [transport]\nkind = \"maildir\"\npath = \"sent\"\n"
    ));
    std::fs::write(d.path("app.secret"), "s3cret-value\n").unwrap();
    d
}

#[test]
fn status_before_any_sign_in_says_what_to_do() {
    let d = desk();
    let out = d.ok(&["oauth", "status"]);
    assert!(out.contains("dev (refresh_token, OAuth 2.0)"), "{out}");
    assert!(out.contains("app (client_credentials, Microsoft)"), "{out}");
    assert!(out.contains("(none yet)"), "{out}");
    assert!(
        out.contains("next step:      postdesk oauth login dev"),
        "{out}"
    );
    assert!(out.contains("used by:        nothing"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
    // `postdesk status` shows the credentials too (issue 18), in text and JSON.
    drop(postdesk::store::Store::open(&d.path("var/pd.db")).unwrap()); // the database `status` reads
    let status = d.run(&["status"], b"");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("oauth credentials:"), "{text}");
    assert!(text.contains("dev (refresh_token, OAuth 2.0)"), "{text}");
    let json = d.run(&["status", "--json"], b"");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = v["oauth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "app"]);
    assert!(!text.contains("s3cret") && !String::from_utf8_lossy(&json.stdout).contains("s3cret"));
    let none = Desk::with_config("[service]\ndatabase = \"var/pd.db\"\n");
    assert!(
        none.ok(&["oauth", "status"])
            .contains("no [[oauth]] credentials")
    );
}

#[test]
fn login_failures_have_their_exit_codes_and_say_why() {
    let d = desk();
    // (name, exit code, what stderr says)
    let cases = [
        (
            "nosuch",
            64,
            "no [[oauth]] named \"nosuch\" (the [[oauth]] names are: dev, app)",
        ),
        ("app", 69, "flow = \"client_credentials\" needs no login"),
        (
            "dev",
            75,
            "[[oauth]] dev: http://127.0.0.1:1/device did not answer usefully",
        ),
    ];
    for (name, code, want) in cases {
        let out = d.run(&["oauth", "login", name], b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    assert!(
        !d.path("var/oauth-dev.json").exists(),
        "a failed login wrote tokens"
    );
}
