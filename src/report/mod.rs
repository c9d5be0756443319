//! Outputs: CSV, JSON lines, progress and the summary. Each reads plain data and nothing
//! here decides a verdict.

pub mod compliance;
pub mod csv;
pub mod dcv;
pub mod jsonl;
pub mod progress;
pub mod summary;

/// Makes a cell safe to open in a spreadsheet: text from certificates and records that
/// starts with `=`, `+`, `-`, `@`, tab or carriage return would otherwise run as a formula.
pub fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// [`cell`] for an optional value; absent becomes empty.
pub fn opt_cell(s: Option<&str>) -> String {
    s.map(cell).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(super::cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(super::cell("+1"), "'+1");
        assert_eq!(super::cell("-cmd"), "'-cmd");
        assert_eq!(super::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::cell("www.example.com"), "www.example.com");
    }
}
