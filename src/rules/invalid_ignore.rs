// Emitted by the driver's suppression stage (src/lint/suppression.rs).

use super::*;

pub static RULE: Rule = Rule {
    id: "invalid-ignore",
    level: Level::Low,
    summary: "an inline ignore that is malformed, names an unknown rule, or lacks a required reason",
    doc: rule_doc!("invalid-ignore"),
    check: Check::Driver,
    session: false,
    tags: &[],
};

/// A malformed ignore comment (`problem` says what is wrong with it).
pub fn malformed(problem: &str) -> Hit {
    Hit::new(
        format!("invalid ignore comment: {problem}"),
        "Write it as `-- migrade-ignore: rule-id, other-rule -- reason`",
    )
}

/// An ignore without a reason while `require_ignore_reason` is on: not applied.
pub fn without_reason() -> Hit {
    Hit::new(
        "ignore comment without a reason (require_ignore_reason is on): it is not applied",
        "Add the reason after a second `--`: `-- migrade-ignore: rule -- why it is safe here`",
    )
}
