//! Secret redaction. Every string that leaves pulldoctor (report fields,
//! matched log lines, evidence, error messages) goes through [`text`]; the
//! finished report goes through [`report`] once more, which also applies
//! `--redact-users` and `--redact-hosts` to every field, rule texts included.
//!
//! Proxy passwords keep the user name (`http://alice:***@proxy:8080`) unless
//! [`Options::users`] is set; tokens, signatures and keys are replaced whole.
//! With [`Options::hosts`], internal host names and private IP addresses are
//! replaced by aliases that are the same for the same host across the whole
//! report (`registry.corp.example` → `host-1.domain-1.redacted`,
//! `10.1.2.3` → `private-ip-1`); public registries, loopback and the fixed
//! addresses of VMs and Docker (192.168.5.2, 172.17.0.1, ...) are kept.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{Captures, Regex};

/// How much to hide beyond secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also hide user names in URLs (`--redact-users`).
    pub users: bool,
    /// Replace internal host names and private IP addresses by consistent
    /// aliases (`--redact-hosts`; only [`report`] and [`hosts`] do this).
    pub hosts: bool,
}

/// How a match is replaced.
type Replace = fn(&Captures, Options) -> String;

/// A redaction rule: its pattern, what every match of it holds, and its
/// replacement.
struct Rule {
    pattern: String,
    triggers: Triggers,
    replace: Replace,
}

/// Literals of which every match of a rule holds at least one (ASCII
/// case-insensitive), and where a literal must stand to count.
struct Triggers {
    lits: Vec<String>,
    /// Followed by `=`, `:` or whitespace (`key = value`, `key: value`).
    then_sep: bool,
    /// Preceded only by whitespace since the start of a line.
    line_start: bool,
}

impl Triggers {
    /// Whether the literal found at `start..end` of `s` counts.
    fn stands(&self, s: &str, start: usize, end: usize) -> bool {
        let sep = |c: char| c == '=' || c == ':' || c.is_whitespace();
        (!self.then_sep || s[end..].chars().next().is_some_and(sep))
            && (!self.line_start || {
                let before = s[..start].trim_end_matches(|c: char| c.is_whitespace() && c != '\n');
                before.is_empty() || before.ends_with('\n')
            })
    }
}

/// The rules, compiled one at a time on first need: a string holding none
/// of a rule's triggers cannot match it, so a short log or an offline check
/// compiles few of them (compiling them all was half of a 1 KB `explain`).
struct Redactor {
    rules: Vec<Rule>,
    compiled: Vec<OnceLock<Regex>>,
    /// Every rule's triggers; pattern `k` is `triggers[k]` of rule `owner[k]`.
    triggers: AhoCorasick,
    owner: Vec<usize>,
}

impl Redactor {
    fn regex(&self, i: usize) -> &Regex {
        self.compiled[i]
            .get_or_init(|| Regex::new(&self.rules[i].pattern).expect("redaction pattern compiles"))
    }

    /// The rules whose triggers occur in `s`, as a bit set.
    fn candidates(&self, s: &str) -> u64 {
        let mut bits = 0u64;
        for m in self.triggers.find_overlapping_iter(s) {
            let i = self.owner[m.pattern().as_usize()];
            if bits & (1 << i) == 0 && self.rules[i].triggers.stands(s, m.start(), m.end()) {
                bits |= 1 << i;
            }
        }
        bits
    }
}

fn cap<'a>(c: &'a Captures, i: usize) -> &'a str {
    c.get(i).map_or("", |m| m.as_str())
}

/// Whether a word after `Basic` / `Bearer` is a credential rather than prose
/// ("Basic authentication", "bearer token"): it has a digit, a symbol, or a
/// capital letter after the first character.
fn looks_like_token(s: &str) -> bool {
    s.chars().any(|c| !c.is_ascii_alphabetic()) || s.chars().skip(1).any(|c| c.is_ascii_uppercase())
}

fn user_part(user: &str, opts: Options) -> &str {
    if opts.users || user.is_empty() {
        "***"
    } else {
        user
    }
}

/// Secret-bearing parameter names of URLs, headers and env dumps.
const PARAMS: &str = "token|access_token|refresh_token|id_token|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|signature|sig|se|verify|key|password|passwd|pwd|secret|client_secret|awsaccesskeyid|apikey|api_key|auth";

/// Keys whose value is a credential in JSON, YAML and TOML.
const CRED_KEYS: &str = "auth|identitytoken|registrytoken|identity_token|registry_token|password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|api_key|apikey|private_key|secret_access_key|aws_secret_access_key";

/// Credential keys unambiguous enough to be recognised in prose (`password: x`).
const CRED_WORDS: &str = "identitytoken|registrytoken|identity_token|registry_token|password|passwd|client_secret|secret_access_key|aws_secret_access_key|api_key|apikey|private_key";

/// Each of the `|`-separated `keys` followed by each of `after`: triggers.
fn followed(keys: &str, after: &[&str]) -> Triggers {
    Triggers {
        lits: keys
            .split('|')
            .flat_map(|k| after.iter().map(move |a| format!("{k}{a}")))
            .collect(),
        then_sep: false,
        line_start: false,
    }
}

fn lits(words: &[&str]) -> Triggers {
    Triggers {
        lits: words.iter().map(|w| w.to_string()).collect(),
        then_sep: false,
        line_start: false,
    }
}

/// The `|`-separated `keys` as keys of `key = value` / `key: value`, at the
/// start of a line with `line_start`.
fn keys(keys: &str, line_start: bool) -> Triggers {
    Triggers {
        then_sep: true,
        line_start,
        ..followed(keys, &[""])
    }
}

