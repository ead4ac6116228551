//! MIDI into ttrack's JACK client, measured: a JACK dummy server runs ttrack's `ttrack` client
//! (`--audio-host jack`), a sender client plays notes into `ttrack:midi_in` at chosen frames and a
//! listener client records `ttrack:out_1`. The graph sender → ttrack → listener runs in one cycle,
//! so frames compare exactly. Checked: (a) each MIDI-thru note starts at the frame it was sent (the
//! sample-accurate path) with the right pitch, chords sound together and a note-off releases; (b)
//! the song position the engine reports for each note — what was heard when it was played, i.e.
//! its frame minus the output latency — is within 1 ms of the truth, before and after a tempo
//! change. Then the same through the binary: `ttrack play --audio-host jack` prints the positions.
//! Needs jackd (Debian jackd2); without it the test skips, saying why, except under `CI=true`.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use jack::{AudioIn, Client, ClientOptions, Control, MidiOut, ProcessScope, RawMidi};
use ringbuf::HeapRb;
use ringbuf::traits::{Consumer, Producer, Split};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};
use ttrack::audio::{self, AudioHost, OpenOptions};
use ttrack::engine::{self, Engine, EngineSong, MidiMessage, PlayRange};
use ttrack::model::*;

// Counts allocations inside `assert_no_alloc` scopes: ttrack's whole JACK process callback
// (counted on the JACK thread, published in the stats).
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const RATE: u32 = 48_000;
/// Periods of 21 ms: the dummy server on a small shared machine has xruns with shorter ones (they
/// shift JACK's frame clock against the engine's); every check here is in frames.
const PERIOD: u32 = 1024;
/// Frames of a row at 125 BPM, LPB 4 (rows 0..8), and at 150 BPM (from row 8, F96).
const ROW_SLOW: u64 = 5760;
const ROW_FAST: u64 = 4800;
/// The JACK server's name, with this process's id: test runs side by side (two checkouts on one
/// machine) must not meet on one server.
static SERVER_NAME: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("ttrack-e2e-midi-{}", std::process::id()));

/// Row 0 sounds a beat (instrument 02, released on row 1) so the listener finds the song's start;
/// row 8 changes the tempo from 125 to 150 BPM. Instrument 01 is the sine that MIDI thru plays.
fn test_song() -> Song {
    let mut s = common::song(
        1,
        64,
        vec![common::synth(Waveform::Sine), common::synth(Waveform::Sine)],
    );
    s.bpm = 125;
    s.lpb = 4;
    s.tpl = 6;
    common::put(&mut s, 0, 0, "C-5", 2, None);
    common::put(&mut s, 0, 1, "OFF", 0, None);
    common::fx(&mut s, 0, 8, "F96");
    s
}

/// Song frame of the start of `row` (pattern 0, order 0).
fn row_start(row: u64) -> u64 {
    if row <= 8 {
        row * ROW_SLOW
    } else {
        8 * ROW_SLOW + (row - 8) * ROW_FAST
    }
}

fn row_frames(row: u64) -> u64 {
    if row < 8 { ROW_SLOW } else { ROW_FAST }
}

/// One scheduled MIDI message: absolute JACK frame and bytes.
type Scheduled = (u32, [u8; 3]);

/// Sends scheduled MIDI at exact frames.
struct Sender {
    port: jack::Port<MidiOut>,
    incoming: ringbuf::HeapCons<Scheduled>,
    queue: Vec<Scheduled>,
    late: Arc<AtomicU64>,
}

impl jack::ProcessHandler for Sender {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        while let Some(e) = self.incoming.try_pop() {
            self.queue.push(e);
        }
        let start = ps.last_frame_time();
        let n = ps.n_frames();
        let mut writer = self.port.writer(ps);
        let mut sent = 0;
        for &(t, bytes) in self.queue.iter() {
            if t >= start + n {
                break;
            }
            if t < start {
                self.late.fetch_add(1, SeqCst);
            }
            let time = t.saturating_sub(start);
            writer
                .write(&RawMidi {
                    time,
                    bytes: &bytes,
                })
                .expect("write MIDI");
            sent += 1;
        }
        self.queue.drain(..sent);
        Control::Continue
    }
}

