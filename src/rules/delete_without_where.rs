use super::*;

pub static RULE: Rule = Rule {
    id: "delete-without-where",
    level: Level::VeryHigh,
    summary: "a DELETE without WHERE removes every row of an existing table",
    doc: rule_doc!("delete-without-where"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Delete { table, has_where: false, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    let backup = backup_select(cx.schema(), &table.name);
    out.push(
        Hit::new(
            format!("DELETE of every row of {table}: data loss, row locks on the whole table"),
            "Back up the rows, then delete in batches by primary key outside the schema migration",
        )
        .plan(plan::large_delete_for(table, &pk, None, backup.as_deref(), cx.pg())),
    );
}