// Word boundaries are ASCII (`(?-u:\b)`): secrets are ASCII, and a Unicode `\b`
// makes the regex engine leave its DFA on non-ASCII text (a Chinese log), which is
// many times slower.
fn rules() -> Vec<(String, Triggers, Replace)> {
    let s = |p: &str| p.to_string();
    vec![
        // PEM private keys.
        (
            s(
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            ),
            lits(&["-----begin"]),
            |_, _| "-----BEGIN PRIVATE KEY----- *** -----END PRIVATE KEY-----".into(),
        ),
        // Authorization headers (and their cousins), whatever the scheme,
        // with Digest / AWS4 parameter lists; also as JSON (`"Authorization":["Basic x"]`).
        (
            s(
                r#"(?i)(?-u:\b)((?:proxy-)?authorization|x-registry-auth|x-auth-token|x-api-key|private-token|job-token)(\\?"?\s*[:=]\s*\[?\s*\\?"?\s*)(?:(basic|bearer|negotiate|ntlm|digest|token|aws4-hmac-sha256|hoba|mutual|scram-sha-\d+)\s+)?(?:[A-Za-z][A-Za-z0-9_-]*="[^"]*"|[^\s,;"'\\\]]+)(?:,\s*[A-Za-z][A-Za-z0-9_-]*=(?:"[^"]*"|[^\s,"\\]+))*"#,
            ),
            lits(&[
                "authorization",
                "x-registry-auth",
                "x-auth-token",
                "x-api-key",
                "private-token",
                "job-token",
            ]),
            |c, _| {
                let scheme = cap(c, 3);
                let sep = if scheme.is_empty() { "" } else { " " };
                format!("{}{}{scheme}{sep}***", cap(c, 1), cap(c, 2))
            },
        ),
        // Bearer and Basic credentials on their own.
        (
            s(r"(?i)(?-u:\b)(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
            lits(&["bearer", "basic"]),
            |c, _| {
                if looks_like_token(cap(c, 3)) {
                    format!("{}{}***", cap(c, 1), cap(c, 2))
                } else {
                    cap(c, 0).to_string()
                }
            },
        ),
        // JSON Web Tokens.
        (
            s(r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
            lits(&["eyj"]),
            |_, _| "eyJ***".into(),
        ),
        // Signed URL parameters and token parameters (Docker blob `verify=`,
        // S3, GCS, Azure SAS `sig=` / `se=`).
        (
            format!(r#"(?i)((?:^|[?&;#\s"'(,\\])(?:{PARAMS})=)("|')?[^&\s"'<>\\]+"#),
            followed(PARAMS, &["="]),
            |c, _| format!("{}{}***", cap(c, 1), cap(c, 2)),
        ),
        // Credentials as JSON members, escaped or not, or single-quoted
        // (`"auth":"..."`, `\"identitytoken\":\"...\"`, `{'auth': '...'}`).
        (
            format!(r#"(?i)(\\?["'](?:{CRED_KEYS})\\?["']\s*:\s*\\?["'])[^"'\\]*"#),
            followed(CRED_KEYS, &["\"", "'", "\\"]),
            |c, _| format!("{}***", cap(c, 1)),
        ),
        // Credentials as TOML / YAML / ini lines (`auth = "..."`, `password: x`).
        (
            format!(r#"(?im)^(\s*(?:{CRED_KEYS})\s*(?:=|:\s)\s*)("|')?[^\s"',}}]+"#),
            keys(CRED_KEYS, true),
            |c, _| format!("{}{}***", cap(c, 1), cap(c, 2)),
        ),
        (
            format!(
                r#"(?i)((?:^|[\s{{,;(])(?:{CRED_WORDS})\s*(?:=|:\s)\s*)("|')?[^\s"',;}}]{{3,}}"#
            ),
            keys(CRED_WORDS, false),
            |c, _| format!("{}{}***", cap(c, 1), cap(c, 2)),
        ),
        // key=value secrets in env dumps and command lines.
        (
            s(
                r#"(?i)(?-u:\b)((?:[a-z0-9_]*_)?(?:password|passwd|pass|pwd|secret|token|api_?key|access_key|secret_key|private_key|credentials?|pat))=("|')?[^\s,;"']+"#,
            ),
            followed(
                "password|passwd|pass|pwd|secret|token|apikey|api_key|access_key|secret_key|private_key|credential|credentials|pat",
                &["="],
            ),
            |c, _| format!("{}={}***", cap(c, 1), cap(c, 2)),
        ),
        // Command-line flags: `--password x`, `--token=x`.
        (
            s(
                r#"(?i)(--(?:password|passwd|token|secret|registry-token|identity-token|access-token|api-key)(?:=|\s+))("|')?[^\s"']+"#,
            ),
            lits(&[
                "--pass",
                "--token",
                "--secret",
                "--registry-token",
                "--identity-token",
                "--access-token",
                "--api-key",
            ]),
            |c, _| format!("{}{}***", cap(c, 1), cap(c, 2)),
        ),
        // curl `-u user:password`, `--proxy-user user:password`.
        (
            s(r#"(^|\s)(-u|-U|--user|--proxy-user)(\s+|=)("|')?([^\s:"'-][^\s:"']*):([^\s"']+)"#),
            lits(&["-u"]),
            |c, o| {
                format!(
                    "{}{}{}{}{}:***",
                    cap(c, 1),
                    cap(c, 2),
                    cap(c, 3),
                    cap(c, 4),
                    user_part(cap(c, 5), o)
                )
            },
        ),
        // Azure connection strings.
        (
            s(r#"(?i)(?-u:\b)(AccountKey|SharedAccessKey|SharedAccessSignature)=[^;\s"']+"#),
            lits(&["accountkey", "sharedaccesskey", "sharedaccesssignature"]),
            |c, _| format!("{}=***", cap(c, 1)),
        ),
        // Cloud and forge keys.
        (
            s(r"(?-u:\b)(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)"),
            lits(&["akia", "asia", "abia", "acca"]),
            |c, _| format!("{}***", cap(c, 1)),
        ),
        (
            s(r"(?-u:\b)(gh[pousr])_[A-Za-z0-9]{20,}"),
            lits(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
            |c, _| format!("{}_***", cap(c, 1)),
        ),
        (
            s(r"(?-u:\b)github_pat_[A-Za-z0-9_]{20,}"),
            lits(&["github_pat_"]),
            |_, _| "github_pat_***".into(),
        ),
        (
            s(r"(?-u:\b)(gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|oas|ffct|agent))-[A-Za-z0-9_-]{20,}"),
            lits(&[
                "glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "glft-", "glimt-",
                "gloas-", "glffct-", "glagent-",
            ]),
            |c, _| format!("{}-***", cap(c, 1)),
        ),
        (
            s(r"(?-u:\b)dckr_pat_[A-Za-z0-9_-]{16,}"),
            lits(&["dckr_pat_"]),
            |_, _| "dckr_pat_***".into(),
        ),
        (
            s(r"(?-u:\b)AIza[0-9A-Za-z_-]{35}"),
            lits(&["aiza"]),
            |_, _| "AIza***".into(),
        ),
        (
            s(r"(?-u:\b)(xox[abposr])-[A-Za-z0-9-]{10,}"),
            lits(&["xox"]),
            |c, _| format!("{}-***", cap(c, 1)),
        ),
        (
            s(r"(?-u:\b)npm_[A-Za-z0-9]{36}"),
            lits(&["npm_"]),
            |_, _| "npm_***".into(),
        ),
        (s(r"(?-u:\b)hf_[A-Za-z0-9]{30,}"), lits(&["hf_"]), |_, _| {
            "hf_***".into()
        }),
        (
            s(r"(?-u:\b)sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
            lits(&["sk-"]),
            |_, _| "sk-***".into(),
        ),
        // The two userinfo rules stay last: `collect_users` reads their user group.
        // userinfo in URLs: scheme://user:password@host (or //user:password@host).
        // Go splits the authority at its last `@`, so an unescaped `@` belongs to
        // the password.
        (
            s(
                r#"(?i)((?-u:\b)[a-z][a-z0-9+.-]*://|(?:^|[\s="'(,;\[{])//)([^/\s:"'<>]*):([^/\s"<>]*)@"#,
            ),
            lits(&["@"]),
            |c, o| format!("{}{}:***@", cap(c, 1), user_part(cap(c, 2), o)),
        ),
        // userinfo without a scheme (`HTTPS_PROXY=alice:pw@proxy:3128`, which Go
        // reads as http://), but not image references (`nginx:1.25@sha256:...`).
        (
            s(r#"(^|[\s="'(,;\[{])([A-Za-z0-9._~%!$&*+)@-]*):([^\s/"<>]+)@([^\s/"'<>@:?#]*)(:?)"#),
            lits(&["@"]),
            |c, o| {
                let host = cap(c, 4);
                let digest = cap(c, 5) == ":"
                    && ["sha256", "sha384", "sha512", "blake3"]
                        .iter()
                        .any(|d| host.eq_ignore_ascii_case(d));
                if digest {
                    return cap(c, 0).to_string();
                }
                format!(
                    "{}{}:***@{host}{}",
                    cap(c, 1),
                    user_part(cap(c, 2), o),
                    cap(c, 5)
                )
            },
        ),
    ]
}

/// `--redact-users`: user names without a password (`http://alice@proxy`).
const USER_ONLY: &str =
    r#"(?i)((?-u:\b)[a-z][a-z0-9+.-]*://|(?:^|[\s="'(,;\[{])//)([^/\s:"'<>]+)@"#;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        let rules: Vec<Rule> = rules()
            .into_iter()
            .map(|(pattern, triggers, replace)| Rule {
                pattern,
                triggers,
                replace,
            })
            .collect();
        assert!(rules.len() <= 64, "Redactor::candidates is a u64");
        let (mut words, mut owner) = (Vec::new(), Vec::new());
        for (i, r) in rules.iter().enumerate() {
            for t in &r.triggers.lits {
                words.push(t.as_str());
                owner.push(i);
            }
        }
        let triggers = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // Builds several times faster than the DFA it would choose.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&words)
            .expect("redaction triggers");
        Redactor {
            compiled: rules.iter().map(|_| OnceLock::new()).collect(),
            rules,
            triggers,
            owner,
        }
    })
}

fn user_only() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(USER_ONLY).expect("static regex"))
}

/// Redacts secrets in `s` with default options.
pub fn text(s: &str) -> Cow<'_, str> {
    text_with(s, Options::default())
}

/// Redacts secrets in `s` (and user names with [`Options::users`]). Host
/// names are never touched here: aliasing needs the whole report ([`report`]).
pub fn text_with(s: &str, opts: Options) -> Cow<'_, str> {
    let cut = mask_cut_edges(s);
    let r = redactor();
    // Rules run in order on the text as the earlier ones left it, each only
    // if the original held one of its triggers.
    let hits = r.candidates(&cut);
    let users = opts.users && cut.contains('@') && user_only().is_match(&cut);
    let mut out = cut;
    for i in (0..r.rules.len()).filter(|i| hits & (1 << i) != 0) {
        let rep = r.rules[i].replace;
        if let Cow::Owned(o) = r.regex(i).replace_all(&out, |c: &Captures| rep(c, opts)) {
            out = Cow::Owned(o);
        }
    }
    if !users {
        return out;
    }
    let mut out = out.into_owned();
    if opts.users {
        out = user_only().replace_all(&out, "${1}***@").into_owned();
    }
    Cow::Owned(out)
}

/// An excerpt cut out of a longer line (`…tail` / `head…`) may start or end in
/// the middle of a secret that no pattern can recognise any more (`…ture=SIG`,
/// `http://alice:Top…`): the cut token is masked.
fn mask_cut_edges(s: &str) -> Cow<'_, str> {
    const CUT: char = '…';
    let stop = |c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`');
    let mut out = Cow::Borrowed(s);
    if let Some(rest) = out.strip_prefix(CUT)
        && rest.starts_with(|c: char| !stop(c))
        && !rest.starts_with("***")
    {
        let end = rest.find(stop).unwrap_or(rest.len());
        out = Cow::Owned(format!("{CUT}***{}", &rest[end..]));
    }
    if let Some(head) = out.strip_suffix(CUT)
        && head.ends_with(|c: char| !stop(c))
        && !head.ends_with("***")
    {
        let start = head.rfind(stop).map_or(0, |i| {
            i + head[i..].chars().next().map_or(1, char::len_utf8)
        });
        out = Cow::Owned(format!("{}***{CUT}", &head[..start]));
    }
    out
}

/// Whether a JSON / environment key names a credential, so that its whole
/// value is one (`"GITHUB_TOKEN": "..."`, `"DB_PASSWORD": "..."`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase().replace('-', "_");
    const EXACT: &[&str] = &[
        "auth",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "identitytoken",
        "registrytoken",
        "identity_token",
        "registry_token",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "api_key",
        "apikey",
        "private_key",
        "secret_key",
        "access_key",
        "authorization",
        "proxy_authorization",
        "x_registry_auth",
        "signature",
        "sig",
    ];
    const SUFFIX: &[&str] = &[
        "_password",
        "_passwd",
        "_pass",
        "_pwd",
        "_secret",
        "_token",
        "_api_key",
        "_apikey",
        "_access_key",
        "_secret_key",
        "_private_key",
        "_credentials",
        "_auth",
        "_pat",
    ];
    EXACT.contains(&k.as_str()) || SUFFIX.iter().any(|s| k.ends_with(s))
}

/// Redacts every string inside a JSON value, keys included; the string value
/// of a credential-named key ([`is_secret_key`]) is replaced whole.
pub fn json(v: &mut serde_json::Value, opts: Options) {
    match v {
        serde_json::Value::String(s) => {
            if let Cow::Owned(o) = text_with(s, opts) {
                *s = o;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| json(x, opts)),
        serde_json::Value::Object(m) => {
            let old = std::mem::take(m);
            for (k, mut val) in old {
                match &mut val {
                    serde_json::Value::String(s) if is_secret_key(&k) && !s.is_empty() => {
                        *s = "***".into();
                    }
                    _ => json(&mut val, opts),
                }
                m.insert(text_with(&k, opts).into_owned(), val);
            }
        }
        _ => {}
    }
}

/// The last pass over a finished report, just before it is rendered or saved:
/// secrets (again; idempotent), user names with `opts.users`, and host
/// aliases with `opts.hosts`, in every field: findings, rule texts with what
/// was interpolated into them, areas, input summary and evidence.
pub fn report(r: &mut crate::report::Report, opts: Options) {
    // Rule texts are ours (a fix may say `http://USER:PASSWORD@PROXY:PORT`) and what
    // was interpolated into them was redacted before: only the user names and hosts
    // seen in the data are hidden there.
    let mut users = BTreeSet::new();
    for_each_string(r, &mut |s, user_data, _| {
        if user_data {
            if opts.users {
                collect_users(s, &mut users);
            }
            if let Cow::Owned(o) = text_with(s, opts) {
                *s = o;
            }
        }
    });
    if let Some(ev) = &mut r.evidence {
        if opts.users {
            collect_users_value(ev, &mut users);
        }
        json(ev, opts);
    }
    if !users.is_empty() {
        for_each_string(r, &mut |s, user_data, _| {
            if !user_data && let Cow::Owned(o) = hide_users(s, &users) {
                *s = o;
            }
        });
    }
    if opts.hosts {
        let mut a = Aliases::default();
        // What the machine or the log said decides which hosts are internal;
        // rule texts only name public or documentation hosts of their own.
        for_each_string(r, &mut |s, user_data, key| {
            if user_data {
                a.collect(s, key);
            }
        });
        if let Some(ev) = &r.evidence {
            a.collect_value(ev, None);
        }
        for_each_string(r, &mut |s, _, _| {
            if let Cow::Owned(o) = a.rewrite(s) {
                *s = o;
            }
        });
        if let Some(ev) = &mut r.evidence {
            a.rewrite_value(ev);
        }
    }
}

/// User names of URLs in `s` (`scheme://USER:pw@`, `//USER@`, `USER:pw@host`).
fn collect_users(s: &str, into: &mut BTreeSet<String>) {
    if !s.contains('@') {
        return;
    }
    let r = redactor();
    let n = r.rules.len();
    for re in [r.regex(n - 2), r.regex(n - 1), user_only()] {
        for c in re.captures_iter(s) {
            let u = cap(&c, 2);
            if !u.is_empty() && u != "***" {
                into.insert(u.to_string());
            }
        }
    }
}

fn collect_users_value(v: &serde_json::Value, into: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) => collect_users(s, into),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_users_value(x, into)),
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
            collect_users(k, into);
            collect_users_value(x, into);
        }),
        _ => {}
    }
}

