use super::*;

pub static RULE: Rule = Rule {
    id: "alter-column-set-expression",
    level: Level::High,
    summary: "a new generation expression is computed for every existing row: a full rewrite under ACCESS EXCLUSIVE",
    doc: rule_doc!("alter-column-set-expression"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::SetExpression { column } = cmd {
            out.push(Hit::new(
                format!("changing the generation expression of {table}.{column} rewrites the table under an ACCESS EXCLUSIVE lock"),
                "Drop the expression instead (the column keeps its values, catalog only), compute new and changed rows with a trigger and backfill existing rows in batches",
            ));
        }
    }
}
