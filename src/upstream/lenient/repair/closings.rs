//! Where the string literal opened at each quote closes, for every quote at once.
//!
//! `repair` needs, at each quote, the index of the quote that closes it (skipping
//! backslash escapes), and only when a structural character follows. Scanning forward
//! from each quote is quadratic: in `'\'\'\'…` every `\'` is an escape, so every scan
//! runs to the end of the input. The answer from a position depends only on the answer
//! from the next one or two positions, so two tables filled in one backward pass answer
//! every question in constant time.

/// "No closing quote" in the tables.
const NONE: u32 = u32::MAX;

/// For each position `p`, the closing quote a scan starting at `p` would accept, per kind
/// of quote. Indices are `u32` to keep the tables at 8 bytes a character: `repair` caps
/// its input far below 4 GiB.
pub(super) struct Closings {
    single: Vec<u32>,
    double: Vec<u32>,
}

impl Closings {
    /// Fills both tables in one backward pass over `chars`.
    pub(super) fn new(chars: &[char]) -> Self {
        // Two extra slots: a backslash at the last character jumps past the end.
        let len = chars.len() + 2;
        let (mut single, mut double) = (vec![NONE; len], vec![NONE; len]);
        // Whether the first non-whitespace character after the current position is
        // structural (or the end of input): only then may a quote close a string there.
        let mut closes_here = true;
        for (p, &c) in chars.iter().enumerate().rev() {
            let here = u32::try_from(p).unwrap_or(NONE);
            let pick = |table: &[u32], quote: char| match c {
                '\\' => table[p + 2],
                c if c == quote && closes_here => here,
                c if c == quote => NONE,
                _ => table[p + 1],
            };
            single[p] = pick(&single, '\'');
            double[p] = pick(&double, '"');
            if !c.is_whitespace() {
                closes_here = matches!(c, ',' | '}' | ']' | ':');
            }
        }
        Closings { single, double }
    }

    /// The index of the quote that closes the string opened at `start` (a `'` or `"`),
    /// when it is a well-formed literal followed by a structural character or the end.
    pub(super) fn end(&self, quote: char, start: usize) -> Option<usize> {
        let table = if quote == '\'' {
            &self.single
        } else {
            &self.double
        };
        let end = *table.get(start + 1)?;
        (end != NONE).then_some(end as usize)
    }
}
