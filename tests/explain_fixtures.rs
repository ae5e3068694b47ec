//! Whole logs under `fixtures/explain/*.log`, each with its expected findings
//! in `NAME.expect.toml` (best first: rule, count, a subset of the entities), and the
//! real client outputs captured by the lab (`fixtures/lab/*.log`, tests/lab_clients.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulldoctor::engine::{Classifier, Prefilter};
use pulldoctor::input;
use pulldoctor::report::Finding;
use pulldoctor::rules::{Catalog, Lang};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    finding: Vec<ExpectFinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFinding {
    rule: String,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    entities: BTreeMap<String, String>,
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/explain")
}

/// The outputs of the real clients the lab captured (`PULLDOCTOR_LAB_FIXTURES=1`).
pub fn lab_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lab")
}

pub fn classify_file(path: &Path, lang: Lang) -> Vec<Finding> {
    let cat = Catalog::builtin().unwrap();
    let pre = Prefilter::for_catalog(cat);
    let mut c = Classifier::new(cat, pre);
    let f = std::fs::File::open(path).unwrap();
    input::for_each_line(f, |n, l| c.line(n, l)).unwrap();
    c.finish(lang)
}

#[test]
fn explain_fixtures_give_expected_findings() {
    let mut problems = Vec::new();
    let mut n = 0;
    let mut logs: Vec<PathBuf> = [fixtures_dir(), lab_fixtures_dir()]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        let exp_path = log.with_extension("expect.toml");
        let Ok(exp) = std::fs::read_to_string(&exp_path) else {
            problems.push(format!("{name}: missing {}", exp_path.display()));
            continue;
        };
        let exp: Expect = match toml::from_str(&exp) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{name}: bad expect file: {e}"));
                continue;
            }
        };
        n += 1;
        let got = classify_file(&log, Lang::En);
        let got_ids: Vec<&str> = got.iter().map(|f| f.rule.as_str()).collect();
        let want_ids: Vec<&str> = exp.finding.iter().map(|f| f.rule.as_str()).collect();
        if got_ids != want_ids {
            problems.push(format!(
                "{name}: findings {got_ids:?}, expected {want_ids:?}"
            ));
            continue;
        }
        for (g, w) in got.iter().zip(&exp.finding) {
            if let Some(c) = w.count
                && c != g.count
            {
                problems.push(format!("{name}: {} count {} expected {c}", g.rule, g.count));
            }
            for (k, v) in &w.entities {
                if g.entities.get(k) != Some(v) {
                    problems.push(format!(
                        "{name}: {} entity {k} = {:?}, expected {v:?}",
                        g.rule,
                        g.entities.get(k)
                    ));
                }
            }
        }
    }
    assert!(n > 0, "no fixtures found");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
