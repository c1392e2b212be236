use super::*;

pub static RULE: Rule = Rule {
    id: "drop-database",
    level: Level::VeryHigh,
    summary: "DROP DATABASE in a migration deletes every schema, table and row of a whole database",
    doc: rule_doc!("drop-database"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::DropDatabase { name, .. } = cx.op else {
        return;
    };
    out.push(Hit::new(
        format!("dropping database {} deletes every schema, table and row in it, beyond what any migration can undo", quote_ident(name)),
        "Remove DROP DATABASE from the migration; drop an unused database by hand, after a backup, outside the migration run",
    ));
}
