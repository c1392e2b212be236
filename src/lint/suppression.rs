//! Stage: suppression. Inline ignores (`-- migrade-ignore: rule -- reason` for the next
//! statement, `-- migrade-ignore-file:` for the file) mark the findings they match; a
//! malformed one is `invalid-ignore`, one that matches nothing `unused-ignore`.

use super::{Collected, Settings};
use crate::model::{Finding, Span};
use crate::rules::{Hit, ignores, invalid_ignore, unused_ignore};
use crate::split;

pub(super) fn apply_ignores(
    text: &str,
    sp: &split::Split,
    out: &mut Collected,
    settings: &Settings,
    finding: impl Fn(&'static str, Hit, Span) -> Option<Finding>,
) {
    let mut parsed: Vec<ignores::Ignore> = sp
        .comments
        .iter()
        .filter(|c| c.line)
        .filter_map(|c| ignores::parse_ignore(&text[c.start + 2..c.end], c.start, c.end))
        .collect();
    let mut extra = Vec::new();
    for ig in &mut parsed {
        let span = Span { start: ig.start, end: ig.end };
        for p in &ig.problems {
            extra.push((invalid_ignore::RULE.id, invalid_ignore::malformed(p), span));
        }
        if settings.require_ignore_reason && ig.reason.is_none() && !ig.rules.is_empty() {
            extra.push((invalid_ignore::RULE.id, invalid_ignore::without_reason(), span));
            ig.rules.clear();
        }
        // The statement an ignore applies to: the first that starts after it.
        let target =
            if ig.file_wide { None } else { out.statements.iter().find(|s| s.span.start >= ig.end).map(|s| s.index) };
        let mut used = false;
        for f in &mut out.findings {
            let applies =
                ig.rules.iter().any(|r| r == f.rule) && (ig.file_wide || (target.is_some() && f.statement == target));
            if applies && !f.ignored {
                f.ignored = true;
                f.ignore_reason = ig.reason.clone();
                used = true;
            }
        }
        if !used && !ig.rules.is_empty() {
            extra.push((unused_ignore::RULE.id, unused_ignore::hit(&ig.rules), span));
        }
    }
    for (rule, hit, span) in extra {
        if let Some(f) = finding(rule, hit, span) {
            out.findings.push(f);
        }
    }
}
