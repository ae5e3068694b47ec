//! `/etc/docker/daemon.json`: strict JSON, as dockerd reads it.
//!
//! dockerd (`daemon/config/config.go`, `getConflictFreeConfiguration`) decodes a UTF-8 or
//! UTF-16 byte-order mark, trims whitespace, treats an empty file as an empty
//! configuration, and otherwise requires strict JSON: a `//` comment or a trailing comma
//! stops the daemon with `unable to configure the Docker daemon with file …`. Those two
//! mistakes (pasted from blog posts) get a dedicated [`JsonHintKind`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fsread::Fs;
use super::{FILE_CAP, NoteKind, Source};

/// Parse outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum JsonStatus {
    /// Parsed; the fields below are filled.
    #[default]
    Valid,
    /// Empty or only whitespace: dockerd accepts it as an empty configuration.
    Empty,
    /// Not valid JSON, or not a JSON object: dockerd refuses to start.
    Invalid,
}

/// A JSON syntax error, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct JsonSyntaxError {
    /// The parser's message (serde_json wording, not Go's).
    pub message: String,
    /// 1-based line and column of the error.
    pub line: usize,
    pub column: usize,
    /// The text of that line (trimmed, at most 200 characters).
    pub line_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonHintKind {
    /// `// …` outside a string.
    LineComment,
    /// `/* … */` outside a string.
    BlockComment,
    /// `,` followed by `}` or `]`.
    TrailingComma,
    /// `'` outside a string (JSON needs double quotes).
    SingleQuote,
    /// Full-width punctuation (`，：“”｛｝［］`) outside a string, typical of text copied
    /// from a Chinese web page or an IME.
    FullwidthPunctuation,
}

/// A likely cause of a syntax error, with its position (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonHint {
    pub kind: JsonHintKind,
    pub line: usize,
    pub column: usize,
}

/// The `"proxies"` object (Docker Engine 23.0+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DaemonProxies {
    #[serde(rename = "http-proxy")]
    pub http_proxy: Option<String>,
    #[serde(rename = "https-proxy")]
    pub https_proxy: Option<String>,
    #[serde(rename = "no-proxy")]
    pub no_proxy: Option<String>,
}

/// What daemon.json says (only the keys pulldoctor's rules use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DaemonJson {
    pub source: Source,
    pub status: JsonStatus,
    /// Byte-order mark found: `utf-8`, `utf-16le` or `utf-16be` (dockerd decodes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonSyntaxError>,
    /// Likely causes of the syntax error, from a lexical scan (only for invalid input).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<JsonHint>,
    /// Top-level keys, sorted.
    pub keys: Vec<String>,
    pub proxies: Option<DaemonProxies>,
    pub registry_mirrors: Vec<String>,
    pub insecure_registries: Vec<String>,
    pub dns: Vec<String>,
    pub live_restore: Option<bool>,
    /// `"features"`, e.g. `containerd-snapshotter: true`.
    pub features: BTreeMap<String, bool>,
    /// `"hosts"`: conflicts with `-H fd://` in the stock unit (dockerd refuses to start).
    pub hosts: Vec<String>,
    pub max_concurrent_downloads: Option<i64>,
    /// Known keys with the wrong JSON type (dockerd fails with `json: cannot unmarshal …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_errors: Vec<String>,
}

impl DaemonJson {
    /// `features.containerd-snapshotter`, when set.
    pub fn containerd_snapshotter(&self) -> Option<bool> {
        self.features.get("containerd-snapshotter").copied()
    }
}

/// Strip a byte-order mark and decode to a string (UTF-8, UTF-16 LE/BE with BOM).
/// Returns the text, the BOM name, or an error for undecodable bytes.
pub fn decode_bom(bytes: &[u8]) -> Result<(String, Option<&'static str>), String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec())
            .map(|s| (s, Some("utf-8")))
            .map_err(|e| e.to_string());
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String, String> {
        if !rest.len().is_multiple_of(2) {
            return Err("odd number of bytes in UTF-16 text".into());
        }
        let units = rest.chunks(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| e.to_string())
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true).map(|s| (s, Some("utf-16le")));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false).map(|s| (s, Some("utf-16be")));
    }
    String::from_utf8(bytes.to_vec())
        .map(|s| (s, None))
        .map_err(|e| format!("not valid UTF-8: {e}"))
}

