//! The log classifier: a pure function of the rule catalogue and the lines of
//! a log. See `rules/README.md` for the matching model.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::input::{self, InputStats, LineSink};
use crate::redact;
use crate::report::{Finding, Matched, Step};
use crate::rules::{
    Catalog, Lang, Matcher, Rule, UNKNOWN_RULE, VOLATILE_ENTITIES, interpolate_with,
};
use regex_automata::PatternID;
use regex_automata::util::captures::Captures;

/// Matched lines kept per finding.
const SAMPLES: usize = 3;
/// Distinct line groups kept; beyond this, new kinds of lines are counted only.
const MAX_GROUPS: usize = 10_000;
/// Longest matched-line excerpt shown.
const EXCERPT: usize = 400;

#[derive(Debug, Clone, Copy)]
enum Owner {
    Rule(usize),
    Signal(usize),
    Extractor(usize),
}

/// The keyword prefilter over the whole catalogue.
pub struct Prefilter {
    ac: AhoCorasick,
    owners: Vec<Vec<Owner>>,
    slots: usize,
}

impl Prefilter {
    fn new(cat: &Catalog) -> Prefilter {
        let mut words: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<Owner>> = Vec::new();
        let mut add = |kw: &str, o: Owner| {
            let k = kw.to_ascii_lowercase();
            match words.iter().position(|w| *w == k) {
                Some(i) => owners[i].push(o),
                None => {
                    words.push(k);
                    owners.push(vec![o]);
                }
            }
        };
        for (i, r) in cat
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_log_rule())
        {
            r.keywords.iter().for_each(|k| add(k, Owner::Rule(i)));
        }
        for (i, s) in cat.signals.iter().enumerate() {
            s.keywords.iter().for_each(|k| add(k, Owner::Signal(i)));
        }
        for (i, x) in cat.extractors.iter().enumerate() {
            x.keywords.iter().for_each(|k| add(k, Owner::Extractor(i)));
        }
        // A contiguous NFA builds several times faster than a DFA, and past
        // the first chunk of a log only lines that hold a keyword get here.
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&words)
            .expect("keyword automaton");
        Prefilter {
            ac,
            owners,
            slots: cat.rules.len() + cat.signals.len() + cat.extractors.len(),
        }
    }

    /// The prefilter of the built-in catalogue.
    pub fn for_catalog(cat: &'static Catalog) -> &'static Prefilter {
        static P: OnceLock<Prefilter> = OnceLock::new();
        P.get_or_init(|| Prefilter::new(cat))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Cand {
    rule: usize,
    caps: Vec<(String, String)>,
}

struct Group {
    cands: Vec<Cand>,
    extra: BTreeMap<String, String>,
    count: u64,
    samples: Vec<Matched>,
    seq: u64,
    last: (usize, u64),
}

/// The candidates of a line: (rule index, key entities), sorted.
type GroupKey = Vec<(usize, Vec<(String, String)>)>;

/// Streaming classifier: feed lines, then [`Classifier::finish`].
pub struct Classifier<'c> {
    cat: &'c Catalog,
    pre: &'c Prefilter,
    signals: Vec<bool>,
    groups: Vec<Group>,
    index: HashMap<GroupKey, usize>,
    files: Vec<String>,
    file: usize,
    hit: Vec<bool>,
    hits: Vec<Owner>,
    seq: u64,
    /// Occurrences not grouped because [`MAX_GROUPS`] was reached.
    pub overflow: u64,
    /// Keywords of the log rules and of the signals not seen yet: a line
    /// without one of them changes nothing (see [`LineSink::needles`]).
    needles: Vec<String>,
    /// Changes with `needles`.
    needles_gen: u64,
}

impl<'c> Classifier<'c> {
    pub fn new(cat: &'c Catalog, pre: &'c Prefilter) -> Classifier<'c> {
        Classifier {
            cat,
            pre,
            signals: vec![false; cat.signals.len()],
            groups: Vec::new(),
            index: HashMap::new(),
            files: Vec::new(),
            file: usize::MAX,
            hit: vec![false; pre.slots],
            hits: Vec::new(),
            seq: 0,
            overflow: 0,
            needles: Vec::new(),
            needles_gen: 0,
        }
        .with_needles()
    }

    /// Recomputes [`Classifier::needles`] from the signals seen so far.
    fn with_needles(mut self) -> Self {
        self.update_needles();
        self
    }

    fn update_needles(&mut self) {
        let cat = self.cat;
        let mut v: Vec<String> = cat
            .rules
            .iter()
            .filter(|r| r.is_log_rule())
            .flat_map(|r| r.keywords.iter())
            .chain(
                cat.signals
                    .iter()
                    .zip(&self.signals)
                    .filter(|(_, seen)| !**seen)
                    .flat_map(|(s, _)| s.keywords.iter()),
            )
            .map(|k| k.to_ascii_lowercase())
            .collect();
        v.sort();
        v.dedup();
        self.needles = v;
        self.needles_gen += 1;
    }

    /// Reads a whole input into the classifier (see [`input::read_lines`]).
    pub fn read<R: std::io::Read>(&mut self, r: R) -> std::io::Result<InputStats> {
        input::read_lines(r, self)
    }

    /// The built-in catalogue's classifier.
    pub fn builtin() -> Result<Classifier<'static>, String> {
        let cat = Catalog::builtin()?;
        Ok(Classifier::new(cat, Prefilter::for_catalog(cat)))
    }

    /// Names the input the following lines come from (shown with line numbers
    /// when there are several).
    pub fn set_source(&mut self, name: &str) {
        self.files.push(name.to_string());
        self.file = self.files.len() - 1;
    }

    fn slot(&self, o: Owner) -> usize {
        match o {
            Owner::Rule(i) => i,
            Owner::Signal(i) => self.cat.rules.len() + i,
            Owner::Extractor(i) => self.cat.rules.len() + self.cat.signals.len() + i,
        }
    }

    /// Classifies one normalised line.
    pub fn line(&mut self, line_no: u64, text: &str) {
        self.hits.clear();
        for m in self.pre.ac.find_overlapping_iter(text) {
            for &o in &self.pre.owners[m.pattern().as_usize()] {
                let s = self.slot(o);
                if !self.hit[s] {
                    self.hit[s] = true;
                    self.hits.push(o);
                }
            }
        }
        if self.hits.is_empty() {
            return;
        }
        let hits = std::mem::take(&mut self.hits);
        for &o in &hits {
            let s = self.slot(o);
            self.hit[s] = false;
        }
        let mut cands: Vec<Cand> = Vec::new();
        let mut first_at = usize::MAX;
        for &o in &hits {
            match o {
                Owner::Signal(i)
                    if !self.signals[i] && {
                        let s = &self.cat.signals[i];
                        (0..s.patterns.len())
                            .any(|k| s.matcher_for(k, text).is_some_and(|re| re.is_match(text)))
                    } =>
                {
                    self.signals[i] = true;
                    self.update_needles();
                }
                Owner::Rule(i) => {
                    if let Some((at, caps)) = match_rule(&self.cat.rules[i], text) {
                        first_at = first_at.min(at);
                        cands.push(Cand { rule: i, caps });
                    }
                }
                _ => {}
            }
        }
        if cands.is_empty() {
            self.hits = hits;
            return;
        }
        let mut extra = BTreeMap::new();
        for &o in &hits {
            if let Owner::Extractor(i) = o {
                extract(&self.cat.extractors[i], text, &mut extra);
            }
        }
        self.hits = hits;
        cands.sort_by_key(|c| c.rule);
        let key: Vec<(usize, Vec<(String, String)>)> =
            cands.iter().map(|c| (c.rule, key_caps(&c.caps))).collect();
        let here = (self.file, line_no);
        let file = self.files.get(self.file).cloned();
        let sample = || Matched {
            file,
            line: line_no,
            text: redacted_excerpt(text, first_at),
        };
        match self.index.get(&key) {
            Some(&g) => {
                let g = &mut self.groups[g];
                if g.last == here {
                    return;
                }
                g.last = here;
                g.count += 1;
                if g.samples.len() < SAMPLES {
                    g.samples.push(sample());
                }
            }
            None if self.groups.len() >= MAX_GROUPS => self.overflow += 1,
            None => {
                self.seq += 1;
                self.index.insert(key, self.groups.len());
                self.groups.push(Group {
                    cands,
                    extra,
                    count: 1,
                    samples: vec![sample()],
                    seq: self.seq,
                    last: here,
                });
            }
        }
    }

    /// Names of the signals seen so far.
    pub fn signals_seen(&self) -> Vec<&str> {
        self.cat
            .signals
            .iter()
            .zip(&self.signals)
            .filter(|(_, seen)| **seen)
            .map(|(s, _)| s.name.as_str())
            .collect()
    }

    /// Resolves context, picks each line's best cause, merges repetitions and
    /// ranks the findings. Returns the `unknown` finding when nothing matched.
    pub fn finish(self, lang: Lang) -> Vec<Finding> {
        let cat = self.cat;
        let signal_ok = |r: &Rule| {
            r.context.is_empty()
                || r.context.iter().any(|c| {
                    cat.signals
                        .iter()
                        .zip(&self.signals)
                        .any(|(s, seen)| *seen && s.name == *c)
                })
        };
        struct Acc {
            rule: usize,
            entities: BTreeMap<String, String>,
            count: u64,
            samples: Vec<Matched>,
            seq: u64,
        }
        let mut accs: Vec<Acc> = Vec::new();
        let mut by_key: HashMap<(usize, Vec<(String, String)>), usize> = HashMap::new();
        for g in &self.groups {
            let best = g
                .cands
                .iter()
                .filter(|c| signal_ok(&cat.rules[c.rule]))
                .min_by(|a, b| {
                    let (ra, rb) = (&cat.rules[a.rule], &cat.rules[b.rule]);
                    (ra.rank, &ra.id).cmp(&(rb.rank, &rb.id))
                });
            let Some(best) = best else { continue };
            let key = (best.rule, key_caps(&best.caps));
            match by_key.get(&key) {
                Some(&i) => {
                    let a = &mut accs[i];
                    a.count += g.count;
                    a.seq = a.seq.min(g.seq);
                    for s in &g.samples {
                        if a.samples.len() < SAMPLES {
                            a.samples.push(s.clone());
                        }
                    }
                }
                None => {
                    let mut entities: BTreeMap<String, String> =
                        best.caps.iter().cloned().collect();
                    for (k, v) in &g.extra {
                        entities.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    by_key.insert(key, accs.len());
                    accs.push(Acc {
                        rule: best.rule,
                        entities,
                        count: g.count,
                        samples: g.samples.clone(),
                        seq: g.seq,
                    });
                }
            }
        }
        accs.sort_by(|a, b| {
            let (ra, rb) = (&cat.rules[a.rule], &cat.rules[b.rule]);
            rb.severity
                .cmp(&ra.severity)
                .then(ra.rank.cmp(&rb.rank))
                .then(a.seq.cmp(&b.seq))
        });
        let mut out: Vec<Finding> = accs
            .into_iter()
            .map(|mut a| {
                a.samples.sort_by_key(|m| (m.file.clone(), m.line));
                // Samples were redacted when taken (`redacted_excerpt`).
                redact_entities(&mut a.entities);
                let mut f = finding(&cat.rules[a.rule], &a.entities, lang);
                f.count = a.count;
                f.matched = a.samples;
                f
            })
            .collect();
        if out.is_empty()
            && let Some(r) = cat.rule(UNKNOWN_RULE)
        {
            let mut f = finding(r, &BTreeMap::new(), lang);
            f.count = 0;
            out.push(f);
        }
        out
    }
}

