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
            let name = if column.primary_key {
                crate::ir::object_name(&table.name, None, "pkey")
            } else {
                crate::ir::object_name(&table.name, Some(&column.name), "key")
            };
            out.push(
                Hit::new(
                    format!("the inline {} on {table}.{} builds an index while ACCESS EXCLUSIVE blocks reads and writes", if column.primary_key { "PRIMARY KEY" } else { "UNIQUE" }, column.name),
                    "Add the column plain, build a unique index CONCURRENTLY, then attach it with ADD CONSTRAINT ... UNIQUE USING INDEX",
                )
                .plan({
                    // The column first, plain (the file's inline key would build the index).
                    let mut steps = plan::add_plain_column(table, column);
                    steps.extend(plan::add_column_key(table, &name, column, cx.pg()));
                    steps
                }),
            );
        }
    }
}
