//! The `vp2730-sim` binary: `run` with a tty link, a sysfs directory and a
//! control socket, driven by `ctl`, with the shipping UART driver on the
//! link, as a test rig or a developer would use it out of process.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use vp2730_hal::{
    HalError, Hdcp, HwEvent, InputStatus, UartConfig, UartVideoBoard, VideoBoard, VideoCommand,
};

const BIN: &str = env!("CARGO_BIN_EXE_vp2730-sim");

struct Running {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only the child this test started.
        let _ = self.child.start_kill();
    }
}

async fn ctl(sock: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("ctl")
        .arg(sock)
        .args(args)
        .output()
        .await
        .expect("ctl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn run_and_ctl_drive_the_emulator_over_its_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let link = dir.join("ttyVP");
    let sock = dir.join("ctl.sock");
    let sysfs = dir.join("sysfs");
    let mut child = Command::new(BIN)
        .arg("run")
        .arg("--tty-link")
        .arg(&link)
        .arg("--sysfs")
        .arg(&sysfs)
        .arg("--control")
        .arg(&sock)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("emulator starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut running = Running { child, _dir: tmp };
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("ready line within 10 s")
        .unwrap()
        .unwrap();
    assert!(ready.starts_with("vp2730-sim ready tty="), "{ready}");
    assert!(ready.contains(&format!("control={}", sock.display())));

    let drv = UartVideoBoard::open_with(
        &link,
        19_200,
        UartConfig {
            timeout: Duration::from_millis(300),
            ..UartConfig::default()
        },
    )
    .unwrap();
    let mut ev = drv.subscribe();
    drv.apply(&VideoCommand::Route {
        output: 1,
        input: Some(6),
    })
    .await
    .unwrap();

    let (ok, _) = ctl(&sock, &["plug", "5", "--hdcp", "2.2"]).await;
    assert!(ok);
    let e = tokio::time::timeout(Duration::from_secs(3), ev.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e,
        HwEvent::Input(InputStatus {
            port: 5,
            signal: true,
            hdcp: Hdcp::V22
        })
    );
    assert_eq!(
        std::fs::read_to_string(sysfs.join("sys/class/gpio/gpio104/value")).unwrap(),
        "1\n"
    );

    let (ok, state) = ctl(&sock, &["state"]).await;
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    assert_eq!(v["state"]["settings"]["outputs"]["1"]["route"], 6);
    assert_eq!(v["state"]["physical"]["inputs"][4]["hdcp"], "2.2");

    let (ok, _) = ctl(&sock, &["silent", "on"]).await;
    assert!(ok);
    assert!(matches!(
        drv.status().await,
        Err(HalError::NotResponding(_))
    ));
    let (ok, _) = ctl(&sock, &["clear-faults"]).await;
    assert!(ok);
    assert_eq!(drv.status().await.unwrap().inputs.len(), 7);

    // A request the board cannot do fails the ctl command.
    let (ok, out) = ctl(&sock, &["unplug", "9"]).await;
    assert!(!ok);
    assert!(out.contains("no input port 9"), "{out}");
    let (ok, out) = ctl(&sock, &["json", r#"{"cmd":"received"}"#]).await;
    assert!(ok);
    assert!(out.contains("sw o01 i06"), "{out}");

    // Reboot from outside: the driver sees the banner.
    let (ok, _) = ctl(&sock, &["reboot"]).await;
    assert!(ok);
    let e = tokio::time::timeout(Duration::from_secs(3), ev.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e, HwEvent::Reset);

    running.child.start_kill().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), running.child.wait()).await;
}
