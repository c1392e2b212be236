//! Inline ignores: `-- migrade-ignore: rule-a, rule-b -- reason` for the next
//! statement, `-- migrade-ignore-file: rule -- reason` for the whole file.
//! Unused, unknown or malformed ignores are findings themselves (`unused-ignore`,
//! `invalid-ignore`); the driver applies them in src/lint/suppression.rs.

use super::*;

/// One parsed ignore comment.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub start: usize,
    pub end: usize,
    pub file_wide: bool,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    /// Problems found while parsing it (malformed, unknown rule).
    pub problems: Vec<String>,
}

/// Parses a `--` comment's text (without the dashes) into an ignore, if it is one.
pub fn parse_ignore(comment: &str, start: usize, end: usize) -> Option<Ignore> {
    let body = comment.trim();
    let (file_wide, rest) = if let Some(r) = body.strip_prefix("migrade-ignore-file") {
        (true, r)
    } else if let Some(r) = body.strip_prefix("migrade-ignore") {
        (false, r)
    } else {
        return None;
    };
    let mut ig = Ignore { start, end, file_wide, rules: vec![], reason: None, problems: vec![] };
    let Some(rest) = rest.trim_start().strip_prefix(':') else {
        ig.problems.push("expected `:` and a list of rule ids, e.g. `-- migrade-ignore: drop-column -- reason`".into());
        return Some(ig);
    };
    let (list, reason) = match rest.split_once("--") {
        Some((l, r)) => (l, Some(r.trim().to_string()).filter(|r| !r.is_empty())),
        None => (rest, None),
    };
    ig.reason = reason;
    for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if find(id).is_some() {
            ig.rules.push(id.to_string());
        } else {
            ig.problems.push(format!("unknown rule `{id}` (see `migrade rules`)"));
        }
    }
    if ig.rules.is_empty() && ig.problems.is_empty() {
        ig.problems.push("no rule ids after `:`".into());
    }
    Some(ig)
}
