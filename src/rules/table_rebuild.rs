//! Rule `table-rebuild` (its page: rules/table-rebuild.md).

use super::*;

pub static RULE: Rule = Rule {
    id: "table-rebuild",
    level: Level::High,
    summary: "a table renamed away, recreated under its old name and refilled by a copy is rebuilt under locks, or loses the rows written during the copy",
    doc: rule_doc!("table-rebuild"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some(r) = rebuild_from_rename(cx) else {
        return;
    };
    let (t, old) = (&r.table, &r.old);
    let bound = format!(
        "views, foreign keys and triggers that use {t} stay bound to the old table (PostgreSQL links them by oid) and keep reading and writing {old}"
    );
    let hit = if r.one_tx {
        let drop =
            if r.dropped { format!(", and DROP TABLE {old} fails while they depend on it") } else { String::new() };
        Hit::new(
            format!(
                "this file rebuilds table {t} (RENAME TO {old}, CREATE TABLE {t}, INSERT ... SELECT FROM {old}): the old name keeps working, but the rename's ACCESS EXCLUSIVE lock on the old table is held through the copy of every row, so every read and write of {t} waits for the whole copy; {bound}{drop}"
            ),
            "Change the table in place, or rebuild it online: create the new table beside the old one, copy in batches while triggers or the code write both, switch the code, then drop the old table in a later migration",
        )
    } else {
        let lost = if r.dropped {
            format!("are not copied and are deleted with DROP TABLE {old}")
        } else {
            format!("are not copied and stay behind in {old}")
        };
        Hit::new(
            format!(
                "this file rebuilds table {t} (RENAME TO {old}, CREATE TABLE {t}, INSERT ... SELECT FROM {old}) outside one transaction: queries on {t} fail between the rename and the CREATE, the copy holds no lock that stops writes to {old}, so rows written to it during and after the copy {lost}; {bound}"
            ),
            "Run the rename, the create, the copy and the drop in one transaction (it then blocks the table for the copy), or rebuild online: create the new table beside the old one, copy in batches while triggers or the code write both, switch the code, then drop the old table in a later migration",
        ).level(Level::VeryHigh)
    };
    out.push(hit);
}

#[cfg(test)]
mod tests {
    use crate::lint::{Settings, lint_unit};
    use crate::model::{Direction, Level};
    use crate::schema::Schema;
    use crate::unit::{TxWrap, Unit};

    const HISTORY: &str = "CREATE TABLE events (id bigint PRIMARY KEY, kind text, payload text);\n";
    const REBUILD: &str = "ALTER TABLE events RENAME TO events_old;\n\
        CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, payload jsonb);\n\
        INSERT INTO events (id, kind, payload) SELECT id, kind, payload::jsonb FROM events_old;\n\
        DROP TABLE events_old;\n";

    /// (rule, level, message) of every finding of the file after HISTORY.
    fn lint(sql: &str, tx: TxWrap) -> Vec<(String, Level, String)> {
        let mut schema = Schema::default();
        let settings = Settings::default();
        lint_unit(&Unit::plain("0001_history.sql", HISTORY, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let report = lint_unit(&Unit::plain("0002_test.sql", sql, Direction::Up, tx), &mut schema, &settings);
        report.findings.iter().map(|f| (f.rule.to_string(), f.level, f.message.clone())).collect()
    }

    fn rules(f: &[(String, Level, String)]) -> Vec<&str> {
        f.iter().map(|x| x.0.as_str()).filter(|r| *r != "missing-lock-timeout").collect()
    }

    #[test]
    fn a_rebuild_in_one_transaction_is_high_not_a_breaking_rename_nor_a_drop() {
        let f = lint(REBUILD, TxWrap::Always);
        let r: Vec<_> = f.iter().filter(|x| x.0 == "table-rebuild").collect();
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].1, Level::High);
        assert!(r[0].2.contains("held through the copy of every row"), "{}", r[0].2);
        for gone in ["rename-table", "drop-table", "mixed-expand-contract"] {
            assert!(!rules(&f).contains(&gone), "{gone}: {f:?}");
        }
    }

    #[test]
    fn a_rebuild_statement_by_statement_loses_the_rows_written_during_the_copy() {
        let f = lint(REBUILD, TxWrap::Never);
        let r: Vec<_> = f.iter().filter(|x| x.0 == "table-rebuild").collect();
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].1, Level::VeryHigh);
        assert!(r[0].2.contains("are not copied and are deleted with DROP TABLE events_old"), "{}", r[0].2);
        // A COMMIT between the rename and the copy ends the lock too.
        let sql = format!("BEGIN;\n{}", REBUILD.replacen(";\n", ";\nCOMMIT;\nBEGIN;\n", 1)) + "COMMIT;\n";
        let f = lint(&sql, TxWrap::Never);
        assert_eq!(f.iter().filter(|x| x.0 == "table-rebuild" && x.1 == Level::VeryHigh).count(), 1, "{f:?}");
    }

    #[test]
    fn a_rename_without_the_copy_is_still_a_rename() {
        let sql = "ALTER TABLE events RENAME TO events_old;\nCREATE TABLE events (id bigint PRIMARY KEY);\n";
        let f = lint(sql, TxWrap::Always);
        assert!(rules(&f).contains(&"rename-table"), "{f:?}");
        assert!(!rules(&f).contains(&"table-rebuild"), "{f:?}");
        // A copy from some other table is not this table's rebuild.
        let sql = "ALTER TABLE events RENAME TO events_old;\nCREATE TABLE events (id bigint);\nINSERT INTO events SELECT id FROM other;\n";
        assert!(!rules(&lint(sql, TxWrap::Always)).contains(&"table-rebuild"));
    }

    #[test]
    fn a_copy_back_after_a_rename_in_an_earlier_file_is_no_rebuild_and_its_drop_loses_rows() {
        // An earlier file renamed events away; this one recreates it, copies and drops the old
        // table: rows written to events_old since the earlier file are deleted.
        let mut schema = Schema::default();
        let settings = Settings::default();
        let up = format!("{HISTORY}ALTER TABLE events RENAME TO events_old;\n");
        lint_unit(&Unit::plain("0001_history.sql", up, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let sql = "CREATE TABLE events (id bigint PRIMARY KEY);\nINSERT INTO events SELECT id FROM events_old;\nDROP TABLE events_old;\n";
        let report =
            lint_unit(&Unit::plain("0002_test.sql", sql, Direction::Up, TxWrap::Always), &mut schema, &settings);
        let rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&"drop-table"), "{rules:?}");
        assert!(!rules.contains(&"table-rebuild"), "{rules:?}");
    }
}
