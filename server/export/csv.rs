//! The delimited-text exports: `csv` (UTF-8), `excelcsv` (GB18030 for Excel) and `txt` (TAB separated).
//!
//! Lines end with `\n`. `csv` has no byte-order mark, as in the reference: a program reading the file gets
//! clean UTF-8, and users who double-click into Excel are meant to ask for `excelcsv`, which is in the encoding
//! a Chinese-locale Excel assumes.

use serde_json::Value;

use super::cell_text;

/// UTF-8 CSV, written by the `csv` crate: cells holding `"`, `,`, CR or LF are quoted with `""` for an inner
/// quote (RFC 4180), lines end with `\n`.
pub(super) fn csv(header: &[String], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .quote_style(::csv::QuoteStyle::Necessary)
        .flexible(true)
        .from_writer(Vec::new());
    // Writing to memory cannot fail; a record error would only come from the writer's own state.
    let _ = w.write_record(header);
    for row in rows {
        let cells: Vec<_> = row.iter().map(cell_text).collect();
        let _ = w.write_record(cells.iter().map(|c| c.as_ref()));
    }
    w.into_inner().unwrap_or_default()
}

/// The CSV of [`csv`] with numbers of 11 or more digits written as `="..."` (a formula Excel shows as the
/// text, keeping every digit), then encoded in GB18030.
///
/// The `="..."` cell is written without CSV quoting, as the reference does: Excel reads it as a formula only
/// in that form. That is why this variant is written here rather than by the `csv` crate, which would quote it.
pub(super) fn excel_csv(header: &[String], rows: &[Vec<Value>]) -> Vec<u8> {
    let text = delimited(header, rows, true);
    // GB18030 covers all of Unicode, so the encoder never has to substitute a character.
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    bytes.into_owned()
}

/// TAB-separated UTF-8 with no quoting; a TAB, CR or LF inside a cell becomes a space so it cannot shift
/// columns or rows.
pub(super) fn txt(header: &[String], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = String::new();
    write_txt_line(&mut out, header.iter().map(String::as_str));
    for row in rows {
        let cells: Vec<_> = row.iter().map(cell_text).collect();
        write_txt_line(&mut out, cells.iter().map(|c| c.as_ref()));
    }
    out.into_bytes()
}

fn write_txt_line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.extend(cell.chars().map(|c| if matches!(c, '\t' | '\r' | '\n') { ' ' } else { c }));
    }
    out.push('\n');
}

/// Comma-separated text of the header and rows with the `="..."` protection when `for_excel`.
fn delimited(header: &[String], rows: &[Vec<Value>], for_excel: bool) -> String {
    let mut out = String::new();
    write_line(&mut out, header.iter().map(String::as_str), for_excel);
    for row in rows {
        let cells: Vec<_> = row.iter().map(cell_text).collect();
        write_line(&mut out, cells.iter().map(|c| c.as_ref()), for_excel);
    }
    out
}

fn write_line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>, for_excel: bool) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if for_excel && is_long_digits(cell) {
            out.push_str("=\"");
            out.push_str(cell);
            out.push('"');
        } else if cell.contains(['"', ',', '\r', '\n']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push('\n');
}

/// True for text made only of ASCII digits, at least 11 of them: phone numbers, ID-card numbers and long ids,
/// which Excel would show in scientific notation and round to 15 significant digits if it took them for numbers.
fn is_long_digits(s: &str) -> bool {
    s.len() >= 11 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn csv_quotes_only_cells_with_quotes_commas_or_line_breaks() {
        let rows = vec![
            vec![json!("plain"), json!("a,b"), json!("say \"hi\"")],
            vec![json!("two\nlines"), json!("cr\rhere"), json!(null)],
            vec![json!(3), json!(2.5), json!([1, "x"])],
        ];
        let out = String::from_utf8(csv(&h(&["name", "note,1", "q"]), &rows)).unwrap();
        assert_eq!(
            out,
            "name,\"note,1\",q\n\
             plain,\"a,b\",\"say \"\"hi\"\"\"\n\
             \"two\nlines\",\"cr\rhere\",\n\
             3,2.5,\"[1,\"\"x\"\"]\"\n"
        );
    }

    #[test]
    fn csv_is_utf8_without_a_byte_order_mark_and_keeps_long_numbers_plain() {
        let out = csv(&h(&["名称", "phone"]), &[vec![json!("张三"), json!("13800138000")]]);
        assert_eq!(String::from_utf8(out).unwrap(), "名称,phone\n张三,13800138000\n");
    }

    #[test]
    fn an_empty_page_still_exports_its_header() {
        assert_eq!(csv(&h(&["id", "name"]), &[]), b"id,name\n");
    }

    #[test]
    fn excelcsv_is_gb18030_and_protects_numbers_of_eleven_digits_or_more() {
        let rows = vec![vec![json!("张三"), json!("13800138000"), json!(1380013800), json!(12345678901234_i64)]];
        let out = excel_csv(&h(&["名称", "phone", "ten", "id"]), &rows);
        let mut expected: Vec<u8> = vec![0xC3, 0xFB, 0xB3, 0xC6]; // 名称
        expected.extend_from_slice(b",phone,ten,id\n");
        expected.extend_from_slice(&[0xD5, 0xC5, 0xC8, 0xFD]); // 张三
        expected.extend_from_slice(b",=\"13800138000\",1380013800,=\"12345678901234\"\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn excelcsv_still_quotes_ordinary_cells() {
        let out = excel_csv(&h(&["a"]), &[vec![json!("x,\"y\"")], vec![json!("1234567890a")]]);
        assert_eq!(out, b"a\n\"x,\"\"y\"\"\"\n1234567890a\n");
    }

    #[test]
    fn txt_separates_with_tabs_and_flattens_tabs_and_line_breaks_in_cells() {
        let rows = vec![vec![json!("a\tb"), json!("line1\r\nline2"), json!("\"q\",c")], vec![json!(null), json!(7)]];
        let out = String::from_utf8(txt(&h(&["x", "y\tz", "w"]), &rows)).unwrap();
        assert_eq!(out, "x\ty z\tw\na b\tline1  line2\t\"q\",c\n\t7\n");
    }
}
