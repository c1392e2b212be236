//! Fuzzes the human (miette) report of one linted file on arbitrary UTF-8: the
//! graphical renderer reads every statement and finding span back out of the
//! source, so a span off a character boundary or past the end would panic here.
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
    let run = migrade::report::RunReport { files: vec![report], errors: vec![] };
    let opts = migrade::report::human::HumanOptions { color: false, show_plan: true, show_low_files: true };
    let _ = migrade::report::human::render(&run, &opts);
});
