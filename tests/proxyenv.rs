//! Tests for `pulldoctor::proxyenv`: tables for the Go and curl rules, and a differential test
//! against real Go.
//!
//! # The differential test
//!
//! `go_differential` builds `tests/go/proxyfromenv` (standard library plus
//! `golang.org/x/net/http/httpproxy`, GOPATH mode, offline), feeds it thousands of generated cases
//! (environment + request URL) in one process, and compares every answer with
//! `go_proxy_for_with`. The Go side is Debian 12's Go 1.19.8 with `golang-golang-x-net-dev` 0.7.0
//! (or, without that package, Go's own vendored copy of `httpproxy`, which is identical).
//!
//! That toolchain predates several changes that current docker/containerd builds have. The Rust
//! port implements current semantics by default ([`GoSemantics::CURRENT`]: x/net HEAD, Go 1.26),
//! with each difference behind a flag of [`GoSemantics`]:
//!
//! | flag | change | example |
//! |---|---|---|
//! | `keep_any_proxy_scheme` | x/net 8c07e20 (2023-09) | `HTTPS_PROXY=socks5h://p:1080` is `socks5h://p:1080`, was `http://socks5h://p:1080` |
//! | `domain_entries_skip_ip_hosts` | x/net cde1dda (2025-01) | `NO_PROXY=0.1` no longer exempts `10.0.0.1`; `[::1%25lo]` is loopback |
//! | `url_strict_ip_literals` | Go 1.24.8/1.25.2, CVE-2025-47912 | `http://[1.2.3.4]/` and `http://a[b/` no longer parse |
//! | `url_strict_colons` | Go 1.26 (`urlstrictcolons`) | `http://::1:3128` no longer parses |
//! | `url_escape_authority_like_path` | Go 1.26 `URL.String` | `http:%2F/x` instead of `http://x` |
//! | `ip_max_four_hex_digits` | `net.ParseIP` on netip | `00001::` no longer an IP |
//!
//! The Go program reports which of these its toolchain has (a probe per flag). The test then
//! 1. compares **every** case against Rust run with the probed semantics (this must agree 100%);
//! 2. counts the cases where current semantics give a different answer: those are the cases that
//!    hit a version difference, skipped for the comparison with HEAD, and attributed to the flag(s)
//!    that cause them (printed with examples). Every other case is thereby also checked against
//!    current semantics.
//!
//! Without `go` in PATH the test prints a skip message and passes, unless `CI=true`, where it
//! fails. `PULLDOCTOR_DIFF_CASES` and `PULLDOCTOR_DIFF_SEED` override the number of generated
//! cases (20,000) and the seed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::Rng;
use pulldoctor::proxyenv::{
    Decision, DirectReason, GoProxyConfig, GoSemantics, curl_no_proxy_match, curl_proxy_for,
    go_proxy_for, go_proxy_for_with, parse_no_proxy,
};

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn env_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn go_env(pairs: &[(&str, &str)], url: &str) -> Decision {
    let env = env_of(pairs);
    go_proxy_for(&GoProxyConfig::from_env(|k| env.get(k).cloned()), url)
}

