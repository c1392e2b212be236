//! `--format json`: the public, versioned contract (fields are added, never renamed).

use super::{RunReport, span_positions};
use crate::model::{FileReport, Level};
use crate::source::LineIndex;
use serde::Serialize;

pub const VERSION: u32 = 1;

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub version: u32,
    pub files: Vec<JsonFile<'a>>,
    pub errors: Vec<JsonError<'a>>,
}

#[derive(Serialize)]
pub struct JsonFile<'a> {
    pub path: &'a str,
    pub grade: Level,
    pub advice: JsonAdvice,
    pub statements: Vec<JsonStatement<'a>>,
    pub findings: Vec<JsonFinding<'a>>,
    pub plan: Vec<JsonPlanStep<'a>>,
    pub layout: &'a str,
    pub direction: crate::model::Direction,
    /// Files with up and down sections (dbmate, goose): each section graded on its own.
    /// The file's `grade` is the highest of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<JsonSection>,
    /// `migrade verify` only: what a real PostgreSQL did with the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<&'a crate::model::FileVerify>,
}

#[derive(Serialize)]
pub struct JsonSection {
    pub direction: crate::model::Direction,
    pub grade: Level,
    pub advice: JsonAdvice,
}

#[derive(Serialize)]
pub struct JsonAdvice {
    pub deploy: &'static str,
    pub backup: &'static str,
    pub manual_review: bool,
    pub stage2_approval: bool,
}

#[derive(Serialize)]
pub struct JsonStatement<'a> {
    /// Position in the file, from 0.
    pub index: usize,
    /// The statement's number as messages say it ("statement 3"): from 1.
    pub number: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub summary: &'a str,
    pub level: Level,
    pub effects: JsonEffects<'a>,
    pub in_transaction: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<crate::model::Direction>,
}

#[derive(Serialize)]
pub struct JsonLock<'a> {
    pub table: &'a str,
    pub lock: &'static str,
}

#[derive(Serialize)]
pub struct JsonEffects<'a> {
    pub table: Option<&'a str>,
    pub lock: Option<&'static str>,
    pub other_locks: Vec<JsonLock<'a>>,
    pub rewrite: bool,
    pub scan: bool,
    pub data_loss: bool,
    pub breaks_running_code: bool,
    pub creates: &'a [String],
}

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub rule: &'a str,
    pub level: Level,
    pub statement: Option<usize>,
    /// The statement's number as messages say it, from 1.
    pub statement_number: Option<usize>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: &'a str,
    pub help: &'a str,
    pub ignored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_reason: Option<&'a str>,
}

#[derive(Serialize)]
pub struct JsonPlanStep<'a> {
    pub stage: crate::model::Stage,
    pub title: &'a str,
    pub sql: &'a str,
    pub lock: Option<&'a str>,
    pub irreversible: bool,
    pub no_transaction: bool,
    /// Helper objects the step leaves in place on purpose (absent when none).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub leaves: &'a [String],
}

#[derive(Serialize)]
pub struct JsonError<'a> {
    pub path: &'a str,
    pub message: &'a str,
}

