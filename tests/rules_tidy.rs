//! The rule catalogue's tidy check (rustc's `tidy`, clippy's meta-tests):
//! structure, text conventions, and every example in every rule file run
//! through the whole engine. Fails with one list of all problems.

use std::collections::BTreeMap;

use pulldoctor::engine::{Prefilter, classify_text, extract_entities};
use pulldoctor::rules::{Catalog, Lang, UNKNOWN_RULE, family_file};

fn catalog() -> &'static Catalog {
    Catalog::builtin().expect("built-in rules parse")
}

#[test]
fn rules_structure_is_tidy() {
    let problems = catalog().problems();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn rules_files_are_family_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut bad = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && !(1..=9).any(|f| family_file(f) == name) {
            bad.push(name);
        }
    }
    assert!(
        bad.is_empty(),
        "rule files outside the family scheme: {bad:?}"
    );
}

fn subset_problems(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> Vec<String> {
    want.iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: want {v:?}, got {:?}", got.get(k)))
        .collect()
}

#[test]
fn rules_examples_come_out_as_declared() {
    let cat = catalog();
    let pre = Prefilter::build(cat);
    let mut problems = Vec::new();
    let mut checked = 0;
    for r in &cat.rules {
        for ex in &r.examples {
            checked += 1;
            let findings = classify_text(cat, &pre, &ex.text, Lang::En);
            let top = findings
                .first()
                .map(|f| f.rule.as_str())
                .unwrap_or(UNKNOWN_RULE);
            match (&ex.expect, &ex.captures) {
                (None, caps) => {
                    if top != r.id {
                        let all: Vec<_> = findings.iter().map(|f| f.rule.as_str()).collect();
                        problems.push(format!(
                            "{}: example came out as {all:?}:\n    {}",
                            r.id, ex.text
                        ));
                        continue;
                    }
                    if let Some(caps) = caps {
                        for p in subset_problems(caps, &findings[0].entities) {
                            problems.push(format!("{}: {p}\n    {}", r.id, ex.text));
                        }
                    }
                }
                (Some(other), _) => {
                    let other = if other == "none" {
                        UNKNOWN_RULE
                    } else {
                        other.as_str()
                    };
                    if findings.iter().any(|f| f.rule == r.id) || top != other {
                        let all: Vec<_> = findings.iter().map(|f| f.rule.as_str()).collect();
                        problems.push(format!(
                            "{}: negative example should come out as {other}, came out as {all:?}:\n    {}",
                            r.id, ex.text
                        ));
                    }
                }
            }
        }
    }
    for x in &cat.extractors {
        for ex in &x.examples {
            checked += 1;
            let got = extract_entities(cat, &ex.text);
            for p in subset_problems(ex.captures.as_ref().unwrap_or(&BTreeMap::new()), &got) {
                problems.push(format!("extractor {}: {p}\n    {}", x.name, ex.text));
            }
        }
    }
    assert!(checked > 0);
    assert!(
        problems.is_empty(),
        "{} of {checked} examples failed:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_rendered_placeholder_is_filled() {
    // A positive example's finding must not show a raw `{name}` to the user.
    let cat = catalog();
    let pre = Prefilter::build(cat);
    let mut problems = Vec::new();
    let placeholder = regex::Regex::new(r"\{[a-z_][a-z0-9_]*\}").unwrap();
    for r in cat.rules.iter().filter(|r| r.is_log_rule()) {
        for ex in r.examples.iter().filter(|e| e.expect.is_none()) {
            for lang in [Lang::En, Lang::Zh] {
                let f = &classify_text(cat, &pre, &ex.text, lang)[0];
                let mut texts = vec![f.title.clone(), f.explanation.clone()];
                for s in &f.remediation {
                    texts.push(s.text.clone());
                    texts.extend(s.commands.iter().cloned());
                }
                for t in texts {
                    if let Some(m) = placeholder.find(&t) {
                        problems.push(format!(
                            "{} ({lang:?}): unfilled {} in {t:?}",
                            r.id,
                            m.as_str()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
