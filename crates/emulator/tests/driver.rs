//! The shipping drivers against the emulator, over a real pseudo-terminal
//! (tokio-serial on the slave, the emulated MCU on the master), the sysfs
//! tree and the fake codec bus: every command, notifications interleaved
//! with answers, each fault and the recovery after it.

use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use vp2730_hal::sysfs::SysfsBoard;
use vp2730_hal::{
    bmp, BoardIo, Capture, ChannelState, Command, HalError, Hdcp, HwEvent, InputStatus, Led,
    OutputFlag, OutputStatus, UartConfig, UartVideoBoard, VideoBoard, VideoCommand, Window,
};
use vp2730_sim::{Change, Emulator, EmulatorConfig};

const TIMEOUT: Duration = Duration::from_millis(300);
const ATTEMPTS: u32 = 3;

fn quick() -> UartConfig {
    UartConfig {
        timeout: TIMEOUT,
        capture_timeout: Duration::from_millis(1500),
        attempts: ATTEMPTS,
        resync_quiet: Duration::from_millis(15),
    }
}

/// For tests where no attempt should time out: generous enough that a
/// loaded CI machine never causes a retry, so retry counts stay exact.
fn patient() -> UartConfig {
    UartConfig {
        timeout: PATIENT,
        capture_timeout: Duration::from_secs(5),
        attempts: ATTEMPTS,
        resync_quiet: Duration::from_millis(15),
    }
}

/// Well below [`PATIENT`]: "answered without waiting for a timeout".
const PROMPT: Duration = Duration::from_millis(1000);
const PATIENT: Duration = Duration::from_secs(2);

fn rig_with(config: UartConfig) -> (Emulator, UartVideoBoard) {
    let emu = Emulator::start(EmulatorConfig::default()).expect("emulator starts");
    let drv = UartVideoBoard::open_with(emu.tty_path(), 19_200, config).expect("tty opens");
    (emu, drv)
}

fn rig() -> (Emulator, UartVideoBoard) {
    rig_with(patient())
}

async fn next_event(rx: &mut broadcast::Receiver<HwEvent>) -> HwEvent {
    tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("an event within 3 s")
        .expect("event channel open")
}

fn no_more_events(rx: &mut broadcast::Receiver<HwEvent>) {
    assert!(
        matches!(rx.try_recv(), Err(broadcast::error::TryRecvError::Empty)),
        "unexpected extra event"
    );
}

fn route(output: u8, input: Option<u8>) -> VideoCommand {
    VideoCommand::Route { output, input }
}

fn input_event(port: u8, signal: bool, hdcp: Hdcp) -> HwEvent {
    HwEvent::Input(InputStatus { port, signal, hdcp })
}

