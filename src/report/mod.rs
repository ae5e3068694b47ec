//! The report value and its three renderers. Renderers only render: every
//! decision (ranking, wording, redaction) is made before a `Report` exists.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod human;
mod markdown;

pub use human::render_human;
pub use markdown::render_markdown;

pub const SCHEMA: &str = "pulldoctor/report/v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "pulldoctor".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: Tool,
    pub command: String,
    /// What was read: file names (or `-`), lines, encoding. Absent for `check`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<InputSummary>,
    /// The machine's evidence (`check`), secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    /// `check`: one line per area (environment, docker daemon, proxy, DNS, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<Area>,
    pub findings: Vec<Finding>,
}

/// One line of `check`'s summary: `✓`, `!` or `✗`, and what was seen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Area {
    pub name: String,
    pub mark: String,
    pub detail: String,
}

impl Report {
    pub fn new(command: &str) -> Report {
        Report {
            schema: SCHEMA.into(),
            tool: Tool::default(),
            command: command.into(),
            input: None,
            evidence: None,
            areas: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// A diagnosis was made: at least one finding other than `unknown`.
    pub fn diagnosed(&self) -> bool {
        self.findings.iter().any(|f| f.category != "unknown")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputSummary {
    pub sources: Vec<String>,
    pub lines: u64,
    pub bytes: u64,
    pub encoding: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub slug: String,
    pub category: String,
    pub severity: String,
    pub title: String,
    pub explanation: String,
    pub entities: BTreeMap<String, String>,
    pub matched: Vec<Matched>,
    pub count: u64,
    pub remediation: Vec<Step>,
    pub docs: Vec<String>,
    /// `explain --check`: confirmed | refuted | untested, with the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Matched {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub line: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub text: String,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub verdict: String,
    pub evidence: String,
}

/// Renders the report as pretty JSON with a trailing newline.
pub fn render_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"cannot serialise report: {e}\"}}")
    });
    s.push('\n');
    s
}

/// Styling choices shared by the text renderers.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub lang: crate::rules::Lang,
}

/// Fixed words of the report chrome, per language.
pub(crate) struct Words {
    pub why: &'static str,
    pub fix: &'static str,
    pub matched: &'static str,
    pub more: &'static str,
    pub end: &'static str,
    pub times: &'static str,
}

pub(crate) fn words(lang: crate::rules::Lang) -> Words {
    match lang {
        crate::rules::Lang::En => Words {
            why: "why",
            fix: "fix",
            matched: "matched",
            more: "For more information about a finding, try ",
            end: ".",
            times: "times",
        },
        crate::rules::Lang::Zh => Words {
            why: "原因",
            fix: "解决",
            matched: "匹配的日志",
            more: "查看某条结论的详细说明：",
            end: "",
            times: "次",
        },
    }
}

/// One-line summary: "2 causes found in error.log (143 lines)".
pub(crate) fn summary(report: &Report, lang: crate::rules::Lang) -> String {
    let n = report
        .findings
        .iter()
        .filter(|f| f.category != "unknown")
        .count();
    let src = report
        .input
        .as_ref()
        .map(|i| {
            let names: Vec<&str> = i
                .sources
                .iter()
                .map(|s| match (s.as_str(), lang) {
                    ("-", crate::rules::Lang::En) => "standard input",
                    ("-", crate::rules::Lang::Zh) => "标准输入",
                    (s, _) => s,
                })
                .collect();
            (names.join(", "), i.lines)
        })
        .unwrap_or_default();
    if report.input.is_none() {
        let what = match report.command.as_str() {
            "replay" => "the saved evidence",
            _ => "this machine",
        };
        return match (lang, n) {
            (crate::rules::Lang::En, 0) => format!("pulldoctor: nothing wrong found on {what}"),
            (crate::rules::Lang::En, 1) => format!("pulldoctor: 1 problem found on {what}"),
            (crate::rules::Lang::En, n) => format!("pulldoctor: {n} problems found on {what}"),
            (crate::rules::Lang::Zh, 0) => format!(
                "pulldoctor：{}没有发现问题",
                if what == "this machine" {
                    "这台机器上"
                } else {
                    "保存的证据中"
                }
            ),
            (crate::rules::Lang::Zh, n) => format!(
                "pulldoctor：{}发现 {n} 个问题",
                if what == "this machine" {
                    "这台机器上"
                } else {
                    "保存的证据中"
                }
            ),
        };
    }
    let what = src.0.clone();
    match lang {
        crate::rules::Lang::En => match n {
            0 => format!(
                "pulldoctor: no known cause found in {what} ({})",
                plural(src.1, "line")
            ),
            1 => format!(
                "pulldoctor: 1 cause found in {what} ({})",
                plural(src.1, "line")
            ),
            n => format!(
                "pulldoctor: {n} causes found in {what} ({})",
                plural(src.1, "line")
            ),
        },
        crate::rules::Lang::Zh => match n {
            0 => format!("pulldoctor：在 {what}（{} 行）中没有找到已知原因", src.1),
            n => format!("pulldoctor：在 {what}（{} 行）中找到 {n} 个原因", src.1),
        },
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
