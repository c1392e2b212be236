//! Stage: grading. A statement's level is the highest finding on it; a file's grade the
//! highest finding in it (ignored findings do not count); a dbmate/goose file with up
//! and down sections is also graded per direction. The advice follows from the grade
//! ([`crate::model::Advice::for_grade`], RISK-MODEL.md).

use super::Collected;
use crate::model::{Direction, FastMap, Level};
use crate::unit::Unit;

/// Sets each statement's level, orders the findings by position (the highest level
/// first at one position, then by rule id; one rule's findings keep the order it
/// reported them in) and returns the file's grade with each section's grade
/// (empty for a file of one section).
pub(super) fn grade(unit: &Unit, out: &mut Collected) -> (Level, Vec<(Direction, Level)>) {
    // Statement levels: the highest finding on each (one pass over the findings).
    let mut levels: FastMap<usize, Level> = FastMap::default();
    for f in out.findings.iter().filter(|f| !f.ignored) {
        if let Some(i) = f.statement {
            let l = levels.entry(i).or_insert(Level::Low);
            *l = (*l).max(f.level);
        }
    }
    for s in &mut out.statements {
        s.level = levels.get(&s.index).copied().unwrap_or(Level::Low);
    }
    out.findings.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.level), f.rule));
    let grade = out.findings.iter().filter(|f| !f.ignored).map(|f| f.level).max().unwrap_or(Level::Low);
    // dbmate/goose files: each direction is graded on its own as well.
    let sections = if unit.sections.len() > 1 {
        unit.sections
            .iter()
            .map(|s| {
                let g = out
                    .findings
                    .iter()
                    .filter(|f| !f.ignored && f.span.start >= s.start && f.span.start < s.end.max(s.start + 1))
                    .map(|f| f.level)
                    .max()
                    .unwrap_or(Level::Low);
                (s.direction, g)
            })
            .collect()
    } else {
        Vec::new()
    };
    (grade, sections)
}