/// Records its input at absolute JACK frames and notes where sound first starts.
struct Listener {
    port: jack::Port<AudioIn>,
    buf: Vec<f32>,
    first_cycle: Option<u32>,
    /// Absolute frame of the first sample above the threshold, plus one (0: none yet).
    onset: Arc<AtomicU64>,
    /// Offset of that sample in its cycle.
    onset_offset: Arc<AtomicU64>,
}

impl jack::ProcessHandler for Listener {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let start = ps.last_frame_time();
        let t0 = *self.first_cycle.get_or_insert(start);
        let at = start.wrapping_sub(t0) as usize;
        let x = self.port.as_slice(ps);
        if at + x.len() <= self.buf.len() {
            self.buf[at..at + x.len()].copy_from_slice(x);
        }
        if self.onset.load(SeqCst) == 0
            && let Some(i) = x.iter().position(|v| v.abs() > 1e-4)
        {
            self.onset_offset.store(i as u64, SeqCst);
            self.onset.store(start as u64 + i as u64 + 1, SeqCst);
        }
        Control::Continue
    }
}

/// Period of the source's ramp in frames.
const RAMP: u32 = 1000;

/// Plays `(t mod RAMP) / RAMP - 0.5` at JACK frame `t` on the left port and ±0.5 alternating on
/// the right (so every period peaks at exactly 0.5).
struct Source {
    left: jack::Port<jack::AudioOut>,
    right: jack::Port<jack::AudioOut>,
}

impl jack::ProcessHandler for Source {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let start = ps.last_frame_time();
        let l = self.left.as_mut_slice(ps);
        for (i, v) in l.iter_mut().enumerate() {
            *v = ((start + i as u32) % RAMP) as f32 / RAMP as f32 - 0.5;
        }
        let r = self.right.as_mut_slice(ps);
        for (i, v) in r.iter_mut().enumerate() {
            *v = if (start + i as u32).is_multiple_of(2) {
                0.5
            } else {
                -0.5
            };
        }
        Control::Continue
    }
}

fn note_on(key: u8, vel: u8) -> [u8; 3] {
    [0x90, key, vel]
}

fn note_off(key: u8) -> [u8; 3] {
    [0x80, key, 0]
}

/// A note of the test: song frame at which it is heard, keys pressed together, hold time.
struct Played {
    song_frame: u64,
    keys: &'static [u8],
    hold: u32,
}

#[test]
fn midi_into_the_jack_client_plays_at_its_frame_and_reports_its_song_position() {
    if !common::jack::installed() {
        return;
    }
    let _jack = common::jack::start(&SERVER_NAME, PERIOD);
    // SAFETY: set before any JACK client exists; this file's only test reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("JACK_DEFAULT_SERVER", SERVER_NAME.as_str());
    }
    let song = test_song();
    // The frame checks need a run without xruns (a late cycle shifts JACK's frame clock against
    // the engine's) in which the test's own notes were scheduled in time; on a loaded machine
    // either may fail, so up to three runs are made.
    for attempt in 1..=3 {
        match measure_once(&song) {
            Ok(()) => break,
            Err(why) if attempt < 3 => eprintln!("attempt {attempt}: {why}; once more"),
            Err(why) => panic!("{why} in each of 3 runs: the machine is too loaded"),
        }
    }
    for attempt in 1..=3 {
        match the_binary_prints_the_song_positions_of_notes_played_into_it(&song) {
            Ok(()) => break,
            Err(why) if attempt < 3 => eprintln!("binary, attempt {attempt}: {why}; once more"),
            Err(why) => panic!("{why} in each of 3 runs: the machine is too loaded"),
        }
    }
    if common::tmux::available() {
        for attempt in 1..=3 {
            match the_tui_records_notes_played_into_it(&song) {
                Ok(()) => break,
                Err(why) if attempt < 3 => eprintln!("TUI, attempt {attempt}: {why}; once more"),
                Err(why) => panic!("{why} in each of 3 runs: the machine is too loaded"),
            }
        }
    }
}

