use super::*;

pub static RULE: Rule = Rule {
    id: "add-check-constraint-without-not-valid",
    level: Level::High,
    summary: "ADD CONSTRAINT ... CHECK without NOT VALID scans the whole table under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-check-constraint-without-not-valid"),
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
            && spec.kind == ConstraintKind::Check
            && !spec.not_valid
        {
            let name = spec.name.clone().unwrap_or_else(|| crate::schema::default_constraint_name(&table.name, spec));
            out.push(
                Hit::new(
                    format!("adding CHECK constraint {name} on {table} checks every row while ACCESS EXCLUSIVE blocks reads and writes"),
                    "Add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction (SHARE UPDATE EXCLUSIVE)",
                )
                .plan(plan::constraint_not_valid(table, spec, &name, None)),
            );
        }
    }
}
