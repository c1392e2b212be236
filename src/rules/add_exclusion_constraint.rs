use super::*;

pub static RULE: Rule = Rule {
    id: "add-exclusion-constraint",
    level: Level::High,
    summary: "ADD EXCLUDE builds an index and checks every row under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-exclusion-constraint"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::AddConstraint(spec) = cmd
            && spec.kind == ConstraintKind::Exclude
        {
            out.push(Hit::new(
                format!("adding an exclusion constraint on {table} builds its index while ACCESS EXCLUSIVE blocks reads and writes"),
                "Run it in a maintenance window; exclusion constraints cannot be added NOT VALID or from an existing index",
            ));
        }
    }
}
