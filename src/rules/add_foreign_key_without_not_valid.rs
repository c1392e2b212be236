use super::*;

pub static RULE: Rule = Rule {
    id: "add-foreign-key-without-not-valid",
    level: Level::High,
    summary: "ADD FOREIGN KEY without NOT VALID scans the table while blocking writes on both tables",
    doc: rule_doc!("add-foreign-key-without-not-valid"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for (name, spec) in added_constraints(cx.schema(), &table.name, cmds, ConstraintKind::ForeignKey) {
        if !spec.not_valid {
            let target = spec.references.as_ref().map(|r| r.table.to_string()).unwrap_or_default();
            // An index to suggest on the referencing columns, unless one already starts with them.
            let covered = cx.schema().indexes.values().any(|i| {
                i.table == table.name
                    && i.columns.len() >= spec.columns.len()
                    && i.columns[..spec.columns.len()] == spec.columns[..]
            });
            let fk_index = (!covered && !spec.columns.is_empty())
                .then(|| crate::schema::default_index_name(&table.name, &spec.columns));
            out.push(
                Hit::new(
                    format!("adding foreign key {name} scans {table} while SHARE ROW EXCLUSIVE blocks writes to {table} and {target}"),
                    "Add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction",
                )
                .plan(plan::constraint_not_valid(table, spec, &name, fk_index.as_deref())),
            );
        }
    }
}
