//! What each cargo-fuzz target runs, shared with `tests/robustness.rs`, which replays
//! every input kept under `fixtures/fuzz/<target>/` through the same function. A target
//! fails by panicking: on any input none of these may panic, and the assertions below are
//! the invariants checked besides.
#![allow(dead_code)]

use pulldoctor::evidence::{daemon_json, docker_config, systemd};
use pulldoctor::proxyenv::{self, GoProxyConfig, GoSemantics};
use pulldoctor::redact;

/// A target: its name (the directory name under `fixtures/fuzz/`) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("log", log),
    ("daemon_json", daemon_json),
    ("docker_config", docker_config),
    ("systemctl_show", systemctl_show),
    ("proxy_url", proxy_url),
    ("rules", rules),
    ("redact", redact),
];

fn lossy(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// The log normaliser (`input::for_each_line`) feeding the classifier, then its findings
/// (redacted, serialised).
pub fn log(data: &[u8]) {
    let mut c = pulldoctor::engine::Classifier::builtin().expect("the built-in rules load");
    let stats = pulldoctor::input::for_each_line(data, |n, l| c.line(n, l))
        .expect("reading a slice cannot fail");
    assert_eq!(stats.bytes, data.len() as u64);
    let findings = c.finish(pulldoctor::rules::Lang::En);
    assert!(!findings.is_empty(), "at least the `unknown` finding");
    for f in &findings {
        serde_json::to_string(f).expect("a finding serialises");
    }
}

/// `/etc/docker/daemon.json`: BOM / UTF-16 decoding, the strict parser, the lexical hints.
pub fn daemon_json(data: &[u8]) {
    if let Ok((text, _)) = daemon_json::decode_bom(data) {
        let d = daemon_json::parse_daemon_json(&text);
        serde_json::to_string(&d).expect("daemon.json evidence serialises");
    }
    let text = lossy(data);
    let d = daemon_json::parse_daemon_json(&text);
    serde_json::to_string(&d).expect("daemon.json evidence serialises");
    let _ = daemon_json::lexical_hints(&text);
}

/// `~/.docker/config.json`: never keeps a credential value.
pub fn docker_config(data: &[u8]) {
    let text = lossy(data);
    let dc = docker_config::parse_docker_config(&text);
    let out = serde_json::to_string(&dc).expect("config.json evidence serialises");
    // Credential values of `auths` must not come out, unless the same text is also
    // something that is kept (a registry name, a proxy, a helper...).
    let Ok(serde_json::Value::Object(v)) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    let mut secrets = Vec::new();
    let mut kept = String::new();
    for (k, x) in &v {
        if k == "auths" {
            if let serde_json::Value::Object(a) = x {
                for (reg, entry) in a {
                    kept.push_str(reg);
                    kept.push('\n');
                    collect_strings(entry, &mut secrets);
                }
            }
        } else {
            kept.push_str(k);
            kept.push('\n');
            kept.push_str(&x.to_string());
            kept.push('\n');
        }
    }
    for s in secrets {
        if s.len() >= 8 && !kept.contains(&s) {
            let quoted = serde_json::to_string(&s).unwrap();
            assert!(
                !out.contains(&quoted[1..quoted.len() - 1]),
                "auths value {s:?} kept"
            );
        }
    }
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// `systemctl show` output, its string lists and timestamps, and unit files.
pub fn systemctl_show(data: &[u8]) {
    let text = lossy(data);
    let show = systemd::parse_systemctl_show(&text);
    serde_json::to_string(&show).expect("systemctl show evidence serialises");
    let _ = show.started_unix();
    let _ = systemd::split_systemctl_strv(&text);
    let _ = systemd::parse_systemd_timestamp(text.lines().next().unwrap_or(""));
    let unit = systemd::parse_unit_file(&text);
    serde_json::to_string(&unit).expect("unit file evidence serialises");
}

/// The NO_PROXY and proxy URL parsers (Go's and curl's rules): input lines are a proxy
/// value, a NO_PROXY value, a request URL and a host. A proxy password Go would send is
/// never left in the redacted value.
pub fn proxy_url(data: &[u8]) {
    let text = lossy(data);
    let mut parts = text.splitn(4, '\n');
    let proxy = parts.next().unwrap_or("");
    let no_proxy = parts.next().unwrap_or("");
    let url = parts.next().unwrap_or("https://registry-1.docker.io/v2/");
    let host = parts.next().unwrap_or("registry-1.docker.io");
    for sem in [GoSemantics::CURRENT, GoSemantics::DEBIAN_BOOKWORM] {
        if let Ok(Some(u)) = proxyenv::go_parse_proxy(proxy, &sem) {
            let _ = u.to_go_string();
            let _ = proxyenv::go_proxy_dial_addr(&u);
            if let Some(pw) = u.user.as_ref().and_then(|i| i.password.as_ref())
                && let Ok(pw) = std::str::from_utf8(pw)
                && pw.len() >= 4
                && proxy.matches(pw).count() == 1
            {
                let r = redact::text(proxy);
                assert!(
                    !r.contains(&format!(":{pw}@")),
                    "password {pw:?} of {proxy:?} survives: {r:?}"
                );
            }
        }
        let np = proxyenv::GoNoProxy::parse_with(no_proxy, &sem);
        let _ = np.bypass(host, "443");
        let cfg = GoProxyConfig {
            http_proxy: proxy.to_string(),
            https_proxy: proxy.to_string(),
            no_proxy: no_proxy.to_string(),
            ..GoProxyConfig::default()
        };
        let _ = proxyenv::go_proxy_for_with(&cfg, url, &sem);
    }
    let _ = proxyenv::parse_no_proxy(no_proxy);
    let _ = proxyenv::curl_no_proxy_match(no_proxy, host);
    let env = |k: &str| match k {
        "https_proxy" | "HTTPS_PROXY" | "http_proxy" | "ALL_PROXY" => Some(proxy.to_string()),
        "no_proxy" | "NO_PROXY" => Some(no_proxy.to_string()),
        _ => None,
    };
    let _ = proxyenv::curl_proxy_for(env, url);
    let _ = pulldoctor::probe::plan::redact_proxy(proxy);
}

/// The rule file loader: parse, check, compile, and classify a line with what loaded.
pub fn rules(data: &[u8]) {
    let text = lossy(data);
    let Ok(cat) = pulldoctor::rules::Catalog::parse(&[("fuzz.toml", &text)]) else {
        return;
    };
    let _ = cat.problems();
    for r in &cat.rules {
        let _ = r.regexes();
        let _ = r.compile_error();
    }
    let pre = pulldoctor::engine::Prefilter::build(&cat);
    let sample = cat
        .rules
        .iter()
        .flat_map(|r| r.examples.iter().map(|e| e.text.as_str()))
        .next()
        .unwrap_or(
            "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": proxyconnect tcp: dial tcp 10.0.0.5:3128: connect: connection refused",
        );
    let _ = pulldoctor::engine::classify_text(&cat, &pre, sample, pulldoctor::rules::Lang::En);
}

/// The redactor: idempotent (a second pass finds nothing left to hide) with every option,
/// and host aliasing consistent and idempotent.
pub fn redact(data: &[u8]) {
    let text = lossy(data);
    let opts = redact::Options {
        users: data.first().is_some_and(|b| b & 1 == 1),
        hosts: false,
    };
    let once = redact::text_with(&text, opts).into_owned();
    let twice = redact::text_with(&once, opts).into_owned();
    assert_eq!(once, twice, "redaction is not idempotent on {text:?}");
    let mut v = serde_json::json!({"a": text, "no_proxy": text, "b": [text]});
    redact::hosts(&mut v);
    assert_eq!(v["a"], v["b"][0], "the same text aliased differently");
    let again = v.clone();
    redact::hosts(&mut v);
    assert_eq!(v, again, "host aliasing is not idempotent on {text:?}");
}