/// `s` with each of `users` hidden where it stands as the user of a URL
/// (followed by `:` or `@`, not inside a longer word).
fn hide_users<'a>(s: &'a str, users: &BTreeSet<String>) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(s);
    for u in users {
        if !out.contains(u.as_str()) {
            continue;
        }
        let cur = out.into_owned();
        let mut next = String::with_capacity(cur.len());
        let mut at = 0;
        for (i, _) in cur.match_indices(u.as_str()) {
            let before = cur[..i].chars().next_back();
            let after = cur[i + u.len()..].chars().next();
            let word = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '%');
            if i >= at && !before.is_some_and(word) && matches!(after, Some(':' | '@')) {
                next.push_str(&cur[at..i]);
                next.push_str("***");
                at = i + u.len();
            }
        }
        next.push_str(&cur[at..]);
        out = Cow::Owned(next);
    }
    out
}

/// Every string of a report outside its evidence, with whether it is data
/// from the machine or the log (`true`) or a rule text (`false`), and the
/// entity name for entity values.
fn for_each_string(
    r: &mut crate::report::Report,
    f: &mut impl FnMut(&mut String, bool, Option<&str>),
) {
    if let Some(i) = &mut r.input {
        i.sources.iter_mut().for_each(|s| f(s, true, None));
        i.notes.iter_mut().for_each(|s| f(s, true, None));
        f(&mut i.encoding, true, None);
    }
    for a in &mut r.areas {
        f(&mut a.detail, true, None);
    }
    for x in &mut r.findings {
        let old = std::mem::take(&mut x.entities);
        for (mut k, mut v) in old {
            f(&mut v, true, Some(&k));
            f(&mut k, true, None);
            x.entities.insert(k, v);
        }
        for m in &mut x.matched {
            f(&mut m.text, true, None);
            if let Some(file) = &mut m.file {
                f(file, true, None);
            }
        }
        if let Some(st) = &mut x.status {
            f(&mut st.evidence, true, None);
        }
        f(&mut x.title, false, None);
        f(&mut x.explanation, false, None);
        for s in &mut x.remediation {
            f(&mut s.text, false, None);
            s.commands.iter_mut().for_each(|c| f(c, false, None));
        }
    }
}

