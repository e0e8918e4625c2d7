//! Attachments through the real server: `upload`, `att`, and Ordr `atts` (protocol F66, F67, F70).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, GenericImageView, RgbImage};
use serde_json::{json, Value};

use crate::crud::login_user;
use crate::helpers::{qs, spawn_app, Body, Resp, TestApp};

/// A multipart/form-data body of `(field, file name, bytes)` parts; returns its Content-Type and bytes.
fn multipart(files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----jdyTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (field, name, data) in files {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n").as_bytes(),
        );
        body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `upload` with URL parameters and multipart files.
fn upload(app: &mut TestApp, url: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Value {
    let (ct, body) = multipart(files);
    app.request("POST", &format!("/api/upload?{}", qs(url)), &[("Content-Type", &ct)], &body).json()
}

/// `upload` that must succeed; returns the data.
pub fn upload_ok(app: &mut TestApp, url: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Value {
    let v = upload(app, url, files);
    assert_eq!(v[0], json!(0), "upload should succeed: {v}");
    v[1].clone()
}

/// `att` with URL parameters and request headers.
pub fn att(app: &mut TestApp, url: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
    app.request("GET", &format!("/api/att?{}", qs(url)), headers, b"")
}

fn s(v: &Value) -> String {
    v.to_string()
}

/// A single text value from SQL.
fn text_of(app: &mut TestApp, sql: &str) -> String {
    app.ok("execSql", &[], Body::Form(&[("sql", sql), ("fmt", "one")])).as_str().unwrap_or_default().to_string()
}

/// Every file below the test's upload directory.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_in(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn upload_dir(app: &TestApp) -> PathBuf {
    app.state.config.upload_dir.clone()
}

/// A picture of noise (does not compress, so its size is about w*h*3 bytes).
fn noise(w: u32, h: u32) -> DynamicImage {
    let mut x: u32 = 0x1234_5678;
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    }))
}

fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut out)).unwrap();
    out
}

fn jpeg(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.to_rgb8().write_with_encoder(JpegEncoder::new_with_quality(&mut out, 80)).unwrap();
    out
}

/// A JPEG carrying an EXIF block (APP1) with a date and GPS coordinates, as a phone writes it.
fn jpeg_with_exif() -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value as E};
    let date =
        Field { tag: Tag::DateTime, ifd_num: In::PRIMARY, value: E::Ascii(vec![b"2015:10:08 11:03:02".to_vec()]) };
    let lat_ref = Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: E::Ascii(vec![b"N".to_vec()]) };
    let r = |num, denom| Rational { num, denom };
    let lat =
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: E::Rational(vec![r(31, 1), r(14, 1), r(458, 10)]) };
    let mut w = exif::experimental::Writer::new();
    w.push_field(&date);
    w.push_field(&lat_ref);
    w.push_field(&lat);
    let mut tiff = Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();

    let plain = jpeg(&noise(40, 30));
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn dims(bytes: &[u8]) -> (u32, u32) {
    image::load_from_memory(bytes).expect("a picture").dimensions()
}

#[test]
fn a_user_uploads_one_file_and_gets_it_back_with_att() {
    let mut app = spawn_app();
    let uid = login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[], &[("file", "notes.txt", b"hello")]);
    let item = &v[0];
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(item["orgName"], json!("notes.txt"));
    assert_eq!(item["size"], json!(5));
    assert!(item.get("thumbId").is_none());
    // upload/YYYYMM/{6 digits}.txt, with `name` its last part.
    let path = item["path"].as_str().unwrap();
    let parts: Vec<&str> = path.split('/').collect();
    assert_eq!(parts.len(), 3, "{path}");
    assert_eq!(parts[0], "upload");
    assert_eq!(parts[1], chrono::Local::now().format("%Y%m").to_string());
    assert_eq!(item["name"], json!(parts[2]));
    let (stem, ext) = parts[2].split_once('.').unwrap();
    assert!(stem.len() == 6 && stem.chars().all(|c| c.is_ascii_digit()) && ext == "txt", "{path}");
    assert_eq!(std::fs::read(upload_dir(&app).join(&path["upload/".len()..])).unwrap(), b"hello");

    let id = s(&item["id"]);
    let row = app.sql(&format!("SELECT path, orgName, userId, empId, orgPicId, tm FROM Attachment WHERE id={id}"));
    assert_eq!(row[0]["path"], json!(path));
    assert_eq!(row[0]["userId"], json!(uid));
    assert_eq!(row[0]["empId"], Value::Null);
    assert_eq!(row[0]["orgPicId"], Value::Null);

    let r = att(&mut app, &[("id", &id)], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(r.header("Content-Disposition"), Some("attachment; filename=\"notes.txt\""), "text is never inline");
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
}