/// One row per line: `ENV=value ... | request URL | expected`, where expected is the proxy URL as
/// Go prints it, `direct` or `error`. `ENV=` sets a variable to the empty string; `-` is no
/// variable at all. Lines starting with `#` are comments.
const GO_TABLE: &str = r"
# Scheme-less values are parsed again with http:// in front.
HTTP_PROXY=127.0.0.1:8080                | http://example.com | http://127.0.0.1:8080
HTTP_PROXY=proxy.corp:1234               | http://example.com | http://proxy.corp:1234
HTTP_PROXY=proxy.corp                    | http://example.com | http://proxy.corp
# A single label is read as a URL scheme with no host, so it is re-parsed too.
HTTP_PROXY=localhost                     | http://example.com | http://localhost
HTTP_PROXY=https://proxy.corp            | http://example.com | https://proxy.corp
HTTP_PROXY=socks5://127.0.0.1            | http://example.com | socks5://127.0.0.1
HTTP_PROXY=foo://host                    | http://example.com | foo://host
# The request scheme picks the variable; no fallback from https to HTTP_PROXY; no ALL_PROXY.
HTTP_PROXY=h HTTPS_PROXY=s               | http://insecure.tld/ | http://h
HTTP_PROXY=h HTTPS_PROXY=s               | https://secure.tld/  | http://s
HTTP_PROXY=h                             | https://secure.tld/  | direct
HTTP_PROXY=h HTTPS_PROXY=h               | ftp://x.tld/         | direct
ALL_PROXY=http://all:3128                | https://example.com  | direct
-                                        | https://example.com  | direct
# UPPER beats lower; an empty UPPER falls through.
HTTPS_PROXY=up:1 https_proxy=low:1       | https://e.com | http://up:1
HTTPS_PROXY= https_proxy=low:1           | https://e.com | http://low:1
# CGI: a non-empty REQUEST_METHOD refuses HTTP_PROXY, for http URLs only.
HTTP_PROXY=10.1.2.3:8080 REQUEST_METHOD=GET | http://e.com  | error
HTTPS_PROXY=s:1 REQUEST_METHOD=GET          | https://e.com | http://s:1
HTTP_PROXY=10.1.2.3:8080 REQUEST_METHOD=    | http://e.com  | http://10.1.2.3:8080
# NO_PROXY domains match on label boundaries; a leading dot or *. means subdomains only.
HTTP_PROXY=p NO_PROXY=example.com        | http://example.com/     | direct
HTTP_PROXY=p NO_PROXY=example.com        | http://foo.example.com/ | direct
HTTP_PROXY=p NO_PROXY=.example.com       | http://example.com/     | http://p
HTTP_PROXY=p NO_PROXY=.example.com       | http://a.example.com/   | direct
HTTP_PROXY=p NO_PROXY=*.example.com      | http://example.com/     | http://p
HTTP_PROXY=p NO_PROXY=ample.com          | http://example.com/     | http://p
HTTP_PROXY=p NO_PROXY=EXAMPLE.com        | http://Example.COM/     | direct
HTTP_PROXY=p no_proxy=example.com        | http://example.com/     | direct
# Ports in entries; the request port defaults to 80/443.
HTTPS_PROXY=p NO_PROXY=example.com:443   | https://example.com/      | direct
HTTPS_PROXY=p NO_PROXY=example.com:443   | https://example.com:8443/ | http://p
# `*` anywhere in the list disables the proxy.
HTTPS_PROXY=p NO_PROXY=a.com,*           | https://b.com/ | direct
# IPs and CIDRs match IP-literal hosts only, without DNS.
HTTPS_PROXY=p NO_PROXY=10.0.0.0/8        | https://10.1.2.3/          | direct
HTTPS_PROXY=p NO_PROXY=10.0.0.0/8        | https://registry.internal/ | http://p
HTTPS_PROXY=p NO_PROXY=[2001:db8::1]:443 | https://[2001:db8::1]/     | direct
HTTPS_PROXY=p NO_PROXY=2001:db8::1       | https://[2001:db8::1]:8443/ | direct
HTTPS_PROXY=p NO_PROXY=0.1               | https://10.0.0.1/          | http://p
# Loopback targets are never proxied; the proxy itself may be on loopback.
HTTP_PROXY=127.0.0.1:3128                | http://localhost:5000/v2/ | direct
HTTP_PROXY=127.0.0.1:3128                | http://127.0.0.2/         | direct
HTTP_PROXY=127.0.0.1:3128                | http://[::1]:5000/        | direct
HTTP_PROXY=127.0.0.1:3128                | http://registry:5000/     | http://127.0.0.1:3128
HTTP_PROXY=p                             | http://localhost.net/     | http://p
HTTP_PROXY=p                             | http://LOCALHOST/         | http://p
# IDNA.
HTTP_PROXY=p NO_PROXY=.示例.com           | http://www.示例.com         | direct
HTTP_PROXY=p NO_PROXY=xn--fsq092h.com    | http://www.示例.com         | direct
HTTP_PROXY=p NO_PROXY=示例.com            | http://www.xn--fsq092h.com | direct
HTTP_PROXY=p NO_PROXY=Bücher.example     | http://xn--bcher-kva.example | direct
# A domain entry never matches an IP host, even an IPv6 zone that looks like the domain.
HTTP_PROXY=p NO_PROXY=example.com        | http://[1000::%25.example.com]:123 | http://p
# Userinfo is printed the way URL.String escapes it.
HTTPS_PROXY=http://us%65r:p%40ss@proxy:3128 | https://e.com | http://user:p%40ss@proxy:3128
HTTPS_PROXY=http://u:p@ss@proxy:3128        | https://e.com | http://u:p%40ss@proxy:3128
HTTPS_PROXY=http://u:p!*@proxy              | https://e.com | http://u:p%21%2A@proxy
# Unparsable values are ignored silently; many broken URLs parse once http:// is prefixed.
HTTPS_PROXY=%zz                          | https://e.com | direct
HTTPS_PROXY=[::1                         | https://e.com | direct
HTTPS_PROXY=http://[::1                  | https://e.com | http://http://[::1
HTTPS_PROXY=http://::1:3128              | https://e.com | http://http://::1:3128
HTTPS_PROXY=::1:3128                     | https://e.com | direct
HTTPS_PROXY=http://[::1]:3128            | https://e.com | http://[::1]:3128
";

/// Parse a table written as in [`GO_TABLE`].
fn table_rows(table: &str) -> Vec<(BTreeMap<String, String>, String, String)> {
    let mut rows = Vec::new();
    for line in table.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cols.len(), 3, "bad table line {line:?}");
        let mut env = BTreeMap::new();
        for pair in cols[0].split_whitespace().filter(|p| *p != "-") {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("bad pair {pair:?}"));
            env.insert(k.to_string(), v.to_string());
        }
        rows.push((env, cols[1].to_string(), cols[2].to_string()));
    }
    rows
}

