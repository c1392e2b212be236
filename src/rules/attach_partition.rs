use super::*;

pub static RULE: Rule = Rule {
    id: "attach-partition",
    level: Level::High,
    summary: "ATTACH PARTITION scans the new partition under ACCESS EXCLUSIVE unless a matching CHECK proves the bound",
    doc: rule_doc!("attach-partition"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = alter_cmds(cx.op) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::AttachPartition { partition, .. } = cmd else {
            continue;
        };
        // The parent's DEFAULT partition is scanned to check none of its rows belongs
        // to the new partition (under ACCESS EXCLUSIVE on it), whatever the partition holds.
        let default = cx
            .schema()
            .table(&table.name)
            .and_then(|t| t.default_partition.clone())
            .filter(|_| crate::facts::attach_scans_default(&table.name, cx.facts));
        let default_scan = default
            .as_ref()
            .map(|d| format!("; the DEFAULT partition {d} is scanned under ACCESS EXCLUSIVE as well, to check none of its rows belongs to {partition}"))
            .unwrap_or_default();
        // A partition created in this file is empty (no scan) unless the file filled it.
        if cx.facts.is_new_and_empty(&partition.name) {
            if default.is_some() {
                out.push(Hit::new(
                    format!("attaching {partition} to {table}: {partition} is new and empty{default_scan}"),
                    "Attach partitions before the DEFAULT partition holds rows, or move the DEFAULT partition's rows out first",
                ));
            }
            continue;
        }
        let filled = if cx.is_new(&partition.name) {
            format!(" ({partition} was created in this file but rows were written into it, so it is not empty)")
        } else {
            String::new()
        };
        let has_check = cx
            .schema()
            .table(&partition.name)
            .is_some_and(|t| t.constraints.iter().any(|k| k.kind == ConstraintKind::Check && k.validated));
        if has_check {
            out.push(Hit::new(
                format!("attaching {partition} to {table}: a validated CHECK exists on the partition; if it matches the bound there is no scan of it{default_scan}"),
                "Make sure the CHECK matches the partition bound exactly; drop it after attaching",
            ).level(if default.is_some() { Level::High } else { Level::Medium }));
        } else {
            out.push(Hit::new(
                format!("attaching {partition} to {table} scans {partition} under ACCESS EXCLUSIVE to check the bound{filled}{default_scan}"),
                "Add a CHECK matching the bound NOT VALID, VALIDATE it, then ATTACH (no scan), then drop the CHECK",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    const HISTORY: &str = "CREATE TABLE ev (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);\n\
        CREATE TABLE ev_2026 PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n";

    fn attach(history: &str, sql: &str) -> Vec<(String, Level, String)> {
        after_history(history, sql, &["attach-partition"])
    }

    #[test]
    fn a_partition_created_and_filled_in_the_same_file_is_scanned() {
        let create = "CREATE TABLE ev_2027 (id int NOT NULL, at date NOT NULL);\n";
        let attach_sql = "ALTER TABLE ev ATTACH PARTITION ev_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n";
        // Created empty: nothing to scan.
        assert!(attach(HISTORY, &format!("{create}{attach_sql}")).is_empty());
        // Filled by the file: scanned like an existing table.
        for fill in [
            "INSERT INTO ev_2027 SELECT id, at FROM ev_old WHERE at >= '2027-01-01';\n",
            "COPY ev_2027 FROM '/tmp/ev.csv';\n",
        ] {
            let f = attach(HISTORY, &format!("{create}{fill}{attach_sql}"));
            assert_eq!(f.len(), 1, "{fill}: {f:?}");
            assert_eq!(f[0].1, Level::High);
            assert!(f[0].2.contains("rows were written into it"), "{}", f[0].2);
        }
    }

    #[test]
    fn the_default_partition_is_scanned_and_named() {
        let history = format!("{HISTORY}CREATE TABLE ev_def PARTITION OF ev DEFAULT;\n");
        let f = attach(
            &history,
            "CREATE TABLE ev_2027 (id int NOT NULL, at date NOT NULL);\nALTER TABLE ev ATTACH PARTITION ev_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("DEFAULT partition ev_def is scanned"), "{}", f[0].2);
        // A matching CHECK spares the partition's scan, not the DEFAULT partition's: still high.
        let f = attach(
            &format!(
                "{history}CREATE TABLE ev_2028 (id int NOT NULL, at date NOT NULL, CONSTRAINT b CHECK (at >= '2028-01-01' AND at < '2029-01-01'));\n"
            ),
            "ALTER TABLE ev ATTACH PARTITION ev_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');",
        );
        assert_eq!(f[0].1, Level::High, "{f:?}");
        // Without a DEFAULT partition, the CHECK makes it medium.
        let f = attach(
            &format!(
                "{HISTORY}CREATE TABLE ev_2028 (id int NOT NULL, at date NOT NULL, CONSTRAINT b CHECK (at >= '2028-01-01' AND at < '2029-01-01'));\n"
            ),
            "ALTER TABLE ev ATTACH PARTITION ev_2028 FOR VALUES FROM ('2028-01-01') TO ('2029-01-01');",
        );
        assert_eq!(f[0].1, Level::Medium, "{f:?}");
    }
}