#[tokio::test]
async fn every_command_reaches_the_board_and_is_kept() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    let windows = vec![
        Window {
            view: 0,
            input_port: 1,
            x: 0,
            y: 0,
            w: 667,
            h: 1000,
            z: 0,
        },
        Window {
            view: 1,
            input_port: 0,
            x: 667,
            y: 0,
            w: 333,
            h: 500,
            z: 1,
        },
    ];
    let commands = vec![
        route(1, Some(4)),
        route(3, None),
        VideoCommand::Resolution {
            output: 2,
            mode: 77,
        },
        VideoCommand::Flag {
            output: 1,
            flag: OutputFlag::FixHdcp,
            on: true,
        },
        VideoCommand::Flag {
            output: 1,
            flag: OutputFlag::Osd,
            on: false,
        },
        VideoCommand::Flag {
            output: 2,
            flag: OutputFlag::Blank,
            on: true,
        },
        VideoCommand::Flag {
            output: 3,
            flag: OutputFlag::Freeze,
            on: true,
        },
        VideoCommand::FitMode { output: 2, mode: 4 },
        VideoCommand::AutoSwitch {
            output: 1,
            plugin: 2,
            plugout: 3,
            enabled: true,
        },
        VideoCommand::Layout {
            layout: 3,
            main_view: Some(0),
            windows: windows.clone(),
        },
        VideoCommand::ActiveLayout { layout: Some(3) },
        VideoCommand::InputName {
            input: 2,
            name: "Salle «Réunion» 100% \"A\"".into(),
        },
        VideoCommand::InputSource {
            input: 4,
            source: 1,
        },
        VideoCommand::Osd {
            labels: false,
            system_events: true,
            interactive_events: false,
            language: "zh_TW".into(),
        },
        VideoCommand::Banner {
            name: "Room 1".into(),
            code: Some("4711".into()),
            link_info: true,
        },
        VideoCommand::EdidMode { mode: 2 },
        VideoCommand::InputStream { mode: 2 },
        VideoCommand::GoLive {
            output: 1,
            on: true,
        },
    ];
    for c in &commands {
        drv.apply(c).await.unwrap_or_else(|e| panic!("{c:?}: {e}"));
    }
    let s = ctl.state().settings;
    let o1 = &s.outputs[&1];
    assert_eq!(o1.route, Some(4));
    assert!(o1.fix_hdcp && !o1.osd && o1.live);
    assert!(o1.auto_enabled && o1.auto_plugin == 2 && o1.auto_plugout == 3);
    let o2 = &s.outputs[&2];
    assert_eq!((o2.resolution, o2.fit, o2.blank), (77, 4, true));
    assert_eq!(s.outputs[&3].route, None);
    assert!(s.outputs[&3].freeze);
    let l3 = &s.layouts[&3];
    assert_eq!(l3.main_view, Some(0));
    assert_eq!(l3.windows.len(), 2);
    assert_eq!((l3.windows[1].input_port, l3.windows[1].x), (0, 667));
    assert_eq!(s.active_layout, Some(3));
    assert_eq!(s.names[&2], "Salle «Réunion» 100% \"A\"");
    assert_eq!(s.sources[&4], 1);
    assert!(!s.osd.labels && s.osd.system_events && s.osd.language == "zh_TW");
    let banner = s.banner.as_ref().expect("banner set");
    assert_eq!(
        (
            banner.name.as_str(),
            banner.code.as_deref(),
            banner.link_info
        ),
        ("Room 1", Some("4711"), true)
    );
    assert_eq!((s.edid_mode, s.input_stream), (2, 2));
    // Exactly one line per command: no retry was needed on a clean line.
    assert_eq!(ctl.received().len(), commands.len());
    assert_eq!(ctl.received()[0], "sw o01 i04");
    assert_eq!(
        ctl.received()[11],
        "name i02 \"Salle%20%C2%ABR%C3%A9union%C2%BB%20100%25%20%22A%22\""
    );
    drv.apply(&VideoCommand::ActiveLayout { layout: None })
        .await
        .unwrap();
    assert_eq!(ctl.state().settings.active_layout, None);
}

#[tokio::test]
async fn refused_commands_are_rejected_at_once_and_the_link_stays_usable() {
    let (emu, drv) = rig();
    for bad in [
        route(9, Some(1)),
        route(1, Some(8)),
        VideoCommand::FitMode { output: 1, mode: 7 },
        VideoCommand::EdidMode { mode: 3 },
    ] {
        let started = Instant::now();
        let r = drv.apply(&bad).await;
        assert!(matches!(r, Err(HalError::Rejected(_))), "{bad:?}: {r:?}");
        assert!(
            started.elapsed() < PROMPT,
            "a refusal must not wait for a timeout"
        );
    }
    assert_eq!(
        emu.control().received().len(),
        4,
        "refusals are not retried"
    );
    drv.apply(&route(1, Some(2))).await.unwrap();
    assert_eq!(emu.control().state().settings.outputs[&1].route, Some(2));
}