/// The first match of the rule on `text` that satisfies its `where`
/// constraints: (byte offset, non-empty named captures).
fn match_rule(rule: &Rule, text: &str) -> Option<(usize, Vec<(String, String)>)> {
    for re in (0..rule.patterns.len()).filter_map(|i| rule.matcher_for(i, text)) {
        let names = group_names(re);
        for caps in re.captures_iter(text) {
            let out = named_captures(&names, &caps, text);
            let ok = rule.where_.iter().all(|(name, pat)| {
                let v = out
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or("", |(_, v)| v.as_str());
                where_regex(pat).is_some_and(|re| re.is_match(v))
            });
            if ok {
                let at = caps.get_match().map_or(0, |m| m.start());
                return Some((at, out));
            }
        }
    }
    None
}

/// The named capture groups of a matcher: (group index, name), in order.
fn group_names(re: &Matcher) -> Vec<(usize, &str)> {
    re.group_info()
        .pattern_names(PatternID::ZERO)
        .enumerate()
        .filter_map(|(i, n)| Some((i, n?)))
        .collect()
}

/// The non-empty named captures of a match.
fn named_captures(names: &[(usize, &str)], caps: &Captures, text: &str) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|&(i, name)| {
            let span = caps.get_group(i)?;
            (!span.is_empty()).then(|| (name.to_string(), text[span.range()].to_string()))
        })
        .collect()
}