/// Aliases every internal host name and private IP address in `v`
/// consistently (see [`Options::hosts`]); keys included.
pub fn hosts(v: &mut serde_json::Value) {
    let mut a = Aliases::default();
    a.collect_value(v, None);
    a.rewrite_value(v);
}

// ---------------------------------------------------------------------------
// Host aliasing

/// Public names kept as they are (the name or any subdomain of it).
const PUBLIC_SUFFIXES: &[&str] = &[
    "docker.io",
    "docker.com",
    "quay.io",
    "ghcr.io",
    "gcr.io",
    "pkg.dev",
    "k8s.io",
    "kubernetes.io",
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "mcr.microsoft.com",
    "microsoft.com",
    "public.ecr.aws",
    "registry.access.redhat.com",
    "redhat.io",
    "redhat.com",
    "cloudflare.com",
    "cloudflarestorage.com",
    "cloudfront.net",
    "fastly.net",
    "googleapis.com",
    "google.com",
    "dns.google",
    "golang.org",
    "go.dev",
    "letsencrypt.org",
    "cloudflare-dns.com",
    "quad9.net",
    "opendns.com",
    "ubuntu.com",
    "debian.org",
    "alpinelinux.org",
    "fedoraproject.org",
    "centos.org",
    "lima-vm.io",
    "daocloud.io",
    "163.com",
    "ustc.edu.cn",
    "nju.edu.cn",
    "sjtu.edu.cn",
    "docker-cn.com",
    "tencentyun.com",
    "baidubce.com",
    "qiniu.com",
    "azk8s.cn",
    "dockerproxy.com",
    "example.com",
    "example.org",
    "example.net",
    "example",
    "invalid",
    "localhost",
    "docker.internal",
    "lima.internal",
    "containers.internal",
    "redacted",
];

