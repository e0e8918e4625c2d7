//! File exports of a query page (protocol §4.9): `fmt=csv|excelcsv|txt|excel|html`.
//!
//! This module owns the part every format shares: the format names, how one JSON cell becomes text, and the
//! `Content-Disposition` header. Each format's byte layout lives in its own file (`csv`, `xlsx`, `html`).
//! Nothing here knows about hyper: the caller turns an [`Exported`] into a response, with no envelope.

mod csv;
mod html;
pub mod qr;
mod xlsx;

use std::borrow::Cow;

use serde_json::Value;

use crate::error::ApiResult;

/// The export formats a query accepts in `fmt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFmt {
    /// UTF-8 CSV, comma separated.
    Csv,
    /// CSV in GB18030 for a Chinese-locale Excel, long digit strings protected as `="..."`.
    ExcelCsv,
    /// UTF-8, TAB separated, no quoting.
    Txt,
    /// A real `.xlsx` workbook.
    Excel,
    /// An HTML page holding one table, shown inline.
    Html,
}

impl ExportFmt {
    /// Maps a `fmt` value to an export format; any other value (`list`, `array`, ...) is not an export.
    pub fn parse(fmt: &str) -> Option<ExportFmt> {
        match fmt {
            "csv" => Some(ExportFmt::Csv),
            "excelcsv" => Some(ExportFmt::ExcelCsv),
            "txt" => Some(ExportFmt::Txt),
            "excel" => Some(ExportFmt::Excel),
            "html" => Some(ExportFmt::Html),
            _ => None,
        }
    }
}

/// A finished export: the two headers that differ per format, and the bytes to send as the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Value of `Content-Type`.
    pub content_type: String,
    /// Value of `Content-Disposition` (file name already safe for a header).
    pub disposition: String,
    /// The file itself.
    pub body: Vec<u8>,
}

/// Renders one page of a query as a file.
///
/// `fname` is the file name without extension (the table name by default; may be Chinese). `header` holds the
/// column names or aliases, `rows` the cells in the same order. Only `excel` can fail (a sheet beyond Excel's
/// limits), as E_SERVER.
pub fn export(fmt: ExportFmt, fname: &str, header: &[String], rows: &[Vec<Value>]) -> ApiResult<Exported> {
    let (content_type, body, disposition) = match fmt {
        ExportFmt::Csv => {
            ("application/csv; charset=UTF-8", csv::csv(header, rows), disposition("attachment", fname, "csv"))
        }
        ExportFmt::ExcelCsv => {
            ("application/csv; charset=gb18030", csv::excel_csv(header, rows), disposition("attachment", fname, "csv"))
        }
        ExportFmt::Txt => {
            ("text/plain; charset=UTF-8", csv::txt(header, rows), disposition("attachment", fname, "txt"))
        }
        ExportFmt::Excel => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx::xlsx(header, rows)?,
            disposition("attachment", fname, "xlsx"),
        ),
        ExportFmt::Html => {
            ("text/html; charset=UTF-8", html::html(fname, header, rows), disposition("inline", fname, "html"))
        }
    };
    Ok(Exported { content_type: content_type.to_string(), disposition, body })
}

/// The text of one cell, shared by every format: null is empty, a string is itself, anything else (numbers,
/// booleans, arrays, objects) is its JSON text, so `12.5` stays `12.5` and `[1,2]` stays `[1,2]`.
fn cell_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

/// Builds `Content-Disposition` for `{fname}.{ext}`.
///
/// The reference writes the raw name (`attachment;filename=订单.csv`), which is not valid in a header once it
/// holds non-ASCII bytes, quotes or line breaks. We send an ASCII `filename="..."` for old clients and, when the
/// name is not plain ASCII, the exact name as `filename*=UTF-8''...` (RFC 6266 / RFC 5987), which every current
/// browser prefers.
fn disposition(kind: &str, fname: &str, ext: &str) -> String {
    let full = format!("{fname}.{ext}");
    let fallback = ascii_fallback(fname);
    if fallback == fname {
        format!("{kind}; filename=\"{full}\"")
    } else {
        format!("{kind}; filename=\"{fallback}.{ext}\"; filename*=UTF-8''{}", rfc5987_encode(&full))
    }
}

