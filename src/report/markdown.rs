//! Markdown output, ready to paste into a ticket or an issue.

use std::fmt::Write;

use super::{Report, Style, summary, words};

pub fn render_markdown(report: &Report, style: Style) -> String {
    let w = words(style.lang);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}\n",
        summary(report, style.lang)
            .trim_start_matches("pulldoctor: ")
            .trim_start_matches("pulldoctor：")
    );
    for f in &report.findings {
        let mark = match f.severity.as_str() {
            "error" => "✗",
            "warning" => "!",
            _ => "·",
        };
        let count = if f.count > 1 {
            format!(" (×{})", f.count)
        } else {
            String::new()
        };
        let _ = writeln!(out, "### {mark} {}{count}\n", f.title);
        let _ = writeln!(out, "`{}` · `{}` · {}\n", f.rule, f.category, f.severity);
        let _ = writeln!(
            out,
            "**{}:** {}\n",
            cap(w.why),
            f.explanation.trim().replace('\n', " ")
        );
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "**{}:**\n", cap(w.fix));
            for (i, s) in f.remediation.iter().enumerate() {
                let _ = writeln!(out, "{}. {}", i + 1, s.text.trim());
                if !s.commands.is_empty() {
                    let _ = writeln!(out, "   ```sh");
                    for c in &s.commands {
                        for l in c.lines() {
                            let _ = writeln!(out, "   {l}");
                        }
                    }
                    let _ = writeln!(out, "   ```");
                }
            }
            out.push('\n');
        }
        if !f.matched.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>{}</summary>\n\n```text",
                cap(w.matched)
            );
            for m in &f.matched {
                let loc = match &m.file {
                    Some(file) if m.line == 0 => file.clone(),
                    Some(file) => format!("{file}:{}", m.line),
                    None => m.line.to_string(),
                };
                let _ = writeln!(out, "{loc}: {}", m.text.replace("```", "ˋˋˋ"));
            }
            let _ = writeln!(out, "```\n\n</details>\n");
        }
        if let Some(st) = &f.status {
            let _ = writeln!(out, "**check:** {} — {}\n", st.verdict, st.evidence);
        }
        if !f.docs.is_empty() {
            let links: Vec<String> = f.docs.iter().map(|d| format!("<{d}>")).collect();
            let _ = writeln!(out, "Docs: {}\n", links.join(", "));
        }
        let _ = writeln!(out, "More: `pulldoctor rules {}`\n", f.rule);
    }
    out
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