/// `where` regexes, compiled once each.
fn where_regex(pat: &str) -> Option<&'static regex::Regex> {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<String, &'static regex::Regex>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().ok()?;
    if let Some(re) = map.get(pat) {
        return Some(re);
    }
    let re: &'static regex::Regex = Box::leak(Box::new(crate::rules::compile_one(pat).ok()?));
    map.insert(pat.to_string(), re);
    Some(re)
}

fn extract(x: &crate::rules::Extractor, text: &str, into: &mut BTreeMap<String, String>) {
    for re in (0..x.patterns.len()).filter_map(|i| x.matcher_for(i, text)) {
        let mut caps = re.create_captures();
        re.captures(text, &mut caps);
        if caps.is_match() {
            for (name, value) in named_captures(&group_names(re), &caps, text) {
                into.entry(name).or_insert(value);
            }
            for (k, v) in &x.set {
                into.entry(k.clone()).or_insert_with(|| v.clone());
            }
            return;
        }
    }
}

fn key_caps(caps: &[(String, String)]) -> Vec<(String, String)> {
    caps.iter()
        .filter(|(n, _)| !VOLATILE_ENTITIES.contains(&n.as_str()))
        .cloned()
        .collect()
}

/// An excerpt around `at` of the line with its secrets redacted first: a
/// cut must not leave the tail of a secret that redaction would no longer
/// recognise (`…rd@proxy:3128` from `http://user:password@proxy:3128`).
fn redacted_excerpt(text: &str, at: usize) -> String {
    match redact::text(text) {
        std::borrow::Cow::Borrowed(t) => excerpt(t, at),
        std::borrow::Cow::Owned(t) => {
            let at = redact::text(&text[..at]).len().min(t.len());
            excerpt(&t, at)
        }
    }
}

