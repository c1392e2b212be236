//! `drop-index`: dropping an index takes ACCESS EXCLUSIVE on its table (without CONCURRENTLY) and can slow queries that used it.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "drop-index",
    level: Level::Medium,
    summary: "dropping an index takes ACCESS EXCLUSIVE on its table (without CONCURRENTLY) and can slow queries that used it",
    doc: rule_doc!("drop-index"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind: ObjKind::Index, names, concurrently, .. } = cx.op else {
        return;
    };
    for n in names.iter().filter(|n| !cx.is_new(&n.name)) {
        let idx = cx.schema().indexes.get(&n.name);
        if idx.is_some_and(|i| cx.is_new(&i.table)) {
            continue;
        }
        let table = idx.map(|i| i.table.clone()).unwrap_or_else(|| "its table".into());
        let backs = idx
            .and_then(|i| cx.schema().table(&i.table))
            .and_then(|t| t.constraints.iter().find(|k| k.index.as_deref() == Some(n.name.as_str())))
            .map(|k| format!("; it backs constraint {}, so the DROP fails (or CASCADE drops the constraint)", k.name))
            .unwrap_or_default();
        if *concurrently {
            out.push(Hit::new(
                Level::Medium,
                format!("dropping index {n} concurrently: queries that relied on it get slower{backs}"),
                "Check the index is unused (pg_stat_user_indexes.idx_scan) before dropping it",
            ));
        } else {
            out.push(
                Hit::new(
                    Level::Medium,
                    format!("dropping index {n} without CONCURRENTLY takes ACCESS EXCLUSIVE on {table}, blocking reads and writes while it waits{backs}"),
                    "Use DROP INDEX CONCURRENTLY outside a transaction, with a short lock_timeout",
                )
                .plan(plan::drop_index_concurrently(n)),
            );
        }
    }
}
