//! Fuzzes the whole lint of one file (split, pg_query parse, facts, rules,
//! ignores, grade, JSON report) on arbitrary UTF-8: it must never panic, and every finding
//! and statement span must be in bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrade::lint::{Settings, lint_unit};
use migrade::unit::{TxWrap, Unit};
use migrade::model::Direction;
use migrade::schema::Schema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = Settings::default();
    let mut schema = Schema::default();
    let unit = Unit::plain("fuzz/0001_fuzz.sql", text, Direction::Up, TxWrap::Never);
    let report = lint_unit(&unit, &mut schema, &settings);
    for s in &report.statements {
        assert!(s.span.start <= s.span.end && s.span.end <= text.len(), "statement span {:?}", s.span);
    }
    for f in &report.findings {
        assert!(f.span.start <= f.span.end && f.span.end <= text.len(), "finding span {:?} ({})", f.span, f.rule);
    }
    // The JSON report renders from every span (the human/miette output is fuzzed by
    // the `report_human` target, which is slower per input).
    let run = migrade::report::RunReport { files: vec![report], errors: vec![] };
    let _ = migrade::report::json::render(&run);
});
