use super::*;

pub static RULE: Rule = Rule {
    id: "drop-foreign-key",
    level: Level::Low,
    summary: "dropping a foreign key removes an integrity check and briefly locks both tables",
    doc: rule_doc!("drop-foreign-key"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::DropConstraint { name, .. } = cmd else {
            continue;
        };
        let looks_fk = name.ends_with("_fkey") || name.starts_with("fk_") || name.contains("_fk");
        let known = cx.schema().table(&table.name).and_then(|t| t.constraint(name));
        let is_fk = known.map(|k| k.kind == ConstraintKind::ForeignKey).unwrap_or(looks_fk);
        if is_fk {
            let target = known.and_then(|k| k.references()).unwrap_or("the referenced table");
            out.push(Hit::new(
                format!("dropping foreign key {name} on {table}: rows of {table} may now point at missing rows of {target}; ACCESS EXCLUSIVE on both tables (brief)"),
                "Make sure the application no longer relies on the constraint; set a short lock_timeout",
            ));
        }
    }
}
