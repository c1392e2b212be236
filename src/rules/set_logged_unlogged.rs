use super::*;

pub static RULE: Rule = Rule {
    id: "set-logged-unlogged",
    level: Level::High,
    summary: "SET LOGGED / SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE",
    doc: rule_doc!("set-logged-unlogged"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let what = match cmd {
            AlterCmd::SetLogged => "SET LOGGED",
            AlterCmd::SetUnlogged => "SET UNLOGGED",
            AlterCmd::SetAccessMethod(m) if m != "heap" => "SET ACCESS METHOD",
            _ => continue,
        };
        out.push(Hit::new(
            format!(
                "{what} on {table} rewrites the table under ACCESS EXCLUSIVE{}",
                if what == "SET UNLOGGED" {
                    "; an unlogged table is emptied after a crash and not replicated"
                } else {
                    ""
                }
            ),
            "Run it in a maintenance window with a lock_timeout",
        ));
    }
}