#[test]
fn several_files_in_one_multipart_body_each_get_a_row_and_a_file() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let pic = png(&noise(20, 10));
    let v = upload_ok(
        &mut app,
        &[],
        &[("file[]", "a.txt", b"one"), ("file[]", "b.pdf", b"%PDF-1.4 two"), ("photo", "c.png", &pic)],
    );
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 3);
    let names: Vec<&str> = items.iter().map(|i| i["orgName"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.txt", "b.pdf", "c.png"]);
    let paths: Vec<&str> = items.iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert!(paths[1].ends_with(".pdf") && paths[2].ends_with(".png"));
    assert_ne!(paths[0], paths[1]);
    assert_eq!(app.count("SELECT COUNT(*) FROM Attachment"), 3);
    assert_eq!(files_in(&upload_dir(&app)).len(), 3);
}

#[test]
fn raw_and_raw_b64_bodies_are_one_file_named_by_f() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    // curl --data-binary sends form-urlencoded; the body is still the file.
    let r = app.request(
        "POST",
        "/api/upload?fmt=raw&f=memo.txt",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "a=1&b=中文".as_bytes(),
    );
    let v = r.json();
    assert_eq!(v[0], json!(0), "{v}");
    assert_eq!(v[1][0]["orgName"], json!("memo.txt"));
    let r = att(&mut app, &[("id", &s(&v[1][0]["id"]))], &[]);
    assert_eq!(r.body, "a=1&b=中文".as_bytes());

    let r = app.request(
        "POST",
        "/api/upload?fmt=raw_b64&f=hello.txt",
        &[("Content-Type", "text/plain")],
        b"aGVsbG8g5Lit5paH",
    );
    let v = r.json();
    assert_eq!(v[0], json!(0), "{v}");
    assert_eq!(v[1][0]["size"], json!(12));
    assert_eq!(att(&mut app, &[("id", &s(&v[1][0]["id"]))], &[]).body, "hello 中文".as_bytes());

    // `f` is mandatory, an empty body is no file, bad base64 is refused.
    let v = app.request("POST", "/api/upload?fmt=raw", &[("Content-Type", "text/plain")], b"x").json();
    assert_eq!(v[0], json!(1));
    let v = app.request("POST", "/api/upload?fmt=raw&f=a.txt", &[("Content-Type", "text/plain")], b"").json();
    assert_eq!(v[0], json!(1));
    let v = app.request("POST", "/api/upload?fmt=raw_b64&f=a.txt", &[("Content-Type", "text/plain")], b"@@@").json();
    assert_eq!(v[0], json!(1));
    assert_eq!(app.count("SELECT COUNT(*) FROM Attachment"), 2);
}

#[test]
fn a_category_becomes_a_folder_and_unsafe_categories_are_refused() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let month = chrono::Local::now().format("%Y%m").to_string();
    let v = upload_ok(&mut app, &[("category", "store_1")], &[("f", "a.txt", b"x")]);
    assert!(v[0]["path"].as_str().unwrap().starts_with(&format!("upload/store_1/{month}/")), "{v}");
    // `type` is the older name (DESIGN.md: `upload(type=user, genThumb=1)`).
    let v = upload_ok(&mut app, &[("type", "user")], &[("f", "a.txt", b"x")]);
    assert!(v[0]["path"].as_str().unwrap().starts_with(&format!("upload/user/{month}/")), "{v}");
    for bad in ["../etc", "a/b", "a b", "x.y", "..", "中文"] {
        let v = upload(&mut app, &[("category", bad)], &[("f", "a.txt", b"x")]);
        assert_eq!(v[0], json!(1), "category {bad}: {v}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM Attachment"), 2);
    assert_eq!(files_in(&upload_dir(&app)).len(), 2);
}