/// The name with every character that is not safe inside a quoted header value replaced by `_`; a name left
/// with no letter or digit at all (a wholly Chinese name) becomes `export`.
fn ascii_fallback(fname: &str) -> String {
    let safe: String = fname
        .chars()
        .map(|c| match c {
            ' ' | '-' | '.' | '(' | ')' | '+' | ',' | '=' | '@' | '_' | '[' | ']' => c,
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect();
    if safe.chars().any(|c| c.is_ascii_alphanumeric()) {
        safe
    } else {
        "export".to_string()
    }
}

/// Percent-encodes UTF-8 bytes except RFC 5987 `attr-char`s.
fn rfc5987_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_export_fmt_name_parses_and_other_fmts_do_not() {
        assert_eq!(ExportFmt::parse("csv"), Some(ExportFmt::Csv));
        assert_eq!(ExportFmt::parse("excelcsv"), Some(ExportFmt::ExcelCsv));
        assert_eq!(ExportFmt::parse("txt"), Some(ExportFmt::Txt));
        assert_eq!(ExportFmt::parse("excel"), Some(ExportFmt::Excel));
        assert_eq!(ExportFmt::parse("html"), Some(ExportFmt::Html));
        assert_eq!(ExportFmt::parse("list"), None);
        assert_eq!(ExportFmt::parse("CSV"), None);
        assert_eq!(ExportFmt::parse(""), None);
    }

    #[test]
    fn cells_print_null_as_empty_strings_as_is_and_the_rest_as_json() {
        assert_eq!(cell_text(&json!(null)), "");
        assert_eq!(cell_text(&json!("a\"b")), "a\"b");
        assert_eq!(cell_text(&json!(12)), "12");
        assert_eq!(cell_text(&json!(12.5)), "12.5");
        assert_eq!(cell_text(&json!(true)), "true");
        assert_eq!(cell_text(&json!([1, "x"])), "[1,\"x\"]");
        assert_eq!(cell_text(&json!({"a": 1})), "{\"a\":1}");
    }

    #[test]
    fn an_ascii_file_name_is_sent_quoted_without_an_extended_name() {
        assert_eq!(disposition("attachment", "Ordr", "csv"), "attachment; filename=\"Ordr.csv\"");
    }

    #[test]
    fn a_chinese_file_name_gets_an_ascii_fallback_and_an_rfc5987_name() {
        assert_eq!(
            disposition("attachment", "订单-2024", "xlsx"),
            "attachment; filename=\"__-2024.xlsx\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95-2024.xlsx"
        );
        assert_eq!(
            disposition("inline", "订单", "html"),
            "inline; filename=\"export.html\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95.html"
        );
    }

    #[test]
    fn quotes_and_line_breaks_in_a_file_name_cannot_break_the_header() {
        let d = disposition("attachment", "a\"b\r\nX-Evil: 1", "csv");
        assert!(!d.contains('\r') && !d.contains('\n'));
        assert!(d.starts_with("attachment; filename=\"a_b__X-Evil_ 1.csv\"; filename*=UTF-8''"));
        assert!(d.ends_with("a%22b%0D%0AX-Evil%3A%201.csv"));
    }

    #[test]
    fn export_sets_content_type_and_disposition_per_format() {
        let h = vec!["id".to_string()];
        let rows = vec![vec![json!(1)]];
        let cases = [
            (ExportFmt::Csv, "application/csv; charset=UTF-8", "attachment; filename=\"T.csv\""),
            (ExportFmt::ExcelCsv, "application/csv; charset=gb18030", "attachment; filename=\"T.csv\""),
            (ExportFmt::Txt, "text/plain; charset=UTF-8", "attachment; filename=\"T.txt\""),
            (
                ExportFmt::Excel,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "attachment; filename=\"T.xlsx\"",
            ),
            (ExportFmt::Html, "text/html; charset=UTF-8", "inline; filename=\"T.html\""),
        ];
        for (fmt, ct, disp) in cases {
            let out = export(fmt, "T", &h, &rows).unwrap();
            assert_eq!(out.content_type, ct, "{fmt:?}");
            assert_eq!(out.disposition, disp, "{fmt:?}");
            assert!(!out.body.is_empty(), "{fmt:?}");
        }
    }
}
