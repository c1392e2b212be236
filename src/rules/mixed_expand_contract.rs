//! `mixed-expand-contract`: a file that both adds (expand) and drops or renames (contract) existing objects cannot be deployed in two stages.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "mixed-expand-contract",
    level: Level::Medium,
    summary: "a file that both adds (expand) and drops or renames (contract) existing objects cannot be deployed in two stages",
    doc: rule_doc!("mixed-expand-contract"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    if cx.direction != Direction::Up {
        return;
    }
    let expand = cx.statements.iter().find(|s| is_expand(s));
    let contract = cx.statements.iter().find(|s| is_contract(s, cx));
    if let (Some(e), Some(c)) = (expand, contract) {
        out.push(
            Hit::new(
                Level::Medium,
                format!("this file mixes expand (statement {}) and contract (statement {}) changes: the contract part cannot wait for the code deploy", e.index + 1, c.index + 1),
                "Split it: stage 1 (add) before the code deploy, stage 2 (drop, rename) after it",
            )
            .at(c.index),
        );
    }
}

pub(crate) fn is_expand(s: &StmtRecord) -> bool {
    match &s.op {
        Some(Op::CreateTable { .. }) | Some(Op::CreateIndex { .. }) | Some(Op::CreateView { replace: false, .. }) => {
            true
        }
        Some(Op::AlterTable { cmds, .. }) => cmds.iter().any(|c| matches!(c, AlterCmd::AddColumn { .. })),
        _ => false,
    }
}

pub(crate) fn is_contract(s: &StmtRecord, cx: &FileCtx) -> bool {
    let existing = |name: &str| !cx.new_objects_before(s, name);
    match &s.op {
        Some(Op::Drop {
            kind:
                ObjKind::Table
                | ObjKind::View
                | ObjKind::MaterializedView
                | ObjKind::Schema
                | ObjKind::Type
                | ObjKind::Function,
            names,
            ..
        }) => names.iter().any(|n| existing(&n.name)),
        Some(Op::Rename { kind, object, .. }) => {
            !matches!(kind, ObjKind::Index | ObjKind::Constraint) && existing(&object.name)
        }
        Some(Op::AlterTable { table, cmds, .. }) => {
            existing(&table.name) && cmds.iter().any(|c| matches!(c, AlterCmd::DropColumn { .. }))
        }
        _ => false,
    }
}
