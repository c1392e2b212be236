//! Source text and its line index: the one place that maps byte offsets to
//! 1-based line and column (columns counted in characters, a UTF-8 BOM not counted).

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Line starts of a text, for offset → line/column lookups.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Builds the index. A line ends at `\n`, at `\r\n`, or at a lone `\r`.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        // Sized for lines of ~32 bytes: grown by doubling, the vector cost more than the
        // scan on files of thousands of lines (issue 16).
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 8);
        starts.push(0);
        // The `\n` of a `\r\n`: that line started after it already.
        let mut lf_of_crlf = usize::MAX;
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if bytes[i] == b'\r' {
                if bytes.get(i + 1) == Some(&b'\n') {
                    lf_of_crlf = i + 1;
                    starts.push(i + 2);
                } else {
                    starts.push(i + 1);
                }
            } else if i != lf_of_crlf {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    /// Line and column (both 1-based) of a byte offset. Offsets inside a
    /// multi-byte character count as that character.
    pub fn line_col(&self, text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.starts[line];
        let mut end = offset;
        while end > start && !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut column = text[start..end].chars().count() + 1;
        if start == 0 && text.starts_with('\u{feff}') && end >= 3 {
            column -= 1;
        }
        LineCol { line: line + 1, column }
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// ASCII case-insensitive substring test without allocating.
pub fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else { return true };
    if h.len() < n.len() {
        return false;
    }
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    // Find the first byte (either case, SIMD), then compare the rest.
    let last = h.len() - n.len();
    memchr::memchr2_iter(lo, up, &h[..=last]).any(|i| h[i + 1..i + n.len()].eq_ignore_ascii_case(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_bom_and_wide_chars() {
        let text = "\u{feff}-- 한국어\r\nSELECT 1;\rSELECT 2;";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 3), LineCol { line: 1, column: 1 });
        let sel = text.find("SELECT 1").unwrap();
        assert_eq!(idx.line_col(text, sel), LineCol { line: 2, column: 1 });
        let two = text.find("SELECT 2").unwrap();
        assert_eq!(idx.line_col(text, two), LineCol { line: 3, column: 1 });
        let semi = text.find("1;").unwrap() + 1;
        assert_eq!(idx.line_col(text, semi), LineCol { line: 2, column: 9 });
        let ko = text.find("국").unwrap();
        assert_eq!(idx.line_col(text, ko), LineCol { line: 1, column: 5 });
    }

    /// The line starts are the ones of a byte-by-byte scan (`\n`, `\r\n`, lone `\r`).
    #[test]
    fn line_starts_match_a_byte_scan() {
        fn scan(b: &[u8]) -> Vec<usize> {
            let mut starts = vec![0];
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'\n' => starts.push(i + 1),
                    b'\r' => {
                        if b.get(i + 1) == Some(&b'\n') {
                            i += 1;
                        }
                        starts.push(i + 1);
                    }
                    _ => {}
                }
                i += 1;
            }
            starts
        }
        let parts = ["", "a", "\n", "\r", "\r\n", "\n\r", "é", "SELECT 1;"];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            texts = texts.iter().flat_map(|t| parts.iter().map(move |p| format!("{t}{p}"))).collect();
            for t in &texts {
                assert_eq!(LineIndex::new(t).starts, scan(t.as_bytes()), "{t:?}");
            }
        }
        let long = "x\r\n\r\ry\n\n".repeat(40);
        assert_eq!(LineIndex::new(&long).starts, scan(long.as_bytes()));
    }
}
