//! Pictures of an upload: shrinking large ones, making thumbnails, and reading EXIF as JSON (protocol F66).
//!
//! A picture is decoded at most once per upload, with limits against decompression bombs (a few bytes
//! of PNG can claim a gigapixel canvas). The EXIF orientation is applied when a picture is re-encoded,
//! because re-encoding drops the EXIF block and a phone photo would otherwise turn sideways.

use std::fmt::Display;
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, Rgb, RgbImage};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};

/// Largest side of a picture we agree to decode.
const MAX_SIDE: u32 = 16_384;
/// Largest allocation a decoder may make (a 48-megapixel RGB photo needs about 150 MB).
const MAX_ALLOC: u64 = 256 << 20;
/// JPEG quality of re-encoded pictures and thumbnails.
const JPEG_QUALITY: u8 = 85;

/// Extensions that auto-resize applies to (as the reference: JPEG and PNG).
pub fn resizable(ext: &str) -> bool {
    matches!(ext, "jpg" | "jpeg" | "png")
}

/// Extensions a thumbnail can be made of.
pub fn thumbable(ext: &str) -> bool {
    matches!(ext, "jpg" | "jpeg" | "png" | "gif" | "webp")
}

/// A decoded picture with its EXIF orientation applied.
pub struct Picture(DynamicImage);

fn bad(e: impl Display) -> ApiError {
    ApiError::param("图片格式错误").internal(format!("cannot decode image: {e}"))
}

impl Picture {
    /// Decodes a picture (format from its bytes), refusing absurd sizes.
    pub fn decode(data: &[u8]) -> ApiResult<Picture> {
        let mut reader = ImageReader::new(Cursor::new(data)).with_guessed_format().map_err(bad)?;
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_ALLOC);
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(bad)?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let mut img = DynamicImage::from_decoder(decoder).map_err(bad)?;
        img.apply_orientation(orientation);
        Ok(Picture(img))
    }

    /// The longer side in pixels.
    pub fn long_side(&self) -> u32 {
        self.0.width().max(self.0.height())
    }

    /// A copy at most `max` pixels on the long side, encoded as `ext` (PNG stays PNG, the rest JPEG);
    /// `None` if the picture already fits.
    pub fn shrink(&self, max: u32, ext: &str) -> ApiResult<Option<Vec<u8>>> {
        if self.long_side() <= max {
            return Ok(None);
        }
        let small = self.0.resize(max, max, FilterType::Triangle);
        let mut out = Vec::new();
        let r = if ext == "png" {
            small.write_with_encoder(PngEncoder::new(&mut out))
        } else {
            flatten(&small).write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        };
        r.map_err(|e| ApiError::server(format!("cannot encode image: {e}")))?;
        Ok(Some(out))
    }

    /// A JPEG thumbnail at most `max` pixels on the long side; `None` if the picture is that small
    /// already (then it is its own thumbnail).
    pub fn thumbnail(&self, max: u32) -> ApiResult<Option<Vec<u8>>> {
        self.shrink(max, "jpg")
    }
}

/// The picture as RGB, transparent parts on white (JPEG has no alpha; dropping it would show black).
fn flatten(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = p[3] as u32;
        let mix = |c: u8| ((c as u32 * a + 255 * (255 - a)) / 255) as u8;
        Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

/// The EXIF fields of the primary image as a JSON object (`{"DateTime": "2015:10:08 11:03:02",
/// "GPSLatitude": [31, 14, 45.8], ...}`), or `None` when the file carries none. Binary fields
/// (maker notes, embedded thumbnails) are left out.
pub fn exif_json(data: &[u8]) -> Option<Value> {
    let exif = exif::Reader::new().read_from_container(&mut Cursor::new(data)).ok()?;
    let mut m = Map::new();
    for f in exif.fields().filter(|f| f.ifd_num == exif::In::PRIMARY) {
        let name = f.tag.to_string();
        if name.starts_with("Tag(") {
            continue; // a tag kamadak-exif has no name for
        }
        if let Some(v) = exif_value(&f.value) {
            m.insert(name, v);
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn exif_value(v: &exif::Value) -> Option<Value> {
    use exif::Value as E;
    let list = |items: Vec<Value>| match items.len() {
        0 => None,
        1 => items.into_iter().next(),
        n if n <= 16 => Some(Value::Array(items)),
        _ => None,
    };
    match v {
        E::Ascii(parts) => {
            let s: Vec<String> = parts.iter().map(|p| String::from_utf8_lossy(p).trim().to_string()).collect();
            let s = s.join(" ");
            (!s.is_empty()).then(|| Value::String(s.chars().take(1000).collect()))
        }
        E::Short(x) => list(x.iter().map(|n| json!(n)).collect()),
        E::Long(x) => list(x.iter().map(|n| json!(n)).collect()),
        E::SShort(x) => list(x.iter().map(|n| json!(n)).collect()),
        E::SLong(x) => list(x.iter().map(|n| json!(n)).collect()),
        E::Rational(x) => list(x.iter().map(|r| number(r.to_f64())).collect()),
        E::SRational(x) => list(x.iter().map(|r| number(r.to_f64())).collect()),
        E::Float(x) => list(x.iter().map(|f| number(*f as f64)).collect()),
        E::Double(x) => list(x.iter().map(|f| number(*f)).collect()),
        _ => None,
    }
}

/// A number as JSON: whole numbers as integers, others to 6 decimals; NaN (a zero denominator) as null.
fn number(f: f64) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    let r = (f * 1e6).round() / 1e6;
    if r.fract() == 0.0 && r.abs() < 1e15 {
        json!(r as i64)
    } else {
        json!(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([10, 20, 30, 0]));
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(img).write_with_encoder(PngEncoder::new(&mut out)).unwrap();
        out
    }

    #[test]
    fn shrinking_keeps_the_aspect_ratio_and_the_format() {
        let p = Picture::decode(&png(400, 100)).unwrap();
        assert_eq!(p.shrink(400, "png").unwrap(), None);
        let small = Picture::decode(&p.shrink(200, "png").unwrap().unwrap()).unwrap();
        assert_eq!((small.0.width(), small.0.height()), (200, 50));
    }

    #[test]
    fn thumbnails_are_jpeg_with_transparency_on_white() {
        let p = Picture::decode(&png(100, 300)).unwrap();
        let t = p.thumbnail(30).unwrap().unwrap();
        assert!(t.starts_with(b"\xff\xd8\xff"));
        let t = Picture::decode(&t).unwrap();
        assert_eq!((t.0.width(), t.0.height()), (10, 30));
        assert!(t.0.to_rgb8().get_pixel(5, 5).0.iter().all(|c| *c > 240), "transparent becomes white");
    }

    #[test]
    fn garbage_is_a_parameter_error_and_bombs_are_refused() {
        assert_eq!(Picture::decode(b"not a picture").err().unwrap().code, crate::error::Code::Param);
        // A PNG header claiming 100000 x 100000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = Picture::decode(&bomb).err().unwrap();
        assert!(e.internal.unwrap().to_lowercase().contains("limit"), "refused for its size, not its checksum");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for b in data {
            c ^= *b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }

    #[test]
    fn exif_numbers_become_integers_where_whole() {
        assert_eq!(number(31.0), json!(31));
        assert_eq!(number(45.8), json!(45.8));
        assert_eq!(number(f64::NAN), Value::Null);
    }
}
