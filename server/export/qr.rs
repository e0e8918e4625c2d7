//! QR codes as PNG images (tickets, QR login): the `qrcode` crate builds the symbol (version, mask,
//! Reed-Solomon), the `image` crate writes the PNG.

use crate::error::{ApiError, ApiResult};

/// A QR code of `text`: error correction M, 8 pixels a module, a 4-module quiet zone.
pub fn png(text: &str) -> ApiResult<Vec<u8>> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::server(format!("qr: {e}")))?;
    let img = code.render::<image::Luma<u8>>().module_dimensions(8, 8).quiet_zone(true).build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).map_err(|e| ApiError::server(format!("png: {e}")))?;
    Ok(out.into_inner())
}

/// A PNG as a raw reply that browsers may keep for a while.
pub fn reply(text: &str, max_age: u32) -> ApiResult<crate::api::Reply> {
    Ok(crate::api::Reply::Raw(crate::api::ctx::Raw {
        status: 200,
        content_type: "image/png".into(),
        headers: vec![("Cache-Control".into(), format!("private, max-age={max_age}"))],
        body: png(text)?,
        log_res: Some("[qr png]".into()),
    }))
}
