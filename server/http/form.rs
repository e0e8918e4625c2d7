//! Request parameters from raw bytes (protocol §1.2): query strings, urlencoded and multipart bodies, JSON
//! bodies, and bodies in a non-UTF-8 charset.
//!
//! No hyper types here: the caller has already read the (size-limited) body and picked the parser by
//! Content-Type. Form values are JSON strings; PHP-style bracket names (`items[0][qty]=1`, `cond[]=a`) build
//! nested objects and arrays, as the reference's `$_GET`/`$_POST` do, with hard bounds so a hostile key cannot
//! cost more than its own length.

use std::borrow::Cow;
use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Bracket levels below a name that build structure; deeper brackets stay in the last key as literal text.
const MAX_DEPTH: usize = 8;
/// Largest numeric key that can become an array index; a larger one is an ordinary object key.
const MAX_INDEX: usize = 10_000;

/// Query strings and urlencoded bodies: `a=1&b=2`, repeated keys, nested `items[0][qty]=1`, `cond[]=a&cond[]=b`, `p[x]=1`.
///
/// `+` is a space, `%XX` is decoded, invalid UTF-8 becomes U+FFFD, a key without `=` gets `""`. A repeated
/// plain key keeps its last value (as PHP). At each bracket level, keys that are exactly `0..n` (in any order)
/// make an array, anything else an object in first-seen order; `[]` appends the next index.
pub fn parse_urlencoded(input: &[u8]) -> Map<String, Value> {
    let mut params = Params::default();
    for (key, value) in form_urlencoded::parse(input) {
        params.insert(&key, value.into_owned());
    }
    params.into_map()
}

/// One uploaded file of a multipart body.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedFile {
    /// The form field name (may use brackets, `f[]`; kept verbatim).
    pub field: String,
    /// The client's file name, if it sent a non-empty one.
    pub file_name: Option<String>,
    /// The part's Content-Type as sent.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub data: Bytes,
}

/// multipart/form-data body (whole body already in memory, size-limited by the caller): text parts become params (same bracket rules as urlencoded), file parts become files.
///
/// A part is a file when it has a filename or a Content-Type other than `text/plain`. The empty part a
/// browser sends for a file input left blank (`filename=""`, no data) is skipped. A text part in a declared
/// charset (`text/plain; charset=gbk`) is decoded. Malformed bodies are E_PARAM `bad multipart body: ...`.
pub async fn parse_multipart(content_type: &str, body: Bytes) -> ApiResult<(Map<String, Value>, Vec<UploadedFile>)> {
    let bad = |e: multer::Error| ApiError::bad_param(format!("bad multipart body: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);

    let mut params = Params::default();
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let part_type = field.content_type().map(|m| m.to_string());
        let is_text = field.content_type().is_none_or(|m| m.essence_str() == "text/plain");
        let data = field.bytes().await.map_err(bad)?;

        if file_name.is_some() || !is_text {
            if file_name.as_deref() == Some("") && data.is_empty() {
                continue;
            }
            let file_name = file_name.filter(|n| !n.is_empty());
            files.push(UploadedFile { field: name, file_name, content_type: part_type, data });
        } else if !name.is_empty() {
            let text = decode_charset(part_type.as_deref().unwrap_or(""), &data);
            params.insert(&name, String::from_utf8_lossy(&text).into_owned());
        }
    }
    Ok((params.into_map(), files))
}

/// JSON body: must decode to an object or an array, else E_PARAM "bad json-format body".
///
/// A leading UTF-8 byte-order mark (some Windows clients add one) is ignored.
pub fn parse_json_body(body: &[u8]) -> ApiResult<Value> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(v),
        _ => Err(ApiError::bad_param("bad json-format body")),
    }
}

