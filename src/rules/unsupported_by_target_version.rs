use super::*;

pub static RULE: Rule = Rule {
    id: "unsupported-by-target-version",
    level: Level::High,
    summary: "the statement uses syntax the target PostgreSQL version does not have: it fails",
    doc: rule_doc!("unsupported-by-target-version"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let pg = cx.pg();
    let mut need = |min: u32, what: &str| {
        if pg < min {
            out.push(Hit::new(
                format!("{what} needs PostgreSQL {min}+, the target is {pg}: the statement fails"),
                "Rewrite it for the target version, or raise --pg-version if production already runs a newer one",
            ));
        }
    };
    // gen_random_uuid() is built in from 13; before, it comes with the pgcrypto extension.
    if pg < 13 && !cx.schema().extensions.contains("pgcrypto") && cx.text.calls_gen_random_uuid {
        need(13, "gen_random_uuid() without the pgcrypto extension (no CREATE EXTENSION pgcrypto in the history)");
    }
    match cx.op {
        Op::Merge { .. } => need(15, "MERGE"),
        Op::CreateFunction { procedure: true, .. } => need(11, "CREATE PROCEDURE"),
        Op::Reindex { concurrently: true, .. } => need(12, "REINDEX CONCURRENTLY"),
        Op::CreateTrigger { replace: true, .. } => need(14, "CREATE OR REPLACE TRIGGER"),
        Op::CreateIndex { include, nulls_not_distinct, .. } => {
            if *include {
                need(11, "INCLUDE (covering index columns)");
            }
            if *nulls_not_distinct {
                need(15, "NULLS NOT DISTINCT");
            }
        }
        Op::CreateTable { columns, constraints, hash_partition, default_partition, .. } => {
            for k in constraints {
                constraint_syntax(k, &mut need);
            }
            if columns.iter().any(|c| c.generated_stored) {
                need(12, "GENERATED ... STORED columns");
            }
            if *hash_partition {
                need(11, "hash partitioning");
            }
            if *default_partition {
                need(11, "a DEFAULT partition");
            }
            if columns.iter().any(|c| c.generated_virtual) {
                need(18, "VIRTUAL generated columns");
            }
        }
        Op::AlterTable { cmds, .. } => {
            for cmd in cmds {
                match cmd {
                    AlterCmd::DetachPartition { concurrently: true, .. } => need(14, "DETACH PARTITION CONCURRENTLY"),
                    AlterCmd::SetAccessMethod(_) => need(15, "SET ACCESS METHOD"),
                    AlterCmd::AddConstraint(k) => constraint_syntax(k, &mut need),
                    AlterCmd::AddColumn { column, .. } if column.generated_virtual => {
                        need(18, "VIRTUAL generated columns")
                    }
                    AlterCmd::AddColumn { column, .. } if column.generated_stored => {
                        need(12, "GENERATED ... STORED columns")
                    }
                    AlterCmd::SetExpression { .. } => need(17, "ALTER COLUMN SET EXPRESSION"),
                    AlterCmd::AttachPartition { hash: true, .. } => need(11, "hash partitioning"),
                    AlterCmd::AttachPartition { default: true, .. } => need(11, "a DEFAULT partition"),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
/// Version-dated syntax of a table constraint (CREATE TABLE or ADD CONSTRAINT).
fn constraint_syntax(k: &ConstraintSpec, need: &mut impl FnMut(u32, &str)) {
    if !k.include.is_empty() {
        need(11, "INCLUDE (covering index columns)");
    }
    if k.nulls_not_distinct {
        need(15, "NULLS NOT DISTINCT");
    }
    if k.kind == ConstraintKind::NotNull && k.not_valid {
        need(18, "NOT NULL ... NOT VALID");
    }
}