/// Parse daemon.json text (a leading U+FEFF is stripped and reported as a UTF-8 BOM).
pub fn parse_daemon_json(text: &str) -> DaemonJson {
    let mut dj = DaemonJson::default();
    let text = match text.strip_prefix('\u{FEFF}') {
        Some(t) => {
            dj.bom = Some("utf-8".into());
            t
        }
        None => text,
    };
    if text.trim().is_empty() {
        dj.status = JsonStatus::Empty;
        return dj;
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            dj.status = JsonStatus::Invalid;
            dj.error = Some(syntax_error(text, &e, true));
            dj.hints = lexical_hints(text);
            return dj;
        }
    };
    let Value::Object(obj) = value else {
        dj.status = JsonStatus::Invalid;
        dj.error = Some(JsonSyntaxError {
            message: format!("top level is {}, not an object", kind_name(&value)),
            line: 1,
            column: 1,
            line_text: first_line(text),
        });
        return dj;
    };
    dj.keys = obj.keys().cloned().collect();
    let mut type_err = |key: &str, want: &str, got: &Value| {
        dj.type_errors.push(format!(
            "\"{key}\": expected {want}, found {}",
            kind_name(got)
        ));
    };
    let strings = |key: &str, te: &mut dyn FnMut(&str, &str, &Value)| -> Vec<String> {
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                if a.iter().any(|x| !x.is_string()) {
                    te(key, "array of strings", &Value::Array(a.clone()));
                }
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            }
            Some(other) => {
                te(key, "array of strings", other);
                Vec::new()
            }
        }
    };
    let registry_mirrors = strings("registry-mirrors", &mut type_err);
    let insecure = strings("insecure-registries", &mut type_err);
    let dns = strings("dns", &mut type_err);
    let hosts = strings("hosts", &mut type_err);
    let mut proxies = None;
    match obj.get("proxies") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => {
            let mut get = |k: &str| match p.get(k) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => {
                    type_err(&format!("proxies.{k}"), "string", other);
                    None
                }
            };
            proxies = Some(DaemonProxies {
                http_proxy: get("http-proxy"),
                https_proxy: get("https-proxy"),
                no_proxy: get("no-proxy"),
            });
        }
        Some(other) => type_err("proxies", "object", other),
    }
    let live_restore = match obj.get("live-restore") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            type_err("live-restore", "boolean", other);
            None
        }
    };
    let mut features = BTreeMap::new();
    match obj.get("features") {
        None | Some(Value::Null) => {}
        Some(Value::Object(f)) => {
            for (k, v) in f {
                match v {
                    Value::Bool(b) => {
                        features.insert(k.clone(), *b);
                    }
                    other => type_err(&format!("features.{k}"), "boolean", other),
                }
            }
        }
        Some(other) => type_err("features", "object", other),
    }
    let max_concurrent_downloads = match obj.get("max-concurrent-downloads") {
        None | Some(Value::Null) => None,
        Some(v) if v.is_i64() => v.as_i64(),
        Some(other) => {
            type_err("max-concurrent-downloads", "integer", other);
            None
        }
    };
    dj.registry_mirrors = registry_mirrors;
    dj.insecure_registries = insecure;
    dj.dns = dns;
    dj.hosts = hosts;
    dj.proxies = proxies;
    dj.live_restore = live_restore;
    dj.features = features;
    dj.max_concurrent_downloads = max_concurrent_downloads;
    dj
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn first_line(text: &str) -> String {
    clip(text.lines().next().unwrap_or("").trim())
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Locate a serde_json error. `with_text`: include the offending line's text (never for
/// files that may hold secrets).
pub(crate) fn syntax_error(text: &str, e: &serde_json::Error, with_text: bool) -> JsonSyntaxError {
    let line = e.line().max(1);
    let line_text = if with_text {
        clip(text.lines().nth(line - 1).unwrap_or("").trim())
    } else {
        String::new()
    };
    let msg = e.to_string();
    let message = msg
        .rsplit_once(" at line ")
        .map_or(msg.as_str(), |(m, _)| m)
        .to_string();
    JsonSyntaxError {
        message,
        line,
        column: e.column(),
        line_text,
    }
}

/// Scan outside strings for comments, trailing commas, single quotes and full-width
/// punctuation.
pub fn lexical_hints(text: &str) -> Vec<JsonHint> {
    let chars: Vec<char> = text.chars().collect();
    let mut hints = Vec::new();
    let (mut line, mut col) = (1usize, 0usize);
    let mut in_string = false;
    let mut i = 0;
    // Position of each char, computed as we go.
    let mut pos = Vec::with_capacity(chars.len());
    for &c in &chars {
        if c == '\n' {
            pos.push((line, col + 1));
            line += 1;
            col = 0;
        } else {
            col += 1;
            pos.push((line, col));
        }
    }
    let push = |hints: &mut Vec<JsonHint>, kind, at: usize| {
        let (line, column) = pos[at];
        hints.push(JsonHint { kind, line, column });
    };
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            match c {
                '\\' => i += 1,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            '"' => in_string = true,
            '/' if chars.get(i + 1) == Some(&'/') => {
                push(&mut hints, JsonHintKind::LineComment, i);
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                push(&mut hints, JsonHintKind::BlockComment, i);
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            '#' => {
                // Shell-style comment: report as a line comment too.
                push(&mut hints, JsonHintKind::LineComment, i);
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            ',' if next_significant(&chars, i + 1)
                .is_some_and(|j| chars[j] == '}' || chars[j] == ']') =>
            {
                push(&mut hints, JsonHintKind::TrailingComma, i);
            }
            '\'' => push(&mut hints, JsonHintKind::SingleQuote, i),
            '，' | '：' | '“' | '”' | '｛' | '｝' | '［' | '］' | '、' | '‘' | '’' => {
                push(&mut hints, JsonHintKind::FullwidthPunctuation, i)
            }
            _ => {}
        }
        i += 1;
    }
    hints
}

/// Index of the next char that is not whitespace or inside a comment.
fn next_significant(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else {
            return Some(i);
        }
    }
    None
}

/// Read and parse a daemon.json.
pub(crate) fn collect(fs: &mut Fs, path: &str, note_missing: bool) -> Option<DaemonJson> {
    let (bytes, source) = fs.read_bytes(path, FILE_CAP, note_missing)?;
    let mut dj = match decode_bom(&bytes) {
        Ok((text, bom)) => {
            let mut dj = parse_daemon_json(&text);
            if let Some(b) = bom {
                dj.bom = Some(b.into());
            }
            dj
        }
        Err(e) => {
            fs.note_kind(path, NoteKind::NotUtf8, e.clone());
            DaemonJson {
                status: JsonStatus::Invalid,
                error: Some(JsonSyntaxError {
                    message: e,
                    line: 1,
                    column: 1,
                    line_text: String::new(),
                }),
                ..Default::default()
            }
        }
    };
    dj.source = source;
    Some(dj)
}