/// Private addresses every machine of a kind has; they say nothing about the
/// user's network (and rule texts name them).
fn well_known_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            matches!(
                o,
                [192, 168, 5, 2] // Lima / Colima: the host seen from the VM
                    | [192, 168, 5, 15] // Lima guest
                    | [10, 0, 2, 2] // QEMU / VirtualBox slirp gateway
                    | [10, 0, 2, 3]
                    | [10, 0, 2, 15]
                    | [172, 17, 0, 1] // docker0
                    | [169, 254, 169, 254] // cloud metadata
                    | [10, 96, 0, 1] // Kubernetes service defaults
                    | [10, 96, 0, 10]
                    | [10, 0, 0, 0] // the private blocks themselves (NO_PROXY CIDRs)
                    | [172, 16, 0, 0]
                    | [192, 168, 0, 0]
                    | [100, 64, 0, 0]
                    | [169, 254, 0, 0]
                    | [192, 168, 65, _] // Docker Desktop's VM network
            )
        }
        IpAddr::V6(v6) => v6.segments()[0] == 0xfc00 && v6.segments()[1..].iter().all(|s| *s == 0),
    }
}

fn private_ip(ip: IpAddr) -> bool {
    if well_known_ip(ip) {
        return false;
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_ip(IpAddr::V4(v4));
            }
            let s0 = v6.segments()[0];
            (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfe80
        }
    }
}

/// File extensions that make `name.ext` a file, not a host.
const FILE_EXTS: &[&str] = &[
    "json",
    "conf",
    "cfg",
    "yaml",
    "yml",
    "toml",
    "ini",
    "service",
    "socket",
    "sock",
    "target",
    "mount",
    "timer",
    "slice",
    "scope",
    "path",
    "log",
    "txt",
    "md",
    "sh",
    "bash",
    "py",
    "go",
    "rs",
    "js",
    "ts",
    "html",
    "htm",
    "xml",
    "crt",
    "pem",
    "key",
    "cert",
    "csr",
    "der",
    "p12",
    "pfx",
    "gz",
    "tgz",
    "tar",
    "zip",
    "xz",
    "bz2",
    "zst",
    "deb",
    "rpm",
    "so",
    "exe",
    "dll",
    "bak",
    "old",
    "orig",
    "tmp",
    "swp",
    "lock",
    "pid",
    "env",
    "list",
    "repo",
    "img",
    "iso",
    "qcow2",
    "raw",
    "vhdx",
    "ps1",
    "bat",
    "cmd",
    "resw",
    "plist",
    "mod",
    "sum",
    "new",
    "dpkg",
    "rpmnew",
    "rpmsave",
    "lst",
    "cnf",
    "properties",
    "jar",
    "whl",
    "d",
];

/// First labels of reverse-DNS identifiers (`io.containerd.grpc.v1.cri`).
const REVERSE_DNS: &[&str] = &["io", "org", "com", "net", "dev", "sh", "app", "de", "uk"];

fn is_alias(t: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    t.ends_with(".redacted")
        || t.strip_prefix("host-").is_some_and(num)
        || t.strip_prefix("private-ip-").is_some_and(num)
        || t.strip_prefix("private-ipv6-").is_some_and(num)
}

fn valid_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

fn public_name(name: &str) -> bool {
    PUBLIC_SUFFIXES.iter().any(|p| {
        name == *p
            || (name.len() > p.len()
                && name.ends_with(p)
                && name.as_bytes()[name.len() - p.len() - 1] == b'.')
    }) || name.ends_with(".localhost")
}

/// Words and names of the rule catalogue's own texts: documentation names
/// (`host.docker.internal`, `mirror.gcr.io`, `registry.lan`) and ordinary
/// words a single-label host may be called (`proxy`, `registry`).
fn vocabulary() -> &'static BTreeSet<String> {
    static V: OnceLock<BTreeSet<String>> = OnceLock::new();
    V.get_or_init(|| {
        let mut v = BTreeSet::new();
        let Ok(cat) = crate::rules::Catalog::builtin() else {
            return v;
        };
        let mut add = |s: &str| {
            for (_, _, t) in runs(s) {
                v.insert(t.to_ascii_lowercase());
            }
        };
        for r in &cat.rules {
            for t in [&r.title, &r.explanation] {
                add(&t.en);
                add(&t.zh);
            }
            for f in &r.fix {
                add(&f.en);
                add(&f.zh);
                f.commands.iter().for_each(|c| add(c));
            }
            r.docs.iter().for_each(|d| add(d));
            r.defaults.values().for_each(|d| add(d));
        }
        v
    })
}

/// A dotted name that is a host of the user's network: valid labels, an
/// alphabetic last label that is no file extension, not a reverse-DNS id,
/// not code (`net.DNSError`), not public, not a documentation name.
fn internal_dotted(t: &str) -> bool {
    let labels: Vec<&str> = t.split('.').collect();
    if labels.len() < 2 || t.len() > 253 || !labels.iter().all(|l| valid_label(l)) {
        return false;
    }
    let last = labels[labels.len() - 1];
    if last.len() < 2 || !last.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return false;
    }
    if !last.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return false;
    }
    // CamelCase last label: Go or Python identifiers (`url.Parse`).
    let upper = last.bytes().filter(u8::is_ascii_uppercase).count();
    if upper > 0 && upper < last.len() && !last.bytes().all(|b| b.is_ascii_uppercase()) {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    let last_l = last.to_ascii_lowercase();
    if FILE_EXTS.contains(&last_l.as_str()) {
        return false;
    }
    if labels.len() >= 3 && REVERSE_DNS.contains(&labels[0].to_ascii_lowercase().as_str()) {
        return false;
    }
    !public_name(&lower) && !vocabulary().contains(&lower) && !is_alias(&lower)
}

/// A single-label host found in a host position (`http://nexus:8081`).
fn internal_single(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    valid_label(t)
        && t.len() >= 2
        && t.bytes().any(|b| b.is_ascii_alphabetic())
        && !public_name(&lower)
        && !vocabulary().contains(&lower)
        && !is_alias(&lower)
}

/// Maximal runs of host characters in `s`: (start, end, token) with leading
/// and trailing dots, dashes and underscores trimmed.
fn runs(s: &str) -> Vec<(usize, usize, &str)> {
    let b = s.as_bytes();
    let hostch = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !hostch(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && hostch(b[i]) {
            i += 1;
        }
        let trim = |c: char| matches!(c, '.' | '-' | '_');
        let run = &s[start..i];
        let t = run.trim_start_matches(trim);
        let lead = run.len() - t.len();
        let t = t.trim_end_matches(trim);
        if !t.is_empty() {
            out.push((start + lead, start + lead + t.len(), t));
        }
    }
    out
}

