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

use crate::cli::{
    CheckArgs, Cli, ColorArg, Command, ComponentArg, ExplainArgs, Format, LangArg, ReplayArgs,
    RouteArgs, RulesArgs,
};

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
    let style = Style {
        color: use_color(cli.global.color),
        lang: lang(cli.global.lang),
    };
    match cli.command {
        Command::Explain(args) => explain(args, cli.global.format, style),
        Command::Rules(args) => rules(args, cli.global.format, style),
        Command::Check(args) => check(args, cli.global.format, style),
        Command::Replay(args) => replay(args, cli.global.format, style),
        Command::Route(args) => route(args, cli.global.format),
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
            if v.to_ascii_lowercase().starts_with("zh") {
                Lang::Zh
            } else {
                Lang::En
            }
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
    let sources: Vec<&Path> = if stdin_only {
        vec![Path::new("-")]
    } else {
        args.files.iter().map(|p| p.as_path()).collect()
    };
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
                eprintln!(
                    "pulldoctor: reading the log from standard input; paste it, then press Ctrl-D"
                );
            }
            let lock = stdin.lock();
            read_into(lock, &mut classifier)
                .map_err(|e| Error::Msg(format!("standard input: {e}")))?
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
        let what = if total.bytes == 0 {
            "is empty"
        } else {
            "holds only blank lines"
        };
        return Err(Error::Msg(format!(
            "the input {what}: give the output of the failed command, e.g. `docker pull IMAGE 2>&1 | pulldoctor explain`"
        )));
    }
    let overflow = classifier.overflow;
    let findings = classifier.finish(style.lang);
    let mut report = Report::new("explain");
    report.findings = findings;
    if args.check && report.diagnosed() {
        if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
            return Err(Error::Msg(
                "--timeout must be between 0 and 600 seconds".into(),
            ));
        }
        let rt = runtime()?;
        rt.block_on(pulldoctor::recheck::recheck(
            &mut report.findings,
            std::time::Duration::from_secs_f64(args.timeout),
        ));
        rt.shutdown_background();
    }
    let mut notes = encodings;
    if overflow > 0 {
        notes.push(format!(
            "{overflow} matching lines beyond the first 10000 distinct ones were not grouped"
        ));
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
    pulldoctor::redact::report(&mut report, args.redact.options());
    write_out(&render(&report, format, style))?;
    Ok(if report.diagnosed() { 0 } else { 1 })
}

fn read_into<R: Read>(r: R, c: &mut Classifier<'_>) -> io::Result<InputStats> {
    c.read(r)
}

fn open_input(path: &Path) -> Result<File, Error> {
    let name = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| Error::Msg(format!("{name}: {}", io_text(&e))))?;
    if meta.is_dir() {
        return Err(Error::Msg(format!(
            "{name}: is a directory; give a log file"
        )));
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
            let mut live: Vec<&Rule> = cat.rules.iter().filter(|r| r.retired.is_none()).collect();
            live.sort_by(|a, b| a.id.cmp(&b.id));
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
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&rule_json(r)).unwrap_or_default()
                ),
                _ => rule_long(r, style.lang),
            };
            write_out(&out)?;
            Ok(0)
        }
    }
}

/// Placeholders shown as `<name>` in rule documentation.
fn generic(t: &str) -> String {
    interpolate_with(t, |_| None)
        .replace('{', "<")
        .replace('}', ">")
        .replace("<<", "{{")
        .replace(">>", "}}")
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
        "keywords": r.keywords,
        "patterns": r.patterns,
        "context": r.context,
        "docs": r.docs,
        "examples": r.examples.iter().filter(|e| e.expect.is_none()).map(|e| &e.text).collect::<Vec<_>>(),
    })
}

