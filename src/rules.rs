//! The rule catalogue: data under `rules/*.toml`, embedded by `build.rs`,
//! parsed and validated here. Regexes compile lazily, one pattern at a time, so
//! start-up cost does not grow with the number of rules.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The `category` names the JSON report uses, exactly.
pub const CATEGORIES: &[&str] = &[
    "proxy-refused",
    "proxy-loopback-in-vm",
    "proxy-auth",
    "proxy-scheme",
    "tls-unknown-authority",
    "tls-hostname-mismatch",
    "tls-expired-or-clock",
    "insecure-registry-http",
    "network-timeout",
    "blob-download-bypass",
    "dns-failure",
    "connection-reset-eof",
    "rate-limit",
    "auth-denied",
    "manifest-not-found",
    "platform-mismatch",
    "mirror-failure",
    "daemon-config-invalid",
    "daemon-not-running",
    "disk-or-layer-corrupt",
    "ipv6-unreachable",
    // Evidence-only categories (issue 4).
    "daemon-proxy-missing",
    "daemon-proxy-not-applied",
    "no-proxy-bypass",
    "proxy-var-ignored",
    "client-only-proxy",
    "containerd-proxy-missing",
    "mirror-not-applicable",
    "dns-poisoned",
    "desktop-proxy-settings",
    "unknown",
];

/// The categories `explain` must cover with at least one log rule.
pub const LOG_CATEGORIES: &[&str] = &[
    "proxy-refused",
    "proxy-loopback-in-vm",
    "proxy-auth",
    "proxy-scheme",
    "tls-unknown-authority",
    "tls-hostname-mismatch",
    "tls-expired-or-clock",
    "insecure-registry-http",
    "network-timeout",
    "blob-download-bypass",
    "dns-failure",
    "connection-reset-eof",
    "rate-limit",
    "auth-denied",
    "manifest-not-found",
    "platform-mismatch",
    "mirror-failure",
    "daemon-config-invalid",
    "daemon-not-running",
    "disk-or-layer-corrupt",
    "ipv6-unreachable",
    "unknown",
];

/// Entities that differ between repetitions of one cause (a layer digest, the
/// CDN address picked by DNS) and so do not split a finding.
pub const VOLATILE_ENTITIES: &[&str] = &[
    "digest",
    "url",
    "address",
    "ip",
    "now",
    "not_after",
    "not_before",
    "detail",
    "time",
];

/// The id of the rule reported when nothing matched.
pub const UNKNOWN_RULE: &str = "PD9001";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FixStep {
    pub en: String,
    pub zh: String,
    #[serde(default)]
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub text: String,
    /// Entities the example must produce (a subset). Present on positive examples.
    #[serde(default)]
    pub captures: Option<BTreeMap<String, String>>,
    /// For negative examples: the rule id the text must come out as instead, or "none".
    #[serde(default)]
    pub expect: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub slug: String,
    pub category: String,
    pub severity: Severity,
    #[serde(default = "default_rank")]
    pub rank: u8,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub docs: Vec<String>,
    pub title: Text,
    pub explanation: Text,
    #[serde(default)]
    pub fix: Vec<FixStep>,
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
    #[serde(default, rename = "example")]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub retired: Option<String>,
    /// Which file the rule came from (filled by the loader).
    #[serde(skip_deserializing, default)]
    pub file: String,
    #[serde(skip)]
    compiled: Lazy,
}