/// Candidate IPv6 addresses: runs of hex digits, colons and dots with at least
/// two colons, an optional `%zone`.
fn v6_candidates(s: &str) -> Vec<(usize, usize, Ipv6Addr)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[0-9A-Za-z]+)?")
            .expect("static regex")
    });
    let mut out = Vec::new();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '-'));
    for m in re.find_iter(s) {
        // Inside a longer word (`fe80::1o`, `x-dead:beef::1`) it is no address.
        if word(s[..m.start()].chars().next_back()) || word(s[m.end()..].chars().next()) {
            continue;
        }
        let t = m.as_str();
        let addr = t.split('%').next().unwrap_or(t);
        if let Ok(ip) = addr.trim_end_matches('.').parse::<Ipv6Addr>() {
            out.push((m.start(), m.start() + addr.trim_end_matches('.').len(), ip));
        }
    }
    out
}

/// Host positions in free text that may name a single-label host.
fn structural() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?i)(?:",
            // URL authority: [scheme:]//[userinfo@]HOST
            r"(?:(?-u:\b)[a-z][a-z0-9+.-]*:)?//(?:[^/\s@]*@)?([A-Za-z0-9_-]+)(?:[:/\s\x22'\]?#]|$)",
            // Go's dialer and resolver (`dial tcp HOST:PORT`, `lookup HOST on`), user@HOST
            r"|(?-u:\b)dial (?:tcp|udp)[46]? ([A-Za-z0-9_-]+):\d|(?-u:\b)lookup ([A-Za-z0-9_-]+)(?: on |: )",
            r"|[\w*]@([A-Za-z0-9-]+)(?::\d|\s|$)",
            // a syslog / journal prefix: `Mar  3 10:00:01 HOST dockerd[1]:`
            r"|^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([A-Za-z0-9_-]+) ",
            // NO_PROXY=a,b,c
            r"|(?-u:\b)no[_-]?proxy\x22?\s*[=:]\s*[\x22']?([^\s\x22']+)",
            r")"
        ))
        .expect("static regex")
    })
}

/// JSON keys whose string values are host names or lists of them.
const HOST_KEYS: &[&str] = &[
    "hostname",
    "host",
    "hosts",
    "registry",
    "registries",
    "mirror",
    "mirrors",
    "registry_mirrors",
    "registry-mirrors",
    "insecure_registries",
    "insecure-registries",
    "names",
    "nameservers",
    "search",
    "domain",
    "server_name",
    "proxy_host",
    "no_proxy",
    "noproxy",
    "no-proxy",
    "auths_registries",
    "credhelpers",
    "cred_helpers",
    "address",
    "server",
    "ip",
    "proxy",
    "endpoint",
];

fn host_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    HOST_KEYS.contains(&k.as_str()) || ["host", "registr", "mirror"].iter().any(|w| k.contains(w))
}

#[derive(Default)]
struct Aliases {
    /// Lowercased internal name → alias.
    names: BTreeMap<String, String>,
    ips: BTreeMap<IpAddr, String>,
    /// Domain (last two labels) → number; first labels and single-label
    /// hosts → number.
    domains: BTreeMap<String, usize>,
    labels: BTreeMap<String, usize>,
    v4: usize,
    v6: usize,
}

impl Aliases {
    fn name(&mut self, t: &str) {
        let lower = t.to_ascii_lowercase();
        if self.names.contains_key(&lower) {
            return;
        }
        let labels: Vec<&str> = lower.split('.').collect();
        let alias = if labels.len() == 1 {
            format!("host-{}", self.label(&lower))
        } else {
            // Keep a country-code second level (`corp.co.uk`) in the domain.
            let n = labels.len();
            let base_len = if n >= 3
                && labels[n - 1].len() == 2
                && ["co", "com", "org", "net", "ac", "gov", "edu"].contains(&labels[n - 2])
            {
                3
            } else {
                2
            };
            let base = labels[n.saturating_sub(base_len)..].join(".");
            let next = self.domains.len() + 1;
            let d = *self.domains.entry(base).or_insert(next);
            if n > base_len {
                let prefix = labels[..n - base_len].join(".");
                format!("host-{}.domain-{d}.redacted", self.label(&prefix))
            } else {
                format!("domain-{d}.redacted")
            }
        };
        self.names.insert(lower, alias);
    }

    fn label(&mut self, l: &str) -> usize {
        let next = self.labels.len() + 1;
        *self.labels.entry(l.to_string()).or_insert(next)
    }

    fn ip(&mut self, ip: IpAddr) {
        if self.ips.contains_key(&ip) {
            return;
        }
        let alias = match ip {
            IpAddr::V4(_) => {
                self.v4 += 1;
                format!("private-ip-{}", self.v4)
            }
            IpAddr::V6(_) => {
                self.v6 += 1;
                format!("private-ipv6-{}", self.v6)
            }
        };
        self.ips.insert(ip, alias);
    }

    /// A host named in a host position, maybe with scheme, userinfo, port,
    /// path or a NO_PROXY decoration (`.corp`, `*.corp`, `10.0.0.0/8`).
    fn host_item(&mut self, item: &str) {
        let h = crate::evidence::host_of(item.trim_start_matches(['*', '.'])).unwrap_or_default();
        let h = h
            .split('/')
            .next()
            .unwrap_or("")
            .trim_start_matches(['*', '.']);
        if !h.contains('.') && !h.contains(':') && internal_single(h) {
            self.name(h);
        }
    }

    fn collect(&mut self, s: &str, key: Option<&str>) {
        for (_, _, ip) in v6_candidates(s) {
            if private_ip(IpAddr::V6(ip)) {
                self.ip(IpAddr::V6(ip));
            }
        }
        for (_, _, t) in runs(s) {
            if let Ok(v4) = t.parse::<Ipv4Addr>() {
                if private_ip(IpAddr::V4(v4)) {
                    self.ip(IpAddr::V4(v4));
                }
            } else if t.contains('.') && internal_dotted(t) {
                self.name(t);
            }
        }
        if s.len() > 64 * 1024 {
            return;
        }
        for c in structural().captures_iter(s) {
            for i in 1..=5 {
                if let Some(m) = c.get(i) {
                    self.host_item(m.as_str());
                }
            }
            if let Some(m) = c.get(6) {
                m.as_str().split(',').for_each(|x| self.host_item(x));
            }
        }
        if let Some(k) = key
            && host_key(k)
        {
            s.split([',', ' ', '\t', '\n', ';'])
                .filter(|x| !x.is_empty())
                .for_each(|x| self.host_item(x));
        }
    }

