//! `create-index-non-concurrently`: CREATE INDEX without CONCURRENTLY blocks writes to an existing table for the whole build.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "create-index-non-concurrently",
    level: Level::High,
    summary: "CREATE INDEX without CONCURRENTLY blocks writes to an existing table for the whole build",
    doc: rule_doc!("create-index-non-concurrently"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::CreateIndex { name, table, concurrently: false, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let concurrent = add_concurrently(cx.sql);
    out.push(
        Hit::new(
            Level::High,
            format!("building index {} on {table} without CONCURRENTLY holds a SHARE lock that blocks writes for the whole build", name.as_deref().unwrap_or("(unnamed)")),
            "Use CREATE INDEX CONCURRENTLY in a migration that does not run inside a transaction",
        )
        .plan(plan::create_index_concurrently(&concurrent, name.as_deref())),
    );
}

/// The statement with CONCURRENTLY inserted after `INDEX`.
pub(crate) fn add_concurrently(sql: &str) -> String {
    let upper = sql.to_ascii_uppercase();
    match upper.find("INDEX") {
        Some(i) => format!("{} CONCURRENTLY{};", &sql[..i + 5], sql[i + 5..].trim_end().trim_end_matches(';')),
        None => sql.to_string(),
    }
}