/// The real binary in a terminal (tmux) as a user records: `ttrack SONG --audio-host jack`, F6
/// and Enter to choose the MIDI input, Esc (edit mode), Space (play), two notes played a known number of
/// frames apart, F8, Ctrl-S, Ctrl-Q. The saved song holds one take, and cells whose rows and
/// delay values lie as far apart as the notes were played, within 1 ms, with their note-offs.
fn the_tui_records_notes_played_into_it(song: &Song) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.ttrk");
    ttrack::format::save_song(song, &path).unwrap();
    let (client, _) = Client::new("tui-sender", ClientOptions::NO_START_SERVER).unwrap();
    let (mut tx, rx) = HeapRb::<Scheduled>::new(16).split();
    let late = Arc::new(AtomicU64::new(0));
    let sender = Sender {
        port: client
            .register_port("midi_out", MidiOut::default())
            .unwrap(),
        incoming: rx,
        queue: Vec::with_capacity(16),
        late: late.clone(),
    };
    let sender = client.activate_async((), sender).unwrap();
    let c = sender.as_client();
    let bin = std::env::var("TTRACK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ttrack").into());
    let t = common::tmux::Tmux::start(
        "jack-rec",
        100,
        30,
        &format!("{bin} {} --audio-host jack", path.display()),
        &[("JACK_DEFAULT_SERVER", SERVER_NAME.as_str())],
    );
    t.wait_for("rec.ttrk", 10.0);
    // Choose the MIDI input in the devices panel (F6), as a user without --midi-in would.
    t.keys(&["F6"]);
    t.wait_for("tui-sender:midi_out", 5.0);
    t.keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !c
        .port_by_name("tui-sender:midi_out")
        .is_some_and(|p| p.is_connected_to("ttrack:midi_in").unwrap_or(false))
    {
        assert!(
            Instant::now() < deadline,
            "--midi-in did not connect; the screen is:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    t.keys(&["Escape"]);
    t.wait_for("EDIT", 5.0);
    t.keys(&["Space"]);
    t.wait_for("REC", 5.0);
    let gap = 30_011u32;
    // Longer than a row: a key released within the row its note starts on gets its note-off on
    // the next row (one cell cannot hold both), which this check would count as an error.
    let hold = 7_200u32;
    let start = c.frame_time() + RATE / 2;
    for (at, bytes) in [
        (start, note_on(60, 100)),
        (start + hold, note_off(60)),
        (start + gap, note_on(67, 90)),
        (start + gap + hold, note_off(67)),
    ] {
        tx.try_push((at, bytes)).unwrap();
    }
    while c.frame_time() < start + gap + hold + RATE / 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    t.keys(&["F8"]);
    t.wait_for("notes recorded", 5.0);
    t.keys(&["C-s"]);
    t.wait_for("saved", 5.0);
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 10.0);
    drop(sender);
    if late.load(SeqCst) > 0 {
        return Err(String::from("the test sent notes late"));
    }
    let saved = ttrack::format::load_song(&path).unwrap();
    assert_eq!(saved.takes.len(), 1, "one pass, one take");
    assert_eq!(saved.takes[0].events.len(), 4);
    let pat = &saved.patterns[0];
    // Song frame of a cell from its row and delay value (the tempo changes at row 8).
    let frame_of = |row: usize, delay: u8| {
        row_start(row as u64) as f64 + delay as f64 / 256.0 * row_frames(row as u64) as f64
    };
    let find = |want: Note, from: usize| {
        (from..pat.rows as usize)
            .find(|&r| pat.note(0, r, 0).note == want)
            .map(|r| (r, pat.note(0, r, 0)))
    };
    // (Rows 0 and 1 hold the song's own C-5 and its note-off.)
    let (r1, c1) = find(Note::from_midi(60).unwrap(), 0).ok_or("note 60 not recorded")?;
    let (r2, c2) = find(Note::from_midi(67).unwrap(), 0).ok_or("note 67 not recorded")?;
    let (o1, off1) = find(Note::Off, r1 + 1).ok_or("no note-off after 60")?;
    let (_, off2) = find(Note::Off, r2 + 1).ok_or("no note-off after 67")?;
    let (o2, _) = find(Note::Off, r2 + 1).unwrap();
    let ms = |frames: f64| frames / RATE as f64 * 1000.0;
    let apart = frame_of(r2, c2.delay) - frame_of(r1, c1.delay);
    let err = ms(apart - gap as f64);
    eprintln!(
        "TUI recording: notes at row {r1} delay {:02X} and row {r2} delay {:02X}: {err:+.3} ms from \
         the {gap} frames they were played apart",
        c1.delay, c2.delay
    );
    assert!(
        err.abs() <= 1.0,
        "the notes are {err:+.3} ms off their distance"
    );
    for (r, cell, off_r, off) in [(r1, c1, o1, off1), (r2, c2, o2, off2)] {
        let held = ms(frame_of(off_r, off.delay) - frame_of(r, cell.delay) - hold as f64);
        assert!(held.abs() <= 1.0, "a note-off is {held:+.3} ms off");
    }
    assert_eq!(
        (c1.volume, c2.volume),
        (0x32, 0x2D),
        "velocities 100 and 90"
    );
    Ok(())
}

