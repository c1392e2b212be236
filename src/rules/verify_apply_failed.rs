// Emitted by `migrade verify` (src/verify) only, never by `lint`.

use super::*;

pub static RULE: Rule = Rule {
    id: "verify-apply-failed",
    level: Level::VeryHigh,
    summary: "PostgreSQL refused a statement of the migration",
    doc: rule_doc!("verify-apply-failed"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};