pub fn file<'a>(f: &'a FileReport) -> JsonFile<'a> {
    let text: &str = &f.text;
    let index = LineIndex::new(text);
    JsonFile {
        path: &f.path,
        grade: f.grade,
        advice: JsonAdvice {
            deploy: f.advice.deploy,
            backup: f.advice.backup,
            manual_review: f.advice.manual_review,
            stage2_approval: f.advice.stage2_approval,
        },
        statements: f
            .statements
            .iter()
            .map(|s| {
                let (a, b) = span_positions(text, &index, s.span);
                JsonStatement {
                    index: s.index,
                    number: s.index + 1,
                    line: a.line,
                    column: a.column,
                    end_line: b.line,
                    end_column: b.column,
                    summary: &s.summary,
                    level: s.level,
                    effects: JsonEffects {
                        table: s.effects.table.as_deref(),
                        lock: s.effects.lock.map(|l| l.as_str()),
                        other_locks: s
                            .effects
                            .other_locks
                            .iter()
                            .map(|(t, m)| JsonLock { table: t, lock: m.as_str() })
                            .collect(),
                        rewrite: s.effects.rewrite,
                        scan: s.effects.scan,
                        data_loss: s.effects.data_loss,
                        breaks_running_code: s.effects.breaks_running_code,
                        creates: &s.effects.creates,
                    },
                    in_transaction: s.in_transaction,
                    section: s.section.filter(|_| f.layout == "dbmate" || f.layout == "goose"),
                }
            })
            .collect(),
        findings: f
            .findings
            .iter()
            .map(|x| {
                let (a, b) = span_positions(text, &index, x.span);
                JsonFinding {
                    rule: x.rule,
                    level: x.level,
                    statement: x.statement,
                    statement_number: x.statement.map(|i| i + 1),
                    line: a.line,
                    column: a.column,
                    end_line: b.line,
                    end_column: b.column,
                    message: &x.message,
                    help: &x.help,
                    ignored: x.ignored,
                    ignore_reason: x.ignore_reason.as_deref(),
                }
            })
            .collect(),
        plan: f
            .plan
            .iter()
            .map(|p| JsonPlanStep {
                stage: p.stage,
                title: &p.title,
                sql: &p.sql,
                lock: p.lock.as_deref(),
                irreversible: p.irreversible,
                no_transaction: p.no_transaction,
                leaves: &p.leaves,
            })
            .collect(),
        layout: f.layout,
        direction: f.direction,
        sections: f
            .sections
            .iter()
            .map(|(d, g)| {
                let a = crate::model::Advice::for_grade(*g);
                JsonSection {
                    direction: *d,
                    grade: *g,
                    advice: JsonAdvice {
                        deploy: a.deploy,
                        backup: a.backup,
                        manual_review: a.manual_review,
                        stage2_approval: a.stage2_approval,
                    },
                }
            })
            .collect(),
        verify: f.verify.as_ref(),
    }
}

