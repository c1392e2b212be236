//! `detach-partition`: DETACH PARTITION removes the partition's rows from every query on the parent.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "detach-partition",
    level: Level::High,
    summary: "DETACH PARTITION removes the partition's rows from every query on the parent",
    doc: rule_doc!("detach-partition"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::DetachPartition { partition, concurrently } = cmd {
            out.push(Hit::new(
                Level::High,
                format!(
                    "detaching {partition} from {table} removes its rows from every query on {table}{}",
                    if *concurrently { "" } else { "; without CONCURRENTLY it takes ACCESS EXCLUSIVE on the parent" }
                ),
                if cx.pg() >= 14 { "Make sure no code still needs those rows through the parent; use DETACH ... CONCURRENTLY outside a transaction" } else { "Make sure no code still needs those rows through the parent" },
            ));
        }
    }
}
