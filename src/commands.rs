//! Glue between the command line and the library: read inputs, run the
//! engine, render, write. Owns the exit codes.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

use pulldoctor::engine::Classifier;
use pulldoctor::input::{self, InputStats};
use pulldoctor::report::{self, InputSummary, Report, Style};
use pulldoctor::rules::{Catalog, Lang, Rule, interpolate_with};

use crate::cli::{Cli, ColorArg, Command, ExplainArgs, Format, LangArg, RulesArgs};

#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Msg(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Msg(m) => f.write_str(m),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<String> for Error {
    fn from(m: String) -> Self {
        Error::Msg(m)
    }
}

pub fn run(cli: Cli) -> Result<u8, Error> {
    let style = Style { color: use_color(cli.global.color), lang: lang(cli.global.lang) };
    match cli.command {
        Command::Explain(args) => explain(args, cli.global.format, style),
        Command::Rules(args) => rules(args, cli.global.format, style),
    }
}

/// The language: `--lang`, else the first non-empty of LC_ALL, LC_MESSAGES,
/// LANG (POSIX precedence); `zh*` gives Chinese.
fn lang(arg: Option<LangArg>) -> Lang {
    match arg {
        Some(LangArg::Zh) => Lang::Zh,
        Some(LangArg::En) => Lang::En,
        None => {
            let v = ["LC_ALL", "LC_MESSAGES", "LANG"]
                .iter()
                .filter_map(|k| std::env::var(k).ok())
                .find(|v| !v.is_empty())
                .unwrap_or_default();
            if v.to_ascii_lowercase().starts_with("zh") { Lang::Zh } else { Lang::En }
        }
    }
}

fn use_color(arg: ColorArg) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
                && io::stdout().is_terminal()
        }
    }
}

fn write_out(s: &str) -> Result<(), Error> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn render(report: &Report, format: Format, style: Style) -> String {
    match format {
        Format::Json => report::render_json(report),
        Format::Markdown => report::render_markdown(report, style),
        Format::Human => report::render_human(report, style),
    }
}

fn explain(args: ExplainArgs, format: Format, style: Style) -> Result<u8, Error> {
    let mut classifier = Classifier::builtin()?;
    let stdin_only = args.files.is_empty();
    let sources: Vec<&Path> = if stdin_only { vec![Path::new("-")] } else { args.files.iter().map(|p| p.as_path()).collect() };
    let many = sources.len() > 1;
    let mut total = InputStats::default();
    let mut names = Vec::new();
    let mut encodings = Vec::new();
    let mut seen_encodings: Vec<&str> = Vec::new();
    for src in &sources {
        let name = src.display().to_string();
        if many {
            classifier.set_source(&name);
        }
        let stats = if name == "-" {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                eprintln!("pulldoctor: reading the log from standard input; paste it, then press Ctrl-D");
            }
            let lock = stdin.lock();
            read_into(lock, &mut classifier).map_err(|e| Error::Msg(format!("standard input: {e}")))?
        } else {
            let file = open_input(src)?;
            read_into(file, &mut classifier).map_err(|e| Error::Msg(format!("{name}: {e}")))?
        };
        if let Some(enc) = stats.encoding {
            if !seen_encodings.contains(&enc.name()) {
                seen_encodings.push(enc.name());
            }
            if enc != input::Encoding::Utf8 {
                encodings.push(format!("{name}: decoded from {}", enc.name()));
            }
        }
        total.bytes += stats.bytes;
        total.lines += stats.lines;
        total.control_bytes += stats.control_bytes;
        total.invalid_bytes += stats.invalid_bytes;
        total.has_text |= stats.has_text;
        names.push(name);
    }
    if !total.has_text {
        let what = if total.bytes == 0 { "is empty" } else { "holds only blank lines" };
        return Err(Error::Msg(format!(
            "the input {what}: give the output of the failed command, e.g. `docker pull IMAGE 2>&1 | pulldoctor explain`"
        )));
    }
    let overflow = classifier.overflow;
    let findings = classifier.finish(style.lang);
    let mut report = Report::new("explain");
    report.findings = findings;
    let mut notes = encodings;
    if overflow > 0 {
        notes.push(format!("{overflow} matching lines beyond the first 10000 distinct ones were not grouped"));
    }
    if total.looks_binary() {
        if !report.diagnosed() {
            return Err(Error::Msg(format!(
                "the input looks like binary data ({} of {} bytes are not text), not a log",
                total.control_bytes + total.invalid_bytes,
                total.bytes
            )));
        }
        notes.push("the input contains binary data; only its text was read".into());
    }
    report.input = Some(InputSummary {
        sources: names,
        lines: total.lines,
        bytes: total.bytes,
        encoding: seen_encodings.join(", "),
        notes,
    });
    write_out(&render(&report, format, style))?;
    Ok(if report.diagnosed() { 0 } else { 1 })
}

