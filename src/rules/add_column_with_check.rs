use super::*;

pub static RULE: Rule = Rule {
    id: "add-column-with-check",
    level: Level::High,
    summary: "an inline CHECK on a new column scans the whole table under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-column-with-check"),
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
            && column.check
        {
            out.push(Hit::new(
                format!("the inline CHECK on {table}.{} is verified against every row while ACCESS EXCLUSIVE blocks reads and writes", column.name),
                "Add the column without the CHECK, then ADD CONSTRAINT ... CHECK ... NOT VALID and VALIDATE CONSTRAINT in a separate transaction",
            ));
        }
    }
}
