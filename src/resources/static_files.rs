//! `/static/...`: the files whose URLs appear in responses.
//!
//! * `/static/picture/default_icon.jpg`: the room avatar (`room.photo`);
//! * `/static/picture/qrcode.svg`: the room QR code (`room.qrCode`), encoding
//!   the device's address as the client reached it;
//! * `/static/thumbnails/Snapshot<id>.bmp`: a frame of input `<id>`, grabbed
//!   from the hardware when asked for (administrators only: it shows what
//!   presenters are sharing).
//!
//! Nothing here maps a URL onto the file system, so there is no path to
//! traverse: names are matched exactly.

use crate::api::{Reply, Req};
use crate::app::App;
use bytes::Bytes;
use std::sync::Arc;
use vp2730_hal::Capture;
use vp2730_model::ApiError;

static DEFAULT_ICON: &[u8] = include_bytes!("../../config/static/default_icon.jpg");

/// GET /static/picture/default_icon.jpg
pub async fn icon(_app: Arc<App>, _req: Req) -> Result<Reply, ApiError> {
    Ok(Reply::Bytes {
        content_type: "image/jpeg",
        body: Bytes::from_static(DEFAULT_ICON),
    })
}

/// GET /static/picture/qrcode.svg
pub async fn qrcode(_app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let url = format!("{}/", req.base);
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|_| ApiError::System)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Reply::Bytes {
        content_type: "image/svg+xml",
        body: Bytes::from(svg),
    })
}

/// GET /static/thumbnails/Snapshot<id>.bmp
pub async fn thumbnail(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let name = req.param(0);
    let not_found = || ApiError::not_found(&format!("/static/thumbnails/{name}"));
    let id = name
        .strip_prefix("Snapshot")
        .and_then(|r| r.strip_suffix(".bmp"))
        .ok_or_else(not_found)?;
    let port = app.profile.video_input(id).ok_or_else(not_found)?.port;
    let image = tokio::time::timeout(
        app.config.hardware.timeout(),
        app.hal.video.capture(Capture::Input(port)),
    )
    .await
    .map_err(|_| ApiError::NotReady)?
    .map_err(|_| ApiError::NotReady)?;
    Ok(Reply::Bytes {
        content_type: "image/bmp",
        body: Bytes::from(image),
    })
}
