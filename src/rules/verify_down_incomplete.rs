// Emitted by `migrade verify` (src/verify) only, never by `lint`.

use super::*;

pub static RULE: Rule = Rule {
    id: "verify-down-incomplete",
    level: Level::High,
    summary: "the down migration does not restore the schema its up changed",
    doc: rule_doc!("verify-down-incomplete"),
    check: Check::Driver,
    session: false,
    tags: &["verify"],
};
