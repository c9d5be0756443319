//! JSON lines: one object per line, full detail.

use serde::Serialize;
use std::io::Write;

/// Writes one JSON object per line.
pub struct JsonlOut<W: Write> {
    w: W,
}

impl<W: Write> JsonlOut<W> {
    /// Wraps `w`.
    pub fn new(w: W) -> Self {
        JsonlOut { w }
    }

    /// Writes `v` and a newline.
    pub fn write<T: Serialize>(&mut self, v: &T) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.w, v).map_err(std::io::Error::other)?;
        self.w.write_all(b"\n")
    }

    /// Flushes.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}
