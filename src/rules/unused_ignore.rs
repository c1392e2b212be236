// Emitted by the driver's suppression stage (src/lint/suppression.rs).

use super::*;

pub static RULE: Rule = Rule {
    id: "unused-ignore",
    level: Level::Low,
    summary: "an inline ignore that matches no finding",
    doc: rule_doc!("unused-ignore"),
    check: Check::Driver,
    session: false,
    tags: &[],
};

/// The finding for an ignore of `rules` that matched nothing.
pub fn hit(rules: &[String]) -> Hit {
    Hit::new(
        format!("this ignore of {} matches no finding", rules.join(", ")),
        "Remove the ignore comment, or move it just above the statement it is for",
    )
}