#[tokio::test]
async fn status_reports_the_room_and_notifications_follow_the_cables() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    let mut ev = drv.subscribe();
    let st = drv.status().await.unwrap();
    assert_eq!(st.inputs.len(), 7);
    assert_eq!(
        st.inputs[3],
        InputStatus {
            port: 4,
            signal: true,
            hdcp: Hdcp::V22
        }
    );
    assert!(!st.inputs[4].signal);
    assert_eq!(
        st.outputs,
        vec![
            OutputStatus {
                port: 1,
                sink: true
            },
            OutputStatus {
                port: 2,
                sink: true
            },
            OutputStatus {
                port: 3,
                sink: false
            }
        ]
    );
    assert_eq!(st.audio_jacks.len(), 7);

    ctl.plug(5, Hdcp::V22).unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(5, true, Hdcp::V22));
    ctl.drop_signal(5).unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(5, false, Hdcp::V22));
    ctl.restore_signal(5).unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(5, true, Hdcp::V22));
    ctl.set_timing(5, "3840x2160@30").unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(5, true, Hdcp::V22));
    ctl.unplug(1).unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(1, false, Hdcp::None));
    ctl.connect_sink(3).unwrap();
    assert_eq!(
        next_event(&mut ev).await,
        HwEvent::Output(OutputStatus {
            port: 3,
            sink: true
        })
    );
    ctl.set_jack(8, false).unwrap();
    assert_eq!(
        next_event(&mut ev).await,
        HwEvent::AudioJack {
            channel: 8,
            connected: false
        }
    );
    // Re-plugging what is already plugged changes nothing and says nothing.
    ctl.plug(5, Hdcp::V22).unwrap();
    assert!(ctl.plug(8, Hdcp::None).is_err());

    let st = drv.status().await.unwrap();
    no_more_events(&mut ev);
    assert!(st.inputs[4].signal && !st.inputs[0].signal);
    assert!(st.outputs[2].sink);
    assert!(st.audio_jacks.contains(&(8, false)));
}

#[tokio::test]
async fn a_notification_between_echo_and_answer_is_an_event_not_the_answer() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    let mut ev = drv.subscribe();

    ctl.interleave_next(Change::Plug {
        port: 6,
        hdcp: Hdcp::V14,
    });
    drv.apply(&route(2, Some(6))).await.unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(6, true, Hdcp::V14));
    assert_eq!(ctl.state().settings.outputs[&2].route, Some(6));

    // Inside a multi-line status answer.
    ctl.interleave_next(Change::Sink {
        port: 1,
        connected: false,
    });
    let st = drv.status().await.unwrap();
    assert_eq!(
        next_event(&mut ev).await,
        HwEvent::Output(OutputStatus {
            port: 1,
            sink: false
        })
    );
    assert_eq!(st.outputs.len(), 3, "the notification is not a status line");

    // Inside a capture.
    ctl.interleave_next(Change::Jack {
        channel: 9,
        connected: false,
    });
    let img = drv.capture(Capture::Input(6)).await.unwrap();
    assert_eq!(img, bmp::test_pattern(160, 90, 6, true));
    assert_eq!(
        next_event(&mut ev).await,
        HwEvent::AudioJack {
            channel: 9,
            connected: false
        }
    );
    assert_eq!(ctl.received().len(), 3, "no command was retried");
    no_more_events(&mut ev);
}

#[tokio::test]
async fn captures_carry_the_frame_of_the_input_or_the_routed_source() {
    let (_emu, drv) = rig();
    assert_eq!(
        drv.capture(Capture::Input(3)).await.unwrap(),
        bmp::test_pattern(160, 90, 3, true)
    );
    // No source on input 6: a black frame.
    assert_eq!(
        drv.capture(Capture::Input(6)).await.unwrap(),
        bmp::test_pattern(160, 90, 6, false)
    );
    drv.apply(&route(1, Some(4))).await.unwrap();
    assert_eq!(
        drv.capture(Capture::Output(1)).await.unwrap(),
        bmp::test_pattern(160, 90, 4, true)
    );
    assert!(matches!(
        drv.capture(Capture::Output(7)).await,
        Err(HalError::Rejected(_))
    ));
}

