//! `attach-partition`: ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE unless a matching CHECK proves the bound.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "attach-partition",
    level: Level::High,
    summary: "ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE unless a matching CHECK proves the bound",
    doc: rule_doc!("attach-partition"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = alter_cmds(cx.op) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::AttachPartition { partition } = cmd else {
            continue;
        };
        if cx.is_new(&partition.name) {
            continue;
        }
        let has_check = cx
            .schema()
            .table(&partition.name)
            .is_some_and(|t| t.constraints.iter().any(|k| k.kind == ConstraintKind::Check && k.validated));
        if has_check {
            out.push(Hit::new(
                Level::Medium,
                format!("attaching {partition} to {table}: a validated CHECK exists on the partition; if it matches the bound there is no scan"),
                "Make sure the CHECK matches the partition bound exactly; drop it after attaching",
            ));
        } else {
            out.push(Hit::new(
                Level::High,
                format!("attaching {partition} to {table} scans {partition} (and a DEFAULT partition) under ACCESS EXCLUSIVE to check the bound"),
                "Add a CHECK matching the bound NOT VALID, VALIDATE it, then ATTACH (no scan), then drop the CHECK",
            ));
        }
    }
}
