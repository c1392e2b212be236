//! `--format github`: workflow commands that annotate the pull request
//! (`::error file=..,line=..,endLine=..,col=..,endColumn=..,title=..::message`).
//!
//! Escaping follows actions/toolkit (`packages/core/src/command.ts`): the message
//! escapes `%`, CR and LF; property values also `:` and `,`. Lines and columns are
//! 1-based and the end is inclusive (the toolkit: "endColumn defaults to startColumn"),
//! the same numbers as `--format json`. `col`/`endColumn` are only sent when the
//! annotation is on one line, as GitHub requires.

use super::{RunReport, span_positions};
use crate::model::Level;
use crate::source::LineIndex;
use std::fmt::Write;

/// Escapes a workflow-command message: `%`, CR, LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property value: also `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub matches annotation paths with `/` separators.
fn file_path(path: &str) -> String {
    if cfg!(windows) { path.replace('\\', "/") } else { path.to_string() }
}

pub fn render(run: &RunReport) -> String {
    let mut out = String::new();
    for f in &run.files {
        let text: &str = &f.text;
        let index = LineIndex::new(text);
        for x in f.findings.iter().filter(|x| !x.ignored) {
            let (a, b) = span_positions(text, &index, x.span);
            let cmd = match x.level {
                Level::Low => "notice",
                Level::Medium => "warning",
                Level::High | Level::VeryHigh => "error",
            };
            let title = format!("migrade {} ({}) — file grade {}", x.rule, x.level, f.grade);
            let mut props = format!("file={},line={},endLine={}", escape_property(&file_path(&f.path)), a.line, b.line);
            // GitHub only honours col/endColumn on single-line annotations.
            if a.line == b.line {
                let _ = write!(props, ",col={},endColumn={}", a.column, b.column);
            }
            let _ = write!(props, ",title={}", escape_property(&title));
            let msg = if x.help.trim().is_empty() { x.message.clone() } else { format!("{}\n{}", x.message, x.help) };
            let _ = writeln!(out, "::{cmd} {props}::{}", escape_data(&msg));
        }
    }
    for e in &run.errors {
        let _ = writeln!(
            out,
            "::error file={},title={}::{}",
            escape_property(&file_path(&e.path)),
            escape_property("migrade: cannot lint this file"),
            escape_data(&e.message)
        );
    }
    out
}
