//! The `html` export: one `<table border=1 cellspacing=0>` in a minimal page, shown inline by the browser.
//!
//! The reference pastes cells in raw; since this page opens on our origin, every cell, header and the title
//! are escaped here, so data such as `<script>` is shown, never run.

use serde_json::Value;

use super::cell_text;

/// The page for `fname` with a `<th>` header row and one `<tr>` of `<td>`s per row.
pub(super) fn html(fname: &str, header: &[String], rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    push_escaped(&mut out, fname);
    out.push_str("</title></head><body>\n<table border=1 cellspacing=0>\n<tr>");
    for h in header {
        out.push_str("<th>");
        push_escaped(&mut out, h);
        out.push_str("</th>");
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            out.push_str("<td>");
            push_escaped(&mut out, &cell_text(cell));
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out.into_bytes()
}

/// Appends `s` with the five HTML-special characters replaced by entities (safe in text and in attributes).
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_is_a_page_with_a_header_row_and_one_row_per_record() {
        let out =
            html("Ordr", &["id".into(), "名称".into()], &[vec![json!(1), json!("张三")], vec![json!(2), json!(null)]]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Ordr</title></head><body>\n\
             <table border=1 cellspacing=0>\n\
             <tr><th>id</th><th>名称</th></tr>\n\
             <tr><td>1</td><td>张三</td></tr>\n\
             <tr><td>2</td><td></td></tr>\n\
             </table>\n</body></html>\n"
        );
    }

    #[test]
    fn html_escapes_cells_headers_and_title_so_no_markup_survives() {
        let out = html(
            "<b>x</b>",
            &["<i>h</i>".into()],
            &[vec![json!("<script>alert('x&y')</script>")], vec![json!(["\"<img>\""])]],
        );
        let page = String::from_utf8(out).unwrap();
        assert!(
            !page.contains("<script>") && !page.contains("<img>") && !page.contains("<b>") && !page.contains("<i>")
        );
        assert!(page.contains("<title>&lt;b&gt;x&lt;/b&gt;</title>"));
        assert!(page.contains("<th>&lt;i&gt;h&lt;/i&gt;</th>"));
        assert!(page.contains("<td>&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;</td>"));
        assert!(page.contains("<td>[&quot;\\&quot;&lt;img&gt;\\&quot;&quot;]</td>"));
    }
}