pub fn render(run: &RunReport) -> String {
    let report = JsonReport {
        version: VERSION,
        files: run.files.iter().map(file).collect(),
        errors: run.errors.iter().map(|e| JsonError { path: &e.path, message: &e.message }).collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Writes the JSON report file by file, so memory does not grow with the run.
/// One file's entry of the `files` array, as JSON bytes: the same bytes as
/// `serde_json::to_vec(&file(f))`, written by hand (serde_json escapes strings a byte at
/// a time; the report is mostly strings, and this writer was a tenth of a lint's
/// instructions, issue 16). The unit test below holds the two equal.
pub fn file_bytes(f: &FileReport) -> Vec<u8> {
    let j = file(f);
    // Sized once from what the entry holds (an entry is mostly its plan's SQL, its
    // messages and ~300 bytes of fields per statement), not grown by doubling: the
    // reallocations copied each large entry several times (issue 16).
    let strings = |v: &[&str]| v.iter().map(|s| s.len() + 16).sum::<usize>();
    let plan: usize = j.plan.iter().map(|p| strings(&[p.title, p.sql, p.lock.unwrap_or("")]) + 64).sum();
    let findings: usize = j.findings.iter().map(|x| strings(&[x.message, x.help, x.rule]) + 128).sum();
    let mut w = Writer(Vec::with_capacity(512 + f.path.len() + 320 * j.statements.len() + findings + plan));
    w.raw("{\"path\":");
    w.str(j.path);
    w.raw(",\"grade\":");
    w.str(j.grade.as_str());
    w.raw(",\"advice\":");
    w.advice(&j.advice);
    w.raw(",\"statements\":[");
    for (k, s) in j.statements.iter().enumerate() {
        w.comma(k);
        w.raw("{\"index\":");
        w.num(s.index);
        w.raw(",\"number\":");
        w.num(s.number);
        w.position(s.line, s.column, s.end_line, s.end_column);
        w.raw(",\"summary\":");
        w.str(s.summary);
        w.raw(",\"level\":");
        w.str(s.level.as_str());
        let e = &s.effects;
        w.raw(",\"effects\":{\"table\":");
        w.opt_str(e.table);
        w.raw(",\"lock\":");
        w.opt_str(e.lock);
        w.raw(",\"other_locks\":[");
        for (k, l) in e.other_locks.iter().enumerate() {
            w.comma(k);
            w.raw("{\"table\":");
            w.str(l.table);
            w.raw(",\"lock\":");
            w.str(l.lock);
            w.raw("}");
        }
        w.raw("],\"rewrite\":");
        w.bool(e.rewrite);
        w.raw(",\"scan\":");
        w.bool(e.scan);
        w.raw(",\"data_loss\":");
        w.bool(e.data_loss);
        w.raw(",\"breaks_running_code\":");
        w.bool(e.breaks_running_code);
        w.raw(",\"creates\":");
        w.strs(e.creates);
        w.raw("},\"in_transaction\":");
        w.bool(s.in_transaction);
        if let Some(d) = s.section {
            w.raw(",\"section\":");
            w.str(d.as_str());
        }
        w.raw("}");
    }
    w.raw("],\"findings\":[");
    for (k, x) in j.findings.iter().enumerate() {
        w.comma(k);
        w.raw("{\"rule\":");
        w.str(x.rule);
        w.raw(",\"level\":");
        w.str(x.level.as_str());
        w.raw(",\"statement\":");
        w.opt_num(x.statement);
        w.raw(",\"statement_number\":");
        w.opt_num(x.statement_number);
        w.position(x.line, x.column, x.end_line, x.end_column);
        w.raw(",\"message\":");
        w.str(x.message);
        w.raw(",\"help\":");
        w.str(x.help);
        w.raw(",\"ignored\":");
        w.bool(x.ignored);
        if let Some(r) = x.ignore_reason {
            w.raw(",\"ignore_reason\":");
            w.str(r);
        }
        w.raw("}");
    }
    w.raw("],\"plan\":[");
    for (k, p) in j.plan.iter().enumerate() {
        w.comma(k);
        w.raw("{\"stage\":");
        w.str(p.stage.as_str());
        w.raw(",\"title\":");
        w.str(p.title);
        w.raw(",\"sql\":");
        w.str(p.sql);
        w.raw(",\"lock\":");
        w.opt_str(p.lock);
        w.raw(",\"irreversible\":");
        w.bool(p.irreversible);
        w.raw(",\"no_transaction\":");
        w.bool(p.no_transaction);
        if !p.leaves.is_empty() {
            w.raw(",\"leaves\":");
            w.strs(p.leaves);
        }
        w.raw("}");
    }
    w.raw("],\"layout\":");
    w.str(j.layout);
    w.raw(",\"direction\":");
    w.str(j.direction.as_str());
    if !j.sections.is_empty() {
        w.raw(",\"sections\":[");
        for (k, s) in j.sections.iter().enumerate() {
            w.comma(k);
            w.raw("{\"direction\":");
            w.str(s.direction.as_str());
            w.raw(",\"grade\":");
            w.str(s.grade.as_str());
            w.raw(",\"advice\":");
            w.advice(&s.advice);
            w.raw("}");
        }
        w.raw("]");
    }
    if let Some(v) = j.verify {
        w.raw(",\"verify\":");
        // Rare (`migrade verify` only) and nested: serde_json writes it.
        if serde_json::to_writer(&mut w.0, v).is_err() {
            w.raw("null");
        }
    }
    w.raw("}");
    w.0
}

/// JSON out by hand, byte for byte as serde_json's compact writer.
struct Writer(Vec<u8>);

impl Writer {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }
    fn comma(&mut self, k: usize) {
        if k > 0 {
            self.0.push(b',');
        }
    }
    /// A number in decimal digits, as `{n}` writes it (without the formatting machinery:
    /// four per finding and statement).
    fn num(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&digits[i..]);
    }
    fn opt_num(&mut self, n: Option<usize>) {
        match n {
            Some(n) => self.num(n),
            None => self.raw("null"),
        }
    }
    fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }
    fn position(&mut self, line: usize, column: usize, end_line: usize, end_column: usize) {
        self.raw(",\"line\":");
        self.num(line);
        self.raw(",\"column\":");
        self.num(column);
        self.raw(",\"end_line\":");
        self.num(end_line);
        self.raw(",\"end_column\":");
        self.num(end_column);
    }
    fn advice(&mut self, a: &JsonAdvice) {
        self.raw("{\"deploy\":");
        self.str(a.deploy);
        self.raw(",\"backup\":");
        self.str(a.backup);
        self.raw(",\"manual_review\":");
        self.bool(a.manual_review);
        self.raw(",\"stage2_approval\":");
        self.bool(a.stage2_approval);
        self.raw("}");
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }
    fn strs(&mut self, v: &[String]) {
        self.0.push(b'[');
        for (k, s) in v.iter().enumerate() {
            self.comma(k);
            self.str(s);
        }
        self.0.push(b']');
    }
    /// A JSON string: `"` and `\` escaped, control characters as serde_json writes them
    /// (`\n`, `\t`, ... or `\u00XX`), everything else as is. Runs without any of those
    /// bytes are found eight bytes at a time.
    fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        self.0.reserve(b.len() + 2);
        self.0.push(b'"');
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            if i + 8 <= b.len() {
                let mut chunk = [0u8; 8];
                chunk.copy_from_slice(&b[i..i + 8]);
                if !needs_escape(u64::from_le_bytes(chunk)) {
                    i += 8;
                    continue;
                }
            }
            let c = b[i];
            let escape: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\t' => b"\\t",
                b'\r' => b"\\r",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..0x20 => b"",
                _ => {
                    i += 1;
                    continue;
                }
            };
            self.0.extend_from_slice(&b[start..i]);
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]);
            } else {
                self.0.extend_from_slice(escape);
            }
            i += 1;
            start = i;
        }
        self.0.extend_from_slice(&b[start..]);
        self.0.push(b'"');
    }
}

