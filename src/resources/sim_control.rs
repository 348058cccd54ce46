//! `/sim/...`: acting on the simulated hardware, as a technician would with
//! cables. Registered only when the daemon runs with `--sim`; administrators
//! only. Used by the integration tests and for demos:
//!
//! * `POST /sim/inputs/<id>` `{"signal": bool, "hdcp": 1|2|3}`: plug or
//!   unplug a source (HDCP 1 none, 2 1.4, 3 2.2);
//! * `POST /sim/outputs/<id>` `{"sink": bool}`: connect or remove a display;
//! * `POST /sim/hardware` `{"responding": bool}`: make the board go silent
//!   (video MCU mute, audio codec NAKing).
//!
//! These change the simulated board only; the daemon learns of it the way it
//! learns of real hardware (notifications, status reads).

use crate::api::{Reply, Req};
use crate::app::{App, SimBackend};
use std::sync::Arc;
use vp2730_hal::Hdcp;
use vp2730_model::{ApiError, Obj};

fn sim(app: &App) -> Result<&SimBackend, ApiError> {
    app.sim.as_ref().ok_or_else(|| ApiError::not_found("/sim"))
}

/// An emulator control call that failed (a port it does not have).
fn control_failed(e: vp2730_sim::EmuError) -> ApiError {
    tracing::warn!(error = %e, "emulator control failed");
    ApiError::System
}

/// POST /sim/inputs/<id>
pub async fn input(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let sim = sim(&app)?;
    let port = app
        .profile
        .video_input(req.param(0))
        .ok_or_else(|| ApiError::instance(req.param(0)))?
        .port;
    let body = req.json()?;
    let mut o = Obj::new(&body, "")?;
    let signal = match o.required("signal")?.value() {
        serde_json::Value::Bool(b) => *b,
        other => return Err(ApiError::invalid("signal", other)),
    };
    let hdcp = match o.field("hdcp") {
        None => Hdcp::None,
        Some(f) => match f.int_in(&[1, 2, 3])? {
            2 => Hdcp::V14,
            3 => Hdcp::V22,
            _ => Hdcp::None,
        },
    };
    o.finish()?;
    match sim {
        SimBackend::Memory(d) => d.set_input(port, signal, hdcp),
        SimBackend::Emulator(c) if signal => c.plug(port, hdcp).map_err(control_failed)?,
        SimBackend::Emulator(c) => c.unplug(port).map_err(control_failed)?,
    }
    Ok(Reply::NoContent)
}

/// POST /sim/outputs/<id>
pub async fn output(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let sim = sim(&app)?;
    let port = app
        .profile
        .video_output(req.param(0))
        .ok_or_else(|| ApiError::instance(req.param(0)))?
        .port;
    let body = req.json()?;
    let mut o = Obj::new(&body, "")?;
    let sink = match o.required("sink")?.value() {
        serde_json::Value::Bool(b) => *b,
        other => return Err(ApiError::invalid("sink", other)),
    };
    o.finish()?;
    match sim {
        SimBackend::Memory(d) => d.set_sink(port, sink),
        SimBackend::Emulator(c) if sink => c.connect_sink(port).map_err(control_failed)?,
        SimBackend::Emulator(c) => c.disconnect_sink(port).map_err(control_failed)?,
    }
    Ok(Reply::NoContent)
}

/// POST /sim/hardware
pub async fn hardware(app: Arc<App>, req: Req) -> Result<Reply, ApiError> {
    let sim = sim(&app)?;
    let body = req.json()?;
    let mut o = Obj::new(&body, "")?;
    let responding = match o.required("responding")?.value() {
        serde_json::Value::Bool(b) => *b,
        other => return Err(ApiError::invalid("responding", other)),
    };
    o.finish()?;
    match sim {
        SimBackend::Memory(d) => d.set_unresponsive(!responding),
        SimBackend::Emulator(c) => {
            // The whole board: the MCU stops answering, the codec NAKs.
            c.set_silent(!responding);
            c.codec_nak(!responding);
        }
    }
    Ok(Reply::NoContent)
}
