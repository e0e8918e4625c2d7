//! The `excel` export: a real `.xlsx` workbook (rust_xlsxwriter) with a bold, frozen header row.
//!
//! Each column is typed once, from all of its cells: it is numeric only if every non-empty cell is a number
//! Excel can hold exactly, otherwise every cell is written as text. Deciding per column (as the reference does)
//! keeps a phone column all text even when some phones are short, so sorting and filtering behave.

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::Value;

use super::cell_text;
use crate::error::{ApiError, ApiResult};

/// Excel's limit on the characters (UTF-16 units) of one cell.
const MAX_CELL_UTF16: usize = 32_767;
/// Column width bounds, in Excel's character units.
const MIN_WIDTH: usize = 6;
const MAX_WIDTH: usize = 60;

/// The workbook bytes: one sheet `Sheet1`, header in row 1.
pub(super) fn xlsx(header: &[String], rows: &[Vec<Value>]) -> ApiResult<Vec<u8>> {
    build(header, rows).map_err(|e| ApiError::server(format!("excel export: {e}")))
}

fn build(header: &[String], rows: &[Vec<Value>]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Sheet1")?;
    let bold = Format::new().set_bold();
    // "@" makes Excel keep the cell text even after the user edits it.
    let text = Format::new().set_num_format("@");

    let ncols = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
    for col in 0..ncols {
        let c = col_num(col)?;
        let name = header.get(col).map(String::as_str).unwrap_or("");
        sheet.write_string_with_format(0, c, name, &bold)?;

        let numeric = rows.iter().filter_map(|r| r.get(col)).all(is_numeric_or_empty);
        let mut width = display_width(name);
        for (i, row) in rows.iter().enumerate() {
            let Some(cell) = row.get(col) else { continue };
            let s = cell_text(cell);
            if s.is_empty() {
                continue;
            }
            let r = row_num(i + 1)?;
            match numeric.then(|| s.parse::<f64>().ok()).flatten() {
                Some(n) => sheet.write_number(r, c, n)?,
                None => sheet.write_string_with_format(r, c, truncate_utf16(&s, MAX_CELL_UTF16), &text)?,
            };
            width = width.max(display_width(&s));
        }
        sheet.set_column_width(c, (width + 2).clamp(MIN_WIDTH, MAX_WIDTH) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// Whether a cell lets its column stay numeric: empty, or a plain decimal (a JSON number or numeric string)
/// with fewer than 11 integer digits and no leading zero. Longer digit runs are ids and phones that Excel
/// would round; a leading zero (`007`, a zip or product code) would be dropped.
fn is_numeric_or_empty(v: &Value) -> bool {
    let s = cell_text(v);
    if s.is_empty() {
        return true;
    }
    let unsigned = s.strip_prefix('-').unwrap_or(&s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && int.len() < 11 && !(int.len() > 1 && int.starts_with('0'))
}

/// Approximate on-screen width: CJK and other wide characters count two columns.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1FAFF | 0x20000..=0x3FFFD)
}

/// `s` cut at a character boundary so it fits in `max` UTF-16 units (Excel refuses longer cells).
fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

fn col_num(col: usize) -> Result<u16, XlsxError> {
    u16::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)
}

fn row_num(row: usize) -> Result<u32, XlsxError> {
    u32::try_from(row).map_err(|_| XlsxError::RowColumnLimitError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
    use serde_json::json;
    use std::io::Cursor;

    fn read_back(bytes: Vec<u8>) -> calamine::Range<Data> {
        let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).expect("a valid xlsx");
        wb.worksheet_range("Sheet1").expect("Sheet1")
    }

    fn s(v: &str) -> Data {
        Data::String(v.to_string())
    }

    #[test]
    fn xlsx_round_trips_header_numbers_phones_and_chinese_text() {
        let header: Vec<String> = ["id", "名称", "phone", "amount", "tags"].map(String::from).to_vec();
        let rows = vec![
            vec![json!(1), json!("张三"), json!("13800138000"), json!("12.50"), json!([1, 2])],
            vec![json!(2), json!("李四"), json!(13900139000_i64), json!(3), json!(null)],
            vec![json!("3"), json!(null), json!("010-1234"), json!(null), json!({"a": 1})],
        ];

        let range = read_back(xlsx(&header, &rows).unwrap());

        assert_eq!(range.get((0, 0)), Some(&s("id")));
        assert_eq!(range.get((0, 1)), Some(&s("名称")));
        assert_eq!(range.get((0, 4)), Some(&s("tags")));
        // numeric columns hold numbers, including numeric strings
        assert_eq!(range.get((1, 0)), Some(&Data::Float(1.0)));
        assert_eq!(range.get((3, 0)), Some(&Data::Float(3.0)));
        assert_eq!(range.get((1, 3)), Some(&Data::Float(12.5)));
        assert_eq!(range.get((2, 3)), Some(&Data::Float(3.0)));
        assert_eq!(range.get((3, 3)), Some(&Data::Empty));
        // an 11-digit phone keeps the whole column text, whether it came as a string or a JSON number
        assert_eq!(range.get((1, 2)), Some(&s("13800138000")));
        assert_eq!(range.get((2, 2)), Some(&s("13900139000")));
        assert_eq!(range.get((3, 2)), Some(&s("010-1234")));
        // CJK text, arrays and objects as JSON text
        assert_eq!(range.get((1, 1)), Some(&s("张三")));
        assert_eq!(range.get((2, 1)), Some(&s("李四")));
        assert_eq!(range.get((1, 4)), Some(&s("[1,2]")));
        assert_eq!(range.get((3, 4)), Some(&s("{\"a\":1}")));
    }

    #[test]
    fn a_column_with_a_leading_zero_code_stays_text() {
        let rows = vec![vec![json!("007")], vec![json!(12)]];
        let range = read_back(xlsx(&["code".to_string()], &rows).unwrap());
        assert_eq!(range.get((1, 0)), Some(&s("007")));
        assert_eq!(range.get((2, 0)), Some(&s("12")));
    }

    #[test]
    fn an_empty_page_gives_a_workbook_with_only_the_header() {
        let range = read_back(xlsx(&["id".to_string(), "name".to_string()], &[]).unwrap());
        assert_eq!(range.height(), 1);
        assert_eq!(range.get((0, 1)), Some(&s("name")));
    }

    #[test]
    fn a_cell_longer_than_excel_allows_is_cut_instead_of_failing_the_export() {
        let long = "字".repeat(40_000);
        let range = read_back(xlsx(&["t".to_string()], &[vec![json!(long)]]).unwrap());
        let Some(Data::String(got)) = range.get((1, 0)) else { panic!("text cell expected") };
        assert_eq!(got.chars().count(), MAX_CELL_UTF16);
    }

    #[test]
    fn numeric_cells_are_plain_decimals_of_fewer_than_eleven_digits() {
        for v in [json!(0), json!(-12), json!(1.25), json!("0.5"), json!("9999999999"), json!(null), json!("")] {
            assert!(is_numeric_or_empty(&v), "{v}");
        }
        for v in [json!("12345678901"), json!(12345678901_i64), json!("007"), json!("1e5"), json!("1."), json!("abc")] {
            assert!(!is_numeric_or_empty(&v), "{v}");
        }
        assert!(!is_numeric_or_empty(&json!(true)));
    }

    #[test]
    fn widths_count_chinese_characters_double() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("张三a"), 5);
    }
}