/// An excerpt of at most [`EXCERPT`] bytes around `at`.
fn excerpt(text: &str, at: usize) -> String {
    if text.len() <= EXCERPT {
        return text.to_string();
    }
    let mut start = at.saturating_sub(EXCERPT / 4).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + EXCERPT).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let pre = if start > 0 { "…" } else { "" };
    let post = if end < text.len() { "…" } else { "" };
    format!("{pre}{}{post}", &text[start..end])
}

/// Builds a finding for `rule` with its texts in `lang`, placeholders filled
/// from `entities`, then the rule's defaults.
pub fn finding(rule: &Rule, entities: &BTreeMap<String, String>, lang: Lang) -> Finding {
    let fill = |t: &str| {
        interpolate_with(t, |name| {
            entities
                .get(name)
                .or_else(|| rule.defaults.get(name))
                .map(String::as_str)
        })
    };
    Finding {
        rule: rule.id.clone(),
        slug: rule.slug.clone(),
        category: rule.category.clone(),
        severity: rule.severity.as_str().to_string(),
        title: fill(rule.title.get(lang)),
        explanation: reflow(&fill(rule.explanation.get(lang))),
        entities: entities.clone(),
        matched: Vec::new(),
        count: 1,
        remediation: rule
            .fix
            .iter()
            .map(|s| Step {
                text: fill(match lang {
                    Lang::En => &s.en,
                    Lang::Zh => &s.zh,
                }),
                commands: s.commands.iter().map(|c| fill(c)).collect(),
            })
            .collect(),
        docs: rule.docs.clone(),
        status: None,
    }
}