fn summary(d: &Decision) -> &str {
    match d {
        Decision::Proxy { url, .. } => url,
        Decision::Error(_) | Decision::InvalidRequestUrl(_) => "error",
        Decision::Direct { .. } => "direct",
    }
}

#[test]
fn go_table() {
    let mut failures = Vec::new();
    for (env, url, want) in table_rows(GO_TABLE) {
        let d = go_proxy_for(&GoProxyConfig::from_env(|k| env.get(k).cloned()), &url);
        if summary(&d) != want {
            failures.push(format!("{env:?} {url}: got {d}, want {want}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn go_reasons_name_variables_and_entries() {
    let d = go_env(
        &[("https_proxy", "proxy:3128"), ("no_proxy", " .docker.io ")],
        "https://registry-1.docker.io/v2/",
    );
    assert_eq!(
        d,
        Decision::Direct {
            reason: DirectReason::NoProxyEntry {
                var: "no_proxy",
                entry: ".docker.io".into()
            }
        }
    );
    assert_eq!(d.to_string(), "direct: no_proxy entry `.docker.io` matches");
    let d = go_env(&[("HTTPS_PROXY", "proxy.corp")], "https://x");
    assert_eq!(
        d,
        Decision::Proxy {
            url: "http://proxy.corp".into(),
            var: "HTTPS_PROXY",
            dial: Some("proxy.corp:80".into())
        }
    );
    let d = go_env(&[("HTTP_PROXY", "p")], "https://x");
    assert_eq!(d.to_string(), "direct: no HTTPS_PROXY/https_proxy set");
    assert!(matches!(
        go_env(&[("HTTPS_PROXY", "p")], "https://127.0.0.1/"),
        Decision::Direct {
            reason: DirectReason::Loopback { .. }
        }
    ));
    assert!(matches!(
        go_env(&[("HTTP_PROXY", "p")], "http://[::1"),
        Decision::InvalidRequestUrl(e) if e == "parse \"http://[::1\": missing ']' in host"
    ));
    let np = parse_no_proxy("10.0.0.0/8, .corp, *.svc:8080");
    assert_eq!(np.ip_entries.len(), 1);
    assert_eq!(np.domain_entries.len(), 2);
    assert!(np.bypass("a.svc", "8080").is_some());
    assert!(np.bypass("a.svc", "443").is_none());
}

/// curl's rules, in the format of [`GO_TABLE`].
const CURL_TABLE: &str = r"
# http_proxy is lowercase only; HTTPS_PROXY exists in both cases and lowercase wins.
HTTP_PROXY=up:1                          | http://e.com/  | direct
http_proxy=low:1                         | http://e.com/  | http://low:1
HTTPS_PROXY=up:1 https_proxy=low:1       | https://e.com/ | http://low:1
HTTPS_PROXY=up:1                         | https://e.com/ | http://up:1
# ALL_PROXY is the fallback; the port defaults to 1080 (443 for an https:// proxy).
ALL_PROXY=all                            | https://e.com/ | http://all:1080
all_proxy=https://all                    | https://e.com/ | https://all:443
ALL_PROXY=socks5h://s                    | https://e.com/ | socks5h://s:1080
https_proxy=ftp://p                      | https://e.com/ | error
# NO_PROXY: a leading dot is ignored, no *.x wildcard, lowercase wins, `*` only alone.
https_proxy=p:1 no_proxy=.e.com          | https://e.com/    | direct
https_proxy=p:1 no_proxy=*.e.com         | https://a.e.com/  | http://p:1
https_proxy=p:1 no_proxy=x NO_PROXY=e.com | https://e.com/   | http://p:1
https_proxy=p:1 NO_PROXY=10.0.0.0/8      | https://10.2.3.4/ | direct
https_proxy=p:1 no_proxy=*               | https://e.com/    | direct
https_proxy=p:1 no_proxy=a.com,*         | https://e.com/    | http://p:1
";

#[test]
fn curl_table() {
    for (env, url, want) in table_rows(CURL_TABLE) {
        let d = curl_proxy_for(|k| env.get(k).cloned(), &url);
        assert_eq!(summary(&d), want, "{env:?} {url}: {d}");
    }
    assert_eq!(
        curl_no_proxy_match("localhost,127.0.0.1", "127.0.0.1").as_deref(),
        Some("127.0.0.1")
    );
}

// ---------------------------------------------------------------------------------------------
// Differential test against Go
// ---------------------------------------------------------------------------------------------

/// What both sides report for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Proxy(String),
    Direct,
    Err(String),
    UrlErr(String),
}

fn rust_out(env: &BTreeMap<String, String>, url: &str, sem: &GoSemantics) -> Out {
    let cfg = GoProxyConfig::from_env(|k| env.get(k).cloned());
    match go_proxy_for_with(&cfg, url, sem) {
        Decision::Proxy { url, .. } => Out::Proxy(url),
        Decision::Direct { .. } => Out::Direct,
        Decision::Error(e) => Out::Err(e),
        Decision::InvalidRequestUrl(e) => Out::UrlErr(e),
    }
}

const PROXY_SCHEMES: &[&str] = &[
    "",
    "",
    "",
    "http://",
    "http://",
    "https://",
    "socks5://",
    "socks5h://",
    "HTTP://",
    "foo://",
    "http:/",
    "http:",
    "socks5:",
    "//",
    "Socks5://",
];
const PROXY_USERS: &[&str] = &[
    "",
    "",
    "",
    "",
    "user@",
    "user:pass@",
    "u:p@ss@",
    "u:p%40ss@",
    "u:p:ss@",
    "ü:x@",
    "a b:c@",
    "u:%zz@",
    "!$&'()*+,;=:x@",
    "~-._:x@",
    ":@",
    "@",
    "u%3Ax:y@",
];
const PROXY_HOSTS: &[&str] = &[
    "proxy",
    "proxy",
    "proxy.corp.example.com",
    "127.0.0.1",
    "[::1]",
    "::1",
    "[fe80::1%25eth0]",
    "10.0.0.1",
    "localhost",
    "[1.2.3.4]",
    "xn--fsq092h.com",
    "示例.com",
    "PROXY.Example.COM",
    "",
    "h_x",
    "a[b",
    "[::1",
    "[v1.x]",
    "a]b",
    "ex%C3%A4mple",
    "%zz",
    "*",
    "[::ffff:1.2.3.4]",
    "[00001::1]",
];
const PROXY_PORTS: &[&str] = &[
    "", "", ":3128", ":3128", ":", ":80", ":abc", ":0", ":99999", ":1:2", ":8080:", ":8é",
];
const PROXY_TAILS: &[&str] = &[
    "", "", "", "/", "/path", "?q", "#f", "//x", "/%zz", "/%2F", " ", "/ sp", "?", "#",
];
const PROXY_RAW: &[&str] = &[
    "%zz",
    ":1",
    "http://[::1",
    "[::1",
    "a b:1",
    "*",
    "::",
    "http://",
    "//proxy:1",
    "///x",
    "proxy:3128/",
    " proxy:3128",
    "proxy:3128 ",
    "http://::1:3128",
    "::1:3128",
    "http:/x",
    "socks5h://p:1080",
    "http://a:1:2",
    "[1.2.3.4]:80",
    "http://[::1]:3128",
    "ht tp://x",
    // No authority and a path whose escaped form starts with `//` (URL.String difference).
    "http:/%2Fx y",
    "socks5:/%2F%2Fh p",
    "https:/%2F",
];

fn gen_proxy(rng: &mut Rng) -> String {
    if rng.percent(15) {
        return (*rng.pick(PROXY_RAW)).to_string();
    }
    format!(
        "{}{}{}{}{}",
        *rng.pick(PROXY_SCHEMES),
        *rng.pick(PROXY_USERS),
        *rng.pick(PROXY_HOSTS),
        *rng.pick(PROXY_PORTS),
        *rng.pick(PROXY_TAILS)
    )
}

const NO_PROXY_ENTRIES: &[&str] = &[
    "*",
    ".example.com",
    "example.com",
    "*.example.com",
    "ample.com",
    "EXAMPLE.COM",
    "example.com:443",
    "example.com:80",
    ".docker.io",
    "docker.io",
    "registry-1.docker.io",
    "10.0.0.0/8",
    "10.0.0.1",
    "10.0.0.1:443",
    "192.168.0.0/16",
    "::1",
    "[::1]:443",
    "2001:db8::/32",
    "2001:db8::1",
    "[2001:db8::1]",
    "[2001:db8::1]:80",
    "fe80::/10",
    "0.1",
    "1",
    ".1",
    "::ffff:10.0.0.0/104",
    "00001::/16",
    "0001:db8::1",
    "::/0",
    "0.0.0.0/0",
    "localhost",
    ".localhost",
    ":1",
    ":",
    "",
    " ",
    "示例.com",
    ".示例.com",
    "xn--fsq092h.com",
    "*.示例.com",
    "a_b.示例.com",
    "b%c",
    "example.com.",
    ".",
    "*.",
    "%25eth0",
    "10.0.0.0/33",
    "10.0.0.0/8:80",
    "1.2.3.4/24",
    "straße.de",
    "ПРИМЕР.рф",
    "ｅｘａｍｐｌｅ.com",
    "example。com",
    "eth0",
    "1000::",
    "fe80::1%eth0",
    "[fe80::1]",
    "127.0.0.0/8",
    "LOCALHOST",
    "sub.docker.io:443",
    "Bücher.example",
    "xn--bcher-kva.example",
    ".BÜCHER.example",
    "xn--abc",
    "xn--ls8h.la",
    "💩.la",
    "ab--c.ü.example",
    "-a.ü.example",
    "xn--.ü.example",
    "ü.example:8080",
];

fn gen_no_proxy(rng: &mut Rng) -> String {
    let n = 1 + rng.below(4);
    let seps = [",", ", ", " , ", ",,"];
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str(seps[rng.below(seps.len())]);
        }
        out.push_str(rng.pick::<&str>(NO_PROXY_ENTRIES));
    }
    out
}

const REQ_SCHEMES: &[&str] = &[
    "http://",
    "http://",
    "https://",
    "https://",
    "https://",
    "HTTPS://",
    "ftp://",
    "",
    "socks5://",
];
const REQ_HOSTS: &[&str] = &[
    "example.com",
    "www.example.com",
    "sub.docker.io",
    "registry-1.docker.io",
    "docker.io",
    "EXAMPLE.COM",
    "Www.Example.Com",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "127.0.0.1",
    "127.1.2.3",
    "[::1]",
    "[::1%25lo]",
    "[fe80::1%25eth0]",
    "[1000::%25.example.com]",
    "10.0.0.1",
    "10.1.2.3",
    "192.168.1.5",
    "[2001:db8::1]",
    "[::ffff:10.0.0.1]",
    "[::ffff:127.0.0.1]",
    "www.示例.com",
    "www.xn--fsq092h.com",
    "WWW.示例.COM",
    "a_b.示例.com",
    "[1.2.3.4]",
    "::1",
    "a]b",
    "a[b",
    "%zz",
    "ex%C3%A4mple.com",
    "[00001::1]",
    "0.1",
    "straße.de",
    "пример.рф",
    "ｅｘａｍｐｌｅ.com",
    "www。example。com",
    "user@example.com",
    "u:p@10.0.0.1",
    "",
    "1.2.3.4",
    "[2001:0db8::1]",
    "xn--zca.de",
    "ab--c.示例.com",
    "example.com.",
    "[fe80::1%25%65th0]",
    "bücher.example",
    "www.BÜCHER.example",
    "xn--bcher-kva.example",
    "xn--ls8h.la",
    "💩.la",
    "www.xn--abc",
    "-a.ü.example",
    "xn--.ü.example",
    "ex%C3%BC.example",
    "%C3%BC.example",
];
const REQ_PORTS: &[&str] = &["", "", "", ":80", ":443", ":5000", ":", ":abc", ":8443"];
const REQ_TAILS: &[&str] = &[
    "",
    "/",
    "/v2/",
    "/v2/library/alpine/manifests/latest",
    "?x",
    "#f",
];

fn gen_url(rng: &mut Rng) -> String {
    format!(
        "{}{}{}{}",
        *rng.pick(REQ_SCHEMES),
        *rng.pick(REQ_HOSTS),
        *rng.pick(REQ_PORTS),
        *rng.pick(REQ_TAILS)
    )
}

fn gen_case(rng: &mut Rng) -> (BTreeMap<String, String>, String) {
    let mut env = BTreeMap::new();
    if rng.percent(35) {
        // Focus on NO_PROXY and the target host: a valid proxy always applies.
        env.insert(
            (*rng.pick(&["HTTP_PROXY", "http_proxy"])).into(),
            "http://proxy:3128".into(),
        );
        env.insert(
            (*rng.pick(&["HTTPS_PROXY", "https_proxy"])).into(),
            "proxy:3128".into(),
        );
        env.insert(
            (*rng.pick(&["NO_PROXY", "no_proxy"])).into(),
            gen_no_proxy(rng),
        );
        let host = *rng.pick(REQ_HOSTS);
        let url = format!(
            "{}{}{}{}",
            *rng.pick(&["http://", "https://"]),
            host,
            *rng.pick(REQ_PORTS),
            *rng.pick(REQ_TAILS)
        );
        return (env, url);
    }
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
        match rng.below(10) {
            0..=4 => {}
            5 => {
                env.insert(var.to_string(), String::new());
            }
            _ => {
                env.insert(var.to_string(), gen_proxy(rng));
            }
        }
    }
    for var in ["NO_PROXY", "no_proxy"] {
        match rng.below(10) {
            0..=4 => {}
            5 => {
                env.insert(var.to_string(), String::new());
            }
            _ => {
                env.insert(var.to_string(), gen_no_proxy(rng));
            }
        }
    }
    if rng.percent(15) {
        env.insert(
            "REQUEST_METHOD".into(),
            (*rng.pick(&["", "GET", "PUT"])).into(),
        );
    }
    if rng.percent(10) {
        env.insert("ALL_PROXY".into(), "http://all:3128".into());
    }
    (env, gen_url(rng))
}

