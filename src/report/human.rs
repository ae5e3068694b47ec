//! Terminal output: summary line, then per finding a mark and title, why,
//! numbered fix steps with their commands, the matched log lines, and a
//! pointer to `pulldoctor rules ID` (as rustc points to `--explain`).

use std::fmt::Write;

use owo_colors::OwoColorize;

use super::{Finding, Report, Style, summary, words};

pub fn render_human(report: &Report, style: Style) -> String {
    let w = words(style.lang);
    let mut out = String::new();
    let paint = |s: &str, f: fn(&str) -> String| if style.color { f(s) } else { s.to_string() };
    let _ = writeln!(out, "{}", paint(&summary(report, style.lang), |s| s.bold().to_string()));
    for f in &report.findings {
        out.push('\n');
        let (mark, color): (&str, fn(&str) -> String) = match f.severity.as_str() {
            "error" => ("✗", |s| s.red().bold().to_string()),
            "warning" => ("!", |s| s.yellow().bold().to_string()),
            _ => ("·", |s| s.cyan().bold().to_string()),
        };
        let count = if f.count > 1 { format!("  ×{}", f.count) } else { String::new() };
        let _ = writeln!(
            out,
            "{} {}  {}{}",
            paint(mark, color),
            paint(&f.title, |s| s.bold().to_string()),
            paint(&format!("[{} {}]", f.rule, f.category), |s| s.dimmed().to_string()),
            count
        );
        render_body(&mut out, f, style, &w);
    }
    let ids = distinct_rules(report);
    if !ids.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{} `pulldoctor rules {}`.", w.more, ids.join("`, `pulldoctor rules "));
    }
    out
}

fn render_body(out: &mut String, f: &Finding, style: Style, w: &super::Words) {
    let dim = |s: &str| if style.color { s.dimmed().to_string() } else { s.to_string() };
    let green = |s: &str| if style.color { s.green().to_string() } else { s.to_string() };
    let mut lines = f.explanation.trim().lines();
    if let Some(first) = lines.next() {
        let _ = writeln!(out, "  {}: {}", dim(w.why), first.trim());
        for l in lines {
            let _ = writeln!(out, "       {}", l.trim());
        }
    }
    if !f.remediation.is_empty() {
        let _ = writeln!(out, "  {}:", dim(w.fix));
        for (i, s) in f.remediation.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, s.text.trim());
            for c in &s.commands {
                for (j, l) in c.lines().enumerate() {
                    let prefix = if j == 0 { "$ " } else { "  " };
                    let _ = writeln!(out, "       {}", green(&format!("{prefix}{l}")));
                }
            }
        }
    }
    if !f.matched.is_empty() {
        let _ = writeln!(out, "  {}:", dim(w.matched));
        for m in &f.matched {
            let loc = match &m.file {
                Some(file) => format!("{file}:{}", m.line),
                None => m.line.to_string(),
            };
            let _ = writeln!(out, "    {} {} {}", dim(&format!("{loc:>5}")), dim("│"), m.text);
        }
        if f.count > f.matched.len() as u64 {
            let _ = writeln!(out, "          {}", dim(&format!("… {} {}", f.count, w.times)));
        }
    }
    if let Some(st) = &f.status {
        let _ = writeln!(out, "  check: {} — {}", st.verdict, st.evidence);
    }
    let _ = writeln!(out, "  {}", dim(&format!("= help: pulldoctor rules {}", f.rule)));
}

pub(crate) fn distinct_rules(report: &Report) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for f in &report.findings {
        if !ids.contains(&f.rule) {
            ids.push(f.rule.clone());
        }
    }
    ids
}
