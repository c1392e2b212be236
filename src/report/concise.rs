//! `--format concise`: one line per finding, `path:line:col: level [rule] message`, then
//! the summary line (as `ruff --output-format concise`). Lines and columns are 1-based, as
//! in `--format json`; ignored findings are left out; down migrations come after the others.

use super::human::{HumanOptions, fails, printable, statistics, summary_line};
use super::{RunReport, span_positions};
use crate::source::LineIndex;
use std::fmt::Write;

pub fn render(run: &RunReport, opts: &HumanOptions) -> String {
    let mut out = String::new();
    let ups = run.files.iter().filter(|f| !f.is_down());
    let downs = run.files.iter().filter(|f| f.is_down());
    for f in ups.chain(downs) {
        if opts.quiet && !fails(f, opts) {
            continue;
        }
        let text: &str = &f.text;
        let index = LineIndex::new(text);
        let path = printable(&f.path);
        for x in f.findings.iter().filter(|x| !x.ignored) {
            let (a, _) = span_positions(text, &index, x.span);
            let message = printable(&x.message);
            let message = message.split(['\r', '\n']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>();
            let _ = writeln!(out, "{path}:{}:{}: {} [{}] {}", a.line, a.column, x.level, x.rule, message.join(" "));
        }
    }
    for e in &run.errors {
        let _ = writeln!(out, "{}:1:1: error {}", printable(&e.path), printable(&e.message).replace('\n', " "));
    }
    if opts.statistics {
        out.push_str(&statistics(run));
    }
    let _ = writeln!(out, "{}", summary_line(run));
    out
}
