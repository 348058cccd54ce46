//! `/static/...`: the files whose URLs appear in responses.
//!
//! * `/static/picture/default_icon.jpg`: the room avatar (`room.photo`);
//! * `/static/picture/qrcode.svg`: the room QR code (`room.qrCode`), encoding
//!   the join page's URL as the client reached the device;
//! * `/join`: the page the QR code leads to: room name, device address and
//!   whether the room code (shown on the display) is needed;
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
    let url = format!("{}/join", req.base);
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

/// GET /join: how a presenter joins this room (where the QR code leads).
pub async fn join_page(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let s = app.snapshot();
    let code_line = if s.room.verification {
        "Enter the room code shown on the display."
    } else {
        "No room code is needed."
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{room}</title></head>\
         <body><h1>{room}</h1><p>Join this room with the presenter app.</p>\
         <p>Device address: <code>{base}</code></p><p>{code_line}</p></body></html>\n",
        room = html_escape(&s.room.name),
        base = html_escape(&req.base),
    );
    Ok(Reply::Bytes {
        content_type: "text/html; charset=utf-8",
        body: Bytes::from(html),
    })
}

/// Escapes text for HTML element content.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
}
