use super::*;

pub static RULE: Rule = Rule {
    id: "add-unique-constraint",
    level: Level::High,
    summary: "ADD UNIQUE builds an index under ACCESS EXCLUSIVE; UNIQUE USING INDEX only attaches one",
    doc: rule_doc!("add-unique-constraint"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::AddConstraint(spec) = cmd else {
            continue;
        };
        if spec.kind != ConstraintKind::Unique {
            continue;
        }
        let name = spec.name.clone().unwrap_or_else(|| crate::schema::default_constraint_name(&table.name, spec));
        if let Some(idx) = &spec.using_index {
            // Catalog only, no build: low (RISK-MODEL, Constraints); the lock's queueing
            // risk is the lock_timeout finding's.
            out.push(Hit::new(
                format!("attaching unique index {idx} as constraint {name} takes a brief ACCESS EXCLUSIVE lock on {table}, no build"),
                "Make sure the index was built CONCURRENTLY and is valid; run with a short lock_timeout",
            ).level(Level::Low));
        } else {
            out.push(
                Hit::new(
                    format!("adding unique constraint {name} builds its index on {table} while ACCESS EXCLUSIVE blocks reads and writes"),
                    "Build the unique index with CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX",
                )
                .plan(plan::add_key(table, &name, &spec.columns, false, &plan::KeyShape::of(spec), &[], cx.pg())),
            );
        }
    }
}
