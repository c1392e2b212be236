//! `--format gcc`: `path:line:col: level: message [rule]`, one line per finding, for editors
//! (Vim's `errorformat`, Emacs' compilation mode, VS Code problem matchers).
//!
//! The level is gcc's `note`, `warning` or `error`; migrade's own level follows the
//! message in parentheses. Lines and columns are 1-based, as in `--format json`.
//! Files that could not be linted are reported at `path:1:1: error:` without a rule.

use super::{RunReport, span_positions};
use crate::model::Level;
use crate::source::LineIndex;
use std::fmt::Write;

/// gcc's severity for a migrade level.
pub fn severity(level: Level) -> &'static str {
    match level {
        Level::Low => "note",
        Level::Medium => "warning",
        Level::High | Level::VeryHigh => "error",
    }
}

/// One line per diagnostic: line breaks inside a message become spaces.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

pub fn render(run: &RunReport) -> String {
    let mut out = String::new();
    for f in &run.files {
        let text: &str = &f.text;
        let index = LineIndex::new(text);
        for x in f.findings.iter().filter(|x| !x.ignored) {
            let (a, _) = span_positions(text, &index, x.span);
            let _ = writeln!(
                out,
                "{}:{}:{}: {}: {} ({}) [{}]",
                one_line(&f.path),
                a.line,
                a.column,
                severity(x.level),
                one_line(&x.message),
                x.level,
                x.rule
            );
        }
    }
    for e in &run.errors {
        let _ = writeln!(out, "{}:1:1: error: {}", one_line(&e.path), one_line(&e.message));
    }
    out
}
