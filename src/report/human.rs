//! `--format human` (default): miette diagnostics with the source snippet, the
//! grade and its advice, and the plan. Colour only on a terminal, never with NO_COLOR.

use super::RunReport;
use crate::model::{FileReport, Level, Stage};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report, Severity};
use std::fmt::Write;

pub struct HumanOptions {
    pub color: bool,
    pub show_plan: bool,
    pub show_low_files: bool,
}

fn severity(l: Level) -> Severity {
    match l {
        Level::Low => Severity::Advice,
        Level::Medium => Severity::Warning,
        Level::High | Level::VeryHigh => Severity::Error,
    }
}

pub fn render(run: &RunReport, opts: &HumanOptions) -> String {
    let theme = if opts.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_context_lines(1);
    let mut out = String::new();
    for f in &run.files {
        if f.findings.is_empty() && !opts.show_low_files {
            continue;
        }
        render_file(&mut out, f, &handler, opts);
    }
    for e in &run.errors {
        let _ = writeln!(out, "error: {}: {}", printable(&e.path), printable(&e.message));
    }
    let _ = writeln!(out, "{}", summary_line(run));
    out
}

pub fn summary_line(run: &RunReport) -> String {
    let mut counts = [0usize; 4];
    for f in &run.files {
        counts[f.grade as usize] += 1;
    }
    let worst = run.files.iter().map(|f| f.grade).max();
    format!(
        "{} file{} linted: {} very-high, {} high, {} medium, {} low{}{}",
        run.files.len(),
        if run.files.len() == 1 { "" } else { "s" },
        counts[3],
        counts[2],
        counts[1],
        counts[0],
        worst.map(|w| format!("; worst grade: {w}")).unwrap_or_default(),
        if run.errors.is_empty() { String::new() } else { format!("; {} error(s)", run.errors.len()) }
    )
}

fn render_file(out: &mut String, f: &FileReport, handler: &GraphicalReportHandler, opts: &HumanOptions) {
    let a = &f.advice;
    let _ = writeln!(
        out,
        "{}: grade {} — deploy: {}, backup: {}, manual review: {}{}",
        printable(&f.path),
        f.grade.as_str().to_uppercase(),
        a.deploy,
        a.backup,
        if a.manual_review { "yes" } else { "no" },
        if a.stage2_approval { ", stage-2 approval: yes" } else { "" }
    );
    if !f.sections.is_empty() {
        let parts: Vec<String> = f.sections.iter().map(|(d, g)| format!("{}: {g}", d.as_str())).collect();
        let _ = writeln!(out, "  sections graded on their own: {}", parts.join(", "));
    }
    // Never show a committed secret: mask the string literals of statements that hold one.
    let redacted = redact_secrets(f);
    // Control characters (terminal escapes) are shown as `?`, byte for byte.
    let shown = printable(redacted.as_deref().unwrap_or(&f.text));
    let text: &str = &shown;
    for x in &f.findings {
        let mut label = String::new();
        if let Some(s) = x.statement.and_then(|i| f.statements.iter().find(|s| s.index == i)) {
            let e = &s.effects;
            let mut facts = Vec::new();
            for (t, m) in e.all_locks() {
                facts.push(format!("{m} on {t}"));
            }
            if e.rewrite {
                facts.push("rewrites the table".into());
            }
            if e.scan {
                facts.push("scans it".into());
            }
            if e.data_loss {
                facts.push("loses data".into());
            }
            if e.breaks_running_code {
                facts.push("breaks running code".into());
            }
            label = facts.join("; ");
        }
        let len = x.span.end.saturating_sub(x.span.start);
        let mut diag = MietteDiagnostic::new(format!(
            "{}{}",
            printable(&x.message),
            if x.ignored {
                format!(" (ignored{})", x.ignore_reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())
            } else {
                String::new()
            }
        ))
        .with_code(format!("{} [{}]", x.rule, x.level))
        .with_severity(if x.ignored { Severity::Advice } else { severity(x.level) })
        .with_help(printable(&x.help).into_owned());
        diag = diag.with_label(LabeledSpan::new(if label.is_empty() { None } else { Some(label) }, x.span.start, len));
        let report = Report::new(diag).with_source_code(NamedSource::new(printable(&f.path), text.to_string()));
        let mut s = String::new();
        if handler.render_report(&mut s, report.as_ref()).is_ok() {
            out.push_str(&s);
        } else {
            let _ = writeln!(out, "  {} [{}]: {}", x.rule, x.level, x.message);
        }
    }
    if opts.show_plan && !f.plan.is_empty() {
        render_plan(out, f);
    }
    out.push('\n');
}

pub fn render_plan(out: &mut String, f: &FileReport) {
    let _ = writeln!(out, "  expand/contract plan for {}:", printable(&f.path));
    let mut stage: Option<Stage> = None;
    let mut n = 0;
    for p in &f.plan {
        if stage != Some(p.stage) {
            stage = Some(p.stage);
            let _ = writeln!(out, "  ── {}", p.stage.heading());
        }
        n += 1;
        let mut flags = Vec::new();
        if let Some(l) = &p.lock {
            flags.push(format!("lock: {l}"));
        }
        if p.no_transaction {
            flags.push("outside a transaction".into());
        }
        if p.irreversible {
            flags.push("IRREVERSIBLE: backup required, needs approval".into());
        }
        let _ = writeln!(
            out,
            "    {n}. {}{}",
            p.title,
            if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join("; ")) }
        );
        for line in p.sql.lines() {
            let _ = writeln!(out, "         {line}");
        }
    }
}

/// The file text with every string literal inside a `hardcoded-secret` finding's
/// span masked with `*` (byte for byte, so spans stay exact), or None.
pub fn redact_secrets(f: &FileReport) -> Option<String> {
    let spans: Vec<_> = f.findings.iter().filter(|x| x.rule == "hardcoded-secret").map(|x| x.span).collect();
    if spans.is_empty() {
        return None;
    }
    let mut bytes = f.text.as_bytes().to_vec();
    for sp in spans {
        let mut in_lit = false;
        let end = sp.end.min(bytes.len());
        let mut i = sp.start.min(end);
        while i < end {
            if bytes[i] == b'\'' {
                in_lit = !in_lit;
            } else if in_lit {
                bytes[i] = b'*';
            }
            i += 1;
        }
    }
    // Masking whole multi-byte characters byte by byte keeps the text valid UTF-8.
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The text with ASCII control characters other than tab and line breaks replaced by `?`
/// (one byte each, so byte spans stay exact): an escape sequence in a comment or a file
/// name must not drive the terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| (c.is_ascii_control() && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{7f}';
    if text.chars().any(bad) {
        std::borrow::Cow::Owned(text.chars().map(|c| if bad(c) { '?' } else { c }).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}