#[test]
fn files_outside_the_whitelist_are_refused_and_nothing_is_written() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    for (name, data) in [
        ("setup.exe", &b"MZ\x90\x00\x03"[..]),
        ("shell.php", b"<?php system($_GET['c']); ?>"),
        ("../../www/shell.php", b"<?php ?>"),
        ("page.html", b"<html><script>alert(1)</script>"),
        ("noext", b"just some bytes"),
    ] {
        let v = upload(&mut app, &[], &[("file", name, data)]);
        assert_eq!(v[0], json!(1), "{name}: {v}");
    }
    let v = upload(&mut app, &[], &[("file", "shell.php", b"<?php")]);
    assert_eq!(v[1], json!("文件扩展名`php`不支持"));
    // One bad file refuses the whole call, before anything is written.
    let v = upload(&mut app, &[], &[("a", "ok.txt", b"fine"), ("b", "bad.exe", b"MZ")]);
    assert_eq!(v[0], json!(1));
    // No file at all.
    let v = upload(&mut app, &[], &[]);
    assert_eq!(v[0], json!(1), "{v}");
    assert_eq!(app.count("SELECT COUNT(*) FROM Attachment"), 0);
    assert!(files_in(&upload_dir(&app)).is_empty());
}

#[test]
fn a_file_failing_after_others_were_written_leaves_no_rows_and_no_files() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    // The second "picture" is only found broken when it has to be decoded (autoResize=N), after the
    // first file was written and recorded.
    let v = upload(
        &mut app,
        &[("autoResize", "300")],
        &[("a", "ok.txt", b"fine"), ("b", "broken.jpg", b"\xff\xd8\xffnot")],
    );
    assert_eq!(v[0], json!(1), "{v}");
    assert_eq!(v[1], json!("图片格式错误"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Attachment"), 0);
    assert!(files_in(&upload_dir(&app)).is_empty(), "{:?}", files_in(&upload_dir(&app)));
}

#[test]
fn client_names_never_reach_the_disk() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[], &[("file", "../../../tmp/evil.txt", b"x"), ("g", "C:\\docs\\合同.pdf", b"%PDF")]);
    assert_eq!(v[0]["orgName"], json!("evil.txt"));
    assert_eq!(v[1]["orgName"], json!("合同.pdf"));
    for item in v.as_array().unwrap() {
        let path = item["path"].as_str().unwrap();
        assert!(!path.contains("..") && !path.contains("evil") && !path.contains("合同"), "{path}");
    }
    let files = files_in(&upload_dir(&app));
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.starts_with(upload_dir(&app))));
}

#[test]
fn files_without_a_usable_extension_are_recognised_by_their_bytes() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let pic = png(&noise(8, 8));
    let v = upload_ok(&mut app, &[], &[("file", "blob", &pic), ("g", "photo.jpg_large", &jpeg(&noise(8, 8)))]);
    assert!(v[0]["path"].as_str().unwrap().ends_with(".png"), "{v}");
    assert!(v[1]["path"].as_str().unwrap().ends_with(".jpg"), "{v}");
    let v = app.request("POST", "/api/upload?fmt=raw&f=image", &[("Content-Type", "image/png")], &pic).json();
    assert!(v[1][0]["path"].as_str().unwrap().ends_with(".png"), "{v}");
    let r = att(&mut app, &[("id", &s(&v[1][0]["id"]))], &[]);
    assert_eq!(r.header("Content-Type"), Some("image/png"));
}

#[test]
fn big_pictures_are_shrunk_unless_auto_resize_is_off() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let big = png(&noise(1400, 150));
    assert!(big.len() > 500 * 1024, "the test picture must be over 500 KB: {}", big.len());

    let v = upload_ok(&mut app, &[], &[("file", "big.png", &big)]);
    let r = att(&mut app, &[("id", &s(&v[0]["id"]))], &[]);
    assert_eq!(dims(&r.body), (1280, 137));
    assert!(r.body.starts_with(b"\x89PNG"), "a PNG stays a PNG");
    assert_eq!(v[0]["size"], json!(r.body.len()), "size is what was stored");

    let v = upload_ok(&mut app, &[("autoResize", "0")], &[("file", "big.png", &big)]);
    assert_eq!(v[0]["size"], json!(big.len()));

    // An explicit size applies to small files too; small pictures are left alone by default.
    let small = jpeg(&noise(300, 100));
    let v = upload_ok(&mut app, &[("autoResize", "150")], &[("file", "s.jpg", &small)]);
    assert_eq!(dims(&att(&mut app, &[("id", &s(&v[0]["id"]))], &[]).body), (150, 50));
    let v = upload_ok(&mut app, &[], &[("file", "s.jpg", &small)]);
    assert_eq!(v[0]["size"], json!(small.len()));
}

