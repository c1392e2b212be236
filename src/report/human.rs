//! `--format human` (default): miette diagnostics with the source snippet, the
//! grade and its advice, and the plan. Colour only on a terminal, never with NO_COLOR.

use super::RunReport;
use crate::model::{FileReport, Finding, Level, Stage};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report, Severity};
use std::fmt::Write;

pub struct HumanOptions {
    pub color: bool,
    pub show_plan: bool,
    pub show_low_files: bool,
    /// The `--fail-on` level: `quiet` shows the files that reach it.
    pub fail_on: Level,
    /// `--fail-on-down`: down migrations count toward `--fail-on`.
    pub fail_on_down: bool,
    /// `-q`: only the files that reach `--fail-on`, then the summary.
    pub quiet: bool,
    /// `--statistics`: the count of findings per rule in the summary.
    pub statistics: bool,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            show_plan: true,
            show_low_files: false,
            fail_on: Level::High,
            fail_on_down: false,
            quiet: false,
            statistics: false,
        }
    }
}

/// How many files the summary lists by name.
pub const WORST_FILES: usize = 10;

fn severity(l: Level) -> Severity {
    match l {
        Level::Low => Severity::Advice,
        Level::Medium => Severity::Warning,
        Level::High | Level::VeryHigh => Severity::Error,
    }
}

/// Whether `-q` shows this file: it reaches `--fail-on` (down files only with `--fail-on-down`).
pub fn fails(f: &FileReport, opts: &HumanOptions) -> bool {
    f.fail_grade(opts.fail_on_down).is_some_and(|g| g >= opts.fail_on)
}

pub fn render(run: &RunReport, opts: &HumanOptions) -> String {
    let theme = if opts.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_context_lines(1);
    let mut out = String::new();
    if opts.quiet {
        // One line per file that reaches --fail-on, worst first: a 570-file folder stays readable.
        let mut failing: Vec<&FileReport> = run.files.iter().filter(|f| fails(f, opts)).collect();
        failing.sort_by_key(|f| std::cmp::Reverse(f.grade));
        if !failing.is_empty() {
            let _ = writeln!(
                out,
                "files at or above --fail-on {} (-q: one line each; without -q, or with --format concise, every finding):",
                opts.fail_on
            );
        }
        out.push_str(&file_lines(&failing, failing.len()));
        for e in &run.errors {
            let _ = writeln!(out, "error: {}: {}", printable(&e.path), printable(&e.message));
        }
        out.push_str(&summary(run, opts));
        return out;
    }
    // `migrade verify`: every file it applied has a verify section to show.
    let shown = |f: &&FileReport| !f.findings.is_empty() || opts.show_low_files || f.verify.is_some();
    for f in run.files.iter().filter(|f| !f.is_down()).filter(shown) {
        render_file(&mut out, f, &handler, opts);
    }
    let downs: Vec<&FileReport> = run.files.iter().filter(|f| f.is_down()).filter(shown).collect();
    if !downs.is_empty() {
        let _ = writeln!(out, "{}\n", down_heading(opts));
        for f in downs {
            render_file(&mut out, f, &handler, opts);
        }
    }
    for e in &run.errors {
        let _ = writeln!(out, "error: {}: {}", printable(&e.path), printable(&e.message));
    }
    out.push_str(&summary(run, opts));
    out
}

fn down_heading(opts: &HumanOptions) -> String {
    format!(
        "── down migrations (graded on their own; {}) ──",
        if opts.fail_on_down {
            "counted toward --fail-on (--fail-on-down)"
        } else {
            "not counted toward --fail-on unless --fail-on-down"
        }
    )
}

/// The summary printed last, the part a person reads first: the worst files (grade, path,
/// top finding), the down migrations, with `--statistics` the findings per rule, and the
/// one-line count of files per grade.
pub fn summary(run: &RunReport, opts: &HumanOptions) -> String {
    let mut out = String::new();
    let mut worst: Vec<&FileReport> =
        run.files.iter().filter(|f| (opts.fail_on_down || !f.is_down()) && f.top_finding().is_some()).collect();
    worst.sort_by_key(|f| std::cmp::Reverse(f.grade));
    let _ = writeln!(out, "── summary ──");
    // Under -q the files above are the list already.
    if !worst.is_empty() && !opts.quiet {
        let _ = writeln!(out, "worst files:");
        out.push_str(&file_lines(&worst, WORST_FILES));
        if worst.len() > WORST_FILES {
            let _ = writeln!(out, "  … {} more file(s) with findings", worst.len() - WORST_FILES);
        }
    }
    let downs: Vec<&FileReport> = run.files.iter().filter(|f| f.is_down()).collect();
    if !downs.is_empty() {
        let _ = writeln!(
            out,
            "down migrations: {}; {}",
            grade_counts(&downs),
            if opts.fail_on_down {
                "counted toward --fail-on (--fail-on-down)"
            } else {
                "not counted toward --fail-on (--fail-on-down counts them)"
            }
        );
    }
    if opts.statistics {
        out.push_str(&statistics(run));
    }
    if opts.quiet {
        let hidden = run
            .files
            .iter()
            .filter(|f| (opts.fail_on_down || !f.is_down()) && !fails(f, opts) && f.top_finding().is_some())
            .count();
        if hidden > 0 {
            let _ = writeln!(out, "{hidden} file(s) with findings below --fail-on {} not shown (-q)", opts.fail_on);
        }
    }
    let _ = writeln!(out, "{}", summary_line(run));
    out
}