/// One run of ttrack's client with the three test clients; `Err(why)` when JACK reported xruns
/// or the test's notes could not be scheduled in time, before any frame-exact check.
fn measure_once(song: &Song) -> Result<(), String> {
    // ttrack's client, as `--audio-host jack` opens it, with a stopped engine.
    let mut handle = None;
    let opts = OpenOptions {
        host: AudioHost::Jack,
        ..Default::default()
    };
    let out = audio::open_output(&opts, |rate| {
        let (h, link) = engine::link();
        let mut e = Engine::new(Box::new(EngineSong::from_model(song, rate)));
        e.connect(link);
        handle = Some(h);
        e
    })
    .expect("open the JACK host");
    let mut handle = handle.unwrap();
    assert_eq!(out.info().backend, audio::BackendKind::Jack);
    assert_eq!((out.rate(), out.info().buffer_frames), (RATE, Some(PERIOD)));
    let mut out = out;
    let audio::Backend::Jack(jack_out) = out.backend_mut() else {
        panic!("not the JACK backend");
    };
    let ttrack = jack_out.client_name().to_string();
    assert_eq!(ttrack, "ttrack");
    let mut capture = jack_out.take_input().expect("the input capture");

    // The test's clients.
    let (sender_client, _) = Client::new("midi-sender", ClientOptions::NO_START_SERVER).unwrap();
    let (mut sched_tx, sched_rx) = HeapRb::<Scheduled>::new(64).split();
    let late = Arc::new(AtomicU64::new(0));
    let sender = Sender {
        port: sender_client
            .register_port("midi_out", MidiOut::default())
            .unwrap(),
        incoming: sched_rx,
        queue: Vec::with_capacity(64),
        late: late.clone(),
    };
    let (listener_client, _) = Client::new("listener", ClientOptions::NO_START_SERVER).unwrap();
    let onset = Arc::new(AtomicU64::new(0));
    let onset_offset = Arc::new(AtomicU64::new(0));
    let listener = Listener {
        port: listener_client
            .register_port("in", AudioIn::default())
            .unwrap(),
        buf: vec![0.0; RATE as usize * 12],
        first_cycle: None,
        onset: onset.clone(),
        onset_offset: onset_offset.clone(),
    };
    // A source playing a ramp that encodes its frame time into ttrack:in_1 (and an alternating
    // ±0.5 into in_2), to check that the capture ring gets every frame once, in order.
    let (source_client, _) = Client::new("source", ClientOptions::NO_START_SERVER).unwrap();
    let source = Source {
        left: source_client
            .register_port("out_l", jack::AudioOut::default())
            .unwrap(),
        right: source_client
            .register_port("out_r", jack::AudioOut::default())
            .unwrap(),
    };
    let source = source_client.activate_async((), source).unwrap();
    let sender = sender_client.activate_async((), sender).unwrap();
    let listener = listener_client.activate_async((), listener).unwrap();
    let c = sender.as_client();
    c.connect_ports_by_name("source:out_l", &format!("{ttrack}:in_1"))
        .unwrap();
    c.connect_ports_by_name("source:out_r", &format!("{ttrack}:in_2"))
        .unwrap();
    capture.start();
    c.connect_ports_by_name("midi-sender:midi_out", &format!("{ttrack}:midi_in"))
        .unwrap();
    c.connect_ports_by_name(&format!("{ttrack}:out_1"), "listener:in")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(onset.load(SeqCst), 0, "sound before play");
    // Xruns while clients connect do not matter; from here on they would.
    let xruns_before = out.stats().xruns();

    // Play; the listener finds the frame at which ttrack computed the song's first frame.
    let es = EngineSong::from_model(song, RATE);
    handle.send(engine::Command::Play {
        range: PlayRange::song(&es),
        row: 0,
        bpm: 125,
        tpl: 6,
        at: None,
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    while onset.load(SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the song never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let first = onset.load(SeqCst) - 1;
    let offset = onset_offset.load(SeqCst);
    assert!(
        offset < 8,
        "the song's first note starts {offset} frames into a period, not at its start"
    );
    // Song frame 0 came out at the start of that period (the engine pre-rolls the limiter's
    // look-ahead at play, so the song starts at once).
    let song_start = first - offset;
    // The engine's frame counter runs this far ahead of its output: a note played live sounds
    // this much after its event.
    let lookahead = Engine::new(Box::new(EngineSong::from_model(song, RATE))).latency_frames();
    // What comes out of ttrack:out_1 at frame F is heard at F + latency (the playback latency).
    let latency = c
        .port_by_name(&format!("{ttrack}:out_1"))
        .unwrap()
        .get_latency_range(jack::LatencyType::Playback)
        .1 as u64;

    // Notes played along with what is heard, off the row grid, before and after the tempo change.
    let played = [
        Played {
            song_frame: row_start(3) + 1234,
            keys: &[69],
            hold: 7200,
        },
        Played {
            song_frame: row_start(6) + 5000,
            keys: &[72],
            hold: 7200,
        },
        Played {
            song_frame: row_start(10) + 777,
            keys: &[69, 76],
            hold: 7200,
        },
        Played {
            song_frame: row_start(15) + 3333,
            keys: &[81],
            hold: 7200,
        },
    ];
    let mut sent_at = Vec::new();
    for p in &played {
        let t = (song_start + latency + p.song_frame) as u32;
        sent_at.push(t);
        for &k in p.keys {
            sched_tx.try_push((t, note_on(k, 127))).unwrap();
        }
        for &k in p.keys {
            sched_tx.try_push((t + p.hold, note_off(k))).unwrap();
        }
    }
    let last = played.last().unwrap();
    let end_frame = song_start + latency + last.song_frame + last.hold as u64 + RATE as u64 / 2;
    while (c.frame_time() as u64) < end_frame {
        // As the UI does every frame: MIDI reports wait in the engine while the ring is full.
        handle.pump();
        std::thread::sleep(Duration::from_millis(10));
    }
    handle.pump();
    let reports: Vec<_> = handle.take_midi().collect();
    let (_, _, listener) = listener.deactivate().unwrap();
    drop(sender);
    let t0 = listener.first_cycle.unwrap() as u64;
    let x = &listener.buf;
    capture.stop();
    let stats = out.stats().snapshot();
    // Without the source the inputs are silent, and the meter says so within a period.
    drop(source);
    std::thread::sleep(Duration::from_millis(50));
    let silent_peak = out.stats().input_peak();
    drop(out);
    if stats.xruns > xruns_before {
        return Err(format!("{} xruns", stats.xruns - xruns_before));
    }
    if late.load(SeqCst) > 0 {
        return Err(String::from("the test sent notes late"));
    }

    // The input capture: every frame once, in order, left and right in step; the level meter.
    let mut got = vec![0.0f32; capture.available()];
    let n = capture.read(&mut got);
    assert!(n >= 2 * RATE as usize, "only {n} samples captured");
    assert_eq!(stats.input_overruns, 0);
    // Skip the periods before the source's connection took effect (silence on the right).
    let first = (0..n / 2)
        .find(|&k| got[2 * k + 1] != 0.0)
        .expect("no input");
    let index = |k: usize| ((got[2 * k] + 0.5) * RAMP as f32).round() as u32 % RAMP;
    for k in first + 1..n / 2 {
        assert_eq!(
            index(k),
            (index(k - 1) + 1) % RAMP,
            "the captured ramp skips or repeats a frame at {k}"
        );
        assert_eq!(got[2 * k + 1], -got[2 * k - 1], "right out of step at {k}");
    }
    assert_eq!(stats.input_peak, 0.5, "input meter");
    assert_eq!(silent_peak, 0.0, "meter with the inputs disconnected");

    // (b) Reported song positions.
    let ons: Vec<_> = reports
        .iter()
        .filter(|r| matches!(r.msg, MidiMessage::NoteOn { .. }))
        .collect();
    let offs = reports
        .iter()
        .filter(|r| matches!(r.msg, MidiMessage::NoteOff { .. }))
        .count();
    let keys: usize = played.iter().map(|p| p.keys.len()).sum();
    assert_eq!((ons.len(), offs), (keys, keys), "reports: {reports:#?}");
    assert_eq!(
        reports[0].latency as u64,
        latency + lookahead,
        "the engine was told another output latency"
    );
    let mut k = 0;
    for p in &played {
        for &key in p.keys {
            let r = ons[k];
            k += 1;
            assert_eq!(
                r.msg,
                MidiMessage::NoteOn {
                    channel: 0,
                    key,
                    velocity: 127
                }
            );
            let at = r.at.expect("the note was played while the song played");
            assert_eq!((at.order, at.pattern), (0, 0));
            let row = at.row as u64;
            let from_delay =
                row_start(row) as f64 + at.delay as f64 / 256.0 * row_frames(row) as f64;
            let exact = row_start(row) + at.frames_into_row as u64;
            let err_ms = (from_delay - p.song_frame as f64) / RATE as f64 * 1000.0;
            eprintln!(
                "note {key}: sent at song frame {}, reported row {row} delay {:02X} ({} frames \
                 into the row): {err_ms:+.3} ms by the delay value, {:+} frames exact",
                p.song_frame,
                at.delay,
                at.frames_into_row,
                exact as i64 - p.song_frame as i64
            );
            assert!(
                err_ms.abs() <= 1.0,
                "row {row} delay {:02X} is {err_ms:+.3} ms from the note played at song frame {}",
                at.delay,
                p.song_frame
            );
            assert!(
                (exact as i64 - p.song_frame as i64).abs() <= 2,
                "exact position {exact} vs {}",
                p.song_frame
            );
        }
    }

    // (c) Recording: the same reports through the app's recorder (edit mode on, playing) become
    // cells whose row and delay value reproduce the times played within 1 ms, with full velocity
    // in the volume column and a note-off where each key was released.
    {
        let mut app = ttrack::ui::App::new(song.clone(), None);
        app.edit_mode = true;
        app.playing = true;
        for r in &reports {
            app.record_midi(r);
        }
        app.playing = false;
        app.record_tick();
        assert_eq!(app.song.takes.len(), 1, "one pass, one take");
        let pat = &app.song.patterns[0];
        let columns = pat.note_columns(0);
        assert_eq!(columns, 2, "the two-note chord needs two note columns");
        let at_ms = |row: usize, delay: u8, frame: u64| {
            let t =
                row_start(row as u64) as f64 + delay as f64 / 256.0 * row_frames(row as u64) as f64;
            (t - frame as f64) / RATE as f64 * 1000.0
        };
        for p in &played {
            for &key in p.keys {
                let want = Note::from_midi(key).unwrap();
                // The recorded cell of this key nearest the time it was played. (Rows 0 and 1 hold
                // the song's own beat, a C-5 and its release.)
                let (row, col) = (2..pat.rows as usize)
                    .flat_map(|r| (0..columns).map(move |c| (r, c)))
                    .filter(|&(r, c)| pat.note(0, r, c).note == want)
                    .min_by(|&(r1, c1), &(r2, c2)| {
                        let e = |r, c| at_ms(r, pat.note(0, r, c).delay, p.song_frame).abs();
                        e(r1, c1).total_cmp(&e(r2, c2))
                    })
                    .unwrap_or_else(|| panic!("key {key} was not recorded"));
                let cell = pat.note(0, row, col);
                let err = at_ms(row, cell.delay, p.song_frame);
                eprintln!(
                    "recorded key {key}: row {row} delay {:02X}, {err:+.3} ms from when it was played",
                    cell.delay
                );
                assert!(err.abs() <= 1.0, "key {key} recorded {err:+.3} ms off");
                assert_eq!(cell.volume, 0x40, "velocity 127 is full volume");
                let (off_row, off) = (row + 1..pat.rows as usize)
                    .map(|r| (r, pat.note(0, r, col)))
                    .find(|(_, c)| c.note != Note::Empty)
                    .expect("a note-off after the note");
                assert_eq!(
                    off.note,
                    Note::Off,
                    "key {key}: the next cell is its release"
                );
                let err = at_ms(off_row, off.delay, p.song_frame + p.hold as u64);
                assert!(err.abs() <= 1.0, "key {key}: note-off {err:+.3} ms off");
            }
        }
    }

    // (a) The thru notes in the audio: onset at the frame sent, pitch, chord, release.
    for (p, &t) in played.iter().zip(&sent_at) {
        let sent = t as u64 - t0;
        let before = &x[sent as usize - 2000..sent as usize];
        assert!(
            common::measure::peak_db(before) < -60.0,
            "not silent before the note at {sent}: {:.1} dB",
            common::measure::peak_db(before)
        );
        // The thru note starts at the event's frame and comes out after the look-ahead.
        let due = (sent + lookahead) as usize;
        let window = &x[due - PERIOD as usize..due + PERIOD as usize];
        let found = window
            .iter()
            .position(|v| v.abs() > 1e-3)
            .expect("no onset within a period of the note") as i64
            - PERIOD as i64;
        eprintln!(
            "keys {:?}: onset {found:+} frames from the MIDI event + {lookahead} frames of \
             look-ahead",
            p.keys
        );
        assert!(
            (0..=24).contains(&found),
            "onset {found:+} frames from the event + look-ahead (want 0..=24: sample-accurate)"
        );
        let body = &x[sent as usize + 2400..sent as usize + 2400 + 4096];
        if p.keys.len() == 1 {
            let hz = common::measure::pitch_zero_crossings(body, RATE);
            let want = Note::pitch_hz(p.keys[0] as f64 - 12.0);
            assert!(
                (hz - want).abs() < 0.5,
                "MIDI key {} measured {hz:.2} Hz, want {want:.2} ± 0.5",
                p.keys[0]
            );
        } else {
            let (mags, n) = common::measure::spectrum(body);
            for &key in p.keys {
                let hz = Note::pitch_hz(key as f64 - 12.0);
                let bin = (hz * n as f64 / RATE as f64).round() as usize;
                let peak = mags[bin - 2..=bin + 2].iter().cloned().fold(0.0, f64::max);
                // Far from both notes (1.2–1.8 kHz): what a sine leaks there is tiny.
                let floor = mags[105..155].iter().cloned().fold(0.0, f64::max);
                assert!(
                    peak > 100.0 * floor,
                    "chord key {key} ({hz:.1} Hz) missing: peak {peak:.3}, floor {floor:.3}"
                );
            }
        }
        let held = &x[sent as usize + 2400..sent as usize + 4800];
        let released_at = sent as usize + p.hold as usize;
        // 150–200 ms after the note-off (the release takes 100 ms), before the next note.
        let after = &x[released_at + 7200..released_at + 9600];
        assert!(
            common::measure::rms_db(after) < common::measure::rms_db(held) - 40.0,
            "note-off did not release: {:.1} dB held, {:.1} dB 150 ms after the note-off",
            common::measure::rms_db(held),
            common::measure::rms_db(after)
        );
    }
    assert_eq!(
        stats.alloc_violations, 0,
        "the JACK process callback allocated"
    );
    eprintln!(
        "output latency {latency} frames, {} xruns, max callback load {:.1} %",
        stats.xruns, stats.max_load_percent
    );
    Ok(())
}

/// `ttrack play SONG --audio-host jack --midi-in cli-sender`: the same client from the command
/// line, connecting the test's MIDI port by a part of its name; two notes sent into it a known
/// number of frames apart come out as `midi note-on` lines whose song positions lie that far
/// apart (the song starts before the notes can be sent, so the distance is what is checked here;
/// the test above checks the absolute positions).
fn the_binary_prints_the_song_positions_of_notes_played_into_it(song: &Song) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("midi.ttrk");
    ttrack::format::save_song(song, &path).unwrap();
    // The sender first: `--midi-in cli-sender` connects its port when ttrack starts.
    let (client, _) = Client::new("cli-sender", ClientOptions::NO_START_SERVER).unwrap();
    let (mut tx, rx) = HeapRb::<Scheduled>::new(16).split();
    let late = Arc::new(AtomicU64::new(0));
    let sender = Sender {
        port: client
            .register_port("midi_out", MidiOut::default())
            .unwrap(),
        incoming: rx,
        queue: Vec::with_capacity(16),
        late: late.clone(),
    };
    let sender = client.activate_async((), sender).unwrap();
    let c = sender.as_client();
    // TTRACK_BIN overrides the binary, for work trees that share one target directory (where the
    // last build of any tree owns target/debug/ttrack).
    let bin = std::env::var("TTRACK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ttrack").into());
    let mut child = Command::new(bin)
        .args([
            "play",
            path.to_str().unwrap(),
            "--audio-host",
            "jack",
            "--midi-in",
            "CLI-SENDER",
            "--seconds",
            "3",
        ])
        .env("JACK_DEFAULT_SERVER", SERVER_NAME.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let connected = || {
        c.port_by_name("cli-sender:midi_out")
            .is_some_and(|p| p.is_connected_to("ttrack:midi_in").unwrap_or(false))
    };
    while !connected() {
        if Instant::now() > deadline || child.try_wait().is_ok_and(|s| s.is_some()) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "--midi-in did not connect cli-sender:midi_out to ttrack:midi_in; ttrack said:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let gap = 30_011u32;
    let t = c.frame_time() + RATE / 4;
    for (at, bytes) in [
        (t, note_on(60, 100)),
        (t + 4000, note_off(60)),
        (t + gap, note_on(67, 90)),
        (t + gap + 4000, note_off(67)),
    ] {
        tx.try_push((at, bytes)).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    drop(sender);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}{stderr}");
    let xruns: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("xruns"))
        .and_then(|v| v.trim().parse().ok())
        .expect("an xruns line");
    if xruns > 0 {
        return Err(format!("{xruns} xruns"));
    }
    if late.load(SeqCst) > 0 {
        return Err(String::from("the test sent notes late"));
    }
    assert!(
        stderr.contains("MIDI input: cli-sender:midi_out (JACK)"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("ports ttrack:out_1, ttrack:out_2, ttrack:in_1, ttrack:in_2, ttrack:midi_in"),
        "{stderr}"
    );
    let ons: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("midi note-on"))
        .collect();
    assert_eq!(ons.len(), 2, "{stdout}");
    assert!(
        ons[0].contains("C-4 vel 100 ch  1 at order 00 row"),
        "{}",
        ons[0]
    );
    assert!(
        ons[1].contains("G-4 vel  90 ch  1 at order 00 row"),
        "{}",
        ons[1]
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("midi note-off"))
            .count(),
        2,
        "{stdout}"
    );
    // "... row RR delay DD (F of N frames into the row) ..."
    let song_frame = |line: &str| -> (f64, u64) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let i = w.iter().position(|&x| x == "row").unwrap();
        let row: u64 = w[i + 1].parse().unwrap();
        let delay = u8::from_str_radix(w[i + 3], 16).unwrap();
        let into: u64 = w[i + 4].trim_start_matches('(').parse().unwrap();
        (
            row_start(row) as f64 + delay as f64 / 256.0 * row_frames(row) as f64,
            row_start(row) + into,
        )
    };
    let (a, b) = (song_frame(ons[0]), song_frame(ons[1]));
    let exact = b.1 as i64 - a.1 as i64;
    let by_delay_ms = (b.0 - a.0 - gap as f64) / RATE as f64 * 1000.0;
    eprintln!(
        "binary: notes {gap} frames apart reported {exact} frames apart ({by_delay_ms:+.3} ms by \
         the delay values)"
    );
    assert!((exact - gap as i64).abs() <= 2, "{}\n{}", ons[0], ons[1]);
    assert!(by_delay_ms.abs() <= 1.0, "{}\n{}", ons[0], ons[1]);
    Ok(())
}