/// Names of the flags, with accessors, in the order of the Go probe.
const FLAGS: &[&str] = &[
    "keep_any_proxy_scheme",
    "domain_entries_skip_ip_hosts",
    "url_strict_ip_literals",
    "url_strict_colons",
    "url_escape_authority_like_path",
    "ip_max_four_hex_digits",
];

fn flag_mut<'a>(s: &'a mut GoSemantics, name: &str) -> &'a mut bool {
    match name {
        "keep_any_proxy_scheme" => &mut s.keep_any_proxy_scheme,
        "domain_entries_skip_ip_hosts" => &mut s.domain_entries_skip_ip_hosts,
        "url_strict_ip_literals" => &mut s.url_strict_ip_literals,
        "url_strict_colons" => &mut s.url_strict_colons,
        "url_escape_authority_like_path" => &mut s.url_escape_authority_like_path,
        "ip_max_four_hex_digits" => &mut s.ip_max_four_hex_digits,
        other => panic!("unknown flag {other}"),
    }
}

fn flag(mut s: GoSemantics, name: &str) -> bool {
    *flag_mut(&mut s, name)
}

fn go_available() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Build the harness into `tmp`; returns the binary and a note on where httpproxy came from.
fn build_harness(tmp: &Path) -> Result<(PathBuf, String), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/proxyfromenv");
    let gopath = tmp.join("gopath");
    let debian = Path::new("/usr/share/gocode");
    let (gopath_var, source) = if debian
        .join("src/golang.org/x/net/http/httpproxy/proxy.go")
        .exists()
    {
        (
            format!("{}:{}", gopath.display(), debian.display()),
            "golang-golang-x-net-dev (/usr/share/gocode)".to_string(),
        )
    } else {
        // Fall back to the copy Go vendors for net/http (same code as its ProxyFromEnvironment).
        let out = Command::new("go")
            .args(["env", "GOROOT"])
            .output()
            .map_err(|e| format!("go env GOROOT: {e}"))?;
        let goroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let vendor = Path::new(&goroot).join("src/vendor/golang.org");
        if !vendor.join("x/net/http/httpproxy").exists() {
            return Err(format!(
                "neither /usr/share/gocode (apt-get install golang-golang-x-net-dev) nor {} has \
                 golang.org/x/net/http/httpproxy",
                vendor.display()
            ));
        }
        std::fs::create_dir_all(gopath.join("src")).map_err(|e| e.to_string())?;
        std::os::unix::fs::symlink(&vendor, gopath.join("src/golang.org"))
            .map_err(|e| e.to_string())?;
        (
            gopath.display().to_string(),
            format!("GOROOT vendor copy ({})", vendor.display()),
        )
    };
    let bin = tmp.join("proxyfromenv");
    let out = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", &gopath_var)
        .env("GOCACHE", tmp.join("gocache"))
        .env("GOENV", "off")
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0")
        .output()
        .map_err(|e| format!("go build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "go build failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((bin, source))
}

#[derive(serde::Serialize)]
struct GoCase<'a> {
    env: &'a BTreeMap<String, String>,
    url: &'a str,
}