/// One line per file: grade, path:line of its top finding, the rule, the message shortened,
/// and how many more findings it has; at most `max` files.
fn file_lines(files: &[&FileReport], max: usize) -> String {
    let mut out = String::new();
    let width = files.iter().take(max).map(|f| f.grade.as_str().len()).max().unwrap_or(0);
    for f in files.iter().take(max) {
        let _ = write!(out, "  {:<width$}  {}", f.grade.as_str().to_uppercase(), printable(&f.path));
        if let Some(x) = f.top_finding() {
            let line = crate::source::LineIndex::new(&f.text).line_col(&f.text, x.span.start).line;
            let _ = write!(out, ":{line}  [{}] {}", x.rule, shorten(&printable(&x.message), 100));
            let more = f.findings.iter().filter(|y| !y.ignored).count().saturating_sub(1);
            if more > 0 {
                let _ = write!(out, " (+{more} more)");
            }
        }
        out.push('\n');
    }
    out
}

/// `--statistics`: findings (not ignored) per rule, most first.
pub fn statistics(run: &RunReport) -> String {
    let mut counts: std::collections::BTreeMap<(&str, Level), usize> = Default::default();
    for x in run.files.iter().flat_map(|f| f.findings.iter()).filter(|x| !x.ignored) {
        *counts.entry((x.rule, x.level)).or_default() += 1;
    }
    let mut rows: Vec<((&str, Level), usize)> = counts.into_iter().collect();
    rows.sort_by_key(|((rule, level), n)| (std::cmp::Reverse(*n), std::cmp::Reverse(*level), *rule));
    let mut out = String::from("findings per rule:\n");
    if rows.is_empty() {
        out.push_str("  none\n");
    }
    for ((rule, level), n) in rows {
        let _ = writeln!(out, "  {n:>6}  {:<9}  {rule}", level.as_str());
    }
    out
}

fn grade_counts(files: &[&FileReport]) -> String {
    let mut counts = [0usize; 4];
    for f in files {
        counts[f.grade as usize] += 1;
    }
    format!(
        "{} file{}: {} very-high, {} high, {} medium, {} low",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        counts[3],
        counts[2],
        counts[1],
        counts[0]
    )
}

/// At most `max` characters, with `…` when cut; one line.
fn shorten(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= max && !s.contains('\n') {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
    // A statement with several findings is shown once: its top finding with the
    // snippet, the others beneath it.
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut by_statement: std::collections::HashMap<usize, usize> = Default::default();
    for x in &f.findings {
        match x.statement.and_then(|i| by_statement.get(&i).copied()) {
            Some(g) => groups[g].push(x),
            None => {
                if let Some(i) = x.statement {
                    by_statement.insert(i, groups.len());
                }
                groups.push(vec![x]);
            }
        }
    }
    for group in &mut groups {
        group.sort_by_key(|x| (x.ignored, std::cmp::Reverse(x.level)));
    }
    for group in &groups {
        let Some((x, rest)) = group.split_first() else { continue };
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
        let mut diag = MietteDiagnostic::new(format!("{}{}", printable(&x.message), ignored_note(x)))
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
        if !rest.is_empty() {
            let _ = writeln!(out, "  also on this statement:");
        }
        for y in rest {
            let _ = writeln!(out, "  {} [{}] {}{}", y.rule, y.level, printable(&y.message), ignored_note(y));
            for (i, line) in printable(&y.help).lines().enumerate() {
                let _ = writeln!(out, "      {}{line}", if i == 0 { "help: " } else { "" });
            }
        }
        if !rest.is_empty() {
            out.push('\n');
        }
    }
    if let Some(v) = &f.verify {
        render_verify(out, f, v);
    }
    if opts.show_plan && !f.plan.is_empty() {
        render_plan(out, f);
    }
    out.push('\n');
}

/// `migrade verify`'s section of a file: one line per statement run, then the round trip.
fn render_verify(out: &mut String, f: &FileReport, v: &crate::model::FileVerify) {
    let millis: f64 = v.statements.iter().map(|s| s.millis).sum();
    let _ = writeln!(
        out,
        "  verify: {}, {} statement(s) run, {} observed, {millis:.1} ms",
        if v.applied { "applied" } else { "not applied" },
        v.statements.len(),
        v.statements.iter().filter(|s| s.observed).count()
    );
    let index = crate::source::LineIndex::new(&f.text);
    for s in &v.statements {
        let line = f
            .statements
            .iter()
            .find(|st| st.index == s.index)
            .map(|st| index.line_col(&f.text, st.span.start).line)
            .unwrap_or(0);
        let _ = writeln!(out, "    {} (line {line}): {}", s.number, printable(&super::verify_statement(s)));
    }
    if let Some(t) = &v.round_trip {
        let _ = writeln!(out, "  {}", printable(&super::verify_round_trip(t)));
    }
}

fn ignored_note(x: &Finding) -> String {
    if x.ignored {
        format!(" (ignored{})", x.ignore_reason.as_ref().map(|r| format!(": {}", printable(r))).unwrap_or_default())
    } else {
        String::new()
    }
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
