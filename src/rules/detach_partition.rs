use super::*;

pub static RULE: Rule = Rule {
    id: "detach-partition",
    level: Level::High,
    summary: "DETACH PARTITION removes the partition's rows from every query on the parent",
    doc: rule_doc!("detach-partition"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::DetachPartition { partition, concurrently } = cmd else {
            continue;
        };
        if !concurrently {
            out.push(Hit::new(
                format!("detaching {partition} from {table} removes its rows from every query on {table}; without CONCURRENTLY it takes ACCESS EXCLUSIVE on the parent"),
                if cx.pg() >= 14 { "Make sure no code still needs those rows through the parent; use DETACH ... CONCURRENTLY outside a transaction" } else { "Make sure no code still needs those rows through the parent" },
            ));
            continue;
        }
        // PostgreSQL refuses DETACH ... CONCURRENTLY while the parent has a DEFAULT
        // partition: a statement that fails is high.
        let default = cx
            .schema()
            .table(&table.name)
            .and_then(|t| t.default_partition.as_deref())
            .filter(|d| *d != partition.name);
        if let Some(d) = default {
            out.push(Hit::new(
                format!("DETACH PARTITION ... CONCURRENTLY fails: {table} has the DEFAULT partition {d}"),
                "Detach without CONCURRENTLY (ACCESS EXCLUSIVE on the parent, with a short lock_timeout), or remove the DEFAULT partition first",
            ));
            continue;
        }
        out.push(Hit::new(
            format!("detaching {partition} from {table} concurrently removes its rows from every query on {table}; it takes SHARE UPDATE EXCLUSIVE on the parent (reads and writes continue), and an interrupted run leaves the partition pending until ALTER TABLE {table} DETACH PARTITION {partition} FINALIZE"),
            "Make sure no code still needs those rows through the parent; run it outside a transaction, and FINALIZE if it is interrupted",
        ).level(Level::Medium));
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    const HISTORY: &str = "CREATE TABLE m (ts date NOT NULL) PARTITION BY RANGE (ts);\n\
        CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n";

    fn levels(history: &str, sql: &str) -> Vec<Level> {
        after_history(history, sql, &["detach-partition"]).into_iter().map(|f| f.1).collect()
    }

    #[test]
    fn concurrently_is_medium_plain_is_high() {
        assert_eq!(levels(HISTORY, "ALTER TABLE m DETACH PARTITION m_2025 CONCURRENTLY;"), vec![Level::Medium]);
        assert_eq!(levels(HISTORY, "ALTER TABLE m DETACH PARTITION m_2025;"), vec![Level::High]);
    }

    #[test]
    fn concurrently_fails_when_the_parent_has_a_default_partition() {
        let history = format!("{HISTORY}CREATE TABLE m_rest PARTITION OF m DEFAULT;\n");
        let f = after_history(&history, "ALTER TABLE m DETACH PARTITION m_2025 CONCURRENTLY;", &["detach-partition"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("DEFAULT partition m_rest"), "{}", f[0].2);
    }
}