#[derive(serde::Deserialize)]
struct GoHeader {
    go: String,
    features: BTreeMap<String, bool>,
}

#[derive(serde::Deserialize)]
struct GoResult {
    #[serde(default)]
    proxy: String,
    #[serde(default)]
    has_proxy: bool,
    #[serde(default)]
    err: String,
    #[serde(default)]
    urlerr: String,
}

impl GoResult {
    fn out(self) -> Out {
        if !self.urlerr.is_empty() {
            Out::UrlErr(self.urlerr)
        } else if !self.err.is_empty() {
            Out::Err(self.err)
        } else if self.has_proxy {
            Out::Proxy(self.proxy)
        } else {
            Out::Direct
        }
    }
}

fn run_harness(bin: &Path, input: String) -> Result<String, String> {
    let mut child = Command::new(bin)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .ok_or("no stdout")?
        .read_to_string(&mut stdout)
        .map_err(|e| e.to_string())?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    writer
        .join()
        .map_err(|_| "writer thread panicked")?
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("harness exited with {status}: {stderr}"));
    }
    Ok(stdout)
}

/// The kind of decision, with the kind of NO_PROXY entry that matched.
fn reason_kind(env: &BTreeMap<String, String>, url: &str, sem: &GoSemantics) -> String {
    let cfg = GoProxyConfig::from_env(|k| env.get(k).cloned());
    match go_proxy_for_with(&cfg, url, sem) {
        Decision::Proxy { .. } => "proxy".into(),
        Decision::Error(_) => "cgi error".into(),
        Decision::InvalidRequestUrl(_) => "invalid url".into(),
        Decision::Direct { reason } => match reason {
            DirectReason::UnsupportedScheme { .. } => "unsupported scheme".into(),
            DirectReason::NoProxyVariable { .. } => "no variable".into(),
            DirectReason::UnparsableProxy { .. } => "unparsable proxy".into(),
            DirectReason::Loopback { .. } => "loopback".into(),
            DirectReason::NoProxyWildcard { .. } => "no_proxy *".into(),
            DirectReason::MalformedTarget { .. } => "malformed target".into(),
            DirectReason::NoProxyEntry { entry, .. } => {
                let np = pulldoctor::proxyenv::GoNoProxy::parse_with(&entry, sem);
                if !np.ip_entries.is_empty() {
                    "no_proxy ip/cidr".into()
                } else if entry.is_ascii() {
                    "no_proxy domain".into()
                } else {
                    "no_proxy idn domain".into()
                }
            }
        },
    }
}