fn read_into<R: Read>(r: R, c: &mut Classifier<'_>) -> io::Result<InputStats> {
    input::for_each_line(r, |n, line| c.line(n, line))
}

fn open_input(path: &Path) -> Result<File, Error> {
    let name = path.display();
    let meta = std::fs::metadata(path).map_err(|e| Error::Msg(format!("{name}: {}", io_text(&e))))?;
    if meta.is_dir() {
        return Err(Error::Msg(format!("{name}: is a directory; give a log file")));
    }
    File::open(path).map_err(|e| Error::Msg(format!("{name}: {}", io_text(&e))))
}

fn io_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn rules(args: RulesArgs, format: Format, style: Style) -> Result<u8, Error> {
    let cat = Catalog::builtin()?;
    match args.rule {
        None => {
            let live: Vec<&Rule> = cat.rules.iter().filter(|r| r.retired.is_none()).collect();
            let out = match format {
                Format::Json => {
                    let v: Vec<serde_json::Value> = live.iter().map(|r| rule_json(r)).collect();
                    format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
                }
                Format::Markdown => rules_markdown(&live, style.lang),
                Format::Human => {
                    let mut s = String::new();
                    for r in live {
                        s += &format!(
                            "{}  {:<30} {:<24} {:<7}  {}\n",
                            r.id,
                            r.slug,
                            r.category,
                            r.severity.as_str(),
                            generic(r.title.get(style.lang))
                        );
                    }
                    s
                }
            };
            write_out(&out)?;
            Ok(0)
        }
        Some(q) => {
            let Some(r) = cat.rule(&q) else {
                return Err(Error::Msg(format!(
                    "no rule {q:?}; `pulldoctor rules` lists them (ids like PD1001, numbers like 1001, or slugs)"
                )));
            };
            let out = match format {
                Format::Json => format!("{}\n", serde_json::to_string_pretty(&rule_json(r)).unwrap_or_default()),
                _ => rule_long(r, style.lang),
            };
            write_out(&out)?;
            Ok(0)
        }
    }
}

/// Placeholders shown as `<name>` in rule documentation.
fn generic(t: &str) -> String {
    interpolate_with(t, |_| None).replace('{', "<").replace('}', ">").replace("<<", "{{").replace(">>", "}}")
}

fn rule_json(r: &Rule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "slug": r.slug,
        "category": r.category,
        "severity": r.severity.as_str(),
        "title": r.title,
        "explanation": r.explanation,
        "remediation": r.fix,
        "patterns": r.patterns,
        "context": r.context,
        "docs": r.docs,
        "examples": r.examples.iter().filter(|e| e.expect.is_none()).map(|e| &e.text).collect::<Vec<_>>(),
    })
}

/// `pulldoctor rules ID`: the long explanation, as `rustc --explain` prints.
fn rule_long(r: &Rule, lang: Lang) -> String {
    let mut s = format!("# {} {}: {}\n\n", r.id, r.slug, generic(r.title.get(lang)));
    s += &format!("category: {}   severity: {}\n\n", r.category, r.severity.as_str());
    s += &generic(r.explanation.get(lang).trim());
    s += "\n\n";
    s += if lang == Lang::Zh { "## 解决\n\n" } else { "## Fix\n\n" };
    for (i, f) in r.fix.iter().enumerate() {
        s += &format!("{}. {}\n", i + 1, generic(if lang == Lang::Zh { &f.zh } else { &f.en }));
        for c in &f.commands {
            s += &format!("       $ {}\n", generic(c));
        }
    }
    let examples: Vec<&str> = r.examples.iter().filter(|e| e.expect.is_none()).map(|e| e.text.as_str()).collect();
    if !examples.is_empty() {
        s += if lang == Lang::Zh { "\n## 日志示例\n\n" } else { "\n## Messages it recognises\n\n" };
        for e in examples {
            s += &format!("    {}\n", e.trim());
        }
    }
    if !r.docs.is_empty() {
        s += if lang == Lang::Zh { "\n## 参考\n\n" } else { "\n## References\n\n" };
        for d in &r.docs {
            s += &format!("- {d}\n");
        }
    }
    s
}

fn rules_markdown(rules: &[&Rule], lang: Lang) -> String {
    let mut s = String::from("| id | slug | category | severity | title |\n|---|---|---|---|---|\n");
    for r in rules {
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id,
            r.slug,
            r.category,
            r.severity.as_str(),
            generic(r.title.get(lang)).replace('|', "\\|")
        );
    }
    s
}
