//! Reporters: pure writers of a run's results in each output format.

pub mod gcc;
pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use crate::discover::PathError;
use crate::model::{FileReport, Span};
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
