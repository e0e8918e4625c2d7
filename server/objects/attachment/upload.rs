//! `upload(category?, genThumb?, autoResize?, exif?, fmt?, f?)` → `[{id, name, orgName, size, path, thumbId?}]`
//! (protocol F66).
//!
//! Files come from a multipart body (one or several), or with `fmt=raw` the body is the file and `f` its
//! name (`fmt=raw_b64`: the body is its base64). Every file is checked before any is written; then each
//! is stored as `upload/[category/]YYYYMM/{6 random digits}.{ext}` (`-1`, `-2`, ... on a collision) with
//! one `Attachment` row.
//!
//! Files are not transactional. Each file is queued for removal the moment it is created, and the
//! dispatcher runs that removal if the call's transaction rolls back (a later file is refused, the
//! database fails, the commit fails): a failed upload leaves neither rows nor files. Only a crash
//! between writing a file and the commit can leave an orphan file, never a row without its file.

use std::borrow::Cow;
use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use rand::Rng;
use serde_json::{json, Value};

use super::filetype;
use super::picture::{self, Picture};
use super::PATH_PREFIX;
use crate::api::auth::perm;
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::Params;
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;

/// Pictures above this size are shrunk by default (as the reference: 500 KB).
const MAX_PIC_BYTES: usize = 500 * 1024;
/// The long side pictures are shrunk to by default.
const MAX_PIC_SIDE: u32 = 1280;
/// The long side of thumbnails.
const THUMB_SIDE: u32 = 360;

/// One file of the request.
struct Incoming {
    org_name: String,
    content_type: Option<String>,
    data: Bytes,
}

/// What to do with EXIF data.
enum Exif {
    None,
    /// `exif=1`: read it from the file.
    FromFile,
    /// `exif={...}`: the client sends it (the reference's form), kept as given.
    Given(String),
}

/// The call's options.
struct Options {
    category: Option<String>,
    gen_thumb: bool,
    /// Long side to shrink pictures to, and whether that applies whatever the file size
    /// (`autoResize=N` given explicitly); `None` = off.
    resize: Option<(u32, bool)>,
    exif: Exif,
}

impl Options {
    fn parse(p: &Params) -> ApiResult<Options> {
        // `type` is the older name of `category` (DESIGN.md example `upload(type=user)`).
        let category = p.str("category").or_else(|| p.str("type"));
        if let Some(c) = &category {
            let safe = c.len() <= 32 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !safe {
                return Err(ApiError::param("图片类别不正确").internal(format!("bad category `{c}`: use [A-Za-z0-9_]")));
            }
        }
        // As the reference: 0 is off, small numbers (1) mean the default, larger ones a side in pixels.
        let resize = match p.int("autoResize")? {
            Some(0) => None,
            Some(n) if n >= 10 => Some((n.min(16_384) as u32, true)),
            _ => Some((MAX_PIC_SIDE, false)),
        };
        let exif = match p.get("exif") {
            None => Exif::None,
            Some(Value::Object(m)) => Exif::Given(Value::Object(m.clone()).to_string()),
            Some(_) => match p.bool("exif") {
                Ok(Some(true)) => Exif::FromFile,
                Ok(_) => Exif::None,
                Err(_) => {
                    let s = p.str("exif").unwrap_or_default();
                    match serde_json::from_str::<Value>(&s) {
                        Ok(v @ Value::Object(_)) => Exif::Given(v.to_string()),
                        _ => return Err(ApiError::bad_param("exif must be 1/0 or a JSON object")),
                    }
                }
            },
        };
        Ok(Options { category, gen_thumb: p.flag("genThumb")?, resize, exif })
    }
}