/// Decodes a body in a non-UTF-8 charset named in Content-Type (gbk/gb2312/gb18030 → GB18030 via encoding_rs; other labels via encoding_rs::Encoding::for_label); UTF-8 or absent charset → unchanged (Cow borrowed).
///
/// The result is UTF-8; undecodable bytes become U+FFFD. An unknown label leaves the body unchanged.
/// Note this is for raw bodies (JSON, text): an urlencoded body is ASCII, its charset lives in its `%XX` escapes.
pub fn decode_charset<'a>(content_type: &str, body: &'a [u8]) -> Cow<'a, [u8]> {
    let Some(label) = charset_of(content_type) else {
        return Cow::Borrowed(body);
    };
    let encoding = match label.to_ascii_lowercase().as_str() {
        // GB18030 is a superset of both; clients that say gb2312 routinely send GBK characters.
        "gbk" | "gb2312" | "gb18030" => encoding_rs::GB18030,
        other => match encoding_rs::Encoding::for_label(other.as_bytes()) {
            Some(e) => e,
            None => return Cow::Borrowed(body),
        },
    };
    // REPLACEMENT (labels like iso-2022-kr) would turn the whole body into one U+FFFD: better left alone.
    if encoding == encoding_rs::UTF_8 || encoding == encoding_rs::REPLACEMENT {
        return Cow::Borrowed(body);
    }
    let (text, _had_errors) = encoding.decode_with_bom_removal(body);
    Cow::Owned(text.into_owned().into_bytes())
}

/// The `charset` parameter of a Content-Type, unquoted.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"')).filter(|v| !v.is_empty())
    })
}

/// Form parameters being collected; a tree because bracket names nest.
#[derive(Default)]
struct Params {
    root: Branch,
}

/// A node is a value when `leaf` is set, else a branch. Later writes replace earlier ones whatever their
/// shape (`a=1&a[x]=2` gives `a = {x: "2"}`), which is what PHP does.
#[derive(Default)]
struct Node {
    leaf: Option<String>,
    branch: Branch,
}

/// The keys of one level in first-seen order.
#[derive(Default)]
struct Branch {
    slots: HashMap<String, usize>,
    entries: Vec<(String, Node)>,
    /// What `[]` appends as: one more than the largest index seen (PHP's rule).
    next_index: usize,
}

impl Params {
    fn insert(&mut self, key: &str, value: String) {
        let path = split_key(key);
        let Some((last, parents)) = path.split_last() else { return };
        let mut branch = &mut self.root;
        for seg in parents {
            let node = branch.entry(*seg);
            if node.leaf.take().is_some() {
                node.branch = Branch::default();
            }
            branch = &mut node.branch;
        }
        let node = branch.entry(*last);
        node.leaf = Some(value);
        node.branch = Branch::default();
    }

    fn into_map(self) -> Map<String, Value> {
        self.root.entries.into_iter().map(|(k, node)| (k, node.into_value())).collect()
    }
}