/// `pulldoctor rules ID`: the long explanation, as `rustc --explain` prints.
fn rule_long(r: &Rule, lang: Lang) -> String {
    let mut s = format!("# {} {}: {}\n\n", r.id, r.slug, generic(r.title.get(lang)));
    s += &format!(
        "category: {}   severity: {}\n\n",
        r.category,
        r.severity.as_str()
    );
    s += &generic(r.explanation.get(lang).trim());
    s += "\n\n";
    s += if lang == Lang::Zh {
        "## 解决\n\n"
    } else {
        "## Fix\n\n"
    };
    for (i, f) in r.fix.iter().enumerate() {
        s += &format!(
            "{}. {}\n",
            i + 1,
            generic(if lang == Lang::Zh { &f.zh } else { &f.en })
        );
        for c in &f.commands {
            s += &format!("       $ {}\n", generic(c));
        }
    }
    let examples: Vec<&str> = r
        .examples
        .iter()
        .filter(|e| e.expect.is_none())
        .map(|e| e.text.as_str())
        .collect();
    if !examples.is_empty() {
        s += if lang == Lang::Zh {
            "\n## 日志示例\n\n"
        } else {
            "\n## Messages it recognises\n\n"
        };
        for e in examples {
            s += &format!("    {}\n", e.trim());
        }
    }
    if !r.docs.is_empty() {
        s += if lang == Lang::Zh {
            "\n## 参考\n\n"
        } else {
            "\n## References\n\n"
        };
        for d in &r.docs {
            s += &format!("- {d}\n");
        }
    }
    s
}

fn rules_markdown(rules: &[&Rule], lang: Lang) -> String {
    let mut s =
        String::from("| id | slug | category | severity | title |\n|---|---|---|---|---|\n");
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

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Msg(format!("cannot start the async runtime: {e}")))
}

fn local_options(root: Option<&Path>) -> pulldoctor::evidence::LocalOptions {
    let mut local = pulldoctor::evidence::LocalOptions::from_process();
    if let Some(root) = root {
        local.root = root.to_path_buf();
    }
    local
}

/// `HOST[:PORT]` of an image reference (`docker.io` when it names none).
fn image_registry(reference: &str) -> String {
    let r = reference.trim().trim_start_matches("docker://");
    match r.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            if first == "docker.io" || first == "index.docker.io" {
                "registry-1.docker.io".into()
            } else {
                first.into()
            }
        }
        _ => "registry-1.docker.io".into(),
    }
}

fn parse_dns_server(s: &str) -> Result<std::net::SocketAddr, Error> {
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| Error::Msg(format!("--dns-server {s:?}: expected IP or IP:PORT")))
}

fn check(args: CheckArgs, format: Format, style: Style) -> Result<u8, Error> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(Error::Msg(
            "--timeout must be between 0 and 600 seconds".into(),
        ));
    }
    if let Some(root) = &args.root
        && !root.is_dir()
    {
        return Err(Error::Msg(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }
    let mut registries = args.registries.clone();
    registries.extend(args.images.iter().map(|i| image_registry(i)));
    let opts = pulldoctor::check::CheckOptions {
        local: local_options(args.root.as_deref()),
        offline: args.offline,
        registries,
        dns_servers: args
            .dns_servers
            .iter()
            .map(|s| parse_dns_server(s))
            .collect::<Result<_, _>>()?,
        vm_gateway: args.vm_gateway,
        timeout: std::time::Duration::from_secs_f64(args.timeout),
        no_hub: args.no_hub,
    };
    let rt = runtime()?;
    let spinner = Spinner::start();
    let ev = rt.block_on(pulldoctor::check::collect(&opts));
    spinner.stop();
    // getaddrinfo threads cannot be cancelled: do not wait for them.
    rt.shutdown_background();
    let redact = args.redact.options();
    let mut report = Report::new("check");
    report.findings = pulldoctor::check::diagnose(&ev, style.lang)?;
    report.areas = pulldoctor::check::areas(&ev, &report.findings);
    report.evidence = Some(pulldoctor::check::evidence_json(&ev, redact));
    finish_check(
        report,
        format,
        style,
        args.save.as_deref(),
        args.verbose,
        redact,
    )
}

fn finish_check(
    mut report: Report,
    format: Format,
    style: Style,
    save: Option<&Path>,
    verbose: bool,
    redact: pulldoctor::redact::Options,
) -> Result<u8, Error> {
    pulldoctor::redact::report(&mut report, redact);
    if let Some(path) = save {
        std::fs::write(path, report::render_json(&report))
            .map_err(|e| Error::Msg(format!("--save {}: {}", path.display(), io_text(&e))))?;
    }
    let mut out = render(&report, format, style);
    if verbose && format == Format::Human {
        out.push_str("\nEvidence:\n");
        out.push_str(&serde_json::to_string_pretty(&report.evidence).unwrap_or_default());
        out.push('\n');
    }
    write_out(&out)?;
    Ok(if report.findings.iter().any(|f| f.severity == "error") {
        1
    } else {
        0
    })
}

fn replay(args: ReplayArgs, format: Format, style: Style) -> Result<u8, Error> {
    let name = args.file.display().to_string();
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| Error::Msg(format!("{name}: {}", io_text(&e))))?;
    if meta.len() > 256 << 20 {
        return Err(Error::Msg(format!(
            "{name}: larger than 256 MiB; not a pulldoctor report"
        )));
    }
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Error::Msg(format!("{name}: {}", io_text(&e))))?;
    let saved: Report = serde_json::from_str(&text)
        .map_err(|e| Error::Msg(format!("{name}: not a pulldoctor report: {e}")))?;
    if saved.schema != report::SCHEMA {
        return Err(Error::Msg(format!(
            "{name}: schema {:?}, expected {:?}",
            saved.schema,
            report::SCHEMA
        )));
    }
    let Some(evidence) = saved.evidence else {
        return Err(Error::Msg(format!(
            "{name}: the report has no evidence (only `check --save` reports can be replayed)"
        )));
    };
    let ev: pulldoctor::check::Evidence =
        serde_json::from_value(evidence.clone()).map_err(|e| {
            Error::Msg(format!(
                "{name}: evidence of another pulldoctor version: {e}"
            ))
        })?;
    let mut report = Report::new("replay");
    report.findings = pulldoctor::check::diagnose(&ev, style.lang)?;
    report.areas = pulldoctor::check::areas(&ev, &report.findings);
    report.evidence = Some(evidence);
    finish_check(report, format, style, None, false, args.redact.options())
}

