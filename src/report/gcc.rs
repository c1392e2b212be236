//! `--format gcc`: `path:line:col: level: message [rule]`, one line per finding, for editors.

use super::{RunReport, span_positions};
use crate::model::Level;
use crate::source::LineIndex;
use std::fmt::Write;

pub fn render(run: &RunReport) -> String {
    let mut out = String::new();
    for f in &run.files {
        let text: &str = &f.text;
        let index = LineIndex::new(text);
        for x in f.findings.iter().filter(|x| !x.ignored) {
            let (a, _) = span_positions(text, &index, x.span);
            let sev = match x.level {
                Level::Low => "note",
                Level::Medium => "warning",
                Level::High | Level::VeryHigh => "error",
            };
            let _ = writeln!(out, "{}:{}:{}: {sev}: {} ({}) [{}]", f.path, a.line, a.column, x.message, x.level, x.rule);
        }
    }
    for e in &run.errors {
        let _ = writeln!(out, "{}:1:1: error: {}", e.path, e.message);
    }
    out
}