impl Branch {
    /// The node under `key` (`None` = `[]`, append), created empty if new.
    fn entry(&mut self, key: Option<&str>) -> &mut Node {
        let key = match key {
            Some(k) => {
                if let Some(i) = array_index(k) {
                    self.next_index = self.next_index.max(i + 1);
                }
                k.to_string()
            }
            None => {
                self.next_index += 1;
                (self.next_index - 1).to_string()
            }
        };
        let pos = match self.slots.get(&key) {
            Some(&pos) => pos,
            None => {
                self.slots.insert(key.clone(), self.entries.len());
                self.entries.push((key, Node::default()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[pos].1
    }

    /// An array if the keys are exactly `0..n`, ordered by index; else an object in first-seen order.
    fn into_value(self) -> Value {
        let n = self.entries.len();
        let indexes: Option<Vec<usize>> = self.entries.iter().map(|(k, _)| array_index(k).filter(|&i| i < n)).collect();
        match indexes {
            // Keys are unique, so n distinct indexes below n are exactly 0..n.
            Some(indexes) => {
                let mut slots: Vec<Value> = vec![Value::Null; n];
                for (i, (_, node)) in indexes.into_iter().zip(self.entries) {
                    slots[i] = node.into_value();
                }
                Value::Array(slots)
            }
            None => Value::Object(self.entries.into_iter().map(|(k, node)| (k, node.into_value())).collect()),
        }
    }
}

impl Node {
    fn into_value(self) -> Value {
        match self.leaf {
            Some(s) => Value::String(s),
            None => self.branch.into_value(),
        }
    }
}

/// `k` as an array index: canonical decimal (no sign, no leading zero) up to [`MAX_INDEX`].
fn array_index(k: &str) -> Option<usize> {
    let canonical =
        !k.is_empty() && k.len() <= 5 && k.bytes().all(|b| b.is_ascii_digit()) && (k == "0" || !k.starts_with('0'));
    canonical.then(|| k.parse().ok()).flatten().filter(|&i| i <= MAX_INDEX)
}

/// Splits `name[a][][b]` into `[Some("name"), Some("a"), None, Some("b")]`.
///
/// A key with no `[`, starting with `[`, or whose first bracket never closes is a plain name. Text after a
/// closing `]` that does not open another bracket is ignored (as PHP). From the [`MAX_DEPTH`]th bracket on, the
/// rest up to the final `]` is one literal key, so depth stays bounded without losing the value.
fn split_key(key: &str) -> Vec<Option<&str>> {
    let Some(open) = key.find('[').filter(|&p| p > 0) else {
        return vec![Some(key)];
    };
    let mut path = vec![Some(&key[..open])];
    let mut rest = &key[open..];
    while rest.starts_with('[') {
        let close = if path.len() == MAX_DEPTH { rest.rfind(']') } else { rest.find(']') };
        let Some(close) = close else { break };
        let seg = &rest[1..close];
        path.push(if seg.is_empty() { None } else { Some(seg) });
        rest = &rest[close + 1..];
    }
    if path.len() == 1 {
        return vec![Some(key)];
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Value {
        Value::Object(parse_urlencoded(s.as_bytes()))
    }

    #[test]
    fn plain_pairs_become_string_params() {
        assert_eq!(parse("a=1&b=xyz"), json!({"a": "1", "b": "xyz"}));
        assert_eq!(parse(""), json!({}));
    }

    #[test]
    fn a_repeated_plain_key_keeps_its_last_value() {
        assert_eq!(parse("a=1&b=2&a=3"), json!({"a": "3", "b": "2"}));
    }

    #[test]
    fn empty_values_and_keys_without_equals_are_empty_strings() {
        assert_eq!(parse("a=&b&c=1&&"), json!({"a": "", "b": "", "c": "1"}));
    }

    #[test]
    fn plus_percent_escapes_and_chinese_are_decoded() {
        assert_eq!(
            parse("q=a+b%2Bc&name=%E5%BC%A0%E4%B8%89&raw=张三&%E9%94%AE=v&amp=%26%3D"),
            json!({"q": "a b+c", "name": "张三", "raw": "张三", "键": "v", "amp": "&="})
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        assert_eq!(parse("a=%FF%FEx"), json!({"a": "\u{FFFD}\u{FFFD}x"}));
        assert_eq!(Value::Object(parse_urlencoded(b"b=\xC0x")), json!({"b": "\u{FFFD}x"}));
    }

    #[test]
    fn empty_brackets_append_to_an_array() {
        assert_eq!(parse("cond[]=a&cond[]=b&cond[]=c"), json!({"cond": ["a", "b", "c"]}));
        // percent-encoded brackets, as browsers send them
        assert_eq!(parse("cond%5B%5D=a&cond%5B%5D=b"), json!({"cond": ["a", "b"]}));
    }

    #[test]
    fn named_brackets_build_an_object() {
        assert_eq!(parse("p[x]=1&p[y]=2&p[x]=3"), json!({"p": {"x": "3", "y": "2"}}));
    }

    #[test]
    fn numbered_brackets_build_an_array_of_objects() {
        assert_eq!(
            parse("items[0][qty]=1&items[0][name]=x&items[1][qty]=2"),
            json!({"items": [{"qty": "1", "name": "x"}, {"qty": "2"}]})
        );
        assert_eq!(parse("a[1]=y&a[0]=x"), json!({"a": ["x", "y"]}));
    }

    #[test]
    fn numbered_keys_with_gaps_or_leading_zeros_build_an_object() {
        assert_eq!(parse("a[0]=x&a[2]=y"), json!({"a": {"0": "x", "2": "y"}}));
        assert_eq!(parse("a[1]=x"), json!({"a": {"1": "x"}}));
        assert_eq!(parse("a[00]=x&a[1]=y"), json!({"a": {"00": "x", "1": "y"}}));
        assert_eq!(parse("a[0]=x&a[k]=y"), json!({"a": {"0": "x", "k": "y"}}));
    }

    #[test]
    fn appending_continues_after_the_largest_index_as_php_does() {
        assert_eq!(parse("a[0]=x&a[1]=y&a[]=z"), json!({"a": ["x", "y", "z"]}));
        assert_eq!(parse("a[5]=x&a[]=y"), json!({"a": {"5": "x", "6": "y"}}));
    }

    #[test]
    fn mixed_nesting_of_arrays_and_objects() {
        assert_eq!(
            parse("o[items][][id]=1&o[items][][id]=2&o[tags][]=a&o[name]=n&top=t"),
            json!({"o": {"items": [{"id": "1"}, {"id": "2"}], "tags": ["a"], "name": "n"}, "top": "t"})
        );
    }

    #[test]
    fn a_later_value_replaces_an_earlier_one_of_another_shape() {
        assert_eq!(parse("a=1&a[x]=2"), json!({"a": {"x": "2"}}));
        assert_eq!(parse("a[x]=2&a=1"), json!({"a": "1"}));
        assert_eq!(parse("a[x]=1&a[x][y]=2"), json!({"a": {"x": {"y": "2"}}}));
    }

    #[test]
    fn odd_bracket_syntax_is_read_as_php_does() {
        assert_eq!(parse("[x]=1"), json!({"[x]": "1"}));
        assert_eq!(parse("a[x=1"), json!({"a[x": "1"}));
        assert_eq!(parse("a[x]junk=1"), json!({"a": {"x": "1"}}));
        assert_eq!(parse("a[b[c]]=1"), json!({"a": {"b[c": "1"}}));
        assert_eq!(parse("a[x][y=1"), json!({"a": {"x": "1"}}));
    }

    #[test]
    fn nesting_stops_at_eight_levels_and_keeps_the_rest_as_one_key() {
        let v = parse("a[1][2][3][4][5][6][7][8][9][10]=x");
        assert_eq!(v["a"]["1"]["2"]["3"]["4"]["5"]["6"]["7"]["8][9][10"], json!("x"));
        let eight = parse("a[1][2][3][4][5][6][7][8]=x");
        assert_eq!(eight["a"]["1"]["2"]["3"]["4"]["5"]["6"]["7"]["8"], json!("x"));
    }

    #[test]
    fn a_key_with_thousands_of_brackets_is_cheap_and_bounded() {
        let key = format!("a{}", "[x]".repeat(20_000));
        let v = parse(&format!("{key}=1"));
        let mut node = &v["a"];
        for _ in 0..MAX_DEPTH - 1 {
            node = &node["x"];
        }
        let last = node.as_object().unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last.values().next(), Some(&json!("1")));
    }

    #[test]
    fn an_index_beyond_ten_thousand_is_an_object_key() {
        assert_eq!(parse("a[0]=x&a[10001]=y"), json!({"a": {"0": "x", "10001": "y"}}));
        assert_eq!(
            parse("a[99999999999999999999999]=y&a[]=z"),
            json!({"a": {"99999999999999999999999": "y", "0": "z"}})
        );
        let big = (0..=MAX_INDEX).map(|i| format!("a[{i}]=v")).collect::<Vec<_>>().join("&");
        assert_eq!(parse(&big)["a"].as_array().map(Vec::len), Some(MAX_INDEX + 1));
    }

    #[test]
    fn multipart_text_fields_and_two_files_are_split() {
        let body = "--XB\r\n\
            Content-Disposition: form-data; name=\"title\"\r\n\r\n\
            标题 1\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"items[0][qty]\"\r\n\r\n\
            2\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"items[0][name]\"\r\n\r\n\
            pen\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"tags[]\"\r\n\r\n\
            a\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"tags[]\"\r\n\r\n\
            b\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            hello\nworld\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"pics[]\"; filename=\"照片.png\"\r\n\
            Content-Type: image/png\r\n\r\n\
            \u{1}PNG\r\n\
            --XB\r\n\
            Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\
            \r\n\
            --XB--\r\n";

        let (params, files) = block_on(parse_multipart("multipart/form-data; boundary=XB", Bytes::from(body))).unwrap();

        assert_eq!(
            Value::Object(params),
            json!({"title": "标题 1", "items": [{"qty": "2", "name": "pen"}], "tags": ["a", "b"]})
        );
        assert_eq!(
            files,
            vec![
                UploadedFile {
                    field: "file".into(),
                    file_name: Some("a.txt".into()),
                    content_type: Some("text/plain".into()),
                    data: Bytes::from_static(b"hello\nworld"),
                },
                UploadedFile {
                    field: "pics[]".into(),
                    file_name: Some("照片.png".into()),
                    content_type: Some("image/png".into()),
                    data: Bytes::from_static(b"\x01PNG"),
                },
            ]
        );
    }

    #[test]
    fn a_multipart_part_without_filename_but_a_binary_type_is_a_file() {
        let body = "--B\r\nContent-Disposition: form-data; name=\"blob\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--B--\r\n";
        let (params, files) = block_on(parse_multipart("multipart/form-data; boundary=B", Bytes::from(body))).unwrap();
        assert!(params.is_empty());
        assert_eq!(files.len(), 1);
        assert_eq!((files[0].field.as_str(), files[0].file_name.as_deref()), ("blob", None));
    }

    #[test]
    fn a_multipart_text_part_in_gbk_is_decoded() {
        let mut body =
            b"--B\r\nContent-Disposition: form-data; name=\"n\"\r\nContent-Type: text/plain; charset=gbk\r\n\r\n"
                .to_vec();
        body.extend_from_slice(&[0xD5, 0xC5, 0xC8, 0xFD]);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let (params, _) = block_on(parse_multipart("multipart/form-data; boundary=B", Bytes::from(body))).unwrap();
        assert_eq!(params["n"], json!("张三"));
    }

    #[test]
    fn malformed_multipart_is_a_param_error() {
        let cases: [(&str, &[u8]); 4] = [
            ("multipart/form-data", b"--B\r\n\r\nx\r\n--B--\r\n"),
            ("text/plain; boundary=B", b"--B\r\n\r\nx\r\n--B--\r\n"),
            ("multipart/form-data; boundary=B", b"this is not multipart"),
            (
                "multipart/form-data; boundary=B",
                b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
            ),
        ];
        for (ct, body) in cases {
            let err = block_on(parse_multipart(ct, Bytes::copy_from_slice(body))).unwrap_err();
            assert_eq!(err.code, crate::error::Code::Param, "{ct}");
            assert!(err.internal.as_deref().unwrap_or("").starts_with("bad multipart body: "), "{ct}: {err}");
        }
    }

    #[test]
    fn a_json_object_or_array_body_is_accepted() {
        assert_eq!(parse_json_body(br#"{"a": [1, "x"]}"#).unwrap(), json!({"a": [1, "x"]}));
        assert_eq!(parse_json_body(b"[1,2]").unwrap(), json!([1, 2]));
        assert_eq!(parse_json_body("\u{FEFF}{\"k\":\"张\"}".as_bytes()).unwrap(), json!({"k": "张"}));
    }

    #[test]
    fn a_json_scalar_or_invalid_body_is_a_param_error() {
        for body in [&b"1"[..], b"\"s\"", b"null", b"", b"{bad", b"{\"a\":1} x"] {
            let err = parse_json_body(body).unwrap_err();
            assert_eq!(err.code, crate::error::Code::Param);
            assert_eq!(err.internal.as_deref(), Some("bad json-format body"));
        }
    }

    #[test]
    fn a_gbk_body_is_decoded_to_utf8() {
        let gbk: &[u8] = &[0x7B, 0x22, 0x6E, 0x22, 0x3A, 0x22, 0xD5, 0xC5, 0xC8, 0xFD, 0x22, 0x7D]; // {"n":"张三"}
        for ct in
            ["application/json; charset=gbk", "application/json;charset=\"GB2312\"", "text/plain; charset=GB18030"]
        {
            let out = decode_charset(ct, gbk);
            assert!(matches!(out, Cow::Owned(_)), "{ct}");
            assert_eq!(std::str::from_utf8(&out).unwrap(), "{\"n\":\"张三\"}", "{ct}");
        }
    }

    #[test]
    fn other_charsets_are_decoded_by_their_label() {
        let latin1: &[u8] = b"caf\xE9";
        assert_eq!(&*decode_charset("text/plain; charset=iso-8859-1", latin1), "café".as_bytes());
        let big5: &[u8] = &[0xA4, 0xA4]; // 中
        assert_eq!(&*decode_charset("text/plain; charset=big5", big5), "中".as_bytes());
    }

    #[test]
    fn utf8_absent_or_unknown_charsets_leave_the_body_borrowed() {
        let body = "张三".as_bytes();
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain; charset=UTF8",
            "text/plain; charset=klingon",
            "",
        ] {
            assert!(matches!(decode_charset(ct, body), Cow::Borrowed(b) if b == body), "{ct}");
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }
}