fn route(args: RouteArgs, format: Format) -> Result<u8, Error> {
    use pulldoctor::route::{Component, component_env, route as route_for};
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(Error::Msg(
            "--timeout must be between 0 and 600 seconds".into(),
        ));
    }
    let local = local_options(args.root.as_deref());
    let host = pulldoctor::evidence::collect_local(&local);
    let rt = runtime()?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs_f64(args.timeout);
    let cmds = rt.block_on(pulldoctor::evidence::commands::collect_commands(
        &pulldoctor::evidence::commands::CommandOptions::new(local.env.clone()),
        deadline,
    ));
    rt.shutdown_background();
    let comps: Vec<Component> = match args.component {
        None => Component::ALL.to_vec(),
        Some(ComponentArg::Dockerd) => vec![Component::Dockerd],
        Some(ComponentArg::Containerd) => vec![Component::Containerd],
        Some(ComponentArg::BuildRun) => vec![Component::BuildRun],
        Some(ComponentArg::Go) => vec![Component::Go],
        Some(ComponentArg::Curl) => vec![Component::Curl],
        Some(ComponentArg::Buildkitd) => vec![Component::Buildkitd],
        Some(ComponentArg::Nerdctl) => vec![Component::Nerdctl],
        Some(ComponentArg::Ctr) => vec![Component::Ctr],
    };
    let answers: Vec<_> = comps
        .iter()
        .map(|c| route_for(&component_env(&host, &cmds, *c), *c, &args.url))
        .collect();
    let out = match format {
        Format::Json if answers.len() == 1 => format!(
            "{}\n",
            serde_json::to_string_pretty(&answers[0]).unwrap_or_default()
        ),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&answers).unwrap_or_default()
        ),
        _ => {
            let mut s = String::new();
            for a in &answers {
                let via = a.proxy.clone().unwrap_or_else(|| "direct".into());
                let from = a
                    .source
                    .as_ref()
                    .map(|s| format!(" ({} from {})", s.var, s.from))
                    .unwrap_or_default();
                s += &format!("{:<11} {via}{from}: {}\n", a.component, a.reason);
            }
            s
        }
    };
    write_out(&out)?;
    Ok(0)
}

/// A spinner on stderr while probes run, only when stderr is a terminal.
struct Spinner {
    stop: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    fn start() -> Spinner {
        if !io::stderr().is_terminal() {
            return Spinner {
                stop: None,
                handle: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut i = 0;
            loop {
                eprint!("\r{} checking this machine…", frames[i % frames.len()]);
                i += 1;
                if rx
                    .recv_timeout(std::time::Duration::from_millis(100))
                    .is_ok()
                {
                    eprint!("\r\x1b[2K");
                    return;
                }
            }
        });
        Spinner {
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
