//! Recording audio in the terminal UI, end to end on a JACK dummy server: the real binary runs in
//! tmux with `--audio-host jack`; `Ctrl-R` starts a take and playback; a player client plays a
//! prepared signal into `ttrack:in_1/in_2` so that it is heard 4 rows and 1234 frames into the
//! song (its start found by a listener on `ttrack:out_1`, and the ports' latencies as JACK
//! reports them); `Ctrl-R` stops. The saved song must hold the take as a sample instrument, a
//! note in the armed track and a take in the list, and the signal must be in the instrument's
//! audio where it belongs in the song (within 1 ms; it is within a few frames) and equal to what
//! was played (difference ≤ −80 dB). The take file itself holds the whole signal too.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use jack::{AudioIn, AudioOut, Client, ClientOptions, Control, ProcessScope};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};
use ttrack::model::{InstrumentKind, Note, Song, Waveform};

const RATE: u32 = 48_000;
/// Periods of 21 ms: the dummy server on a small loaded machine has xruns with shorter ones, and
/// every check here is in frames, whatever the period.
const PERIOD: u32 = 1024;
const ROW: u64 = 5760; // 125 BPM, LPB 4
const AT: u64 = 4 * ROW + 1234;
/// Where the signal is heard in the second take, started while the song plays.
const AT2: u64 = 14 * ROW + 777;
const LEN: usize = 48_000;

static SERVER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("ttrack-e2e-take-{}", std::process::id()));

/// The prepared signal: seeded noise, different on each side, under a 5 ms fade in and out.
fn signal() -> Vec<[f32; 2]> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let fade = 240.0;
    (0..LEN)
        .map(|i| {
            let g = (i as f32 / fade).min((LEN - i) as f32 / fade).min(1.0);
            [g * next(), g * 0.5 * next()]
        })
        .collect()
}

struct Player {
    left: jack::Port<AudioOut>,
    right: jack::Port<AudioOut>,
    signal: Vec<[f32; 2]>,
    /// Frame (of `clock`) at which the signal starts (`u64::MAX`: not yet known).
    start: Arc<AtomicU64>,
    /// Frames processed since the player started: the test's clock. Unlike JACK's frame time it
    /// does not jump over cycles the server skipped (xruns), which no client processes, ttrack
    /// included. The player runs first in each cycle (its ports feed ttrack, whose output feeds
    /// the listener), so it advances it.
    clock: Arc<AtomicU64>,
}

impl jack::ProcessHandler for Player {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        let t0 = self.clock.load(SeqCst);
        let start = self.start.load(SeqCst);
        let (l, r) = (self.left.as_mut_slice(ps), self.right.as_mut_slice(ps));
        self.clock.fetch_add(l.len() as u64, SeqCst);
        for i in 0..l.len() {
            let t = t0 + i as u64;
            let s = t
                .checked_sub(start)
                .and_then(|k| self.signal.get(k as usize))
                .copied()
                .unwrap_or([0.0, 0.0]);
            l[i] = s[0];
            r[i] = s[1];
        }
        Control::Continue
    }
}

struct Listener {
    port: jack::Port<AudioIn>,
    /// Frame (of the player's clock) of the first sound on `ttrack:out_1`, plus one (0: none).
    onset: Arc<AtomicU64>,
    clock: Arc<AtomicU64>,
    start: Arc<AtomicU64>,
    late: Arc<AtomicBool>,
    /// Frames from the song's start to when the player must start.
    lead: Arc<AtomicU64>,
    /// `ttrack:out_1` from JACK frame `rec_from` on (preallocated).
    rec: Vec<f32>,
    rec_from: Arc<AtomicU64>,
    rec_done: Arc<AtomicBool>,
    rec_out: Arc<std::sync::Mutex<Vec<f32>>>,
}