fn default_rank() -> u8 {
    50
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub name: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub patterns: Vec<String>,
    #[serde(skip)]
    compiled: Lazy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extractor {
    pub name: String,
    /// Fixed entities set when the extractor matches (e.g. `tool = "docker"`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub patterns: Vec<String>,
    #[serde(default, rename = "example")]
    pub examples: Vec<Example>,
    #[serde(skip)]
    compiled: Lazy,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct List {
    pub name: String,
    pub updated: String,
    pub source: String,
    pub entries: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
    #[serde(default)]
    signal: Vec<Signal>,
    #[serde(default)]
    extractor: Vec<Extractor>,
    #[serde(default)]
    list: Vec<List>,
}

/// Patterns are compiled with a size cap: pasted logs cannot blow up memory.
const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// The lazy DFA's cache of each pattern. The regex crate's default is 2 MiB,
/// and a log that exercises many rules grows every one of them: with all
/// rules firing, 128 KiB caches took 20 MB. When a cache fills up it is
/// cleared (or the search falls back to another engine); matching stays
/// correct, and on the benchmark logs no slower.
pub const REGEX_CACHE_LIMIT: usize = 16 << 10;

/// `p` with `\d` and `\w` (and their negations) in their ASCII meaning:
/// `[0-9]` and `[0-9A-Za-z_]`. What the rules match (ports, addresses,
/// references, digests, Go's messages) is ASCII, and the Unicode classes
/// (`\d` alone is some 70 ranges) made compiling a pattern twice as dear,
/// which is most of the run on a short log. A scan of the text, not a parse
/// (a parse cost as much as the gate); `\W` and `\D` inside brackets have no
/// plain spelling and are kept. Patterns in `x` mode are not rewritten.
pub fn ascii_classes(p: &str) -> Cow<'_, str> {
    if !p.contains(['\\']) || p.contains("(?x") {
        return Cow::Borrowed(p);
    }
    let mut out = String::with_capacity(p.len() + 32);
    // Bracket depth, and whether the next `]` is a literal (first in a class).
    let (mut depth, mut first) = (0usize, false);
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        let was_first = std::mem::replace(&mut first, false);
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let ascii = match (e, depth > 0) {
                    ('d', false) => "[0-9]",
                    ('D', false) => "[^0-9]",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('d', true) => "0-9",
                    ('w', true) => "0-9A-Za-z_",
                    _ => {
                        out.push(c);
                        out.push(e);
                        continue;
                    }
                };
                out.push_str(ascii);
            }
            '[' => {
                depth += 1;
                first = true;
                out.push(c);
            }
            '^' if was_first => {
                first = true;
                out.push(c);
            }
            ']' if depth > 0 && !was_first => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    if out == p {
        Cow::Borrowed(p)
    } else {
        Cow::Owned(out)
    }
}

/// Compiles a catalogue pattern with the limits above.
pub fn compile_one(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(&ascii_classes(p))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_CACHE_LIMIT)
        .build()
        .map_err(|e| format!("pattern {p:?}: {e}"))
}

/// The engine the classifier matches a pattern with: the regex crate's own
/// (`regex::Regex` is a thin wrapper of it, configured exactly as below), but
/// without the one-pass DFA. That DFA is built eagerly for every pattern
/// that allows one and took 40 % of the memory of the compiled catalogue
/// (8.6 MB of 14.7), for no measurable speed: captures come from the bounded
/// backtracker or the PikeVM instead, on the few lines that get this far.
pub type Matcher = regex_automata::meta::Regex;

/// Compiles a catalogue pattern into a [`Matcher`] (same syntax, same
/// semantics and limits as [`compile_one`]).
pub fn compile_matcher(p: &str) -> Result<Matcher, String> {
    use regex_automata::{MatchKind, meta, util::syntax};
    let config = meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(REGEX_CACHE_LIMIT)
        .onepass(false);
    meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::new().utf8(true))
        .build(&ascii_classes(p))
        .map_err(|e| format!("pattern {p:?}: {e}"))
}

/// Literals a text must hold for a pattern to match it: every clause has
/// at least one of its alternatives in the text. Found on the pattern's
/// syntax tree (cheap) so that a pattern whose literals are absent is never
/// compiled (dear): a rule is a candidate for a line because one of its
/// keywords occurs, and most of its patterns still cannot match it.
#[derive(Debug, Default)]
pub struct Gate(Vec<Vec<Vec<u8>>>);

impl Gate {
    /// The gate of pattern `p`; empty (always open) if it does not parse.
    pub fn of(p: &str) -> Gate {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&ascii_classes(p));
        Gate(hir.map(|h| clauses(&h)).unwrap_or_default())
    }

    /// Whether a match in `text` is possible.
    pub fn open(&self, text: &str) -> bool {
        self.0.iter().all(|clause| {
            clause
                .iter()
                .any(|lit| memchr::memmem::find(text.as_bytes(), lit).is_some())
        })
    }
}

