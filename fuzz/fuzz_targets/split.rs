//! Fuzzes the statement splitter on arbitrary UTF-8 and checks its span invariants:
//! every statement, comment and meta-command span is in bounds and on char
//! boundaries; statements are ordered and do not overlap; `start <= body_end <= end`;
//! an unterminated construct starts inside its statement and runs to the end of the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use migrade::split::split;

fn span_ok(text: &str, start: usize, end: usize, what: &str) {
    assert!(start <= end && end <= text.len(), "{what} span {start}..{end} out of bounds (len {})", text.len());
    assert!(text.is_char_boundary(start), "{what} start {start} not on a char boundary");
    assert!(text.is_char_boundary(end), "{what} end {end} not on a char boundary");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sp = split(text);
    let mut prev_end = 0;
    for s in &sp.statements {
        span_ok(text, s.start, s.end, "statement");
        assert!(s.start < s.end, "empty statement at {}", s.start);
        assert!(s.start <= s.body_end && s.body_end <= s.end, "body_end {} outside {}..{}", s.body_end, s.start, s.end);
        assert!(text.is_char_boundary(s.body_end), "body_end {} not on a char boundary", s.body_end);
        assert!(s.start >= prev_end, "statement {}..{} overlaps the previous one ending at {prev_end}", s.start, s.end);
        prev_end = s.end;
        if let Some(u) = s.unterminated {
            assert!(
                u.start() >= s.start && u.start() < s.end,
                "unterminated start {} outside {}..{}",
                u.start(),
                s.start,
                s.end
            );
            assert!(text.is_char_boundary(u.start()));
            assert_eq!(s.end, text.len(), "an unterminated construct runs to the end");
        }
    }
    let mut prev = 0;
    for c in &sp.comments {
        span_ok(text, c.start, c.end, "comment");
        assert!(c.start >= prev, "comments out of order at {}", c.start);
        prev = c.end;
    }
    let mut prev = 0;
    for m in &sp.meta_commands {
        span_ok(text, m.start, m.end, "meta-command");
        assert!(m.start >= prev, "meta-commands out of order at {}", m.start);
        prev = m.end;
    }
});
