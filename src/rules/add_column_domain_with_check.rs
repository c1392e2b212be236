use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "add-column-domain-with-check",
    level: Level::High,
    summary: "adding a column of a domain type that has a CHECK rewrites the whole table under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-column-domain-with-check"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = alter_cmds(cx.op) else { return };
    if cx.is_new(&table.name) {
        return;
    }
    for cmd in cmds {
        if let AlterCmd::AddColumn { column, .. } = cmd
            && cx.schema().domains_with_check.contains(&column.type_ref.name)
        {
            out.push(Hit::new(
                format!(
                    "adding {table}.{} of domain {} (which has a CHECK) rewrites every row under ACCESS EXCLUSIVE",
                    column.name, column.type_ref.display
                ),
                "Add the column with the domain's base type, backfill, then add the CHECK NOT VALID and VALIDATE it",
            ));
        }
    }
}
