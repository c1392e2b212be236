//! `unparsable-statement`: a statement migrade cannot read is never assumed safe.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "unparsable-statement",
    level: Level::Medium,
    summary: "a statement migrade cannot read is never assumed safe",
    doc: rule_doc!("unparsable-statement"),
    check: Check::Driver,
    session: false,
    tags: &[],
};
