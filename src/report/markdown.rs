//! `--format markdown`: a PR comment / job summary.
//!
//! Layout: a heading with the worst grade and the summary line; one table of the
//! files with findings (file, grade, deploy, backup, review, top findings), worst
//! first; the files that could not be linted; then each file's expand/contract plan
//! in a collapsed `<details>` block (after the table: a block inside it would end it).
//!
//! Stays under GitHub's 65,536-character comment limit (counted here in bytes,
//! which is never fewer than characters): rows, errors and plans are added in that
//! order while they fit, and whatever is left out is said in a note.

use super::RunReport;
use crate::model::{FileReport, Level, Stage};
use std::fmt::Write;

pub const LIMIT: usize = 65_536;

/// Room kept for the truncation notes (each is well under 300 bytes).
const NOTE_RESERVE: usize = 1_024;
/// At most this share of the limit is kept for the errors while the table is filled.
const ERROR_SHARE: usize = 4;

/// Text for a table cell: one line, `|` escaped, no raw HTML.
fn cell(s: &str) -> String {
    one_line(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "\\|")
}

fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// A code span for a table cell: a fence longer than any backtick run inside, `|` escaped
/// (GitHub reads `\|` as a pipe inside code spans in tables).
fn code_cell(s: &str) -> String {
    let s = one_line(s).replace('|', "\\|");
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        cur = if ch == c { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn row(f: &FileReport) -> String {
    let mut top: Vec<_> = f.findings.iter().filter(|x| !x.ignored).collect();
    top.sort_by_key(|x| std::cmp::Reverse(x.level));
    let mut tops =
        top.iter().take(3).map(|x| format!("`{}` ({}) {}", x.rule, x.level, cell(&x.message))).collect::<Vec<_>>();
    if top.len() > 3 {
        tops.push(format!("_+{} more_", top.len() - 3));
    }
    format!(
        "| {} | **{}** | {} | {} | {} | {} |\n",
        code_cell(&f.path),
        f.grade,
        f.advice.deploy,
        f.advice.backup,
        yes_no(f.advice.manual_review),
        tops.join("<br>")
    )
}

/// A file's plan as a collapsed block: steps by stage, SQL in fenced blocks.
pub fn plan_block(f: &FileReport) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<details><summary>expand/contract plan for <code>{}</code> (grade {}, {} step{})</summary>\n\n",
        html(&one_line(&f.path)),
        f.grade,
        f.plan.len(),
        if f.plan.len() == 1 { "" } else { "s" }
    );
    let mut stage: Option<Stage> = None;
    for (n, p) in f.plan.iter().enumerate() {
        if stage != Some(p.stage) {
            stage = Some(p.stage);
            let _ = write!(out, "**{}**\n\n", p.stage.heading());
        }
        let mut flags = Vec::new();
        if let Some(l) = &p.lock {
            flags.push(format!("lock: {}", cell(l)));
        }
        if p.no_transaction {
            flags.push("outside a transaction".to_string());
        }
        if p.irreversible {
            flags.push("**irreversible**: backup required, needs approval".to_string());
        }
        let _ = write!(out, "{}. {}", n + 1, cell(&p.title));
        if !flags.is_empty() {
            let _ = write!(out, " — {}", flags.join("; "));
        }
        out.push_str("\n\n");
        if !p.sql.trim().is_empty() {
            let fence = "`".repeat(longest_run(&p.sql, '`').max(2) + 1);
            let _ = write!(out, "{fence}sql\n{}\n{fence}\n\n", p.sql.trim_end());
        }
    }
    out.push_str("</details>\n\n");
    out
}

pub fn render(run: &RunReport) -> String {
    render_with_limit(run, LIMIT)
}

pub fn render_with_limit(run: &RunReport, limit: usize) -> String {
    let worst = run.files.iter().map(|f| f.grade).max().unwrap_or(Level::Low);
    let mut out = String::new();
    let _ = writeln!(out, "## migrade: worst grade **{worst}**\n");
    let _ = writeln!(out, "{}\n", cell(&super::human::summary_line(run)));
    let _ = writeln!(out, "| file | grade | deploy | backup | review | top findings |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");

    let mut files: Vec<&FileReport> = run.files.iter().filter(|f| f.findings.iter().any(|x| !x.ignored)).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.grade));

    let errors: Vec<String> =
        run.errors.iter().map(|e| format!("- {}: {}\n", code_cell(&e.path), cell(&e.message))).collect();
    let error_reserve = if errors.is_empty() {
        0
    } else {
        (errors.iter().map(String::len).sum::<usize>() + 32).min(limit / ERROR_SHARE)
    };
    let fits = |out: &String, extra: usize, reserve: usize| out.len() + extra + reserve + NOTE_RESERVE <= limit;

    // The table.
    let mut shown = 0;
    for f in &files {
        let r = row(f);
        if !fits(&out, r.len(), error_reserve) {
            break;
        }
        out.push_str(&r);
        shown += 1;
    }
    if files.is_empty() {
        let _ = writeln!(out, "| _no findings_ | low | automatic | optional | no | |");
    }
    if shown < files.len() {
        let _ = writeln!(
            out,
            "\n_…{} more file(s) with findings not shown: the report was truncated to stay under GitHub's {limit}-character limit. Run `migrade lint` locally for the full report._",
            files.len() - shown
        );
    }

    // Files that could not be linted.
    if !errors.is_empty() {
        out.push_str("\n**Errors**\n\n");
        let mut listed = 0;
        for e in &errors {
            if !fits(&out, e.len(), 0) {
                break;
            }
            out.push_str(e);
            listed += 1;
        }
        if listed < errors.len() {
            let _ = writeln!(
                out,
                "\n_…{} more error(s) not shown (truncated to stay under the {limit}-character limit)._",
                errors.len() - listed
            );
        }
    }

    // Plans of the files in the table.
    let with_plan: Vec<&FileReport> = files[..shown].iter().copied().filter(|f| !f.plan.is_empty()).collect();
    if !with_plan.is_empty() {
        out.push_str("\n### Plans\n\n");
        let mut listed = 0;
        for f in &with_plan {
            let block = plan_block(f);
            if !fits(&out, block.len(), 0) {
                break;
            }
            out.push_str(&block);
            listed += 1;
        }
        if listed < with_plan.len() {
            let _ = writeln!(
                out,
                "_…{} more plan(s) not shown (truncated to stay under the {limit}-character limit); `migrade plan <file>` prints one._",
                with_plan.len() - listed
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_code_spans() {
        assert_eq!(cell("a|b\n<c>"), "a\\|b &lt;c&gt;");
        assert_eq!(code_cell("dir/a|b.sql"), "`dir/a\\|b.sql`");
        assert_eq!(code_cell("x`y.sql"), "``x`y.sql``");
        assert_eq!(code_cell("`x.sql"), "`` `x.sql ``");
    }
}
