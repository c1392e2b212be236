// Emitted by the driver (src/lint/mod.rs) for a statement that does not split or parse.

use super::*;

pub static RULE: Rule = Rule {
    id: "unparsable-statement",
    level: Level::Medium,
    summary: "a statement migrade cannot read is never assumed safe",
    doc: rule_doc!("unparsable-statement"),
    check: Check::Driver,
    session: false,
    tags: &[],
};

/// Level of an unreadable statement from its leading keywords (never below medium).
pub fn fallback_level(sql: &str) -> (Level, Option<&'static str>) {
    let w = leading_words(sql, 3);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let upper = sql.to_ascii_uppercase();
    match w.as_slice() {
        ["DROP", "TABLE" | "SCHEMA" | "DATABASE", ..]
        | ["TRUNCATE", ..]
        | ["UPDATE", ..]
        | ["DELETE", ..]
        | ["MERGE", ..] => (Level::VeryHigh, Some("data loss or a data change")),
        ["ALTER", "TABLE", ..] if upper.contains("DROP COLUMN") => (Level::VeryHigh, Some("DROP COLUMN")),
        ["ALTER", "TABLE", ..]
            if upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').any(|w| w == "TYPE" || w == "RENAME")
                || upper.contains("SET NOT NULL") =>
        {
            (Level::High, Some("a type change, rename or SET NOT NULL"))
        }
        ["CREATE", "INDEX" | "UNIQUE", ..] if !upper.contains("CONCURRENTLY") => {
            (Level::High, Some("an index build that blocks writes"))
        }
        ["VACUUM", "FULL", ..] | ["CLUSTER", ..] | ["REINDEX", ..] => {
            (Level::High, Some("a table rewrite or index rebuild"))
        }
        ["INSERT", ..] if upper.contains("SELECT") => (Level::VeryHigh, Some("a data change")),
        _ => (Level::Medium, None),
    }
}

/// Why a statement could not be read (`reason`: the parser's message or the splitter's),
/// as the finding says it: the level its leading keywords show (never below medium), a
/// note when the statement is nested too deeply for the parser, and where a no-break
/// space hides in it (`line_col` of a byte offset in the statement).
pub fn hit(sql: &str, reason: &str, line_col: impl Fn(usize) -> (usize, usize)) -> Hit {
    let (level, kind) = fallback_level(sql);
    let mut message = format!("could not analyze: {reason}");
    let deep = ["memory exhausted", "stack depth limit", "failed to decode Protobuf", "Error decoding result"];
    if deep.iter().any(|d| reason.contains(d)) {
        message.push_str("; the statement is nested too deeply to analyse");
    }
    if let Some(p) = sql.find('\u{a0}') {
        let (line, column) = line_col(p);
        message.push_str(&format!(
            "; a no-break space (U+00A0) at line {line}, column {column} is read by PostgreSQL as part of a name"
        ));
    }
    if let Some(k) = kind {
        message.push_str(&format!("; its leading keywords show {k}"));
    }
    let help = if sql.contains('\u{a0}') {
        "Replace the no-break space with a normal space, then review the statement by hand"
    } else {
        "Fix the syntax (does it run on the target PostgreSQL?) or review the statement by hand"
    };
    Hit::new(message, help).level(level)
}