impl jack::ProcessHandler for Listener {
    fn process(&mut self, _: &Client, ps: &ProcessScope) -> Control {
        // The player has counted this cycle already.
        let n = self.port.as_slice(ps).len() as u64;
        let t0 = self.clock.load(SeqCst).saturating_sub(n);
        if self.onset.load(SeqCst) == 0
            && let Some(i) = self.port.as_slice(ps).iter().position(|v| v.abs() > 1e-6)
        {
            let onset = t0 + i as u64;
            self.onset.store(onset + 1, SeqCst);
            let start = onset + self.lead.load(SeqCst);
            // The player runs before ttrack in each cycle: the next cycle is the earliest.
            if start < t0 + 2 * u64::from(PERIOD) {
                self.late.store(true, SeqCst);
            }
            self.start.store(start, SeqCst);
        }
        let from = self.rec_from.load(SeqCst);
        if !self.rec_done.load(SeqCst) && from != u64::MAX {
            for (i, &v) in self.port.as_slice(ps).iter().enumerate() {
                let t = t0 + i as u64;
                if t >= from && self.rec.len() < self.rec.capacity() {
                    self.rec.push(v);
                }
            }
            if self.rec.len() == self.rec.capacity()
                && let Ok(mut out) = self.rec_out.try_lock()
            {
                std::mem::swap(&mut *out, &mut self.rec);
                self.rec_done.store(true, SeqCst);
            }
        }
        Control::Continue
    }
}

/// Two tracks, 64 rows at 125 BPM; track 2 sounds a beat on row 0 so the listener finds the
/// song's start. The take goes into track 1 (the cursor's).
fn test_song() -> Song {
    let mut s = common::song(2, 64, vec![common::synth(Waveform::Sine)]);
    s.bpm = 125;
    s.lpb = 4;
    common::put(&mut s, 1, 0, "C-5", 1, None);
    common::put(&mut s, 1, 1, "OFF", 0, None);
    s
}

/// The best alignment of `want` inside `got` (interleaved stereo) within `range` of offsets, and
/// the difference there in dB relative to the signal.
fn align(got: &[f32], want: &[[f32; 2]], range: std::ops::Range<i64>) -> (i64, f64) {
    let energy: f64 = want
        .iter()
        .map(|s| (s[0] as f64).powi(2) + (s[1] as f64).powi(2))
        .sum();
    let mut best = (0, f64::INFINITY);
    for off in range {
        let mut diff = 0.0f64;
        for (i, s) in want.iter().enumerate() {
            let k = off + i as i64;
            let g = if k >= 0 && (2 * k as usize + 1) < got.len() {
                [got[2 * k as usize], got[2 * k as usize + 1]]
            } else {
                [0.0, 0.0]
            };
            diff += (g[0] as f64 - s[0] as f64).powi(2) + (g[1] as f64 - s[1] as f64).powi(2);
            if diff >= best.1 * energy {
                break;
            }
        }
        let rel = diff / energy;
        if rel < best.1 {
            best = (off, rel);
        }
    }
    (best.0, 10.0 * best.1.max(1e-30).log10())
}

/// Counts the server's xruns: a cycle the dummy server could not run in time (a loaded machine)
/// shifts the player's signal against its frame times, so a run with xruns may be tried again.
struct Xruns(Arc<AtomicU64>);

impl jack::NotificationHandler for Xruns {
    fn xrun(&mut self, _: &Client) -> Control {
        self.0.fetch_add(1, SeqCst);
        Control::Continue
    }
}

/// A failed measurement: a failure of ttrack without xruns, else a reason to try again.
fn verdict(ok: bool, xruns: &AtomicU64, what: String) -> Result<(), String> {
    match (ok, xruns.load(SeqCst)) {
        (true, _) => Ok(()),
        (false, 0) => panic!("{what}"),
        (false, n) => Err(format!("{what} ({n} xruns)")),
    }
}