/// Joins the hard-wrapped lines of each paragraph (no space between CJK
/// characters), keeping blank-line paragraph breaks and indented lines.
pub fn reflow(text: &str) -> String {
    let mut out = String::new();
    for para in text.trim().split("\n\n") {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut first = true;
        for line in para.lines() {
            let verbatim =
                line.starts_with("    ") || line.trim_start().starts_with(['-', '*', '$']);
            let l = line.trim();
            if l.is_empty() {
                continue;
            }
            if !first {
                let last = out.chars().last();
                let joins_cjk = last.is_some_and(|c| {
                    is_cjk(c) && (l.chars().next().is_some_and(is_cjk) || is_fullwidth_punct(c))
                });
                if verbatim {
                    out.push('\n');
                } else if !joins_cjk {
                    out.push(' ');
                }
            }
            out.push_str(if verbatim { line.trim_end() } else { l });
            first = false;
        }
    }
    out
}

fn is_fullwidth_punct(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}')
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2e80}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}')
}

/// Redacts the values taken from a log or a machine. Rule texts are written
/// by us and are not redacted (a fix may legitimately say `Bearer $JWT`);
/// only what is interpolated into them is.
pub fn redact_entities(entities: &mut BTreeMap<String, String>) {
    for v in entities.values_mut() {
        if let std::borrow::Cow::Owned(o) = redact::text(v) {
            *v = o;
        }
    }
}

impl LineSink for Classifier<'_> {
    fn line(&mut self, line_no: u64, text: &str) {
        Classifier::line(self, line_no, text);
    }

    fn needles(&self) -> Option<(u64, &[String])> {
        Some((self.needles_gen, &self.needles))
    }
}

/// Classifies a whole text (tests, rule examples, `explain --check`).
pub fn classify_text(cat: &Catalog, pre: &Prefilter, text: &str, lang: Lang) -> Vec<Finding> {
    let mut c = Classifier::new(cat, pre);
    // Input normalisation cannot fail on an in-memory slice.
    let _ = c.read(text.as_bytes());
    c.finish(lang)
}

/// Entities an extractor pulls out of a text (for the extractor examples).
pub fn extract_entities(cat: &Catalog, text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let _ = crate::input::for_each_line(text.as_bytes(), |_, l| {
        for x in &cat.extractors {
            extract(x, l, &mut out);
        }
    });
    out
}

impl Prefilter {
    /// A prefilter for a catalogue that is not the built-in one (tests).
    pub fn build(cat: &Catalog) -> Prefilter {
        Prefilter::new(cat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Catalog;

    fn classify(data: &[u8], fast_after: u64) -> (String, String) {
        let cat = Catalog::builtin().unwrap();
        let mut c = Classifier::new(cat, Prefilter::for_catalog(cat));
        let stats = input::read_lines_after(data, &mut c, fast_after).unwrap();
        let findings = serde_json::to_string_pretty(&c.finish(Lang::En)).unwrap();
        (findings, format!("{stats:?}"))
    }

    /// The raw-byte prefilter changes nothing: every fixture log, alone, all
    /// together, and buried in noise that holds no keyword, gives the same
    /// findings (counts, line numbers, samples) and the same input summary.
    #[test]
    fn fast_path_gives_the_same_findings() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/explain");
        let mut logs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        let mut all = Vec::new();
        let mut noisy = Vec::new();
        let noise: &[&[u8]] = &[
            b"#5 sha256:4f4fb700ef54 12.58MB / 30.43MB 2.3s\n",
            b"\x1b[2A\x1b[2K4f4fb700ef54: Downloading [====>   ]  1.2MB/9MB\x1b[2B\r\x1b[2Kdone\n",
            b"Extracting [ 10%]\rExtracting [ 60%]\rExtracting [100%]\n",
            b"Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\r\n",
            b"\n",
            b"  \t \n",
        ];
        for (i, log) in logs.iter().enumerate() {
            let data = std::fs::read(log).unwrap();
            assert_eq!(
                classify(&data, u64::MAX),
                classify(&data, 0),
                "{}",
                log.display()
            );
            all.extend_from_slice(&data);
            for (k, line) in data.split_inclusive(|&b| b == b'\n').enumerate() {
                noisy.extend_from_slice(noise[(i + k) % noise.len()]);
                noisy.extend_from_slice(line);
            }
        }
        assert_eq!(classify(&all, u64::MAX), classify(&all, 0));
        assert_eq!(classify(&noisy, u64::MAX), classify(&noisy, 0));
        assert_eq!(classify(&noisy, u64::MAX), classify(&noisy, 4096));
    }
}