    fn collect_value(&mut self, v: &serde_json::Value, key: Option<&str>) {
        match v {
            serde_json::Value::String(s) => self.collect(s, key),
            serde_json::Value::Array(a) => a.iter().for_each(|x| self.collect_value(x, key)),
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    self.collect(k, None);
                    // `{"hostname": {"value": "box"}}`: the value belongs to its parent's key.
                    let ctx = if k == "value" { key } else { Some(k.as_str()) };
                    self.collect_value(x, ctx);
                }
            }
            _ => {}
        }
    }

    /// `s` with every collected host replaced by its alias.
    fn rewrite<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.names.is_empty() && self.ips.is_empty() {
            return Cow::Borrowed(s);
        }
        let mut edits: Vec<(usize, usize, &str)> = Vec::new();
        for (a, b, ip) in v6_candidates(s) {
            if let Some(alias) = self.ips.get(&IpAddr::V6(ip)) {
                edits.push((a, b, alias));
            }
        }
        for (a, b, t) in runs(s) {
            if edits.iter().any(|(x, y, _)| a < *y && b > *x) {
                continue;
            }
            let alias = match t.parse::<Ipv4Addr>() {
                Ok(v4) => self.ips.get(&IpAddr::V4(v4)),
                Err(_) => self.names.get(&t.to_ascii_lowercase()),
            };
            if let Some(alias) = alias {
                edits.push((a, b, alias));
            }
        }
        if edits.is_empty() {
            return Cow::Borrowed(s);
        }
        edits.sort_by_key(|e| e.0);
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (a, b, alias) in edits {
            if a < at {
                continue;
            }
            out.push_str(&s[at..a]);
            out.push_str(alias);
            at = b;
        }
        out.push_str(&s[at..]);
        Cow::Owned(out)
    }

    fn rewrite_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let Cow::Owned(o) = self.rewrite(s) {
                    *s = o;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite_value(x)),
            serde_json::Value::Object(m) => {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    self.rewrite_value(&mut x);
                    m.insert(self.rewrite(&k).into_owned(), x);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every match of a rule holds one of its triggers: on secrets of every
    /// shape, the repository's logs and fuzz inputs, each also upper- and
    /// lower-cased, a rule that matches is always a candidate.
    #[test]
    fn triggers_are_necessary() {
        let mut inputs: Vec<String> = [
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
            "Proxy-Authorization: Basic YWxpY2U6czNjcmV0",
            "X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==",
            "{\"Authorization\":[\"Bearer abc.def\"]}",
            "PRIVATE-TOKEN: glpat-abc JOB-TOKEN=x X-Api-Key: k x-auth-token=t",
            "authorization: Digest username=\"a\", response=\"b\"",
            "Bearer AbCdEfGh12345678 basic QWxhZGRpbjpvcGVu",
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
            "https://h/b?X-Amz-Signature=abc&X-Amz-Credential=AKIA/x&sig=s&se=2026&verify=v&token=t",
            "GET /token?access_token=a&refresh_token=b&id_token=c&key=k&apikey=x&api_key=y&auth=z",
            "x-goog-signature=a x-goog-credential=b signature=c client_secret=d awsaccesskeyid=e",
            "password=p passwd=q pwd=r secret=s x-amz-security-token=t",
            "{\"auth\": \"YWxpY2U6cw==\", \"identitytoken\": \"x\", 'registrytoken': 'y'}",
            "\\\"identity_token\\\":\\\"z\\\" \"registry_token\": \"w\"",
            "auth = \"abc\"\npassword: hunter22\n  secret_access_key = k\n api_key: v",
            "(client_secret=abcd, private_key: xyz1, aws_secret_access_key=q)",
            "DB_PASSWORD=x GITHUB_TOKEN=y MY_PASS=z X_PWD=w API_KEY=v APIKEY=u ACCESS_KEY=t",
            "SECRET_KEY=s PRIVATE_KEY=r CREDENTIALS=q CREDENTIAL=p GITLAB_PAT=o",
            "--password s3 --passwd x --token=t --secret y --registry-token r --identity-token i",
            "--access-token a --api-key k --Password=Q",
            "curl -u alice:s3cret -U bob:pw --user c:d --proxy-user e:f",
            "AccountKey=abc;SharedAccessKey=def;SharedAccessSignature=sv=1",
            "AKIAABCDEFGHIJKLMNOP ASIAABCDEFGHIJKLMNOP ABIAABCDEFGHIJKLMNOP ACCAABCDEFGHIJKLMNOP",
            "ghp_abcdefghijklmnopqrstuvwxyz gho_abcdefghijklmnopqrstuv ghs_abcdefghijklmnopqrstuv",
            "ghu_abcdefghijklmnopqrstuv ghr_abcdefghijklmnopqrstuv github_pat_abcdefghijklmnopqrstuvw",
            "glpat-abcdefghijklmnopqrst gldt-abcdefghijklmnopqrst glagent-abcdefghijklmnopqrst",
            "glrt-abcdefghijklmnopqrstu glptt-abcdefghijklmnopqrst glsoat-abcdefghijklmnopqrst",
            "glcbt-abcdefghijklmnopqrst glft-abcdefghijklmnopqrstu glimt-abcdefghijklmnopqrst",
            "gloas-abcdefghijklmnopqrst glffct-abcdefghijklmnopqrst dckr_pat_abcdefghijklmnopq",
            "AIzaSyA-abcdefghijklmnopqrstuvwxyz012345 xoxb-1234567890-abc npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "hf_abcdefghijklmnopqrstuvwxyz01234 sk-proj-abcdefghijklmnopqrstu sk-ant-abcdefghijklmnopqrstuv",
            "HTTPS_PROXY=http://alice:S3cret@proxy:8080 //bob:pw@h alice:pw@proxy:3128",
            "socks5h://u:p@h nginx:1.25@sha256:abc",
            "password\u{3000}: hunter22 token\u{a0}= abcdef",
            "  auth\u{2009}= abcdef\n\tsecret\u{85}: xyz123",
            "{\\\"Password\\\": \\\"x\\\"} {'Secret': 'y'} (api_key\u{2028}= zzz)",
            "x\n \u{3000}password = a\r\n\tauth: b\n\n  token\t:\tc",
            "not at start: token = x; client_secret\u{a0}: yyy",
            "anonymous token: Get auth.docker.io/token?scope=x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["fixtures/fuzz/redact", "fixtures/explain", "fixtures/lab"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
                inputs.extend(String::from_utf8_lossy(&bytes).lines().map(String::from));
            }
        }
        let r = redactor();
        let mut checked = 0;
        for input in &inputs {
            for s in [input.clone(), input.to_uppercase(), input.to_lowercase()] {
                let bits = r.candidates(&s);
                for i in 0..r.rules.len() {
                    if r.regex(i).is_match(&s) {
                        checked += 1;
                        assert!(
                            bits & (1 << i) != 0,
                            "rule {i} ({}) matches {s:?} but none of {:?} occurs",
                            r.rules[i].pattern,
                            r.rules[i].triggers.lits
                        );
                    }
                }
            }
        }
        // Every rule was exercised.
        for i in 0..r.rules.len() {
            assert!(
                inputs.iter().any(|s| r.regex(i).is_match(s)),
                "no input matches rule {i} ({})",
                r.rules[i].pattern
            );
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn proxy_password_keeps_user() {
        assert_eq!(
            text("HTTPS_PROXY=http://alice:S3cret@proxy:8080"),
            "HTTPS_PROXY=http://alice:***@proxy:8080"
        );
        let o = Options {
            users: true,
            hosts: false,
        };
        assert_eq!(
            text_with("http://alice:S3cret@proxy:8080", o),
            "http://***:***@proxy:8080"
        );
        assert_eq!(
            text_with("http://alice@proxy:8080", o),
            "http://***@proxy:8080"
        );
    }

    #[test]
    fn password_with_at_and_schemeless() {
        // Go splits at the last `@`.
        assert_eq!(
            text("http://alice:p@ss@proxy:8080/x@y"),
            "http://alice:***@proxy:8080/x@y"
        );
        assert_eq!(
            text("http://us@r:pw@proxy:8080"),
            "http://us@r:***@proxy:8080"
        );
        assert_eq!(
            text("HTTPS_PROXY=alice:S3cret@proxy:3128"),
            "HTTPS_PROXY=alice:***@proxy:3128"
        );
        let image = "pulling nginx:1.25@sha256:0123456789abcdef0123456789abcdef";
        assert_eq!(text(image), image);
        // Found by fuzzing: an empty user, a host Go accepts but that is not ASCII.
        assert_eq!(text(":p@ss@registry.corp"), "***:***@registry.corp");
        assert_eq!(text("alice:pPss@ћ.0.0.5:3128"), "alice:***@ћ.0.0.5:3128");
        assert_eq!(text("//bob:pw@squid:3128"), "//bob:***@squid:3128");
        assert_eq!(text("co~@1alice:p@ss@h:3128"), "co~@1alice:***@h:3128");
        assert_eq!(text("alica:127.p@],.local"), "alica:***@],.local");
        assert_eq!(text("u:pw@[::1]:3128"), "u:***@[::1]:3128");
    }

    #[test]
    fn signed_blob_url() {
        let s = r#"Get "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/19/19fa/data?verify=1724172530-5QFH8JiRFjY5RRAQqyHkaNW0Kb4%3D": dial tcp"#;
        let r = text(s);
        assert!(!r.contains("5QFH8"), "{r}");
        assert!(r.contains("data?verify=***\": dial tcp"), "{r}");
    }

    #[test]
    fn tokens_and_headers() {
        for (input, secret) in [
            ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
            (
                "Proxy-Authorization: Basic YWxpY2U6czNjcmV0",
                "YWxpY2U6czNjcmV0",
            ),
            (
                r#"{"Authorization":["Basic YWxpY2U6czNjcmV0"]}"#,
                "YWxpY2U6czNjcmV0",
            ),
            (
                r#"Authorization: Digest username="a", response="6629fae49393a05397450978507c4ef1""#,
                "6629fae4",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                "eyJzdWIiOiIxIn0",
            ),
            (
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#,
                "dXNlcjpwYXNz",
            ),
            (r#"{\"identitytoken\":\"abcd1234\"}"#, "abcd1234"),
            ("registrytoken: abcd1234", "abcd1234"),
            ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
            (
                "ghp_abcdefghijklmnopqrstuvwxyz0123",
                "abcdefghijklmnopqrstuvwxyz0123",
            ),
            ("glpat-abcdefghijklmnopqrstu", "abcdefghijklmnopqrstu"),
            (
                "X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AK%2F",
                "deadbeefcafe",
            ),
            ("?sv=2021&se=2024-01-01T00%3A00Z&sig=abcDEF%2B", "abcDEF"),
            ("token=\"quoted-secret\"", "quoted-secret"),
            ("curl -u alice:hunter22 https://x", "hunter22"),
        ] {
            let r = text(input);
            assert!(!r.contains(secret), "{input} -> {r}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for s in [
            "failed to authorize: failed to fetch anonymous token: Get \"https://auth.docker.io/token?scope=repository%3Alibrary%2Fdebian%3Apull&service=registry.docker.io\": proxyconnect tcp",
            "no basic auth credentials",
            "Basic authentication is required; a bearer token was refused",
            "Www-Authenticate: Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"",
        ] {
            assert_eq!(text(s), s);
        }
    }

    #[test]
    fn secret_keys_in_json() {
        let mut v = serde_json::json!({"vars": {"GITHUB_TOKEN": "zzz", "HTTPS_PROXY": "http://a:b@p:1"}, "token_url": "https://auth.docker.io/token"});
        json(&mut v, Options::default());
        assert_eq!(v["vars"]["GITHUB_TOKEN"], "***");
        assert_eq!(v["vars"]["HTTPS_PROXY"], "http://a:***@p:1");
        assert_eq!(v["token_url"], "https://auth.docker.io/token");
    }

    #[test]
    fn hosts_are_aliased_consistently() {
        let mut v = serde_json::json!({
            "a": "dial tcp 10.1.2.3:3128 via http://squid01:3128 to registry.acme.lan",
            "no_proxy": ".acme.lan,nexus01",
            "b": ["lookup registry.acme.lan on 10.1.2.3:53", "registry-1.docker.io 127.0.0.1 192.168.5.2 nexus01"],
            "c": "see /etc/docker/daemon.json and io.containerd.grpc.v1.cri, url.Parse",
        });
        hosts(&mut v);
        let s = v.to_string();
        for gone in [
            "10.1.2.3",
            "squid01",
            "registry.acme",
            "acme.lan",
            "nexus01",
        ] {
            assert!(!s.contains(gone), "{gone}: {s}");
        }
        for kept in [
            "registry-1.docker.io",
            "127.0.0.1",
            "192.168.5.2",
            "daemon.json",
            "io.containerd.grpc.v1.cri",
            "url.Parse",
        ] {
            assert!(s.contains(kept), "{kept}: {s}");
        }
        assert_eq!(
            v["a"],
            "dial tcp private-ip-1:3128 via http://host-2:3128 to host-1.domain-1.redacted"
        );
        assert_eq!(v["no_proxy"], ".domain-1.redacted,host-3");
        assert_eq!(
            v["b"][0],
            "lookup host-1.domain-1.redacted on private-ip-1:53"
        );
        // An address inside a longer word is none (found by fuzzing).
        let mut w = serde_json::json!({"a": "via fe80::1o and fe80::2 dev eth0"});
        hosts(&mut w);
        assert_eq!(w["a"], "via fe80::1o and private-ipv6-1 dev eth0");
        // Idempotent.
        let before = v.clone();
        hosts(&mut v);
        assert_eq!(v, before);
    }
}