/// `upload`: see the module documentation.
pub fn upload(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    ctx.auth.require(perm::LOGIN)?;
    let opts = Options::parse(p)?;
    let files = incoming(p)?;
    if files.is_empty() {
        return Err(ApiError::param("没有文件上传或文件过大。").internal("no file uploaded"));
    }
    // First round: every file must be acceptable before anything is written.
    let mut typed = Vec::with_capacity(files.len());
    for f in files {
        let ext = filetype::decide(&f.org_name, f.content_type.as_deref(), &f.data)?;
        typed.push((f, ext));
    }
    let month = chrono::Local::now().format("%Y%m").to_string();
    let rel_dir = match &opts.category {
        Some(c) => format!("{c}/{month}"),
        None => month,
    };
    let dir = ctx.state.config.upload_dir.join(&rel_dir);
    fs::create_dir_all(&dir).map_err(|e| ApiError::server(format!("cannot create folder {}: {e}", dir.display())))?;
    let mut out = Vec::with_capacity(typed.len());
    for (f, ext) in typed {
        out.push(store(ctx, &opts, &dir, &rel_dir, f, ext)?);
    }
    Ok(Reply::Data(Value::Array(out)))
}

/// The files of the request: multipart parts, or the raw body with `fmt=raw|raw_b64`.
fn incoming(p: &Params) -> ApiResult<Vec<Incoming>> {
    match p.str("fmt").as_deref() {
        Some(fmt @ ("raw" | "raw_b64")) => {
            let name = p.must_str("f")?;
            let data = if fmt == "raw" { p.raw.clone() } else { Bytes::from(decode_b64(&p.raw)?) };
            if data.is_empty() {
                return Ok(vec![]);
            }
            Ok(vec![Incoming { org_name: filetype::base_name(&name), content_type: None, data }])
        }
        _ => Ok(p
            .files
            .iter()
            .filter(|f| !f.data.is_empty())
            .map(|f| Incoming {
                org_name: filetype::base_name(f.file_name.as_deref().unwrap_or(&f.field)),
                content_type: f.content_type.clone(),
                data: f.data.clone(),
            })
            .collect()),
    }
}

/// Base64 as clients send it: with or without padding, wrapped lines, or as a `data:` URL.
fn decode_b64(raw: &[u8]) -> ApiResult<Vec<u8>> {
    let text: Vec<u8> = match raw.iter().position(|b| *b == b',') {
        Some(i) if raw.starts_with(b"data:") => raw[i + 1..].to_vec(),
        _ => raw.to_vec(),
    };
    let clean: Vec<u8> = text.into_iter().filter(|b| !b.is_ascii_whitespace()).collect();
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(&clean).map_err(|e| ApiError::bad_param(format!("fmt=raw_b64: bad base64 body: {e}")))
}

