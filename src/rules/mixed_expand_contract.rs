use super::*;

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
    // A `DROP ... IF EXISTS` of a table, view, type or column the schema history dropped or
    // renamed away is a no-op: its effects (facts.rs) break no running code, and every real
    // drop of these kinds does.
    let drops_something = s.effects.breaks_running_code;
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
        }) => drops_something && !in_rebuild(s, cx) && names.iter().any(|n| existing(&n.name)),
        Some(Op::Rename { kind, object, .. }) => {
            !matches!(kind, ObjKind::Index | ObjKind::Constraint) && existing(&object.name) && !in_rebuild(s, cx)
        }
        Some(Op::AlterTable { table, cmds, .. }) => {
            drops_something && existing(&table.name) && cmds.iter().any(|c| matches!(c, AlterCmd::DropColumn { .. }))
        }
        _ => false,
    }
}

/// The rename or the final drop of a table rebuild (`RENAME TO t_old; CREATE TABLE t;
/// INSERT INTO t ... SELECT; DROP TABLE t_old`): the old name keeps working, so it is not a
/// contract (table-rebuild grades it).
fn in_rebuild(s: &StmtRecord, cx: &FileCtx) -> bool {
    let ops = || cx.statements.iter().filter_map(|r| r.op.as_ref().map(|op| (r.index, op)));
    // The rename of t to t_old at `at`: a CREATE TABLE t and an INSERT INTO t ... SELECT follow.
    let rebuilt = |at: usize, t: &str| {
        let created = ops().find(|(i, op)| *i > at && matches!(op, Op::CreateTable { table, .. } if table.name == t));
        created.is_some_and(|(c, _)| {
            ops().any(|(i, op)| i > c && matches!(op, Op::Insert { table, from_query: true, .. } if table.name == t))
        })
    };
    match &s.op {
        Some(Op::Rename { kind: ObjKind::Table, object, column: None, .. }) => rebuilt(s.index, &object.name),
        Some(Op::Drop { kind: ObjKind::Table, names, .. }) => ops().any(|(i, op)| {
            i < s.index
                && matches!(op, Op::Rename { kind: ObjKind::Table, object, column: None, new_name }
                    if names.iter().any(|n| &n.name == new_name) && rebuilt(i, &object.name))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::test_support::after_history;

    #[test]
    fn a_no_op_drop_if_exists_is_not_a_contract() {
        let history = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE TABLE legacy (id int);\n\
            ALTER TABLE users DROP COLUMN email;\nALTER TABLE legacy RENAME TO legacy_old;\n";
        let rule = &["mixed-expand-contract"];
        for drop in ["ALTER TABLE users DROP COLUMN IF EXISTS email;", "DROP TABLE IF EXISTS legacy;"] {
            let sql = format!("ALTER TABLE users ADD COLUMN name text;\n{drop}\n");
            assert_eq!(after_history(history, &sql, rule), vec![], "{drop}");
        }
        // The same drops of objects that exist are contracts.
        for drop in ["ALTER TABLE users DROP COLUMN IF EXISTS id;", "DROP TABLE IF EXISTS legacy_old;"] {
            let sql = format!("ALTER TABLE users ADD COLUMN name text;\n{drop}\n");
            assert_eq!(after_history(history, &sql, rule).len(), 1, "{drop}");
        }
    }
}