fn show_case(env: &BTreeMap<String, String>, url: &str) -> String {
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("[{}] url={url:?}", vars.join(" "))
}

#[test]
fn go_differential() {
    if !go_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "`go` is not in PATH but CI=true: the differential test against Go must run in \
                 CI (apt-get install golang-go golang-golang-x-net-dev)"
            );
        }
        eprintln!(
            "SKIP proxyenv::go_differential: `go` not found in PATH (apt-get install golang-go \
             golang-golang-x-net-dev to run it)"
        );
        return;
    }
    let n: usize = std::env::var("PULLDOCTOR_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let tmp = std::env::temp_dir().join(format!(
        "pulldoctor-proxyenv-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&tmp).expect("create temp dir");
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(tmp.clone());

    let (bin, source) = build_harness(&tmp).unwrap_or_else(|e| panic!("{e}"));

    let seed: u64 = std::env::var("PULLDOCTOR_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x005E_ED0F_9A11_D0C7);
    let mut rng = Rng(seed);
    let cases: Vec<(BTreeMap<String, String>, String)> =
        (0..n).map(|_| gen_case(&mut rng)).collect();
    let mut input = String::new();
    for (env, url) in &cases {
        input.push_str(&serde_json::to_string(&GoCase { env, url }).expect("json"));
        input.push('\n');
    }
    let output = run_harness(&bin, input).unwrap_or_else(|e| panic!("{e}"));
    let mut lines = output.lines();
    let header: GoHeader =
        serde_json::from_str(lines.next().expect("header line")).expect("header json");
    let results: Vec<Out> = lines
        .map(|l| {
            serde_json::from_str::<GoResult>(l)
                .expect("result json")
                .out()
        })
        .collect();
    assert_eq!(
        results.len(),
        cases.len(),
        "the harness answered a different number of cases"
    );

    // The semantics of the toolchain under test, from its probes.
    let mut sem = GoSemantics::CURRENT;
    for name in FLAGS {
        let have = *header
            .features
            .get(*name)
            .unwrap_or_else(|| panic!("probe {name} missing"));
        *flag_mut(&mut sem, name) = have;
    }
    assert_eq!(
        header.features.get("zoned_hosts_are_ips"),
        Some(&sem.domain_entries_skip_ip_hosts),
        "x/net has only one of the two 2025 useProxy changes; GoSemantics cannot express that"
    );

    let mut mismatches = Vec::new();
    let mut by_flag: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
    let mut differ_from_head = 0;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for ((env, url), go) in cases.iter().zip(results) {
        let rust = rust_out(env, url, &sem);
        *reasons.entry(reason_kind(env, url, &sem)).or_default() += 1;
        *kinds
            .entry(match &go {
                Out::Proxy(_) => "proxy",
                Out::Direct => "direct",
                Out::Err(_) => "error",
                Out::UrlErr(_) => "invalid url",
            })
            .or_default() += 1;
        if rust != go {
            mismatches.push(format!(
                "{}\n    go:   {go:?}\n    rust: {rust:?}",
                show_case(env, url)
            ));
            continue;
        }
        let head = rust_out(env, url, &GoSemantics::CURRENT);
        if head == rust {
            continue;
        }
        // This case hits a version difference: find the flag(s) responsible.
        differ_from_head += 1;
        let mut blamed = false;
        for name in FLAGS {
            if flag(sem, name) == flag(GoSemantics::CURRENT, name) {
                continue;
            }
            let mut one = sem;
            *flag_mut(&mut one, name) = true;
            let with = rust_out(env, url, &one);
            if with != rust {
                blamed = true;
                let e = by_flag.entry(name).or_default();
                e.0 += 1;
                if e.1.len() < 2 {
                    e.1.push(format!(
                        "{}\n        go:           {rust:?}\n        with the change: {with:?}",
                        show_case(env, url)
                    ));
                }
            }
        }
        if !blamed {
            let e = by_flag.entry("(combination of flags)").or_default();
            e.0 += 1;
            if e.1.len() < 2 {
                e.1.push(show_case(env, url));
            }
        }
    }

    eprintln!(
        "proxyenv differential: {} cases against {} with httpproxy from {source}",
        cases.len(),
        header.go
    );
    eprintln!("  outcomes (Go): {kinds:?}");
    eprintln!("  decisions (Rust): {reasons:?}");
    eprintln!("  toolchain semantics: {sem:?}");
    eprintln!(
        "  {} cases agree with Go; {} of them give the same answer with current (HEAD) semantics, \
         {} hit a version difference and are skipped for the HEAD comparison:",
        cases.len() - mismatches.len(),
        cases.len() - mismatches.len() - differ_from_head,
        differ_from_head
    );
    for (flag, (count, examples)) in &by_flag {
        eprintln!("    {flag}: {count} cases, e.g.");
        for ex in examples {
            eprintln!("      {ex}");
        }
    }
    if !mismatches.is_empty() {
        panic!(
            "{} of {} cases disagree with Go ({}); first ones:\n  {}",
            mismatches.len(),
            cases.len(),
            header.go,
            mismatches
                .iter()
                .take(25)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    // Every difference between this toolchain and HEAD must be exercised by the generator,
    // otherwise the skipped set would not be what this file documents.
    if n >= 20_000 && std::env::var_os("PULLDOCTOR_DIFF_SEED").is_none() {
        for name in FLAGS {
            if flag(sem, name) != flag(GoSemantics::CURRENT, name) {
                assert!(
                    by_flag.get(name).is_some_and(|e| e.0 > 0),
                    "no generated case exercises the version difference {name}"
                );
            }
        }
    }
}