#[tokio::test]
async fn a_silent_board_is_not_responding_within_the_bound_and_then_recovers() {
    let (emu, drv) = rig_with(quick());
    let ctl = emu.control();
    ctl.set_silent(true);
    let started = Instant::now();
    let r = drv.apply(&route(1, Some(2))).await;
    let spent = started.elapsed();
    assert!(matches!(r, Err(HalError::NotResponding(_))), "{r:?}");
    assert!(spent >= TIMEOUT * ATTEMPTS, "gave up early: {spent:?}");
    assert!(
        spent < TIMEOUT * ATTEMPTS + Duration::from_millis(700),
        "{spent:?}"
    );
    assert_eq!(
        ctl.received().iter().filter(|l| *l == "sw o01 i02").count(),
        ATTEMPTS as usize
    );
    assert!(matches!(
        drv.status().await,
        Err(HalError::NotResponding(_))
    ));

    ctl.set_silent(false);
    drv.apply(&route(1, Some(3))).await.unwrap();
    assert_eq!(ctl.state().settings.outputs[&1].route, Some(3));
    assert_eq!(drv.status().await.unwrap().inputs.len(), 7);
}

#[tokio::test]
async fn the_default_policy_fails_a_silent_board_inside_the_daemons_two_seconds() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let drv = UartVideoBoard::open(emu.tty_path(), 19_200).unwrap();
    emu.control().set_silent(true);
    let started = Instant::now();
    let r = drv.apply(&route(1, Some(2))).await;
    assert!(matches!(r, Err(HalError::NotResponding(_))), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn slow_answers_within_the_timeout_succeed() {
    let timeout = Duration::from_millis(600);
    let delay = Duration::from_millis(250);
    let (emu, drv) = rig_with(UartConfig { timeout, ..quick() });
    let ctl = emu.control();
    ctl.set_delay(delay);
    let started = Instant::now();
    drv.apply(&route(2, Some(5))).await.unwrap();
    assert!(started.elapsed() >= delay);
    let st = drv.status().await.unwrap();
    assert_eq!(st.inputs.len(), 7);
    assert_eq!(ctl.received().len(), 2, "no retry was needed");
}

#[tokio::test]
async fn an_answer_later_than_one_attempt_is_taken_by_the_retry_of_the_same_command() {
    let (emu, drv) = rig_with(quick());
    let ctl = emu.control();
    ctl.set_delay(TIMEOUT + Duration::from_millis(100));
    drv.apply(&route(1, Some(2))).await.unwrap();
    assert_eq!(ctl.state().settings.outputs[&1].route, Some(2));
    // The retry's own (late) answer arrives while the link is idle.
    tokio::time::sleep(TIMEOUT + Duration::from_millis(200)).await;
    ctl.set_delay(Duration::ZERO);
    drv.apply(&route(2, Some(3))).await.unwrap();
    assert_eq!(ctl.state().settings.outputs[&2].route, Some(3));
}

#[tokio::test]
async fn late_answers_never_pass_for_the_answer_to_another_command() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let ctl = emu.control();
    let attempts = 5;
    let drv = UartVideoBoard::open_with(
        emu.tty_path(),
        19_200,
        UartConfig {
            attempts,
            ..quick()
        },
    )
    .unwrap();
    // Later than every attempt: not responding.
    let late = Duration::from_millis(2000);
    assert!(late > (TIMEOUT + Duration::from_millis(15)) * attempts + Duration::from_millis(300));
    ctl.set_delay(late);
    let started = Instant::now();
    assert!(matches!(
        drv.apply(&route(1, Some(3))).await,
        Err(HalError::NotResponding(_))
    ));
    assert!(
        started.elapsed() < late,
        "the board answered before the driver gave up"
    );
    // The board answers the abandoned command (and each of its retries)
    // while the next, different command is in flight: those answers must
    // not pass for its own. Had one done so, `apply` would return before
    // the board ran the command.
    ctl.set_delay(Duration::from_millis(100));
    drv.apply(&route(2, Some(4))).await.unwrap();
    assert_eq!(
        ctl.state().settings.outputs[&2].route,
        Some(4),
        "acknowledged before the board ran it"
    );
    ctl.set_delay(Duration::ZERO);
    let st = drv.status().await.unwrap();
    assert_eq!(st.inputs.len(), 7);
    drv.apply(&VideoCommand::EdidMode { mode: 2 })
        .await
        .unwrap();
    let s = ctl.state().settings;
    assert_eq!(s.edid_mode, 2);
    assert_eq!(
        s.outputs[&1].route,
        Some(3),
        "the board did get the slow command"
    );
}