#[test]
fn thumbnails_link_both_ways_and_small_pictures_are_their_own_thumbnail() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[("genThumb", "1")], &[("file", "wide.png", &png(&noise(800, 400)))]);
    let (id, thumb_id) = (v[0]["id"].as_i64().unwrap(), v[0]["thumbId"].as_i64().unwrap());
    assert_ne!(id, thumb_id);
    let rows = app
        .sql(&format!("SELECT id, path, orgPicId, orgName FROM Attachment WHERE id IN ({id},{thumb_id}) ORDER BY id"));
    assert_eq!(rows[0]["orgPicId"], json!(-thumb_id), "the original points at its thumbnail");
    assert_eq!(rows[1]["orgPicId"], json!(id), "the thumbnail points at its original");
    assert_eq!(rows[1]["orgName"], json!("wide.png"));
    let orig_path = rows[0]["path"].as_str().unwrap();
    assert_eq!(rows[1]["path"], json!(orig_path.replace(".png", "-thumb.jpg")));

    let r = att(&mut app, &[("id", &id.to_string()), ("thumb", "1")], &[]);
    assert_eq!(r.header("Content-Type"), Some("image/jpeg"));
    assert_eq!(dims(&r.body), (360, 180));
    assert_eq!(r.header("ETag"), Some(format!("\"att-{id}-t\"").as_str()));
    let r = att(&mut app, &[("thumbId", &thumb_id.to_string())], &[]);
    assert_eq!(r.header("Content-Type"), Some("image/png"));
    assert_eq!(dims(&r.body), (800, 400));
    assert_eq!(r.header("ETag"), Some(format!("\"att-t{thumb_id}\"").as_str()));

    let v = upload_ok(&mut app, &[("genThumb", "1")], &[("file", "tiny.gif", &png_as_gif())]);
    let id = v[0]["id"].as_i64().unwrap();
    assert_eq!(v[0]["thumbId"], json!(id), "a small picture is its own thumbnail");
    assert_eq!(app.count(&format!("SELECT orgPicId FROM Attachment WHERE id={id}")), id);
    let r = att(&mut app, &[("id", &id.to_string()), ("thumb", "1")], &[]);
    assert_eq!((r.status, r.header("Content-Type")), (200, Some("image/gif")));

    // Files that are not pictures get no thumbnail.
    let v = upload_ok(&mut app, &[("genThumb", "1")], &[("file", "a.pdf", b"%PDF")]);
    assert!(v[0].get("thumbId").is_none(), "{v}");
    assert_eq!(att(&mut app, &[("id", &s(&v[0]["id"])), ("thumb", "1")], &[]).status, 404);
}

/// A small GIF.
fn png_as_gif() -> Vec<u8> {
    let mut out = Vec::new();
    noise(30, 20).to_rgba8().write_to(&mut Cursor::new(&mut out), image::ImageFormat::Gif).unwrap();
    out
}

#[test]
fn exif_is_kept_as_json_when_asked() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let photo = jpeg_with_exif();
    let v = upload_ok(&mut app, &[("exif", "1"), ("genThumb", "1")], &[("file", "photo.jpg", &photo)]);
    let id = s(&v[0]["id"]);
    let text = text_of(&mut app, &format!("SELECT exif FROM Attachment WHERE id={id}"));
    let exif: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(exif["DateTime"], json!("2015:10:08 11:03:02"));
    assert_eq!(exif["GPSLatitude"], json!([31, 14, 45.8]));
    assert_eq!(exif["GPSLatitudeRef"], json!("N"));

    let v = upload_ok(&mut app, &[], &[("file", "photo.jpg", &photo)]);
    assert_eq!(app.sql(&format!("SELECT exif FROM Attachment WHERE id={}", v[0]["id"]))[0]["exif"], Value::Null);
    // The reference's form: the client sends the EXIF it read itself.
    let given = r#"{"DateTime":"2020:01:02 03:04:05"}"#;
    let v = upload_ok(&mut app, &[("exif", given)], &[("file", "a.jpg", &jpeg(&noise(4, 4)))]);
    assert_eq!(text_of(&mut app, &format!("SELECT exif FROM Attachment WHERE id={}", v[0]["id"])), given);
    let v = upload(&mut app, &[("exif", "not json")], &[("file", "a.jpg", &jpeg(&noise(4, 4)))]);
    assert_eq!(v[0], json!(1));
}

