//! UTF-16 text with a byte order mark, as Excel's "Unicode Text" saves a sheet, read as
//! UTF-8 a chunk at a time: a long target list is not held whole.

use std::io::{self, Read};

/// The byte order a text's byte order mark names (little-endian: true); `None` without one.
pub fn byte_order(head: &[u8]) -> Option<bool> {
    match head {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// A whole text as UTF-8 when it is UTF-16 with a byte order mark (`None` when it is not),
/// or where it breaks.
pub fn to_utf8(bytes: &[u8]) -> Option<Result<Vec<u8>, NotUtf16>> {
    let little = byte_order(bytes)?;
    let mut text = Vec::with_capacity(bytes.len() / 2);
    Some(
        match Utf16Reader::new(bytes, little).read_to_end(&mut text) {
            Ok(_) => Ok(text),
            Err(e) => Err(e
                .get_ref()
                .and_then(|e| e.downcast_ref::<NotUtf16>())
                .copied()
                .unwrap_or(NotUtf16 { byte: 0, line: 1 })),
        },
    )
}

/// Where a text stops being UTF-16 (a lone surrogate, an odd last byte): the byte and the
/// line, as the error of a [`Utf16Reader`] carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf16 {
    /// Offset of the unit that broke it, counting the byte order mark.
    pub byte: u64,
    /// The line it is on (1 for the first).
    pub line: u64,
}

impl std::fmt::Display for NotUtf16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not valid UTF-16 at byte {} (line {})",
            self.byte, self.line
        )
    }
}

impl std::error::Error for NotUtf16 {}

/// A reader of UTF-16 text (its byte order mark first, which is dropped) that yields UTF-8.
/// Where the text breaks, what came before is read first, then an `InvalidData` error
/// whose inner error is a [`NotUtf16`].
pub struct Utf16Reader<R> {
    inner: R,
    little: bool,
    /// UTF-8 decoded and not read yet, from `at` on.
    out: Vec<u8>,
    at: usize,
    /// A unit's first byte, when a chunk ended between its two.
    odd: Option<u8>,
    /// A high surrogate waiting for its low one.
    high: Option<u16>,
    /// Bytes of units decoded so far, and newlines among them.
    consumed: u64,
    lines: u64,
    started: bool,
    done: bool,
    broken: Option<NotUtf16>,
}

impl<R: Read> Utf16Reader<R> {
    /// Reads `inner`, whose byte order mark names `little`-endian order or not.
    pub fn new(inner: R, little: bool) -> Self {
        Utf16Reader {
            inner,
            little,
            out: Vec::new(),
            at: 0,
            odd: None,
            high: None,
            consumed: 0,
            lines: 0,
            started: false,
            done: false,
            broken: None,
        }
    }

    /// The break at the last `back` bytes read (a high surrogate without its low one is
    /// where the text broke, not the unit after it).
    fn broken_at(&self, back: u64) -> NotUtf16 {
        NotUtf16 {
            byte: self.consumed - back,
            line: self.lines + 1,
        }
    }

    fn push(&mut self, c: u32) {
        if let Some(c) = char::from_u32(c) {
            let mut utf8 = [0u8; 4];
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            if c == '\n' {
                self.lines += 1;
            }
        }
    }

    /// Decodes the next chunk into `out`.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        let mut chunk = [0u8; 8192];
        let n = loop {
            match self.inner.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r?,
            }
        };
        if n == 0 {
            self.done = true;
            if self.high.is_some() {
                self.broken = Some(self.broken_at(2));
            } else if self.odd.is_some() {
                self.broken = Some(self.broken_at(0));
            }
            return Ok(());
        }
        let mut bytes = chunk[..n].iter().copied();
        while let Some(first) = self.odd.take().or_else(|| bytes.next()) {
            let Some(second) = bytes.next() else {
                self.odd = Some(first);
                break;
            };
            let unit = if self.little {
                u16::from_le_bytes([first, second])
            } else {
                u16::from_be_bytes([first, second])
            };
            if !self.started {
                self.started = true;
                if unit == 0xFEFF {
                    self.consumed += 2;
                    continue;
                }
            }
            match (self.high.take(), unit) {
                (None, 0xD800..=0xDBFF) => self.high = Some(unit),
                (Some(high), 0xDC00..=0xDFFF) => {
                    let c =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    self.push(c);
                }
                (None, 0xDC00..=0xDFFF) => {
                    self.broken = Some(self.broken_at(0));
                    self.done = true;
                    return Ok(());
                }
                (Some(_), _) => {
                    self.broken = Some(self.broken_at(2));
                    self.done = true;
                    return Ok(());
                }
                (None, u) => self.push(u32::from(u)),
            }
            self.consumed += 2;
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return match self.broken {
                    Some(b) => Err(io::Error::new(io::ErrorKind::InvalidData, b)),
                    None => Ok(0),
                };
            }
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Text read as UTF-8 whether it is UTF-8 or UTF-16 with a byte order mark, which the first
/// read finds out: creating it reads nothing (a target list from a pipe is not waited for
/// before the sweep starts).
pub struct Utf8Text<R: Read> {
    state: TextState<R>,
}

