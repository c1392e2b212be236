//! `--format markdown`: a PR comment / job summary. Stays under GitHub's
//! 65,536-character comment limit by truncating with a note.

use super::RunReport;
use crate::model::Level;
use std::fmt::Write;

pub const LIMIT: usize = 65_536;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(run: &RunReport) -> String {
    render_with_limit(run, LIMIT)
}

pub fn render_with_limit(run: &RunReport, limit: usize) -> String {
    let worst = run.files.iter().map(|f| f.grade).max().unwrap_or(Level::Low);
    let mut head = String::new();
    let _ = writeln!(head, "## migrade: worst grade **{worst}**\n");
    let _ = writeln!(head, "{}\n", super::human::summary_line(run));
    let _ = writeln!(head, "| file | grade | deploy | backup | review | top findings |");
    let _ = writeln!(head, "|---|---|---|---|---|---|");
    let mut files: Vec<_> = run.files.iter().filter(|f| !f.findings.iter().all(|x| x.ignored)).collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.grade));
    let mut rows = Vec::new();
    for f in &files {
        let mut top: Vec<_> = f.findings.iter().filter(|x| !x.ignored).collect();
        top.sort_by_key(|x| std::cmp::Reverse(x.level));
        let tops = top.iter().take(3).map(|x| format!("`{}` ({}) {}", x.rule, x.level, cell(&x.message))).collect::<Vec<_>>().join("<br>");
        let mut row = format!(
            "| `{}` | **{}** | {} | {} | {} | {} |\n",
            cell(&f.path),
            f.grade,
            f.advice.deploy,
            f.advice.backup,
            if f.advice.manual_review { "yes" } else { "no" },
            tops
        );
        if !f.plan.is_empty() {
            let mut plan = String::new();
            crate::report::human::render_plan(&mut plan, f);
            let _ = write!(row, "\n<details><summary>expand/contract plan for <code>{}</code></summary>\n\n```sql\n{}```\n</details>\n\n", cell(&f.path), plan.replace("```", "'''"));
        }
        rows.push(row);
    }
    let mut errors = String::new();
    if !run.errors.is_empty() {
        let _ = writeln!(errors, "\n**Errors**\n");
        for e in &run.errors {
            let _ = writeln!(errors, "- `{}`: {}", cell(&e.path), cell(&e.message));
        }
    }
    let mut out = head;
    let reserve = errors.len() + 200;
    let mut shown = 0;
    for r in &rows {
        if out.len() + r.len() + reserve > limit {
            break;
        }
        out.push_str(r);
        shown += 1;
    }
    if shown < rows.len() {
        let _ = writeln!(out, "\n_…{} more file(s) not shown: the report was truncated to stay under GitHub's {limit}-character limit. Run `migrade lint` locally for the full report._", rows.len() - shown);
    }
    if files.is_empty() {
        let _ = writeln!(out, "| _no findings_ | low | automatic | optional | no | |");
    }
    if out.len() + errors.len() <= limit {
        out.push_str(&errors);
    }
    out
}
