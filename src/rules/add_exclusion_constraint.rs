//! `add-exclusion-constraint`: ADD EXCLUDE builds an index and checks every row under ACCESS EXCLUSIVE.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "add-exclusion-constraint",
    level: Level::High,
    summary: "ADD EXCLUDE builds an index and checks every row under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-exclusion-constraint"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::AddConstraint(spec) = cmd
            && spec.kind == ConstraintKind::Exclude
        {
            out.push(Hit::new(
                Level::High,
                format!("adding an exclusion constraint on {table} builds its index while ACCESS EXCLUSIVE blocks reads and writes"),
                "Run it in a maintenance window; exclusion constraints cannot be added NOT VALID or from an existing index",
            ));
        }
    }
}