/// Stores one checked file (shrunk if need be, with its thumbnail) and records it.
fn store(ctx: &mut Ctx, opts: &Options, dir: &Path, rel_dir: &str, f: Incoming, ext: &str) -> ApiResult<Value> {
    let exif = match &opts.exif {
        Exif::None => None,
        Exif::FromFile => picture::exif_json(&f.data).map(|v| v.to_string()),
        Exif::Given(s) => Some(s.clone()),
    };
    let resize =
        opts.resize.filter(|(_, explicit)| picture::resizable(ext) && (*explicit || f.data.len() > MAX_PIC_BYTES));
    let want_thumb = opts.gen_thumb && picture::thumbable(ext);
    let pic = if resize.is_some() || want_thumb { Some(Picture::decode(&f.data)?) } else { None };
    let mut data: Cow<[u8]> = Cow::Borrowed(&f.data);
    if let (Some(pic), Some((max, _))) = (&pic, resize) {
        if let Some(small) = pic.shrink(max, ext)? {
            data = Cow::Owned(small);
        }
    }
    // Some(None): the picture is small enough to be its own thumbnail.
    let thumb = match &pic {
        Some(pic) if want_thumb => Some(pic.thumbnail(THUMB_SIDE)?),
        _ => None,
    };
    let need_thumb_file = matches!(thumb, Some(Some(_)));

    let (stem, file) = create_unique(ctx, dir, ext, need_thumb_file)?;
    write_all(&file, &data)?;
    let name = format!("{stem}.{ext}");
    let path = format!("{PATH_PREFIX}{rel_dir}/{name}");
    let tm = crate::db::now_str();
    let (uid, emp_id) = (ctx.auth.uid(), ctx.auth.emp_id());
    let row = |path: &str, org_pic: Option<i64>, exif: Option<String>| -> Vec<SqlValue> {
        vec![
            path.into(),
            org_pic.into(),
            exif.into(),
            tm.as_str().into(),
            f.org_name.as_str().into(),
            uid.into(),
            emp_id.into(),
        ]
    };
    const INSERT: &str =
        "INSERT INTO Attachment (path, orgPicId, exif, tm, orgName, userId, empId) VALUES (?,?,?,?,?,?,?)";
    let id = ctx.insert(INSERT, &row(&path, None, exif))?;
    let mut out = json!({"id": id, "name": name, "orgName": f.org_name, "size": data.len(), "path": path});
    match thumb {
        Some(Some(thumb_data)) => {
            let thumb_file = dir.join(format!("{stem}-thumb.jpg"));
            if !create_new(ctx, &thumb_file)? {
                return Err(ApiError::server(format!("{} appeared meanwhile", thumb_file.display())));
            }
            write_all(&thumb_file, &thumb_data)?;
            let thumb_path = format!("{PATH_PREFIX}{rel_dir}/{stem}-thumb.jpg");
            let thumb_id = ctx.insert(INSERT, &row(&thumb_path, Some(id), None))?;
            ctx.exec("UPDATE Attachment SET orgPicId=? WHERE id=?", &[SqlValue::Int(-thumb_id), SqlValue::Int(id)])?;
            out["thumbId"] = json!(thumb_id);
        }
        Some(None) => {
            ctx.exec("UPDATE Attachment SET orgPicId=? WHERE id=?", &[SqlValue::Int(id), SqlValue::Int(id)])?;
            out["thumbId"] = json!(id);
        }
        None => {}
    }
    Ok(out)
}

/// Creates a new, empty file `{6 random digits}[-n].{ext}` in `dir` (with its `-thumb.jpg` name free
/// too when a thumbnail follows); returns its stem and path. Never overwrites anything.
fn create_unique(ctx: &mut Ctx, dir: &Path, ext: &str, with_thumb: bool) -> ApiResult<(String, PathBuf)> {
    let base: u32 = rand::rng().random_range(100_001..=999_999);
    for n in 0..1000 {
        let stem = if n == 0 { base.to_string() } else { format!("{base}-{n}") };
        if with_thumb && dir.join(format!("{stem}-thumb.jpg")).exists() {
            continue;
        }
        let file = dir.join(format!("{stem}.{ext}"));
        if create_new(ctx, &file)? {
            return Ok((stem, file));
        }
    }
    Err(ApiError::server(format!("no free file name in {}", dir.display())))
}

/// Creates `file` unless it exists (then `false`), and queues its removal should the call roll back.
fn create_new(ctx: &mut Ctx, file: &Path) -> ApiResult<bool> {
    match fs::OpenOptions::new().write(true).create_new(true).open(file) {
        Ok(_) => {
            let owned = file.to_path_buf();
            ctx.on_rollback(move || {
                if let Err(e) = fs::remove_file(&owned) {
                    log::warn!("upload rolled back; cannot remove {}: {e}", owned.display());
                }
            });
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(write_failed(file, e)),
    }
}

fn write_failed(file: &Path, e: std::io::Error) -> ApiError {
    ApiError::server(format!("cannot write {}: {e}", file.display())).with_user_msg("写文件失败！")
}

fn write_all(file: &Path, data: &[u8]) -> ApiResult<()> {
    // Flushed to disk before the row commits: a committed row always has its file.
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(file).map_err(|e| write_failed(file, e))?;
    f.write_all(data).and_then(|_| f.sync_data()).map_err(|e| write_failed(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_may_be_wrapped_unpadded_or_data_urls() {
        assert_eq!(decode_b64(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_b64(b"aGVs\nbG8").unwrap(), b"hello");
        assert_eq!(decode_b64(b"data:text/plain;base64,aGVsbG8=").unwrap(), b"hello");
        assert!(decode_b64(b"@@@").is_err());
    }
}
