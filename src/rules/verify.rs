//! The findings of `migrade verify` (src/verify): what a real PostgreSQL did with
//! the migration. Emitted by verify only, never by `lint`.

use super::*;
use crate::model::Level;

pub static APPLY_FAILED: Rule = Rule {
    id: "verify-apply-failed",
    level: Level::VeryHigh,
    summary: "PostgreSQL refused a statement of the migration (migrade verify)",
    doc: rule_doc!("verify-apply-failed"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};

pub static DISAGREES: Rule = Rule {
    id: "verify-disagrees",
    level: Level::High,
    summary: "PostgreSQL took another lock, or rewrote another table, than migrade said (migrade verify)",
    doc: rule_doc!("verify-disagrees"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};

pub static DOWN_INCOMPLETE: Rule = Rule {
    id: "verify-down-incomplete",
    level: Level::High,
    summary: "the down migration does not restore the schema its up changed (migrade verify)",
    doc: rule_doc!("verify-down-incomplete"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};