#[tokio::test]
async fn garbage_from_the_board_is_survived_and_the_next_command_succeeds() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    let mut ev = drv.subscribe();
    ctl.garbage_before_answers(2);
    drv.apply(&route(1, Some(5))).await.unwrap();
    assert_eq!(drv.status().await.unwrap().inputs.len(), 7);
    // Noise while idle, ending in a half line.
    ctl.send_garbage();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drv.apply(&route(2, Some(6))).await.unwrap();
    ctl.plug(7, Hdcp::None).unwrap();
    assert_eq!(next_event(&mut ev).await, input_event(7, true, Hdcp::None));
    drv.apply(&route(3, Some(7))).await.unwrap();
    let s = ctl.state().settings;
    assert_eq!(
        [1, 2, 3].map(|o| s.outputs[&o].route),
        [Some(5), Some(6), Some(7)]
    );
    no_more_events(&mut ev);
}

#[tokio::test]
async fn a_command_garbled_on_the_way_in_is_sent_again_after_a_resync() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    ctl.corrupt_next_commands(1);
    let started = Instant::now();
    drv.apply(&route(1, Some(6))).await.unwrap();
    assert!(
        started.elapsed() < PROMPT,
        "resent at once, not after a timeout"
    );
    assert_eq!(ctl.received(), ["?#sw o01 i06", "sw o01 i06"]);
    assert_eq!(ctl.state().settings.outputs[&1].route, Some(6));
    drv.apply(&route(2, Some(1))).await.unwrap();
}

#[tokio::test]
async fn persistent_corruption_is_not_responding_not_a_refusal() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    ctl.corrupt_next_commands(ATTEMPTS);
    assert!(matches!(
        drv.apply(&route(1, Some(6))).await,
        Err(HalError::NotResponding(_))
    ));
    drv.apply(&route(1, Some(6))).await.unwrap();
}

#[tokio::test]
async fn a_reboot_mid_command_is_a_reset_event_and_the_command_is_retried_cleanly() {
    let (emu, drv) = rig();
    let ctl = emu.control();
    let mut ev = drv.subscribe();
    drv.apply(&route(2, Some(5))).await.unwrap();
    drv.apply(&VideoCommand::InputName {
        input: 1,
        name: "Lectern".into(),
    })
    .await
    .unwrap();
    let boots = ctl.state().boots;

    ctl.reboot_on_next_command();
    drv.apply(&route(1, Some(3))).await.unwrap();
    assert_eq!(next_event(&mut ev).await, HwEvent::Reset);
    let st = ctl.state();
    assert_eq!(st.boots, boots + 1);
    assert_eq!(
        st.settings.outputs[&1].route,
        Some(3),
        "the retried command"
    );
    assert_eq!(
        st.settings.outputs[&2].route,
        Some(2),
        "factory route after reset"
    );
    assert!(st.settings.names.is_empty(), "settings lost in the reset");
    no_more_events(&mut ev);

    // An unprompted reboot while idle.
    ctl.reboot();
    assert_eq!(next_event(&mut ev).await, HwEvent::Reset);
    assert_eq!(ctl.state().settings.outputs[&1].route, Some(1));
    drv.apply(&route(1, Some(3))).await.unwrap();
    no_more_events(&mut ev);
}

