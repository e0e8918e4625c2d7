//! Which files may be uploaded and what they are served as: the extension whitelist with MIME types,
//! and recognising a file by its first bytes when its name does not say (protocol F66).
//!
//! The extension a file is stored under always comes from this whitelist, never from the client's
//! name as such, so nothing a client sends can make the server store (or serve) a script or a page.

use crate::error::{ApiError, ApiResult};

/// Uploadable extensions and the MIME types `att` serves them as.
const TYPES: [(&str, &str); 18] = [
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("txt", "text/plain"),
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("zip", "application/zip"),
    ("rar", "application/x-rar-compressed"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("mp4", "video/mp4"),
];

/// The MIME type of a whitelisted extension (lower case).
pub fn mime(ext: &str) -> Option<&'static str> {
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m)
}

/// The MIME type to serve a stored file with (by its extension); unknown ones are plain bytes.
pub fn mime_of_path(path: &str) -> &'static str {
    ext_of(path).and_then(|e| mime(&e)).unwrap_or("application/octet-stream")
}

/// The lower-case extension of a file name, if it has a plausible one (letters and digits only).
pub fn ext_of(name: &str) -> Option<String> {
    let base = base_name(name);
    let (stem, ext) = base.rsplit_once('.')?;
    let ok = !stem.is_empty() && !ext.is_empty() && ext.len() <= 10 && ext.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| ext.to_ascii_lowercase())
}

/// The client's file name without any directory part (`../../a.txt` → `a.txt`, `C:\x\b.jpg` → `b.jpg`),
/// without control characters and at most 200 characters: what is kept as `orgName`.
pub fn base_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().count() <= 200 {
        return clean.to_string();
    }
    // Keep the extension when shortening.
    let ext = clean.rsplit_once('.').map(|(_, e)| e).filter(|e| e.len() <= 10).unwrap_or("");
    let keep = 200 - ext.chars().count() - 1;
    format!("{}.{ext}", clean.chars().take(keep).collect::<String>())
}

/// The extension for a file recognised by its first bytes.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    let starts = |tag: &[u8]| data.starts_with(tag);
    if starts(b"\xff\xd8\xff") {
        Some("jpg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("gif")
    } else if starts(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        Some("webp")
    } else if starts(b"%PDF-") {
        Some("pdf")
    } else if starts(b"PK\x03\x04") {
        Some("zip")
    } else if starts(b"Rar!\x1a\x07") {
        Some("rar")
    } else if starts(b"ID3") {
        Some("mp3")
    } else if data.get(4..8) == Some(b"ftyp") {
        // ISO base media: the brand tells audio-only M4A from video.
        match data.get(8..11) {
            Some(b"M4A") => Some("m4a"),
            _ => Some("mp4"),
        }
    } else {
        None
    }
}

/// The whitelisted extension of a part's declared Content-Type (`image/png` → `png`).
fn ext_of_mime(content_type: &str) -> Option<&'static str> {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    TYPES.iter().find(|(_, m)| *m == essence).map(|(e, _)| *e)
}

/// Decides the extension a file is stored under: its name's extension when whitelisted; with no
/// extension, the declared Content-Type, else its first bytes; with an extension that is not
/// whitelisted, its first bytes (a `photo.jpg_large` that is a JPEG is fine, an `.exe` or `.php` is not).
pub fn decide(org_name: &str, content_type: Option<&str>, data: &[u8]) -> ApiResult<&'static str> {
    let ext = ext_of(org_name);
    if let Some(e) = ext.as_deref().and_then(|e| TYPES.iter().find(|(x, _)| *x == e)).map(|(x, _)| *x) {
        return Ok(e);
    }
    let declared = if ext.is_none() { content_type.and_then(ext_of_mime) } else { None };
    if let Some(e) = declared.or_else(|| sniff(data)) {
        return Ok(e);
    }
    Err(match ext {
        Some(e) => {
            ApiError::param(format!("文件扩展名`{e}`不支持")).internal(format!("bad extension file name: `{org_name}`"))
        }
        None => ApiError::param("不支持的文件类型")
            .internal(format!("unknown file type of `{org_name}` ({})", content_type.unwrap_or("no type"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_lose_every_directory_part() {
        assert_eq!(base_name("../../etc/passwd"), "passwd");
        assert_eq!(base_name("C:\\Users\\me\\photo.JPG"), "photo.JPG");
        assert_eq!(base_name("a\u{0}b.txt"), "ab.txt");
        let long = format!("{}.pdf", "x".repeat(300));
        assert_eq!(base_name(&long).chars().count(), 200);
        assert!(base_name(&long).ends_with(".pdf"));
    }

    #[test]
    fn extensions_are_lower_case_and_need_a_stem() {
        assert_eq!(ext_of("a.JPG").as_deref(), Some("jpg"));
        assert_eq!(ext_of(".bashrc"), None);
        assert_eq!(ext_of("noext"), None);
        assert_eq!(ext_of("x.tar.gz").as_deref(), Some("gz"));
    }

    #[test]
    fn whitelisted_names_pass_and_others_need_recognisable_content() {
        assert_eq!(decide("a.pdf", None, b"anything").unwrap(), "pdf");
        assert_eq!(decide("blob", Some("image/png"), b"").unwrap(), "png");
        assert_eq!(decide("blob", None, b"\x89PNG\r\n\x1a\n....").unwrap(), "png");
        assert_eq!(decide("photo.jpg_large", None, b"\xff\xd8\xff\xe0").unwrap(), "jpg");
        assert!(decide("evil.php", None, b"<?php echo 1;").unwrap_err().msg.contains("php"));
        assert!(decide("a.exe", Some("application/octet-stream"), b"MZ\x90\x00").is_err());
        assert!(decide("blob", Some("text/html"), b"<html>").is_err());
    }

    #[test]
    fn sniffing_knows_the_common_containers() {
        assert_eq!(sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 "), Some("webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("pdf"));
        assert_eq!(sniff(b"\x00\x00\x00\x20ftypM4A "), Some("m4a"));
        assert_eq!(sniff(b"\x00\x00\x00\x20ftypisom"), Some("mp4"));
        assert_eq!(sniff(b"hello"), None);
    }
}