#[test]
fn att_serves_mime_etag_304_ranges_and_the_download_flag() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let pic = png(&noise(10, 10));
    let v = upload_ok(&mut app, &[], &[("file", "图片 1.png", &pic)]);
    let id = s(&v[0]["id"]);

    let r = att(&mut app, &[("id", &id)], &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, pic);
    assert_eq!(r.header("Content-Type"), Some("image/png"));
    let etag = format!("\"att-{id}\"");
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    assert!(r.header("Cache-Control").unwrap().contains("max-age=31536000"), "{:?}", r.header("Cache-Control"));
    assert!(r.header("Content-Disposition").unwrap().starts_with("inline;"));

    let r = att(&mut app, &[("id", &id)], &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // The reference sent the ETag unquoted; clients holding such a value still get 304.
    assert_eq!(att(&mut app, &[("id", &id)], &[("If-None-Match", &format!("att-{id}"))]).status, 304);
    assert_eq!(att(&mut app, &[("id", &id)], &[("If-None-Match", "\"att-999\"")]).status, 200);

    let r = att(&mut app, &[("id", &id), ("down", "1")], &[]);
    assert_eq!(
        r.header("Content-Disposition"),
        Some("attachment; filename=\"__ 1.png\"; filename*=UTF-8''%E5%9B%BE%E7%89%87%201.png")
    );

    let r = att(&mut app, &[("id", &id)], &[("Range", "bytes=0-3")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &pic[..4]);
    assert_eq!(r.header("Content-Range"), Some(format!("bytes 0-3/{}", pic.len()).as_str()));
    assert_eq!(att(&mut app, &[("id", &id)], &[("Range", "bytes=99999-")]).status, 416);
}

#[test]
fn att_answers_404_for_a_missing_row_or_file() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[], &[("file", "a.txt", b"x")]);
    let id = s(&v[0]["id"]);
    for url in
        [vec![("id", "9999")], vec![], vec![("id", "0")], vec![("thumbId", "9999")], vec![("id", &id), ("thumb", "1")]]
    {
        let r = att(&mut app, &url, &[]);
        assert_eq!(r.status, 404, "{url:?}");
        assert_eq!(r.text(), "Not Found\n");
    }
    std::fs::remove_file(upload_dir(&app).join(&v[0]["path"].as_str().unwrap()["upload/".len()..])).unwrap();
    assert_eq!(att(&mut app, &[("id", &id)], &[]).status, 404);
    // A row pointing outside the upload directory is never followed.
    std::fs::write(upload_dir(&app).parent().unwrap().join("secret.txt"), b"secret").unwrap();
    app.sql(&format!("UPDATE Attachment SET path='upload/../secret.txt' WHERE id={id}"));
    assert_eq!(att(&mut app, &[("id", &id)], &[]).status, 404);
}

#[test]
fn guests_may_neither_upload_nor_download() {
    let mut app = spawn_app();
    let v = upload(&mut app, &[], &[("file", "a.txt", b"x")]);
    assert_eq!(v[0], json!(2), "{v}");
    assert!(files_in(&upload_dir(&app)).is_empty());
    assert_eq!(att(&mut app, &[("id", "1")], &[]).json()[0], json!(2));
}

#[test]
fn staff_upload_and_read_every_attachment_but_users_only_their_own() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let mine = s(&upload_ok(&mut app, &[], &[("file", "a.txt", b"a")])[0]["id"]);
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    assert_eq!(att(&mut app, &[("id", &mine)], &[]).status, 404, "another user's file is not there for 乙");

    app.cookies.clear();
    app.ok("login", &[("_app", "emp")], Body::Form(&[("uname", "admin"), ("pwd", "1234")]));
    assert_eq!(att(&mut app, &[("_app", "emp"), ("id", &mine)], &[]).body, b"a");
    let v = upload_ok(&mut app, &[("_app", "emp")], &[("file", "shop.txt", b"s")]);
    let emp_id = app.count("SELECT id FROM Employee WHERE uname='admin'");
    let row = app.sql(&format!("SELECT userId, empId FROM Attachment WHERE id={}", v[0]["id"]));
    assert_eq!(row[0], json!({"userId": null, "empId": emp_id}));
}