/// The literal clauses of a syntax tree (see [`Gate`]).
fn clauses(h: &regex_syntax::hir::Hir) -> Vec<Vec<Vec<u8>>> {
    use regex_syntax::hir::HirKind;
    /// More alternatives than this make a clause not worth checking.
    const MAX_ALTERNATIVES: usize = 64;
    match h.kind() {
        HirKind::Literal(l) => vec![vec![l.0.to_vec()]],
        HirKind::Capture(c) => clauses(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => clauses(&r.sub),
        HirKind::Concat(v) => v.iter().flat_map(clauses).collect(),
        HirKind::Alternation(v) => {
            // One clause: each branch's most selective clause, or-ed.
            let mut any = Vec::new();
            for b in v {
                let best = clauses(b)
                    .into_iter()
                    .max_by_key(|c| c.iter().map(Vec::len).min().unwrap_or(0));
                match best {
                    Some(c) => any.extend(c),
                    None => return Vec::new(),
                }
            }
            if any.len() > MAX_ALTERNATIVES {
                return Vec::new();
            }
            vec![any]
        }
        _ => Vec::new(),
    }
}

/// Compiled patterns, each built on first use (a line is usually settled by
/// the first pattern of a rule, and compiling dominates a short log's run).
#[derive(Debug, Default)]
struct Lazy {
    each: OnceLock<Box<[Slot]>>,
    /// All of them as `regex::Regex` (for the catalogue's checks), or the
    /// first compile error.
    all: OnceLock<Result<Vec<Regex>, String>>,
}

/// One pattern's gate and matcher, each built on first use.
#[derive(Debug, Default)]
struct Slot {
    gate: OnceLock<Gate>,
    matcher: OnceLock<Option<Matcher>>,
}

impl Lazy {
    fn slot(&self, patterns: &[String], i: usize) -> Option<&Slot> {
        self.each
            .get_or_init(|| patterns.iter().map(|_| Slot::default()).collect())
            .get(i)
    }

    fn get(&self, patterns: &[String], i: usize) -> Option<&Matcher> {
        self.slot(patterns, i)?
            .matcher
            .get_or_init(|| compile_matcher(&patterns[i]).ok())
            .as_ref()
    }

    fn gate(&self, patterns: &[String], i: usize) -> Option<&Gate> {
        let slot = self.slot(patterns, i)?;
        Some(slot.gate.get_or_init(|| Gate::of(&patterns[i])))
    }

    fn all(&self, patterns: &[String]) -> &Result<Vec<Regex>, String> {
        self.all
            .get_or_init(|| patterns.iter().map(|p| compile_one(p)).collect())
    }
}

macro_rules! lazy_regexes {
    ($t:ty) => {
        impl $t {
            /// The compiled patterns, built on first use (none when one of
            /// them does not compile).
            pub fn regexes(&self) -> &[Regex] {
                match self.compiled.all(&self.patterns) {
                    Ok(v) => v,
                    Err(_) => &[],
                }
            }

            /// Pattern `i` as the classifier matches it, compiled on first
            /// use; `None` when it does not compile.
            pub fn matcher(&self, i: usize) -> Option<&Matcher> {
                self.compiled.get(&self.patterns, i)
            }

            /// Pattern `i`, compiled on first use, if it may match `text`
            /// (its [`Gate`] is open); `None` when it cannot or does not
            /// compile.
            pub fn matcher_for(&self, i: usize, text: &str) -> Option<&Matcher> {
                if !self.compiled.gate(&self.patterns, i)?.open(text) {
                    return None;
                }
                self.matcher(i)
            }

            /// The [`Gate`] of pattern `i`.
            pub fn gate(&self, i: usize) -> Option<&Gate> {
                self.compiled.gate(&self.patterns, i)
            }

            /// The compile error of a pattern, if any.
            pub fn compile_error(&self) -> Option<&str> {
                self.compiled
                    .all(&self.patterns)
                    .as_ref()
                    .err()
                    .map(String::as_str)
            }
        }
    };
}
lazy_regexes!(Rule);
lazy_regexes!(Signal);
lazy_regexes!(Extractor);

impl Rule {
    pub fn family(&self) -> u32 {
        self.id.get(2..3).and_then(|d| d.parse().ok()).unwrap_or(0)
    }

    /// Whether the rule classifies log lines (as opposed to evidence-only rules).
    pub fn is_log_rule(&self) -> bool {
        !self.patterns.is_empty() && self.retired.is_none()
    }

    /// The named capture groups common to every pattern.
    pub fn common_captures(&self) -> BTreeSet<String> {
        let mut common: Option<BTreeSet<String>> = None;
        for re in self.regexes() {
            let names: BTreeSet<String> = re.capture_names().flatten().map(String::from).collect();
            common = Some(match common {
                None => names,
                Some(c) => c.intersection(&names).cloned().collect(),
            });
        }
        common.unwrap_or_default()
    }

    /// Every `{placeholder}` used in the rule's texts and commands.
    pub fn placeholders(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut texts: Vec<&str> = vec![
            &self.title.en,
            &self.title.zh,
            &self.explanation.en,
            &self.explanation.zh,
        ];
        for f in &self.fix {
            texts.push(&f.en);
            texts.push(&f.zh);
            texts.extend(f.commands.iter().map(String::as_str));
        }
        for t in texts {
            for_each_placeholder(t, |name| {
                out.insert(name.to_string());
            });
        }
        out
    }
}

/// The catalogue of rules, signals, extractors and lists.
#[derive(Debug)]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub signals: Vec<Signal>,
    pub extractors: Vec<Extractor>,
    pub lists: Vec<List>,
}