#[test]
fn an_audio_take_lands_where_it_was_heard_and_equals_what_was_played() {
    if !common::tmux::available() || !common::jack::installed() {
        return;
    }
    let _jackd = common::jack::start(&SERVER, PERIOD);
    // SAFETY: set before any JACK client exists; this file's only test reads it.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("JACK_DEFAULT_SERVER", SERVER.as_str());
    }
    for attempt in 1..=3 {
        match once() {
            Ok(()) => return,
            Err(why) => eprintln!("attempt {attempt}: {why}; trying again"),
        }
    }
    panic!("every attempt had JACK xruns (the machine is too loaded)");
}

fn once() -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("take.ttrk");
    ttrack::format::save_song(&test_song(), &path).unwrap();
    let bin = std::env::var("TTRACK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ttrack").into());
    let t = common::tmux::Tmux::start(
        "audio-take",
        110,
        30,
        &format!("{bin} {} --audio-host jack", path.display()),
        &[("JACK_DEFAULT_SERVER", SERVER.as_str())],
    );
    t.wait_for("take.ttrk", 10.0);
    let start = Arc::new(AtomicU64::new(u64::MAX));
    let clock = Arc::new(AtomicU64::new(0));
    let now = || clock.load(SeqCst);
    let onset = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicBool::new(false));
    let lead = Arc::new(AtomicU64::new(u64::MAX / 4));
    let (pc, _) = Client::new("player", ClientOptions::NO_START_SERVER).unwrap();
    let player = Player {
        left: pc.register_port("out_l", AudioOut::default()).unwrap(),
        right: pc.register_port("out_r", AudioOut::default()).unwrap(),
        signal: signal(),
        start: start.clone(),
        clock: clock.clone(),
    };
    let player = pc.activate_async((), player).unwrap();
    let (lc, _) = Client::new("listener", ClientOptions::NO_START_SERVER).unwrap();
    let rec_from = Arc::new(AtomicU64::new(u64::MAX));
    let rec_done = Arc::new(AtomicBool::new(false));
    let rec_out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = Listener {
        port: lc.register_port("in", AudioIn::default()).unwrap(),
        onset: onset.clone(),
        clock: clock.clone(),
        start: start.clone(),
        late: late.clone(),
        lead: lead.clone(),
        rec: Vec::with_capacity(LEN + 4096),
        rec_from: rec_from.clone(),
        rec_done: rec_done.clone(),
        rec_out: rec_out.clone(),
    };
    let xruns = Arc::new(AtomicU64::new(0));
    let listener = lc.activate_async(Xruns(xruns.clone()), listener).unwrap();
    let c = listener.as_client();
    c.connect_ports_by_name("ttrack:out_1", "listener:in")
        .unwrap();
    c.connect_ports_by_name("player:out_l", "ttrack:in_1")
        .unwrap();
    c.connect_ports_by_name("player:out_r", "ttrack:in_2")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // What ttrack computes at frame F is heard at F + out latency; what reaches in_1 at frame T
    // was played at T − in latency. So the signal is heard AT frames into the song when it
    // reaches in_1 at onset + out latency + in latency + AT.
    let latency = |port: &str, kind| {
        c.port_by_name(port)
            .unwrap()
            .get_latency_range(kind)
            .1
            .into()
    };
    let out_latency: u64 = latency("ttrack:out_1", jack::LatencyType::Playback);
    let in_latency: u64 = latency("ttrack:in_1", jack::LatencyType::Capture);
    lead.store(out_latency + in_latency + AT, SeqCst);
    t.keys(&["C-r"]);
    t.wait_for("REC audio T01", 5.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while start.load(SeqCst) == u64::MAX {
        assert!(Instant::now() < deadline, "the song never sounded");
        std::thread::sleep(Duration::from_millis(10));
    }
    let end = start.load(SeqCst) + LEN as u64 + u64::from(RATE) / 2;
    while now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    t.keys(&["C-r"]);
    let screen = t.wait_for("as instrument", 5.0);
    // The recorder panel shows the open input and its meter.
    t.keys(&["F6"]);
    let panel = t.wait_for("Audio input", 5.0);
    assert!(panel.contains("JACK client ttrack"), "{panel}");
    assert!(panel.contains(" level "), "{panel}");
    t.keys(&["Escape"]);
    // A second take, started while the song plays (Space, then Ctrl-R a second in): its note
    // goes where its first frame was heard, and the signal where it was heard.
    start.store(u64::MAX, SeqCst);
    onset.store(0, SeqCst);
    lead.store(out_latency + in_latency + AT2, SeqCst);
    t.keys(&["Space"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while start.load(SeqCst) == u64::MAX {
        assert!(
            Instant::now() < deadline,
            "the song never sounded the second time"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let song_start = onset.load(SeqCst) - 1;
    while now() < song_start + u64::from(RATE) {
        std::thread::sleep(Duration::from_millis(10));
    }
    t.keys(&["C-r"]);
    t.wait_for("REC audio T01", 5.0);
    let end = start.load(SeqCst) + LEN as u64 + u64::from(RATE) / 4;
    while now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    t.keys(&["C-r"]);
    let screen2 = t.wait_for("take-002", 5.0);
    t.wait_for("as instrument", 5.0);
    t.keys(&["Space"]);
    assert!(!late.load(SeqCst), "the player could not start in time");
    eprintln!(
        "{}",
        screen2
            .lines()
            .find(|l| l.contains("take-002"))
            .unwrap_or("")
    );
    // The take is in the takes panel as audio.
    t.keys(&["M-k"]);
    let panel = t.wait_for("Audio take-001", 5.0);
    let line = panel
        .lines()
        .find(|l| l.contains("Audio take-001"))
        .unwrap();
    assert!(
        line.contains(" audio ")
            && line
                .trim_end()
                .trim_end_matches('│')
                .trim_end()
                .ends_with(" s"),
        "{line}"
    );
    t.keys(&["Escape"]);
    t.keys(&["C-s"]);
    t.wait_for("saved", 5.0);
    // Input monitoring (F6, m): the input is heard on ttrack's outputs, in the same period.
    t.keys(&["F6"]);
    t.wait_for("Audio input", 5.0);
    t.keys(&["m"]);
    t.wait_for("monitoring     on", 5.0);
    t.keys(&["Escape"]);
    let again = now() + u64::from(RATE) / 2;
    rec_from.store(again - 2048, SeqCst);
    start.store(again, SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rec_done.load(SeqCst) {
        assert!(Instant::now() < deadline, "the listener heard nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let heard = std::mem::take(&mut *rec_out.lock().unwrap());
    let left: Vec<[f32; 2]> = signal().iter().map(|s| [s[0], 0.0]).collect();
    let stereo: Vec<f32> = heard.iter().flat_map(|&v| [v, 0.0]).collect();
    let (moff, mdb) = align(&stereo, &left, 0..4096);
    eprintln!(
        "monitoring: the input is heard {} frames after it came in, {mdb:.1} dB",
        moff - 2048
    );
    verdict(
        moff == 2048 && mdb <= -80.0,
        &xruns,
        format!("monitoring: heard {} frames late, {mdb:.1} dB", moff - 2048),
    )?;
    t.keys(&["C-q"]);
    t.wait_for("[exit 0]", 10.0);
    drop(player);
    assert!(!late.load(SeqCst), "the player could not start in time");
    eprintln!(
        "latencies: out {out_latency}, in {in_latency} frames; {} xruns; {}",
        xruns.load(SeqCst),
        screen
            .lines()
            .find(|l| l.contains("as instrument"))
            .unwrap_or("")
    );

    let song = ttrack::format::load_song(&path).unwrap();
    assert_eq!(song.takes.len(), 2, "two takes");
    // The second take: its note is where recording began (a second in, with a delay value),
    // and the signal sits in its audio so that it sounds where it was heard.
    let take2 = &song.takes[1];
    let ev = take2.events[0];
    let cell2 = song.patterns[0].note(0, ev.row as usize, 0);
    assert_eq!(
        (cell2.note, cell2.instrument),
        (Note::from_midi(60).unwrap(), take2.instrument),
        "the second take's note at row {}",
        ev.row
    );
    assert!(
        ev.row >= 7 && ev.row < 14,
        "started a second in: row {}",
        ev.row
    );
    let note_frame = ev.row as f64 * ROW as f64 + f64::from(cell2.delay) * ROW as f64 / 256.0;
    let InstrumentKind::Sampler(s2) = &song.instrument(take2.instrument).unwrap().kind else {
        panic!("the second take is not a sample instrument");
    };
    let guess = AT2 as i64 - note_frame.round() as i64;
    let (off2, db2) = align(&s2.sample.data, &signal(), guess - 480..guess + 480);
    let err2 = (note_frame + off2 as f64 - AT2 as f64) * 1000.0 / f64::from(RATE);
    eprintln!(
        "second take: note at row {} delay {:02X}, signal {off2} frames into it: {err2:+.3} ms \
         from where it was heard, difference {db2:.1} dB",
        ev.row, cell2.delay
    );
    verdict(
        err2.abs() <= 1.0 && db2 <= -80.0,
        &xruns,
        format!("the second take is {err2:+.3} ms off, difference {db2:.1} dB"),
    )?;
    let take = &song.takes[0];
    assert_eq!(take.track, 0, "into the cursor's track");
    let slot = take.instrument;
    let inst = song.instrument(slot).expect("the take's instrument");
    let InstrumentKind::Sampler(sampler) = &inst.kind else {
        panic!("the take is not a sample instrument");
    };
    // Started with playback from row 0: the note is at the song's start.
    let cell = song.patterns[0].note(0, 0, 0);
    assert_eq!(cell.note, Note::from_midi(60).unwrap(), "C-4 at row 0");
    assert_eq!((cell.instrument, cell.delay), (slot, 0));
    let data = &sampler.sample.data;
    assert_eq!(sampler.sample.channels, 2);
    assert_eq!(sampler.sample.rate, RATE);
    // The signal in the instrument's audio, at the song position where it was heard.
    let want = signal();
    let (off, db) = align(data, &want, AT as i64 - 480..AT as i64 + 480);
    let ms = (off - AT as i64) as f64 * 1000.0 / f64::from(RATE);
    eprintln!("the signal is at {off} frames (want {AT}: {ms:+.3} ms), difference {db:.1} dB");
    verdict(
        ms.abs() <= 1.0 && db <= -80.0,
        &xruns,
        format!("the take is {ms:+.3} ms off, difference {db:.1} dB"),
    )?;
    // The take file keeps everything that came in, the signal too.
    let rec = dir.path().join("take.rec").join("take-001.wav");
    let file = ttrack::format::read_wav(&rec).unwrap();
    assert!(file.frames >= sampler.sample.frames);
    let cut = (file.frames - sampler.sample.frames) as i64;
    let (foff, fdb) = align(&file.data, &want, off + cut - 4..off + cut + 5);
    assert_eq!(foff, off + cut, "the file holds the same audio");
    assert!(fdb <= -80.0);
    // The text format keeps the take, its note and its audio (a WAV beside the song).
    let text = dir.path().join("take.ttrk.toml");
    ttrack::format::save_song(&song, &text).unwrap();
    let back = ttrack::format::load_song(&text).unwrap();
    assert_eq!(back.takes, song.takes);
    assert_eq!(back.patterns, song.patterns);
    let InstrumentKind::Sampler(s2) = &back.instrument(slot).unwrap().kind else {
        panic!("the text format lost the take's instrument");
    };
    assert_eq!(s2.sample.frames, sampler.sample.frames);
    let worst = s2
        .sample
        .data
        .iter()
        .zip(data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-6, "the text format changed the audio by {worst}");
    Ok(())
}
