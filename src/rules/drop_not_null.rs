use super::*;

pub static RULE: Rule = Rule {
    id: "drop-not-null",
    level: Level::Low,
    summary: "DROP NOT NULL on an existing column lets NULLs reach code that assumes a value",
    doc: rule_doc!("drop-not-null"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::DropNotNull { column } = cmd {
            out.push(Hit::new(
                format!("dropping NOT NULL on {table}.{} lets NULLs in, which running code and readers that assume a value may not handle", quote_ident(column)),
                "Deploy code that writes and reads NULL in the column safely first, then drop NOT NULL in a later migration",
            ));
        }
    }
}
