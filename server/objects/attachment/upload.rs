//! `upload(category?, genThumb?, autoResize?, exif?, fmt?, f?)` → `[{id, name, orgName, size, path, thumbId?}]`
//! (protocol F66).
//!
//! Files come from a multipart body (one or several), or with `fmt=raw` the body is the file and `f` its
//! name (`fmt=raw_b64`: the body is its base64). Every file is checked before any is written; then each
//! is stored as `upload/[category/]YYYYMM/{6 random digits}.{ext}` (`-1`, `-2`, ... on a collision) with
//! one `Attachment` row.
//!
//! The work is split in two. The prepare phase (on the blocking pool, before the call is queued for the
//! single writer thread) checks, decodes, shrinks and writes the files; the call itself only records
//! the rows, so image work and disk syncs never hold up other writes.
//!
//! Files are not transactional. The call queues their removal, and the dispatcher runs it if the
//! call's writes roll back (the database fails, the commit fails); a failed preparation removes what
//! it wrote. A failed upload leaves neither rows nor files; only a crash between writing a file and the
//! commit can leave an orphan file, never a row without its file.

use std::borrow::Cow;
use std::fs;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use rand::Rng;
use serde_json::{json, Value};

use super::filetype;
use super::picture::{self, Picture};
use super::PATH_PREFIX;
use crate::api::auth::{perm, Auth};
use crate::api::ctx::{Ctx, Reply};
use crate::api::params::{Params, Prepared};
use crate::error::{ApiError, ApiResult};
use crate::query::SqlValue;
use crate::state::AppState;

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

/// A file checked, processed and written to its place, waiting for its Attachment rows.
struct Stored {
    org_name: String,
    /// File name (`123456.jpg`) and path as recorded (`upload/202611/123456.jpg`).
    name: String,
    path: String,
    size: usize,
    exif: Option<String>,
    thumb: Thumb,
}

/// The thumbnail of a stored file.
enum Thumb {
    None,
    /// The picture is small enough to be its own thumbnail.
    Itself,
    /// A `-thumb.jpg` file at this recorded path.
    File(String),
}

/// An upload prepared outside the writer: every file is on disk; `written` lists them for cleanup.
pub struct PreparedUpload {
    files: Vec<Stored>,
    written: Vec<PathBuf>,
}

/// Prepare phase of `upload` (runs before the writing call is queued, see `Functions::add_prepared`):
/// checks, decodes, shrinks, makes thumbnails and writes the files, so the writer thread only records
/// rows and never waits for image work or disk syncs.
pub fn prepare(state: &AppState, auth: &Auth, p: &mut Params) -> ApiResult<()> {
    let ready = prepare_files(&state.config.upload_dir, auth, p)?;
    p.prepared = Some(Prepared::new(ready));
    Ok(())
}

