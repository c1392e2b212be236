use super::*;

pub static RULE: Rule = Rule {
    id: "add-column-with-unique",
    level: Level::High,
    summary: "an inline UNIQUE or PRIMARY KEY on a new column builds an index under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-column-with-unique"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::AddColumn { column, .. } = cmd
            && (column.unique || column.primary_key)
        {
            out.push(
                Hit::new(
                    format!("the inline {} on {table}.{} builds an index while ACCESS EXCLUSIVE blocks reads and writes", if column.primary_key { "PRIMARY KEY" } else { "UNIQUE" }, column.name),
                    "Add the column plain, build a unique index CONCURRENTLY, then attach it with ADD CONSTRAINT ... UNIQUE USING INDEX",
                )
                .plan(match super::add_column_volatile_default::fill_reason(cx, column) {
                    // A value for every existing row too: the volatile default's plan adds
                    // the column once, fills it, then builds the key.
                    Some(_) => super::add_column_volatile_default::filled_plan(cx, table, column),
                    None => {
                        // The column first, plain (the file's inline key would build the index).
                        let mut steps = plan::add_plain_column(table, column);
                        // Its inline CHECKs and foreign key NOT VALID, validated last.
                        let (added, validations) = plan::column_constraint_steps(cx.schema(), table, column);
                        steps.extend(added);
                        let name = plan::column_key_name(table, column);
                        let nullable = if column.primary_key { vec![column.name.clone()] } else { Vec::new() };
                        steps.extend(plan::add_column_key(table, &name, column, &nullable, cx.pg()));
                        steps.extend(validations);
                        steps
                    }
                }),
            );
        }
    }
}
