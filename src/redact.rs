//! Secret redaction. Every string that leaves pulldoctor (report fields,
//! matched log lines, evidence, error messages) goes through [`text`].
//!
//! Proxy passwords keep the user name (`http://alice:***@proxy:8080`) unless
//! [`Options::users`] is set; tokens, signatures and keys are replaced whole.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

/// How much to hide beyond secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also hide user names in URLs (`--redact-users`).
    pub users: bool,
}

struct Redactor {
    set: RegexSet,
    rules: Vec<(Regex, &'static str)>,
}

// (pattern, replacement). Order matters: earlier rules run first.
const RULES: &[(&str, &str)] = &[
    // PEM private keys.
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        "-----BEGIN PRIVATE KEY----- *** -----END PRIVATE KEY-----",
    ),
    // Authorization headers, whatever the scheme.
    (
        r"(?i)\b((?:proxy-)?authorization)(\s*[:=]\s*)(?:(basic|bearer|negotiate|ntlm|digest|token)\s+)?[^\s,;]+",
        "$1$2$3 ***",
    ),
    // Bearer tokens on their own.
    (r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}", "$1 ***"),
    // JSON Web Tokens.
    (
        r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        "eyJ***",
    ),
    // Signed URL parameters and token parameters (Docker blob `verify=`, S3, Azure SAS).
    (
        r"(?i)((?:^|[?&;\s\x22'])(?:token|access_token|refresh_token|id_token|x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|se|verify|key|password|passwd|secret|client_secret)=)[^&\s\x22'<>]+",
        "$1***",
    ),
    // docker config.json credentials.
    (
        r#"(?i)("(?:auth|identitytoken|registrytoken|password|secret)"\s*:\s*")[^"]*""#,
        "$1***\"",
    ),
    // key=value secrets in env dumps and command lines.
    (
        r"(?i)\b((?:[a-z0-9_]*_)?(?:password|passwd|secret|token|api_?key|access_key))=[^\s,;\x22']+",
        "$1=***",
    ),
    // Cloud and forge keys.
    (r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "$1***"),
    (r"\b(ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}", "${1}_***"),
    (r"\bgithub_pat_[A-Za-z0-9_]{20,}", "github_pat_***"),
    (r"\bglpat-[A-Za-z0-9_-]{20,}", "glpat-***"),
    (r"\bdckr_pat_[A-Za-z0-9_-]{16,}", "dckr_pat_***"),
];

// userinfo in URLs: scheme://user:password@host
const USERINFO: &str = r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@\x22'<>]*):([^/\s@\x22'<>]*)@";
const USERINFO_USER_ONLY: &str = r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@\x22'<>]+)@";

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        let mut pats: Vec<&str> = RULES.iter().map(|(p, _)| *p).collect();
        pats.push(USERINFO);
        pats.push(USERINFO_USER_ONLY);
        Redactor {
            set: RegexSet::new(&pats).expect("redaction patterns compile"),
            rules: RULES
                .iter()
                .map(|(p, r)| (Regex::new(p).expect("redaction pattern compiles"), *r))
                .collect(),
        }
    })
}

fn userinfo_res() -> &'static (Regex, Regex) {
    static R: OnceLock<(Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        (
            Regex::new(USERINFO).expect("static regex"),
            Regex::new(USERINFO_USER_ONLY).expect("static regex"),
        )
    })
}

/// Redacts secrets in `s` with default options.
pub fn text(s: &str) -> Cow<'_, str> {
    text_with(s, Options::default())
}

/// Redacts secrets in `s`.
pub fn text_with(s: &str, opts: Options) -> Cow<'_, str> {
    let r = redactor();
    let hits = r.set.matches(s);
    if !hits.matched_any() {
        return Cow::Borrowed(s);
    }
    let mut out = s.to_string();
    for (i, (re, rep)) in r.rules.iter().enumerate() {
        if hits.matched(i) {
            out = re.replace_all(&out, *rep).into_owned();
        }
    }
    let (ui, user_only) = userinfo_res();
    out = ui
        .replace_all(&out, |c: &regex::Captures| {
            let user = if opts.users || c[2].is_empty() {
                "***"
            } else {
                &c[2]
            };
            format!("{}{}:***@", &c[1], user)
        })
        .into_owned();
    if opts.users {
        out = user_only.replace_all(&out, "${1}***@").into_owned();
    }
    Cow::Owned(out)
}

/// Redacts every string inside a JSON value, keys included.
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
                json(&mut val, opts);
                m.insert(text_with(&k, opts).into_owned(), val);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_password_keeps_user() {
        assert_eq!(
            text("HTTPS_PROXY=http://alice:S3cret@proxy:8080"),
            "HTTPS_PROXY=http://alice:***@proxy:8080"
        );
        let o = Options { users: true };
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
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                "eyJzdWIiOiIxIn0",
            ),
            (
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#,
                "dXNlcjpwYXNz",
            ),
            ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
            (
                "ghp_abcdefghijklmnopqrstuvwxyz0123",
                "abcdefghijklmnopqrstuvwxyz0123",
            ),
            (
                "X-Amz-Signature=deadbeefcafe&X-Amz-Credential=AK%2F",
                "deadbeefcafe",
            ),
        ] {
            let r = text(input);
            assert!(!r.contains(secret), "{input} -> {r}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        let s = "failed to authorize: failed to fetch anonymous token: Get \"https://auth.docker.io/token?scope=repository%3Alibrary%2Fdebian%3Apull&service=registry.docker.io\": proxyconnect tcp";
        assert_eq!(text(s), s);
    }
}