#[test]
fn a_user_adds_an_order_with_atts_and_reads_them_back() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[("genThumb", "1")], &[("a", "1.png", &png(&noise(500, 500))), ("b", "2.txt", b"t")]);
    let (a, t, b) = (&v[0]["id"], &v[0]["thumbId"], &v[1]["id"]);
    let order = app.ok("Ordr.add", &[], Body::Json(json!({"dscr": "带图", "atts": [{"attId": t}, {"attId": b}]})));
    let got = app.ok("Ordr.get", &[("id", &s(&order))], Body::None);
    let atts: Vec<&Value> = got["atts"].as_array().unwrap().iter().map(|x| &x["attId"]).collect();
    assert_eq!(atts, [t, b]);
    assert!(got["atts"][0]["id"].is_i64());

    // Links are read directly, but written only through the order.
    let v = app.ok("OrderAtt.query", &[("fmt", "list"), ("res", "orderId,attId")], Body::None);
    assert_eq!(v["list"].as_array().unwrap().len(), 2);
    app.err("OrderAtt.add", &[], Body::Json(json!({"orderId": order, "attId": a})), 5);
    let link = s(&got["atts"][0]["id"]);
    app.err("OrderAtt.del", &[("id", &link)], Body::None, 5);
    app.err("OrderAtt.set", &[("id", &link)], Body::Json(json!({"attId": a})), 5);
    // Through the order: add one, remove one.
    app.ok(
        "Ordr.set",
        &[("id", &s(&order))],
        Body::Json(json!({"atts": [{"attId": a}, {"id": link.parse::<i64>().unwrap(), "_delete": 1}]})),
    );
    let got = app.ok("Ordr.get", &[("id", &s(&order))], Body::None);
    let atts: Vec<&Value> = got["atts"].as_array().unwrap().iter().map(|x| &x["attId"]).collect();
    assert_eq!(atts, [b, a]);
}

#[test]
fn attaching_someone_elses_upload_is_refused_and_their_files_stay_private() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let theirs = upload_ok(&mut app, &[], &[("file", "a.txt", b"private")])[0]["id"].clone();
    let their_order = app.ok("Ordr.add", &[], Body::Json(json!({"dscr": "甲", "atts": [{"attId": theirs}]})));
    app.cookies.clear();
    login_user(&mut app, "13800000002", "乙");
    let v = app.err("Ordr.add", &[], Body::Json(json!({"dscr": "乙", "atts": [{"attId": theirs}]})), 5);
    assert_eq!(v[1], json!("只能关联自己上传的附件"));
    assert_eq!(app.count("SELECT COUNT(*) FROM Ordr"), 1, "the order was not added either");
    app.err("Ordr.add", &[], Body::Json(json!({"atts": [{"attId": 9999}]})), 1);
    // Not by editing an own order, nor another user's order.
    let mine = app.ok("Ordr.add", &[], Body::Json(json!({"dscr": "乙"})));
    app.err("Ordr.set", &[("id", &s(&mine))], Body::Json(json!({"atts": [{"attId": theirs}]})), 5);
    app.err("Ordr.set", &[("id", &s(&their_order))], Body::Json(json!({"atts": []})), 1);
    assert_eq!(att(&mut app, &[("id", &s(&theirs))], &[]).status, 404);
    let v = app.ok("OrderAtt.query", &[("fmt", "list")], Body::None);
    assert_eq!(v["list"], json!([]), "乙 sees no links of 甲's orders");
    assert_eq!(app.count("SELECT COUNT(*) FROM OrderAtt"), 1);
}

#[test]
fn api_log_records_the_file_path_for_att() {
    let mut app = spawn_app();
    login_user(&mut app, "13800000001", "甲");
    let v = upload_ok(&mut app, &[], &[("file", "a.txt", b"abc")]);
    att(&mut app, &[("id", &s(&v[0]["id"]))], &[]);
    app.flush_log();
    let row = app.sql("SELECT res, ressz FROM ApiLog WHERE ac='att'");
    assert_eq!(row[0]["res"], v[0]["path"]);
    assert_eq!(row[0]["ressz"], json!(3));
    let v =
        app.request("POST", "/api/upload?fmt=raw&f=b.png", &[("Content-Type", "image/png")], &png(&noise(2, 2))).json();
    assert_eq!(v[0], json!(0));
    app.flush_log();
    let req = text_of(&mut app, "SELECT req FROM ApiLog WHERE ac='upload' ORDER BY id DESC LIMIT 1");
    assert!(req.contains("[binary "), "binary bodies are noted by size: {req}");
}
