//! Reporters: pure writers of a run's results in each output format.

pub mod concise;
pub mod gcc;
pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use crate::discover::PathError;
use crate::model::{FileReport, Level, RoundTrip, Span, StatementVerify};
use crate::source::{LineCol, LineIndex};

/// Everything a run produced.
#[derive(Default)]
pub struct RunReport {
    pub files: Vec<FileReport>,
    pub errors: Vec<PathError>,
}

/// 1-based start and inclusive end positions of a span.
pub fn span_positions(text: &str, index: &LineIndex, span: Span) -> (LineCol, LineCol) {
    let start = index.line_col(text, span.start);
    let end = if span.end > span.start {
        let mut e = span.end - 1;
        while e > span.start && !text.is_char_boundary(e) {
            e -= 1;
        }
        index.line_col(text, e)
    } else {
        start
    };
    (start, end)
}

impl RunReport {
    /// `--min-level`: drops the findings below `min` (grades stay as they were).
    pub fn hide_findings_below(&mut self, min: Level) {
        for f in &mut self.files {
            hide_findings_below(f, min);
        }
    }
}

/// `--min-level` for one file.
pub fn hide_findings_below(file: &mut FileReport, min: Level) {
    file.findings.retain(|x| x.level >= min);
}

/// One statement as `migrade verify` saw it, compact: the locks it took (new in its
/// transaction), the tables it rewrote, the rows it wrote, what was not compared, its time.
pub fn verify_statement(s: &StatementVerify) -> String {
    let mut parts = Vec::new();
    if !s.ok {
        parts.push("refused by the server".to_string());
    } else if !s.observed {
        parts.push("locks not observed".to_string());
    } else {
        let how = match s.observed_by {
            Some("own_transaction") => "alone in a transaction: ",
            Some("polled") => "polled: ",
            _ => "",
        };
        if s.locks.is_empty() {
            parts.push(format!("{how}no new lock"));
        } else {
            let locks: Vec<String> = s.locks.iter().map(|l| format!("{} {}", l.lock, l.relation)).collect();
            parts.push(format!("{how}{}", locks.join(", ")));
        }
    }
    if !s.rewritten.is_empty() {
        parts.push(format!("rewrote {}", s.rewritten.join(", ")));
    }
    if let Some(n) = s.rows {
        parts.push(format!("{n} row(s) written"));
    }
    for n in &s.not_compared {
        parts.push(format!("not compared: {} {} ({})", n.lock, n.relation, n.why));
    }
    parts.push(format!("{:.1} ms", s.millis));
    if let Some(h) = s.held_millis {
        parts.push(format!("locks held {h:.1} ms"));
    }
    parts.join("; ")
}

/// A down round trip's result, one line.
pub fn verify_round_trip(t: &RoundTrip) -> String {
    if t.complete {
        return format!("round trip with {}: complete", t.down);
    }
    let mut why = Vec::new();
    if !t.not_restored.is_empty() {
        why.push(format!("{} object(s) not restored", t.not_restored.len()));
    }
    if !t.left_behind.is_empty() {
        why.push(format!("{} left behind", t.left_behind.len()));
    }
    if !t.up_again {
        why.push("the up fails when applied again".to_string());
    }
    format!("round trip with {}: incomplete ({})", t.down, why.join(", "))
}
