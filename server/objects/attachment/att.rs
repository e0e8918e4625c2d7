//! `att(id | id+thumb=1 | thumbId, down?)`: an attachment's bytes as they are, no envelope (protocol F67).
//!
//! `id` serves that attachment, `id&thumb=1` its thumbnail, `thumbId` the original of a thumbnail.
//! Answers carry the MIME type of the file's extension, an ETag (`att-{id}`, `att-{id}-t`,
//! `att-t{thumbId}`) with a long private max-age, `304` for a matching `If-None-Match`, and a single
//! byte `Range` as `206` (video players need it). Pictures, audio and video are shown inline unless
//! `down=1`; everything else is a download under its original name. A missing row or file, or one the
//! caller may not read (see the module above), is `404` with a short body. Files are read into memory:
//! their size is bounded by the request-body limit they were uploaded under.

use std::fs;
use std::io::{Read, Seek, SeekFrom};

use crate::query::SqlValue as SqlV;

use super::{disk_path, filetype};
use crate::api::auth::perm;
use crate::api::ctx::{Ctx, Raw, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// How long browsers may keep an attachment: its content never changes under its id.
const CACHE_CONTROL: &str = "private, max-age=31536000";

/// The attachment with that id.
const BY_ID: &str = "SELECT a.id, a.path, a.orgName FROM Attachment a WHERE a.id=?";
/// The thumbnail of an original (`orgPicId = -thumbId`), or the picture itself when it was small
/// enough to be its own thumbnail (`orgPicId = id`).
const THUMB_OF: &str = "SELECT t.id, t.path, t.orgName FROM Attachment a JOIN Attachment t \
     ON t.id = CASE WHEN a.orgPicId < 0 THEN -a.orgPicId WHEN a.orgPicId = a.id THEN a.id END WHERE a.id=?";
/// The original of a thumbnail (`orgPicId = original id`).
const ORIGINAL_OF: &str =
    "SELECT a.id, a.path, a.orgName FROM Attachment t JOIN Attachment a ON a.id = t.orgPicId WHERE t.id=?";

/// The row served.
struct Found {
    id: i64,
    path: String,
    org_name: Option<String>,
}

/// `att`: see the module documentation.
pub fn att(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    let id = p.int("id")?.filter(|i| *i > 0);
    let thumb_id = p.int("thumbId")?.filter(|i| *i > 0);
    let (asked, etag, sql) = match (id, thumb_id) {
        (Some(id), _) if p.flag("thumb")? => (id, format!("att-{id}-t"), THUMB_OF),
        (Some(id), _) => (id, format!("att-{id}"), BY_ID),
        (None, Some(t)) => (t, format!("att-t{t}"), ORIGINAL_OF),
        _ => return Ok(not_found()),
    };
    let Some(found) = find(ctx, sql, asked)? else {
        ctx.auth.require(perm::LOGIN)?;
        return Ok(not_found());
    };
    if !public(ctx, asked, found.id)? {
        ctx.auth.require(perm::LOGIN)?;
        if !readable(ctx, asked, found.id)? {
            return Ok(not_found());
        }
    }
    if found.path.starts_with("http://") || found.path.starts_with("https://") {
        // Rows may point at files kept elsewhere (the reference allows it).
        return Ok(Reply::Raw(raw(302, "text/plain; charset=UTF-8", vec![("Location".into(), found.path)], vec![])));
    }
    let Some(file) = disk_path(&ctx.state.config.upload_dir, &found.path) else { return Ok(not_found()) };
    let Ok(meta) = fs::metadata(&file) else { return Ok(not_found()) };
    if !meta.is_file() {
        return Ok(not_found());
    }

    let mime = filetype::mime_of_path(&found.path);
    let content_type = if mime.starts_with("text/") { format!("{mime}; charset=UTF-8") } else { mime.to_string() };
    let quoted = format!("\"{etag}\"");
    let mut headers = vec![
        ("ETag".to_string(), quoted),
        ("Cache-Control".to_string(), CACHE_CONTROL.to_string()),
        ("Accept-Ranges".to_string(), "bytes".to_string()),
        ("X-Content-Type-Options".to_string(), "nosniff".to_string()),
    ];
    if p.header("if-none-match").is_some_and(|h| etag_matches(h, &etag)) {
        return Ok(Reply::Raw(raw(304, &content_type, headers, vec![])));
    }
    let inline = !p.flag("down")? && ["image/", "video/", "audio/"].iter().any(|k| mime.starts_with(k));
    let name = found.org_name.filter(|n| !n.is_empty()).unwrap_or_else(|| filetype::base_name(&found.path));
    headers.push(("Content-Disposition".into(), disposition(if inline { "inline" } else { "attachment" }, &name)));

    let len = meta.len();
    // If-Range with another validator means "the whole thing"; ours never changes, so any mismatch
    // is a client bug best answered in full.
    let range_ok = p.header("if-range").is_none_or(|h| etag_matches(h, &etag));
    let (status, body) = match p.header("range").filter(|_| range_ok).and_then(|h| byte_range(h, len)) {
        Some(Ok((start, end))) => {
            headers.push(("Content-Range".into(), format!("bytes {start}-{end}/{len}")));
            (206, read_part(&file, start, end - start + 1)?)
        }
        Some(Err(())) => {
            headers.push(("Content-Range".into(), format!("bytes */{len}")));
            return Ok(Reply::Raw(raw(416, "text/plain; charset=UTF-8", headers, b"Range Not Satisfiable\n".to_vec())));
        }
        None => (200, fs::read(&file).map_err(|e| read_failed(&file, e))?),
    };
    let mut r = raw(status, &content_type, headers, body);
    r.log_res = Some(found.path);
    Ok(Reply::Raw(r))
}

fn raw(status: u16, content_type: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Raw {
    Raw { status, content_type: content_type.into(), headers, body, log_res: None }
}

fn not_found() -> Reply {
    Reply::Raw(raw(404, "text/plain; charset=UTF-8", vec![], b"Not Found\n".to_vec()))
}

fn find(ctx: &mut Ctx, sql: &str, id: i64) -> ApiResult<Option<Found>> {
    let mut found = None;
    ctx.query(sql, &[SqlValue::Int(id)], |r| {
        let path = match r.get::<SqlV>(1)? {
            SqlV::Text(s) => s,
            _ => String::new(),
        };
        let org_name = match r.get::<SqlV>(2)? {
            SqlV::Text(s) => Some(s),
            _ => None,
        };
        found = Some(Found { id: r.get(0)?, path, org_name });
        Ok(())
    })?;
    Ok(found.filter(|f| !f.path.is_empty()))
}

/// True if the asked or the served row is named by a column the product declared public
/// (`Registry::declare_public_file`: posters), which anyone may read.
fn public(ctx: &mut Ctx, asked: i64, served: i64) -> ApiResult<bool> {
    let cols = ctx.state.objects.public_files().to_vec();
    for (table, col) in cols {
        let d = ctx.state.dialect.as_ref();
        let sql = format!("SELECT 1 FROM {} WHERE {} IN (?,?) LIMIT 1", d.quote_ident(table), d.quote_ident(col));
        if ctx.scalar(&sql, &[SqlValue::Int(asked), SqlValue::Int(served)])?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Staff and the admin read everything; a user reads what they uploaded and what is attached to
/// their own orders (either the asked row or the served one: an order may link the original or the
/// thumbnail).
fn readable(ctx: &mut Ctx, asked: i64, served: i64) -> ApiResult<bool> {
    let Some(uid) = ctx.auth.uid() else { return Ok(true) };
    let n = ctx.scalar_int(
        "SELECT COUNT(*) FROM Attachment a WHERE a.id IN (?,?) AND (a.userId=? OR EXISTS \
         (SELECT 1 FROM OrderAtt oa JOIN Ordr o ON o.id=oa.orderId WHERE oa.attId=a.id AND o.userId=?))",
        &[SqlValue::Int(asked), SqlValue::Int(served), SqlValue::Int(uid), SqlValue::Int(uid)],
    )?;
    Ok(n.unwrap_or(0) > 0)
}

/// True if an `If-None-Match` / `If-Range` value names our ETag (quoted or not, weak or not, or `*`).
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(|t| t.trim().trim_start_matches("W/").trim_matches('"')).any(|t| t == etag || t == "*")
}

/// A single byte range of a `Range` header: `None` to ignore it (not bytes, malformed, several
/// ranges: the whole file is fine then), `Err` when it cannot be satisfied.
fn byte_range(header: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    Some(match (a.is_empty(), b.is_empty()) {
        (true, false) => match num(b)? {
            0 => Err(()),
            _ if len == 0 => Err(()),
            n => Ok((len - n.min(len), len - 1)),
        },
        (false, _) => {
            let start = num(a)?;
            let end = if b.is_empty() { u64::MAX } else { num(b)? };
            if end < start {
                return None;
            }
            if start >= len {
                Err(())
            } else {
                Ok((start, end.min(len - 1)))
            }
        }
        (true, true) => return None,
    })
}

fn read_part(file: &std::path::Path, start: u64, n: u64) -> ApiResult<Vec<u8>> {
    let mut f = fs::File::open(file).map_err(|e| read_failed(file, e))?;
    f.seek(SeekFrom::Start(start)).map_err(|e| read_failed(file, e))?;
    let mut buf = vec![0; n as usize];
    f.read_exact(&mut buf).map_err(|e| read_failed(file, e))?;
    Ok(buf)
}

fn read_failed(file: &std::path::Path, e: std::io::Error) -> ApiError {
    ApiError::server(format!("cannot read {}: {e}", file.display()))
}

/// `inline|attachment; filename="..."` with an ASCII fallback and, for other names, the UTF-8 name
/// in RFC 5987 form (`filename*=UTF-8''%E5%9B%BE.jpg`), which every current browser prefers.
fn disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    if fallback == name {
        return format!("{kind}; filename=\"{name}\"");
    }
    let attr_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
    let encoded: String =
        name.bytes().map(|b| if attr_char(b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_quoted_weak_listed_or_star() {
        assert!(etag_matches("\"att-1\"", "att-1"));
        assert!(etag_matches("att-1", "att-1"));
        assert!(etag_matches("W/\"att-2\", \"att-1\"", "att-1"));
        assert!(etag_matches("*", "att-1"));
        assert!(!etag_matches("\"att-1-t\"", "att-1"));
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(byte_range("bytes=-1000", 100), Some(Ok((0, 99))));
        assert_eq!(byte_range("bytes=50-1000", 100), Some(Ok((50, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=-0", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("bytes=9-1", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
        assert_eq!(byte_range("bytes=x-1", 100), None);
    }

    #[test]
    fn download_names_are_ascii_safe_with_an_rfc_5987_utf8_form() {
        assert_eq!(disposition("inline", "a b.jpg"), "inline; filename=\"a b.jpg\"");
        assert_eq!(
            disposition("attachment", "订单.pdf"),
            "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95.pdf"
        );
        assert_eq!(
            disposition("attachment", "a\"b.txt"),
            "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
        );
    }
}
