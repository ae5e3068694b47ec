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
    let _ = writeln!(
        out,
        "{}",
        paint(&summary(report, style.lang), |s| s.bold().to_string())
    );
    if !report.areas.is_empty() {
        out.push('\n');
        for a in &report.areas {
            let mark = match a.mark.as_str() {
                "✗" => paint("[✗]", |s| s.red().bold().to_string()),
                "!" => paint("[!]", |s| s.yellow().bold().to_string()),
                _ => paint("[✓]", |s| s.green().bold().to_string()),
            };
            let _ = writeln!(out, "{mark} {:<14} {}", a.name, a.detail);
        }
    }
    for f in &report.findings {
        out.push('\n');
        let (mark, color): (&str, fn(&str) -> String) = match f.severity.as_str() {
            "error" => ("✗", |s| s.red().bold().to_string()),
            "warning" => ("!", |s| s.yellow().bold().to_string()),
            _ => ("·", |s| s.cyan().bold().to_string()),
        };
        let count = if f.count > 1 {
            format!("  ×{}", f.count)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {}  {}{}",
            paint(mark, color),
            paint(&f.title, |s| s.bold().to_string()),
            paint(&format!("[{} {}]", f.rule, f.category), |s| s
                .dimmed()
                .to_string()),
            count
        );
        render_body(&mut out, f, style, &w);
    }
    let ids = distinct_rules(report);
    if !ids.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}`pulldoctor rules {}`{}",
            w.more,
            ids.join("`, `pulldoctor rules "),
            w.end
        );
    }
    out
}

fn render_body(out: &mut String, f: &Finding, style: Style, w: &super::Words) {
    let dim = |s: &str| {
        if style.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    };
    let green = |s: &str| {
        if style.color {
            s.green().to_string()
        } else {
            s.to_string()
        }
    };
    let label = format!("{}: ", w.why);
    let indent = 2 + width(&label);
    for (i, l) in wrap(f.explanation.trim(), WIDTH.saturating_sub(indent))
        .iter()
        .enumerate()
    {
        if i == 0 {
            let _ = writeln!(out, "  {}{l}", dim(&label));
        } else if l.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{:indent$}{l}", "");
        }
    }
    if !f.remediation.is_empty() {
        let _ = writeln!(out, "  {}:", dim(w.fix));
        for (i, s) in f.remediation.iter().enumerate() {
            for (j, l) in wrap(s.text.trim(), WIDTH - 7).iter().enumerate() {
                if j == 0 {
                    let _ = writeln!(out, "    {}. {l}", i + 1);
                } else {
                    let _ = writeln!(out, "       {l}");
                }
            }
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
                Some(file) if m.line == 0 => file.clone(),
                Some(file) => format!("{file}:{}", m.line),
                None => m.line.to_string(),
            };
            let _ = writeln!(
                out,
                "    {} {} {}",
                dim(&format!("{loc:>5}")),
                dim("│"),
                m.text
            );
        }
        if f.count > f.matched.len() as u64 {
            let _ = writeln!(
                out,
                "          {}",
                dim(&format!("… {} {}", f.count, w.times))
            );
        }
    }
    if let Some(st) = &f.status {
        let _ = writeln!(out, "  check: {} — {}", st.verdict, st.evidence);
    }
    let _ = writeln!(
        out,
        "  {}",
        dim(&format!("= help: pulldoctor rules {}", f.rule))
    );
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

const WIDTH: usize = 80;

/// Display width: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{115f}' | '\u{2e80}'..='\u{a4cf}' | '\u{ac00}'..='\u{d7a3}' | '\u{f900}'..='\u{faff}' | '\u{fe30}'..='\u{fe4f}' | '\u{ff00}'..='\u{ff60}' | '\u{ffe0}'..='\u{ffe6}')
}

/// Wraps text at `max` columns, breaking at spaces, or between wide
/// characters (Chinese has no spaces). Paragraph breaks are kept.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(20);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut cur = String::new();
        let mut cur_w = 0;
        // Tokens: a run of non-space narrow characters, a single wide character, or spaces.
        let mut tokens: Vec<String> = Vec::new();
        for c in para.chars() {
            let start_new = match tokens.last() {
                None => true,
                // Kinsoku: closing punctuation never starts a line.
                Some(_) if is_closing_punct(c) => false,
                Some(t) => {
                    is_wide(c)
                        || t.chars().last().is_some_and(is_wide)
                        || (c == ' ') != t.ends_with(' ')
                }
            };
            if start_new {
                tokens.push(c.to_string());
            } else if let Some(t) = tokens.last_mut() {
                t.push(c);
            }
        }
        for t in tokens {
            let tw = width(&t);
            if cur_w + tw > max && !cur.trim().is_empty() {
                lines.push(cur.trim_end().to_string());
                cur.clear();
                cur_w = 0;
                if t.starts_with(' ') {
                    continue;
                }
            }
            cur.push_str(&t);
            cur_w += tw;
        }
        lines.push(cur.trim_end().to_string());
    }
    lines
}

fn is_closing_punct(c: char) -> bool {
    matches!(
        c,
        '。' | '，'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '」'
            | '』'
            | '】'
            | '》'
            | '”'
            | '’'
            | ')'
            | ','
            | '.'
            | ';'
            | ':'
    )
}
