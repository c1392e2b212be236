// Emitted by `migrade verify` (src/verify) only, never by `lint`.

use super::*;

pub static RULE: Rule = Rule {
    id: "verify-disagrees",
    level: Level::High,
    summary: "PostgreSQL took another lock, or rewrote another table, than migrade said",
    doc: rule_doc!("verify-disagrees"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};