/// Whether any of 8 bytes is `"`, `\` or below 0x20 (the classic "has zero byte" test).
fn needs_escape(x: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let below_space = x.wrapping_sub(LO * 0x20) & !x & HI;
    (has_zero(x ^ (LO * b'"' as u64)) | has_zero(x ^ (LO * b'\\' as u64)) | below_space) != 0
}

pub struct JsonStream<W: std::io::Write> {
    out: W,
    first: bool,
}

impl<W: std::io::Write> JsonStream<W> {
    pub fn begin(mut out: W) -> std::io::Result<Self> {
        write!(out, "{{\"version\":{VERSION},\"files\":[")?;
        Ok(JsonStream { out, first: true })
    }

    /// Writes one file entry already rendered by [`file_bytes`] (on another thread).
    pub fn file_rendered(&mut self, entry: &[u8]) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        self.out.write_all(entry)
    }

    pub fn finish(mut self, errors: &[crate::discover::PathError]) -> std::io::Result<()> {
        self.out.write_all(b"],\"errors\":")?;
        let errs: Vec<JsonError> = errors.iter().map(|e| JsonError { path: &e.path, message: &e.message }).collect();
        serde_json::to_writer(&mut self.out, &errs).map_err(std::io::Error::other)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_writes_decimal_digits() {
        for n in [0, 1, 9, 10, 11, 99, 100, 101, 12345, 1_000_000, usize::MAX - 1, usize::MAX] {
            let mut w = Writer(Vec::new());
            w.num(n);
            assert_eq!(w.0, n.to_string().into_bytes());
        }
    }

    /// The hand-written entry is serde_json's, byte for byte, on every fixture (plans,
    /// findings, sections, ignores) and on strings with every kind of escape.
    #[test]
    fn file_bytes_is_serde_json() {
        let mut texts: Vec<(String, String)> = Vec::new();
        for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).sort_by_file_name() {
            let entry = entry.expect("fixtures");
            if entry.path().extension().is_some_and(|x| x == "sql")
                && let Ok(t) = std::fs::read_to_string(entry.path())
            {
                texts.push((entry.path().display().to_string(), t));
            }
        }
        assert!(texts.len() > 100, "fixtures found: {}", texts.len());
        texts.push((
            "esc\"ape\\\u{1}\u{7f}é.sql".into(),
            "-- migrade-ignore drop-table: \"quoted\" \\ tab\there\u{b}\u{c}\u{8}\r\nDROP TABLE \"a\"\"b\u{1f}é😀\";\nUPDATE t SET x = 'a\\b\"c' ;\nDELETE FROM \"\u{2}x\";\n".into(),
        ));
        for (path, text) in texts {
            for direction in [crate::model::Direction::Up, crate::model::Direction::Down] {
                let unit = crate::unit::Unit::plain(path.clone(), text.clone(), direction, crate::unit::TxWrap::Always);
                let report = crate::lint::lint_unit(
                    &unit,
                    &mut crate::schema::Schema::default(),
                    &crate::lint::Settings::default(),
                );
                let serde = serde_json::to_vec(&file(&report)).expect("serde_json");
                assert_eq!(String::from_utf8_lossy(&file_bytes(&report)), String::from_utf8_lossy(&serde), "{path}");
            }
        }
    }

    #[test]
    fn needs_escape_finds_each_byte() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut chunk = [b'a'; 8];
                chunk[pos] = b;
                let want = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(needs_escape(u64::from_le_bytes(chunk)), want, "byte {b:#x} at {pos}");
            }
        }
    }
}