enum TextState<R: Read> {
    Unread(R),
    Plain(io::Chain<io::Cursor<Vec<u8>>, R>),
    Utf16(Utf16Reader<io::Chain<io::Cursor<Vec<u8>>, R>>),
    /// Only while switching.
    Gone,
}

impl<R: Read> Utf8Text<R> {
    /// Reads `inner`.
    pub fn new(inner: R) -> Self {
        Utf8Text {
            state: TextState::Unread(inner),
        }
    }
}

impl<R: Read> Read for Utf8Text<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut first = Ok(0);
        self.state = match std::mem::replace(&mut self.state, TextState::Gone) {
            TextState::Unread(mut inner) => {
                let mut head = Vec::with_capacity(2);
                first = (&mut inner).take(2).read_to_end(&mut head);
                let order = byte_order(&head);
                let rest = io::Cursor::new(head).chain(inner);
                match order {
                    Some(little) => TextState::Utf16(Utf16Reader::new(rest, little)),
                    None => TextState::Plain(rest),
                }
            }
            other => other,
        };
        first?;
        match &mut self.state {
            TextState::Plain(r) => r.read(buf),
            TextState::Utf16(r) => r.read(buf),
            TextState::Unread(_) | TextState::Gone => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str, little: bool) -> Vec<u8> {
        let mut v = if little {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for u in text.encode_utf16() {
            v.extend(if little {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            });
        }
        v
    }

    /// A reader handing out `step` bytes at a time, to cut units and surrogate pairs.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn both_byte_orders_and_pairs_cut_anywhere() {
        let text = "host,port\nbücher.example,443\n𝄞.example\n";
        for little in [true, false] {
            let bytes = encoded(text, little);
            assert_eq!(byte_order(&bytes), Some(little));
            for step in [1, 2, 3, 5, 8192] {
                let mut out = String::new();
                Utf16Reader::new(Trickle(&bytes[2..], step), little)
                    .read_to_string(&mut out)
                    .expect("utf-16");
                assert_eq!(out, text, "step {step}");
            }
        }
        assert_eq!(byte_order(b"host"), None);
    }

    #[test]
    fn utf8_text_tells_the_encoding_at_the_first_read() {
        for (bytes, want) in [
            (encoded("a.example\n", true), "a.example\n"),
            (encoded("a.example\n", false), "a.example\n"),
            (b"a.example\n".to_vec(), "a.example\n"),
            (b"a".to_vec(), "a"),
            (Vec::new(), ""),
        ] {
            let mut out = String::new();
            Utf8Text::new(Trickle(&bytes, 1))
                .read_to_string(&mut out)
                .expect("text");
            assert_eq!(out, want);
        }
    }

    #[test]
    fn a_broken_text_reads_up_to_the_break_then_names_it() {
        let mut bytes = encoded("a.example\nb.example\n", true);
        bytes.extend(0xDC00u16.to_le_bytes());
        let mut r = Utf16Reader::new(&bytes[..], true);
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).expect_err("broken");
        assert_eq!(String::from_utf8_lossy(&out), "a.example\nb.example\n");
        let at = e
            .get_ref()
            .and_then(|e| e.downcast_ref::<NotUtf16>())
            .copied();
        assert_eq!(at, Some(NotUtf16 { byte: 42, line: 3 }));
        // An odd last byte.
        let mut odd = encoded("x", false);
        odd.push(0);
        let e = Utf16Reader::new(&odd[..], false)
            .read_to_end(&mut Vec::new())
            .expect_err("odd");
        assert!(
            e.to_string().starts_with("not valid UTF-16 at byte 4"),
            "{e}"
        );
    }
}
