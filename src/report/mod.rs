//! Reporters: pure writers of a run's results in each output format.

pub mod concise;
pub mod gcc;
pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use crate::discover::PathError;
use crate::model::{FileReport, Level, Span};
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
