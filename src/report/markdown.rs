//! `--format markdown`: a PR comment / job summary.
//!
//! Layout: a heading with the worst grade (`none` when no file was linted, as the
//! Action's `grade` output) and the summary line; one table of the files with findings
//! (file, grade, deploy, backup, review, top findings), worst first; the down migrations
//! in their own table; the files that could not be linted; with `migrade verify`, a
//! table of the files it applied (each statement's locks, rewrites, rows and time, and
//! the down round trip); then each file's
//! expand/contract plan in a collapsed `<details>` block (after the table: a block
//! inside it would end it).
//!
//! Stays under GitHub's 65,536-character comment limit (counted here in bytes, which is
//! never fewer than characters): rows are shortened (rule ids only, then the top rule),
//! low grades first, then low, medium and high rows are left out; a very-high row is
//! left out only when even the shortest rows of all of them do not fit. Errors and plans
//! fill the room that is left. What was shortened or left out is said in a note.

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

/// How much of a file's row is shown: shortened rows keep the rule ids, then only the top one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Detail {
    Full,
    Rules,
    Top,
    Hidden,
}

const DETAILS: [Detail; 3] = [Detail::Full, Detail::Rules, Detail::Top];

fn row(f: &FileReport, detail: Detail) -> String {
    let mut top: Vec<_> = f.findings.iter().filter(|x| !x.ignored).collect();
    top.sort_by_key(|x| std::cmp::Reverse(x.level));
    let shown = match detail {
        Detail::Full | Detail::Rules => 3,
        Detail::Top | Detail::Hidden => 1,
    };
    let mut tops = top
        .iter()
        .take(shown)
        .map(|x| match detail {
            Detail::Full => format!("`{}` ({}) {}", x.rule, x.level, cell(&x.message)),
            _ => format!("`{}` ({})", x.rule, x.level),
        })
        .collect::<Vec<_>>();
    if top.len() > shown {
        tops.push(format!("_+{} more_", top.len() - shown));
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
    // The same words as the Action's `grade` output: `none` when no file was linted.
    let worst = run.files.iter().map(|f| f.grade).max().map_or("none", |g| g.as_str());
    let mut out = String::new();
    let _ = writeln!(out, "## migrade: worst grade **{worst}**\n");
    let _ = writeln!(out, "{}\n", cell(&super::human::summary_line(run)));
    let _ = writeln!(out, "{TABLE_HEAD}");

    // Up migrations worst first, then the down migrations in their own table, worst first.
    let with_findings = |f: &&FileReport| f.findings.iter().any(|x| !x.ignored);
    let mut files: Vec<&FileReport> = run.files.iter().filter(|f| !f.is_down()).filter(with_findings).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.grade));
    let ups = files.len();
    let mut downs: Vec<&FileReport> = run.files.iter().filter(|f| f.is_down()).filter(with_findings).collect();
    downs.sort_by_key(|f| std::cmp::Reverse(f.grade));
    files.extend(downs);

    let errors: Vec<String> =
        run.errors.iter().map(|e| format!("- {}: {}\n", code_cell(&e.path), cell(&e.message))).collect();
    let error_reserve = if errors.is_empty() {
        0
    } else {
        (errors.iter().map(String::len).sum::<usize>() + 32).min(limit / ERROR_SHARE)
    };
    let fits = |out: &String, extra: usize, reserve: usize| out.len() + extra + reserve + NOTE_RESERVE <= limit;

    // The table: every row in full when it fits; otherwise rows are shortened, low grades
    // first (and down migrations before up migrations of the same grade), then low, medium
    // and high rows are left out; a very-high row only when even its shortest form does not fit.
    let down_head = DOWN_HEADING.len() + TABLE_HEAD.len() + 2;
    let lens: Vec<[usize; 3]> = files.iter().map(|f| DETAILS.map(|d| row(f, d).len())).collect();
    let mut detail = vec![Detail::Full; files.len()];
    let budget = limit.saturating_sub(out.len() + error_reserve + NOTE_RESERVE + down_head);
    let size = |detail: &[Detail]| -> usize {
        detail.iter().zip(&lens).map(|(d, l)| if *d == Detail::Hidden { 0 } else { l[*d as usize] }).sum()
    };
    let mut total = size(&detail);
    let steps = [
        (Level::Low, Detail::Rules),
        (Level::Medium, Detail::Rules),
        (Level::High, Detail::Rules),
        (Level::Low, Detail::Top),
        (Level::Medium, Detail::Top),
        (Level::High, Detail::Top),
        (Level::VeryHigh, Detail::Rules),
        (Level::VeryHigh, Detail::Top),
        (Level::Low, Detail::Hidden),
        (Level::Medium, Detail::Hidden),
        (Level::High, Detail::Hidden),
        (Level::VeryHigh, Detail::Hidden),
    ];
    'shorten: for (grade, to) in steps {
        // From the end: down migrations first, then the last up rows of that grade.
        for i in (0..files.len()).rev() {
            if total <= budget {
                break 'shorten;
            }
            if files[i].grade == grade && detail[i] < to {
                let old = if detail[i] == Detail::Hidden { 0 } else { lens[i][detail[i] as usize] };
                let new = if to == Detail::Hidden { 0 } else { lens[i][to as usize] };
                total = total - old + new;
                detail[i] = to;
            }
        }
    }
    for (i, f) in files.iter().enumerate().take(ups) {
        if detail[i] != Detail::Hidden {
            out.push_str(&row(f, detail[i]));
        }
    }
    if run.files.is_empty() {
        let _ = writeln!(out, "| _no files linted_ | none | | | | |");
    } else if ups == 0 {
        let _ = writeln!(out, "| _no findings_ | low | automatic | optional | no | |");
    }
    if files.len() > ups {
        let _ = writeln!(out, "\n{DOWN_HEADING}\n");
        let _ = writeln!(out, "{TABLE_HEAD}");
        for (i, f) in files.iter().enumerate().skip(ups) {
            if detail[i] != Detail::Hidden {
                out.push_str(&row(f, detail[i]));
            }
        }
    }
    let shortened: Vec<String> = [Detail::Rules, Detail::Top, Detail::Hidden]
        .iter()
        .filter_map(|&d| {
            let by_grade: Vec<String> = Level::ALL
                .iter()
                .filter_map(|&g| {
                    let n = files.iter().zip(&detail).filter(|(f, x)| f.grade == g && **x == d).count();
                    (n > 0).then(|| format!("{n} {g}"))
                })
                .collect();
            (!by_grade.is_empty()).then(|| {
                let what = match d {
                    Detail::Rules => "show their rule ids only",
                    Detail::Top => "show their top rule only",
                    _ => "are left out",
                };
                format!("{} file row(s) {what}", by_grade.join(", "))
            })
        })
        .collect();
    let hidden = detail.iter().filter(|d| **d == Detail::Hidden).count();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n_…{hidden} more file(s) with findings not shown: the report was truncated to stay under GitHub's {limit}-character limit ({}). Run `migrade lint` locally for the full report._",
            shortened.join("; ")
        );
    } else if !shortened.is_empty() {
        let _ = writeln!(
            out,
            "\n_Shortened to stay under GitHub's {limit}-character limit: {}. Run `migrade lint` locally for the full report._",
            shortened.join("; ")
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

    // `migrade verify`: per file, its statements as the server ran them and the round trip.
    let verified: Vec<&FileReport> = run.files.iter().filter(|f| f.verify.is_some()).collect();
    if !verified.is_empty() {
        out.push_str(&format!("\n### Verify\n\n{VERIFY_HEAD}\n"));
        let mut listed = 0;
        for f in &verified {
            let r = verify_row(f);
            if !fits(&out, r.len(), 0) {
                break;
            }
            out.push_str(&r);
            listed += 1;
        }
        if listed < verified.len() {
            let _ = writeln!(
                out,
                "\n_…{} more verified file(s) not shown (truncated to stay under the {limit}-character limit); `migrade verify --format json` has them all._",
                verified.len() - listed
            );
        }
    }

    // Plans of the files in the table, worst first.
    let with_plan: Vec<&FileReport> = files
        .iter()
        .zip(&detail)
        .filter(|(f, d)| **d != Detail::Hidden && !f.plan.is_empty())
        .map(|(f, _)| *f)
        .collect();
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

/// One file's verify row: applied, each statement compact, the round trip.
fn verify_row(f: &FileReport) -> String {
    let Some(v) = &f.verify else { return String::new() };
    let statements: Vec<String> =
        v.statements.iter().map(|s| format!("{}: {}", s.number, cell(&super::verify_statement(s)))).collect();
    format!(
        "| {} | {} | {} | {} |\n",
        code_cell(&f.path),
        yes_no(v.applied),
        if statements.is_empty() { "_none_".to_string() } else { statements.join("<br>") },
        v.round_trip.as_ref().map_or_else(|| "_no down_".to_string(), |t| cell(&super::verify_round_trip(t)))
    )
}

const VERIFY_HEAD: &str = "| file | applied | statements as PostgreSQL ran them | down round trip |\n|---|---|---|---|";
const TABLE_HEAD: &str = "| file | grade | deploy | backup | review | top findings |\n|---|---|---|---|---|---|";
const DOWN_HEADING: &str = "### Down migrations\n\nGraded on their own: a down that drops what its up added is the expected rollback; they count toward `--fail-on` only with `--fail-on-down`.";

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