impl Catalog {
    /// The rules built into the binary.
    pub fn builtin() -> Result<&'static Catalog, String> {
        static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
        CATALOG
            .get_or_init(|| {
                Catalog::from_files(BUILTIN_RULES.iter().map(|&(name, json, text)| {
                    let f = if json {
                        serde_json::from_str(text).map_err(|e| e.to_string())
                    } else {
                        toml::from_str(text).map_err(|e| e.to_string())
                    };
                    (name, f.map_err(|e| format!("rules/{name}: {e}")))
                }))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses rule files: `(file name, contents)`. Expands `{{list:NAME}}` in
    /// patterns. Structural problems are reported by [`Catalog::problems`].
    pub fn parse(files: &[(&str, &str)]) -> Result<Catalog, String> {
        Catalog::from_files(files.iter().map(|&(name, text)| {
            (
                name,
                toml::from_str(text).map_err(|e| format!("rules/{name}: {e}")),
            )
        }))
    }

    fn from_files<'a>(
        files: impl Iterator<Item = (&'a str, Result<RuleFile, String>)>,
    ) -> Result<Catalog, String> {
        let mut cat = Catalog {
            rules: Vec::new(),
            signals: Vec::new(),
            extractors: Vec::new(),
            lists: Vec::new(),
        };
        for (name, f) in files {
            let f = f?;
            cat.rules.extend(f.rule.into_iter().map(|mut r| {
                r.file = name.to_string();
                r
            }));
            cat.signals.extend(f.signal);
            cat.extractors.extend(f.extractor);
            cat.lists.extend(f.list);
        }
        let lists = cat.lists.clone();
        let expand = |p: &mut String| -> Result<(), String> {
            while let Some(start) = p.find("{{list:") {
                let end = p[start..]
                    .find("}}")
                    .map(|e| start + e)
                    .ok_or_else(|| format!("unterminated list reference in {p:?}"))?;
                let name = &p[start + 7..end];
                let list = lists
                    .iter()
                    .find(|l| l.name == name)
                    .ok_or_else(|| format!("unknown list {name:?} in pattern"))?;
                let alt = list
                    .entries
                    .iter()
                    .map(|e| regex::escape(e))
                    .collect::<Vec<_>>()
                    .join("|");
                p.replace_range(start..end + 2, &format!("(?:{alt})"));
            }
            Ok(())
        };
        for r in &mut cat.rules {
            r.patterns.iter_mut().try_for_each(expand)?;
            r.where_.values_mut().try_for_each(expand)?;
        }
        for s in &mut cat.signals {
            s.patterns.iter_mut().try_for_each(expand)?;
        }
        for x in &mut cat.extractors {
            x.patterns.iter_mut().try_for_each(expand)?;
        }
        Ok(cat)
    }

    pub fn rule(&self, id_or_slug: &str) -> Option<&Rule> {
        let q = id_or_slug.trim();
        let upper = q.to_ascii_uppercase();
        let id = if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
            format!("PD{q}")
        } else {
            upper
        };
        self.rules
            .iter()
            .find(|r| r.id == id || r.slug.eq_ignore_ascii_case(q))
    }

    pub fn list(&self, name: &str) -> Option<&List> {
        self.lists.iter().find(|l| l.name == name)
    }

    /// Every structural problem of the catalogue, for the tidy test and
    /// `pulldoctor rules --check`. Examples are checked by the engine tests.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let mut ids = BTreeSet::new();
        let mut slugs = BTreeSet::new();
        let signal_names: BTreeSet<&str> = self.signals.iter().map(|s| s.name.as_str()).collect();
        let id_re = Regex::new(r"^PD[1-9]\d{3}$").expect("static regex");
        let slug_re = Regex::new(r"^[a-z0-9]+(-[a-z0-9]+)*$").expect("static regex");
        for r in &self.rules {
            let at = format!("rules/{} {}", r.file, r.id);
            if !id_re.is_match(&r.id) {
                p.push(format!("{at}: id must be PD + 4 digits"));
            }
            if !ids.insert(r.id.clone()) {
                p.push(format!("{at}: duplicate id"));
            }
            if !slug_re.is_match(&r.slug) {
                p.push(format!("{at}: slug {:?} must be kebab-case", r.slug));
            }
            if !slugs.insert(r.slug.clone()) {
                p.push(format!("{at}: duplicate slug {:?}", r.slug));
            }
            if !CATEGORIES.contains(&r.category.as_str()) {
                p.push(format!("{at}: unknown category {:?}", r.category));
            }
            if let Some(e) = r.compile_error() {
                p.push(format!("{at}: {e}"));
            }
            for (cap, re) in &r.where_ {
                if let Err(e) = Regex::new(re) {
                    p.push(format!("{at}: where.{cap}: {e}"));
                }
                if !r.common_captures().contains(cap) {
                    p.push(format!(
                        "{at}: where.{cap} names a capture not in every pattern"
                    ));
                }
            }
            for c in &r.context {
                if !signal_names.contains(c.as_str()) {
                    p.push(format!("{at}: unknown context signal {c:?}"));
                }
            }
            let title = &r.title.en;
            if title.starts_with(|c: char| c.is_ascii_uppercase())
                && !title.starts_with('I')
                && !title.split_whitespace().next().is_some_and(is_acronym)
            {
                p.push(format!("{at}: title should start lowercase: {title:?}"));
            }
            if title.ends_with('.') || r.title.zh.ends_with('。') {
                p.push(format!("{at}: title must not end with a period"));
            }
            for t in [&r.title, &r.explanation] {
                if t.en.trim().is_empty() || t.zh.trim().is_empty() {
                    p.push(format!("{at}: English and Chinese text are both required"));
                }
            }
            for f in &r.fix {
                if f.en.trim().is_empty() || f.zh.trim().is_empty() {
                    p.push(format!("{at}: fix step needs English and Chinese text"));
                }
            }
            if r.fix.is_empty() {
                p.push(format!("{at}: at least one fix step is required"));
            }
            if r.docs.is_empty() {
                p.push(format!(
                    "{at}: docs: link the documentation or the source that prints the message"
                ));
            }
            if r.is_log_rule() {
                let common = r.common_captures();
                for ph in r.placeholders() {
                    if !common.contains(&ph)
                        && !r.defaults.contains_key(&ph)
                        && !self.extractor_provides(&ph)
                    {
                        p.push(format!(
                            "{at}: placeholder {{{ph}}} is neither a capture of every pattern nor has a default"
                        ));
                    }
                    if self.extractor_provides(&ph)
                        && !common.contains(&ph)
                        && !r.defaults.contains_key(&ph)
                    {
                        p.push(format!(
                            "{at}: placeholder {{{ph}}} comes from an extractor and needs a [rule.defaults] value"
                        ));
                    }
                }
                if r.keywords.is_empty() {
                    p.push(format!(
                        "{at}: keywords are required (the prefilter skips lines without one)"
                    ));
                }
                let positive = r.examples.iter().filter(|e| e.expect.is_none()).count();
                let negative = r.examples.len() - positive;
                if positive == 0 || negative == 0 {
                    p.push(format!(
                        "{at}: needs at least one matching and one non-matching example ({positive} / {negative})"
                    ));
                }
                for e in r.examples.iter().filter(|e| e.expect.is_none()) {
                    let lower = e.text.to_lowercase();
                    if !r.keywords.iter().any(|k| lower.contains(&k.to_lowercase())) {
                        p.push(format!(
                            "{at}: example contains none of the keywords: {:?}",
                            e.text
                        ));
                    }
                }
            } else if r.id != UNKNOWN_RULE && r.retired.is_none() {
                for ph in r.placeholders() {
                    if !r.defaults.contains_key(&ph) && !EVIDENCE_ENTITIES.contains(&ph.as_str()) {
                        p.push(format!("{at}: placeholder {{{ph}}} of an evidence rule is not a known evidence entity"));
                    }
                }
            }
            let expected_file = family_file(r.family());
            if expected_file != r.file {
                p.push(format!(
                    "{at}: family {} belongs in rules/{expected_file}",
                    r.family()
                ));
            }
        }
        for c in LOG_CATEGORIES {
            if !self
                .rules
                .iter()
                .any(|r| r.category == *c && (r.is_log_rule() || r.id == UNKNOWN_RULE))
            {
                p.push(format!("category {c:?} has no log rule"));
            }
        }
        for s in &self.signals {
            if let Some(e) = s.compile_error() {
                p.push(format!("signal {}: {e}", s.name));
            }
        }
        for x in &self.extractors {
            if let Some(e) = x.compile_error() {
                p.push(format!("extractor {}: {e}", x.name));
            }
            if x.keywords.is_empty() {
                p.push(format!("extractor {}: keywords are required", x.name));
            }
        }
        p
    }