#[tokio::test]
async fn sysfs_follows_the_cables_and_carries_identity_leds_and_temperature() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let ctl = emu.control();
    let io = SysfsBoard::with_layout(emu.sysfs_root(), emu.layout().clone());
    assert!(io.source_present(4).await.unwrap());
    assert!(!io.source_present(5).await.unwrap());
    ctl.plug(5, Hdcp::V14).unwrap();
    assert!(io.source_present(5).await.unwrap());
    ctl.drop_signal(5).unwrap();
    assert!(io.source_present(5).await.unwrap(), "still plugged");
    ctl.unplug(5).unwrap();
    assert!(!io.source_present(5).await.unwrap());
    assert!(!io.sink_present(3).await.unwrap());
    ctl.connect_sink(3).unwrap();
    assert!(io.sink_present(3).await.unwrap());

    let id = io.identity().await.unwrap();
    assert_eq!(id.serial_number, "VP27300000001");
    assert_eq!(id.board_version, "A-05");
    io.set_led(Led::Live, true).await.unwrap();
    assert!(ctl.led(Led::Live).unwrap());
    assert!(!ctl.led(Led::Error).unwrap());
    ctl.set_temperature(71_500).unwrap();
    assert_eq!(io.temperature_mc().await.unwrap(), 71_500);
}

#[tokio::test]
async fn connect_gives_the_shipping_hal_including_the_codec_and_its_faults() {
    let emu = Emulator::start(EmulatorConfig::default()).unwrap();
    let ctl = emu.control();
    let hal = emu.connect(patient()).unwrap();
    hal.apply(&Command::Video(route(3, Some(1)))).await.unwrap();
    assert_eq!(ctl.state().settings.outputs[&3].route, Some(1));

    hal.audio.set_volume(8, 64).await.unwrap();
    hal.audio.set_gain(8, 20).await.unwrap();
    hal.audio.set_mute(8, true).await.unwrap();
    let want = ChannelState {
        volume: 64,
        gain: 20,
        muted: true,
    };
    assert_eq!(hal.audio.read_channel(8).await.unwrap(), want);
    assert_eq!(ctl.codec_bus().channel(8), want);

    ctl.codec_nak(true);
    assert!(matches!(
        hal.audio.set_volume(8, 10).await,
        Err(HalError::NotResponding(_))
    ));
    ctl.clear_faults();
    ctl.codec_nak_next(1);
    hal.audio.set_volume(8, 10).await.unwrap();
    assert_eq!(ctl.codec_bus().channel(8).volume, 10);

    assert_eq!(
        hal.board.identity().await.unwrap().serial_number,
        "VP27300000001"
    );
}

#[tokio::test]
async fn a_tty_link_is_made_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let link = dir.join("ttyVP");
    let emu = Emulator::start(EmulatorConfig {
        tty_link: Some(link.clone()),
        sysfs_dir: Some(dir.join("sysfs")),
        boot_banner: true,
        ..EmulatorConfig::default()
    })
    .unwrap();
    assert_eq!(std::fs::read_link(&link).unwrap(), emu.slave_path());
    let drv = UartVideoBoard::open_with(&link, 19_200, patient()).unwrap();
    let mut ev = drv.subscribe();
    // The power-on banner waited in the line for the driver.
    assert_eq!(next_event(&mut ev).await, HwEvent::Reset);
    drv.apply(&route(1, Some(2))).await.unwrap();
    assert!(dir.join("sysfs/sys/class/gpio/gpio100/value").exists());
    drop(drv);
    drop(emu);
    assert!(std::fs::symlink_metadata(&link).is_err());
}