fn prepare_files(upload_dir: &Path, auth: &Auth, p: &Params) -> ApiResult<PreparedUpload> {
    auth.require(perm::LOGIN)?;
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
    let dir = upload_dir.join(&rel_dir);
    fs::create_dir_all(&dir).map_err(|e| ApiError::server(format!("cannot create folder {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    let mut files = Vec::with_capacity(typed.len());
    for (f, ext) in typed {
        match store(&opts, &dir, &rel_dir, f, ext, &mut written) {
            Ok(s) => files.push(s),
            Err(e) => {
                remove_all(&written);
                return Err(e);
            }
        }
    }
    Ok(PreparedUpload { files, written })
}

fn remove_all(files: &[PathBuf]) {
    for f in files {
        if let Err(e) = fs::remove_file(f) {
            log::warn!("upload failed; cannot remove {}: {e}", f.display());
        }
    }
}

/// `upload`: records the prepared files (see the module documentation).
pub fn upload(ctx: &mut Ctx, p: &Params) -> ApiResult<Reply> {
    ctx.auth.require(perm::LOGIN)?;
    let prepared = match p.prepared.as_ref().and_then(|x| x.get::<PreparedUpload>()) {
        Some(x) => x,
        // Not prepared (inside a batch): do the same work here.
        None => Arc::new(prepare_files(&ctx.state.config.upload_dir, &ctx.auth, p)?),
    };
    let written = prepared.written.clone();
    ctx.on_rollback(move || remove_all(&written));
    let tm = crate::db::now_str();
    let (uid, emp_id) = (ctx.auth.uid(), ctx.auth.emp_id());
    let mut out = Vec::with_capacity(prepared.files.len());
    for f in &prepared.files {
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
        let id = ctx.insert(INSERT, &row(&f.path, None, f.exif.clone()))?;
        let mut v = json!({"id": id, "name": f.name, "orgName": f.org_name, "size": f.size, "path": f.path});
        match &f.thumb {
            Thumb::File(thumb_path) => {
                let thumb_id = ctx.insert(INSERT, &row(thumb_path, Some(id), None))?;
                ctx.exec(
                    "UPDATE Attachment SET orgPicId=? WHERE id=?",
                    &[SqlValue::Int(-thumb_id), SqlValue::Int(id)],
                )?;
                v["thumbId"] = json!(thumb_id);
            }
            Thumb::Itself => {
                ctx.exec("UPDATE Attachment SET orgPicId=? WHERE id=?", &[SqlValue::Int(id), SqlValue::Int(id)])?;
                v["thumbId"] = json!(id);
            }
            Thumb::None => {}
        }
        out.push(v);
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

/// Processes one checked file (shrunk if need be, with its thumbnail) and writes it to `dir`; every
/// file written is added to `written`.
fn store(
    opts: &Options,
    dir: &Path,
    rel_dir: &str,
    f: Incoming,
    ext: &str,
    written: &mut Vec<PathBuf>,
) -> ApiResult<Stored> {
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
    let thumb_data = match &pic {
        Some(pic) if want_thumb => Some(pic.thumbnail(THUMB_SIDE)?),
        _ => None,
    };
    let (stem, file) = create_unique(dir, ext, matches!(thumb_data, Some(Some(_))), written)?;
    write_all(&file, &data)?;
    let name = format!("{stem}.{ext}");
    let thumb = match thumb_data {
        Some(Some(t)) => {
            let thumb_file = dir.join(format!("{stem}-thumb.jpg"));
            if !create_new(&thumb_file, written)? {
                return Err(ApiError::server(format!("{} appeared meanwhile", thumb_file.display())));
            }
            write_all(&thumb_file, &t)?;
            Thumb::File(format!("{PATH_PREFIX}{rel_dir}/{stem}-thumb.jpg"))
        }
        Some(None) => Thumb::Itself,
        None => Thumb::None,
    };
    Ok(Stored {
        org_name: f.org_name,
        path: format!("{PATH_PREFIX}{rel_dir}/{name}"),
        name,
        size: data.len(),
        exif,
        thumb,
    })
}

/// Creates a new, empty file `{6 random digits}[-n].{ext}` in `dir` (with its `-thumb.jpg` name free
/// too when a thumbnail follows); returns its stem and path. Never overwrites anything.
fn create_unique(dir: &Path, ext: &str, with_thumb: bool, written: &mut Vec<PathBuf>) -> ApiResult<(String, PathBuf)> {
    let base: u32 = rand::rng().random_range(100_001..=999_999);
    for n in 0..1000 {
        let stem = if n == 0 { base.to_string() } else { format!("{base}-{n}") };
        if with_thumb && dir.join(format!("{stem}-thumb.jpg")).exists() {
            continue;
        }
        let file = dir.join(format!("{stem}.{ext}"));
        if create_new(&file, written)? {
            return Ok((stem, file));
        }
    }
    Err(ApiError::server(format!("no free file name in {}", dir.display())))
}

/// Creates `file` unless it exists (then `false`), and notes it in `written`.
fn create_new(file: &Path, written: &mut Vec<PathBuf>) -> ApiResult<bool> {
    match fs::OpenOptions::new().write(true).create_new(true).open(file) {
        Ok(_) => {
            written.push(file.to_path_buf());
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