    fn extractor_provides(&self, name: &str) -> bool {
        self.extractors.iter().any(|x| {
            x.set.contains_key(name)
                || x.regexes()
                    .iter()
                    .any(|re| re.capture_names().flatten().any(|n| n == name))
        })
    }
}

/// Entities that evidence rules (`check`) may interpolate.
pub const EVIDENCE_ENTITIES: &[&str] = &[
    "proxy",
    "proxy_host",
    "proxy_port",
    "host",
    "port",
    "registry",
    "mirror",
    "unit",
    "dropin",
    "path",
    "var",
    "value",
    "no_proxy",
    "entry",
    "issuer",
    "product",
    "address",
    "gateway",
    "dns_server",
    "system_answer",
    "reference_answer",
    "skew",
    "remaining",
    "error",
    "line",
    "column",
    "image",
    "version",
    "daemon_json",
    "socket",
    "names",
    "not_after",
    // Evidence rules (rules/evidence.toml).
    "source",
    "component",
    "puller",
    "profile",
    "sudo",
    "user_flag",
    "dropin_dir",
    "live_restore",
    "started",
    "modified",
    "no_proxy_new",
    "proxy_new",
    "other_var",
    "other_value",
    "mirrors_json",
    "mirrors_kept",
    "updated",
    "config_path",
    "date",
    "local_time",
    "limit",
    "window",
];

