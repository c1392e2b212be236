use super::*;

pub static RULE: Rule = Rule {
    id: "add-column-generated-stored",
    level: Level::High,
    summary: "a stored generated column is computed for every existing row: a full rewrite under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-column-generated-stored"),
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
            && column.generated_stored
        {
            out.push(Hit::new(
                format!("adding the stored generated column {table}.{} rewrites the table under an ACCESS EXCLUSIVE lock", column.name),
                "Add a plain nullable column, fill it with a trigger and a batched backfill, or use a VIRTUAL generated column on PostgreSQL 18+",
            ));
        }
    }
}
