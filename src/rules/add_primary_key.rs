use super::*;

pub static RULE: Rule = Rule {
    id: "add-primary-key",
    level: Level::High,
    summary: "ADD PRIMARY KEY builds an index (and may scan for NOT NULL) under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-primary-key"),
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
        if spec.kind != ConstraintKind::PrimaryKey {
            continue;
        }
        let name = spec.name.clone().unwrap_or_else(|| format!("{}_pkey", table.name));
        if let Some(idx) = &spec.using_index {
            if cx.effects.scan {
                out.push(Hit::new(
                    format!("PRIMARY KEY USING INDEX {idx} on {table}: its columns are not known to be NOT NULL, so PostgreSQL scans the table under ACCESS EXCLUSIVE to set NOT NULL"),
                    "Make the columns NOT NULL first with a validated CHECK (IS NOT NULL) and SET NOT NULL, then attach the index",
                ));
            } else {
                out.push(Hit::new(
                    format!(
                        "attaching {idx} as the primary key of {table} takes a brief ACCESS EXCLUSIVE lock, no build"
                    ),
                    "Run it with a short lock_timeout",
                ).level(Level::Medium));
            }
        } else {
            let t = cx.schema().table(&table.name);
            let nullable: Vec<String> = spec
                .columns
                .iter()
                .filter(|c| !t.and_then(|t| t.column(c)).is_some_and(|col| col.not_null))
                .cloned()
                .collect();
            out.push(
                Hit::new(
                    format!("adding primary key {name} builds its index on {table} while ACCESS EXCLUSIVE blocks reads and writes"),
                    "Build a unique index CONCURRENTLY, make the columns NOT NULL safely, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX",
                )
                .plan(plan::add_key(table, &name, &spec.columns, true, &plan::KeyShape::of(spec), &nullable, cx.pg())),
            );
        }
    }
}