fn is_acronym(word: &str) -> bool {
    word.len() > 1
        && word
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(|c| c.is_ascii_uppercase())
}

/// The file a family's rules live in.
pub fn family_file(family: u32) -> &'static str {
    match family {
        1 => "proxy.toml",
        2 => "tls.toml",
        3 => "dns.toml",
        4 => "network.toml",
        5 => "registry.toml",
        6 => "daemon.toml",
        7 => "evidence.toml",
        9 => "context.toml",
        _ => "?",
    }
}

/// Calls `f` for every `{name}` placeholder in `text`. `{{...}}` (as in
/// `docker info --format '{{json .}}'`) is literal text, not a placeholder.
pub fn for_each_placeholder(text: &str, mut f: impl FnMut(&str)) {
    interpolate_with(text, |name| {
        f(name);
        None
    });
}

/// Replaces `{name}` placeholders using `lookup`; unknown names stay as written.
pub fn interpolate_with<'a>(text: &str, mut lookup: impl FnMut(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(lit) = tail.strip_prefix("{{") {
            let end = lit.find("}}").map_or(tail.len(), |e| e + 4);
            out.push_str(&tail[..end]);
            rest = &tail[end..];
            continue;
        }
        let name_len = tail[1..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len() - 1);
        let name = &tail[1..1 + name_len];
        if !name.is_empty() && tail[1 + name_len..].starts_with('}') {
            match lookup(name) {
                Some(v) => out.push_str(v),
                None => out.push_str(&tail[..name_len + 2]),
            }
            rest = &tail[name_len + 2..];
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    /// `p` with `\d` and `\w` (and their negations) in their ASCII meaning:
    /// `[0-9]` and `[0-9A-Za-z_]`. What the rules match (ports, addresses,
    /// references, digests, Go's messages) is ASCII, and the Unicode classes
    /// (`\d` alone is some 70 ranges) made compiling a pattern twice as dear,
    /// which is most of the run on a short log. A pattern that does not parse is
    /// returned as it is, for the compiler to report.
    fn ascii_classes_by_parse(p: &str) -> Cow<'_, str> {
        use regex_syntax::ast::{self, Ast, ClassPerlKind, ClassSetItem, Visitor};
        struct Spans(Vec<(usize, usize, &'static str)>);
        impl Spans {
            fn perl(&mut self, c: &ast::ClassPerl, bracketed: bool) {
                let ascii = match (&c.kind, c.negated, bracketed) {
                    (ClassPerlKind::Digit, false, false) => "[0-9]",
                    (ClassPerlKind::Digit, true, false) => "[^0-9]",
                    (ClassPerlKind::Word, false, false) => "[0-9A-Za-z_]",
                    (ClassPerlKind::Word, true, false) => "[^0-9A-Za-z_]",
                    (ClassPerlKind::Digit, false, true) => "0-9",
                    (ClassPerlKind::Word, false, true) => "0-9A-Za-z_",
                    // A negated class inside brackets has no plain spelling.
                    _ => return,
                };
                self.0.push((c.span.start.offset, c.span.end.offset, ascii));
            }
        }
        impl Visitor for &mut Spans {
            type Output = ();
            type Err = ();
            fn finish(self) -> Result<(), ()> {
                Ok(())
            }
            fn visit_pre(&mut self, a: &Ast) -> Result<(), ()> {
                if let Ast::ClassPerl(c) = a {
                    self.perl(c, false);
                }
                Ok(())
            }
            fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), ()> {
                if let ClassSetItem::Perl(c) = item {
                    self.perl(c, true);
                }
                Ok(())
            }
        }
        if !p.contains("\\d") && !p.contains("\\w") && !p.contains("\\D") && !p.contains("\\W") {
            return Cow::Borrowed(p);
        }
        let Ok(tree) = ast::parse::Parser::new().parse(p) else {
            return Cow::Borrowed(p);
        };
        let mut spans = Spans(Vec::new());
        let _ = ast::visit(&tree, &mut spans);
        if spans.0.is_empty() {
            return Cow::Borrowed(p);
        }
        spans.0.sort();
        let mut out = String::with_capacity(p.len() + 16 * spans.0.len());
        let mut at = 0;
        for (start, end, ascii) in spans.0 {
            out.push_str(&p[at..start]);
            out.push_str(ascii);
            at = end;
        }
        out.push_str(&p[at..]);
        Cow::Owned(out)
    }

    /// The scan agrees with a full parse on every pattern of the catalogue
    /// and on the corner cases of brackets and escapes.
    #[test]
    fn ascii_classes_agrees_with_the_parser() {
        let cat = Catalog::builtin().unwrap();
        let mut patterns: Vec<String> = cat
            .rules
            .iter()
            .flat_map(|r| r.patterns.iter())
            .chain(cat.signals.iter().flat_map(|x| x.patterns.iter()))
            .chain(cat.extractors.iter().flat_map(|x| x.patterns.iter()))
            .cloned()
            .collect();
        for p in [
            r"[]\d]\d",
            r"[^]\w]\w",
            r"[a[\d]]\d",
            r"[[:digit:]\w]x\w",
            r"[\^\]\d]\d",
            r"\\d\\\d",
            r"[^\W\d]",
            r"\p{Greek}\d\x{41}\w",
            r"a\",
        ] {
            patterns.push(p.to_string());
        }
        for p in &patterns {
            assert_eq!(ascii_classes(p), ascii_classes_by_parse(p), "{p}");
        }
        assert!(patterns.len() > 200);
    }

    /// A gate never closes on a text its pattern matches: every pattern of
    /// the catalogue against every example and every line of the fixture
    /// logs (each whole and cut into its lines).
    #[test]
    fn gates_are_necessary() {
        let cat = Catalog::builtin().unwrap();
        let mut texts: Vec<String> = Vec::new();
        for r in &cat.rules {
            texts.extend(r.examples.iter().map(|e| e.text.clone()));
        }
        for x in &cat.extractors {
            texts.extend(x.examples.iter().map(|e| e.text.clone()));
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in ["fixtures/explain", "fixtures/lab"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
                texts.extend(String::from_utf8_lossy(&bytes).lines().map(String::from));
            }
        }
        let mut pieces: Vec<String> = texts
            .iter()
            .flat_map(|t| t.lines().map(String::from))
            .collect();
        texts.append(&mut pieces);
        let (mut matched, mut closed) = (0usize, 0usize);
        let mut check = |what: &str, patterns: &[String], open: &dyn Fn(usize, &str) -> bool| {
            for (i, p) in patterns.iter().enumerate() {
                let re = compile_matcher(p).unwrap();
                for t in &texts {
                    let (m, open) = (re.is_match(t.as_str()), open(i, t));
                    matched += m as usize;
                    closed += !open as usize;
                    assert!(
                        !m || open,
                        "{what} pattern {p:?} matches {t:?} but its gate is closed"
                    );
                }
            }
        };
        for r in cat.rules.iter().filter(|r| r.is_log_rule()) {
            check(&r.id, &r.patterns, &|i, t| r.gate(i).unwrap().open(t));
        }
        for x in &cat.signals {
            check(&x.name, &x.patterns, &|i, t| x.gate(i).unwrap().open(t));
        }
        for x in &cat.extractors {
            check("extractor", &x.patterns, &|i, t| x.gate(i).unwrap().open(t));
        }
        assert!(matched > 500, "{matched}");
        // The gates do close: most texts cannot match most patterns.
        assert!(closed > 100_000, "{closed}");
    }

    #[test]
    fn ascii_classes_rewrites_digit_and_word_only() {
        for (p, want) in [
            (r"port (?P<port>\d+)", r"port (?P<port>[0-9]+)"),
            (r"[\w.-]+:\d{2,5}", r"[0-9A-Za-z_.-]+:[0-9]{2,5}"),
            (r"\W\D", r"[^0-9A-Za-z_][^0-9]"),
            (r"[^\W]", r"[^\W]"),
            (r"\\d \\\w", r"\\d \\[0-9A-Za-z_]"),
            (r"\s\S\b", r"\s\S\b"),
            // Not a pattern: rewritten all the same; the compiler reports it.
            (r"(unclosed \d", r"(unclosed [0-9]"),
        ] {
            assert_eq!(ascii_classes(p), want, "{p}");
        }
        let re = compile_matcher(r"^\w+ \d+$").unwrap();
        assert!(re.is_match("abc_9 42"));
        assert!(!re.is_match("名前 42"));
        assert!(!re.is_match("abc ٤٢"));
    }

    use super::*;

    #[test]
    fn interpolation_keeps_go_templates() {
        let s = interpolate_with("docker info --format '{{json .}}' | grep {proxy} {x", |n| {
            (n == "proxy").then_some("127.0.0.1:3128")
        });
        assert_eq!(
            s,
            "docker info --format '{{json .}}' | grep 127.0.0.1:3128 {x"
        );
    }

    #[test]
    fn unknown_placeholders_stay() {
        assert_eq!(interpolate_with("a {image} b", |_| None), "a {image} b");
    }

    #[test]
    fn lookup_by_number_slug_or_id() {
        let cat = Catalog::builtin().unwrap();
        let r = cat.rule("9001").unwrap();
        assert_eq!(r.id, "PD9001");
        assert_eq!(cat.rule("unrecognised").unwrap().id, "PD9001");
        assert_eq!(cat.rule("pd9001").unwrap().id, "PD9001");
    }
}
