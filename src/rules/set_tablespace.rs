use super::*;

pub static RULE: Rule = Rule {
    id: "set-tablespace",
    level: Level::High,
    summary: "SET TABLESPACE copies the whole table under ACCESS EXCLUSIVE",
    doc: rule_doc!("set-tablespace"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::AlterTable { table, cmds, kind, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    for cmd in cmds {
        if let AlterCmd::SetTablespace(ts) = cmd {
            out.push(Hit::new(
                format!(
                    "moving {} {table} to tablespace {ts} copies every block under ACCESS EXCLUSIVE",
                    kind.sql().to_lowercase()
                ),
                "Move it in a maintenance window, or with pg_repack --tablespace online",
            ));
        }
    }
}
