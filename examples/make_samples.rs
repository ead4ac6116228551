//! Synthesises ttrack's small sample kit (`samples/*.wav`) from scratch.
//!
//! Run with `cargo run --release --example make_samples [OUT_DIR]` (default `samples`).
//! The output is bit-for-bit deterministic: all noise and dither comes from a fixed-seed
//! xorshift64* generator, there are no clocks and no external inputs.
//!
//! Each sample is rendered in `f64`, then mastered the same way: a 10 Hz one-pole DC blocker,
//! raised-cosine fades so the file starts and ends at exactly zero, a Hann-weighted correction
//! that makes the mean exactly zero (confined to the part before the loop for the bass),
//! peak normalisation, and quantisation (TPDF dither for 16-bit files). Saw and square
//! oscillators are band-limited with PolyBLEP; filters are the trapezoidal (TPT) state-variable
//! filter. `samples/README.md` documents every recipe; keep it in sync with this file.
// The real-time rules (clippy.toml) bind the engine; test and tool code may allocate freely.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::f64::consts::{PI, TAU};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One generated sample: per-channel audio in -1..1 plus how to store it.
struct Sample {
    name: &'static str,
    rate: u32,
    bits: u16,
    channels: Vec<Vec<f64>>,
    /// MIDI unity note and optional forward loop `[start, end)` for a RIFF `smpl` chunk.
    smpl: Option<(u32, Option<(u32, u32)>)>,
}

/// Shorthand constructor for [`Sample`].
fn sample(name: &'static str, rate: u32, bits: u16, channels: Vec<Vec<f64>>) -> Sample {
    Sample {
        name,
        rate,
        bits,
        channels,
        smpl: None,
    }
}

// ---------------------------------------------------------------- building blocks

/// xorshift64* (Vigna): tiny, fast and good enough for noise and dither.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform white noise in [-1, 1).
    fn noise(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }
}

/// PolyBLEP residual for a unit step at phase 0, `dt` = phase increment per sample.
fn blep(t: f64, dt: f64) -> f64 {
    if t < dt {
        let x = t / dt;
        2.0 * x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + 2.0 * x + 1.0
    } else {
        0.0
    }
}

/// Band-limited rising saw at phase `t` in [0, 1).
fn saw(t: f64, dt: f64) -> f64 {
    2.0 * t - 1.0 - blep(t, dt)
}

/// Band-limited 50 % square at phase `t` in [0, 1).
fn square(t: f64, dt: f64) -> f64 {
    let naive = if t < 0.5 { 1.0 } else { -1.0 };
    naive + blep(t, dt) - blep((t + 0.5).fract(), dt)
}

/// Triangle from its first four odd partials (1/n² rolloff): alias-free and starts at zero.
fn triangle(t: f64) -> f64 {
    let partial = |n: f64, sign: f64| sign * (TAU * n * t).sin() / (n * n);
    8.0 / (PI * PI)
        * (partial(1.0, 1.0) + partial(3.0, -1.0) + partial(5.0, 1.0) + partial(7.0, -1.0))
}

/// Exponential decay with time constant `tau` seconds.
fn decay(t: f64, tau: f64) -> f64 {
    (-t / tau).exp()
}

/// Exponential decay from 1 that lands exactly on 0 at `end` seconds (so what follows is static).
fn settle(t: f64, end: f64, tau: f64) -> f64 {
    let floor = decay(end, tau);
    if t >= end {
        0.0
    } else {
        (decay(t, tau) - floor) / (1.0 - floor)
    }
}

/// Trapezoidal state-variable filter (Zavalishin / Simper); cutoff may change every sample.
#[derive(Default)]
struct Svf {
    ic1: f64,
    ic2: f64,
}

/// Simultaneous outputs of one [`Svf`] step.
struct SvfOut {
    lp: f64,
    bp: f64,
    hp: f64,
}

impl Svf {
    fn run(&mut self, x: f64, cutoff: f64, q: f64, sr: f64) -> SvfOut {
        let g = (PI * cutoff.min(0.45 * sr) / sr).tan();
        let k = 1.0 / q;
        let a1 = 1.0 / (1.0 + g * (g + k));
        let (a2, a3) = (g * a1, g * g * a1);
        let v3 = x - self.ic2;
        let v1 = a1 * self.ic1 + a2 * v3;
        let v2 = self.ic2 + a2 * self.ic1 + a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        SvfOut {
            lp: v2,
            bp: v1,
            hp: x - k * v1 - v2,
        }
    }
}

/// Renders `secs` seconds at `sr`, calling `f` with the time of each sample.
fn render(sr: f64, secs: f64, mut f: impl FnMut(f64) -> f64) -> Vec<f64> {
    let n = (secs * sr).round() as usize;
    (0..n).map(|i| f(i as f64 / sr)).collect()
}

// ---------------------------------------------------------------- mastering

/// One-pole DC blocker at 10 Hz.
fn dc_block(x: &mut [f64], sr: f64) {
    let r = (-TAU * 10.0 / sr).exp();
    let (mut x1, mut y1) = (0.0, 0.0);
    for v in x.iter_mut() {
        let y = *v - x1 + r * y1;
        (x1, y1) = (*v, y);
        *v = y;
    }
}

/// Raised-cosine fade-in over `fade_in` frames and fade-out over the last `fade_out` frames;
/// the first and last samples become exactly zero.
fn fade(x: &mut [f64], fade_in: usize, fade_out: usize) {
    let n = x.len();
    for (k, v) in x.iter_mut().take(fade_in).enumerate() {
        *v *= 0.5 * (1.0 - (PI * k as f64 / fade_in as f64).cos());
    }
    for (k, v) in x[n - fade_out..].iter_mut().enumerate() {
        *v *= 0.5 * (1.0 + (PI * (k + 1) as f64 / fade_out as f64).cos());
    }
}

/// Subtracts a Hann-shaped (sub-audio) bump spanning the first `span` frames so that the mean
/// of the whole of `x` is exactly zero; the ends and everything after `span` stay untouched.
fn zero_mean(x: &mut [f64], span: usize) {
    let hann = |i: usize| 0.5 * (1.0 - (TAU * i as f64 / (span - 1) as f64).cos());
    let k = x.iter().sum::<f64>() / (0..span).map(hann).sum::<f64>();
    for (i, v) in x[..span].iter_mut().enumerate() {
        *v -= k * hann(i);
    }
}

/// Largest absolute sample value over all channels.
fn peak(chans: &[Vec<f64>]) -> f64 {
    chans.iter().flatten().fold(0.0, |m, v| m.max(v.abs()))
}

/// DC-blocks, fades (times in seconds), zeroes the mean using the first `mean_span` frames
/// (`None`: all of them) and normalises all channels together to `peak_db` dBFS.
fn master(
    chans: &mut [Vec<f64>],
    sr: f64,
    fade_in: f64,
    fade_out: f64,
    mean_span: Option<usize>,
    peak_db: f64,
) {
    for x in chans.iter_mut() {
        dc_block(x, sr);
        fade(x, (fade_in * sr) as usize, (fade_out * sr) as usize);
        let span = mean_span.unwrap_or(x.len());
        zero_mean(x, span);
    }
    let gain = 10f64.powf(peak_db / 20.0) / peak(chans);
    chans.iter_mut().flatten().for_each(|v| *v *= gain);
}

// ---------------------------------------------------------------- the kit

/// 808/909-style kick: sine swept 150 → 50 Hz, soft-clipped, plus a band-passed noise click.
fn kick() -> Sample {
    let sr = 48_000.0;
    let mut rng = Rng(0x6b69_636b);
    let (mut click_bp, mut phase) = (Svf::default(), 0.0);
    let x = render(sr, 0.45, |t| {
        let freq = 50.0 + 100.0 * decay(t, 0.030);
        let body = (1.6 * (TAU * phase).sin() * decay(t, 0.15)).tanh() / 1.6f64.tanh();
        phase = (phase + freq / sr).fract();
        let click = click_bp.run(rng.noise(), 4_000.0, 0.7, sr).bp * decay(t, 0.0012);
        body + 0.6 * click
    });
    let mut channels = vec![x];
    master(&mut channels, sr, 0.0005, 0.12, None, -1.5);
    sample("kick", 48_000, 24, channels)
}

/// Snare: 180 Hz sine (slight pitch drop) + 330 Hz triangle body, plus 1.5–9 kHz noise.
fn snare() -> Sample {
    let sr = 44_100.0;
    let mut rng = Rng(0x736e_6172);
    let (mut hp, mut lp) = (Svf::default(), Svf::default());
    let (mut p1, mut p2) = (0.0, 0.0);
    let x = render(sr, 0.25, |t| {
        let body =
            0.55 * (TAU * p1).sin() * decay(t, 0.055) + 0.30 * triangle(p2) * decay(t, 0.035);
        p1 = (p1 + 180.0 * (1.0 + 0.15 * decay(t, 0.008)) / sr).fract();
        p2 = (p2 + 330.0 / sr).fract();
        let hiss = hp.run(rng.noise(), 1_500.0, 0.707, sr).hp;
        let hiss = lp.run(hiss, 9_000.0, 0.707, sr).lp;
        body + 0.75 * hiss * decay(t, 0.065)
    });
    let mut channels = vec![x];
    master(&mut channels, sr, 0.0005, 0.06, None, -1.5);
    sample("snare", 44_100, 16, channels)
}

/// TR-808 metal: six PolyBLEP squares at inharmonic pitches + a little noise, 24 dB/oct
/// high-pass at 7 kHz, a gentle 16 kHz low-pass against harshness, exponential decay `tau`.
fn hihat(name: &'static str, secs: f64, tau: f64, fade_out: f64, seed: u64) -> Sample {
    const FREQS: [f64; 6] = [205.3, 304.4, 369.6, 522.7, 540.0, 800.0];
    let sr = 44_100.0;
    let mut rng = Rng(seed);
    let mut phases = FREQS.map(|_| rng.unit());
    let (mut hp1, mut hp2, mut lp) = (Svf::default(), Svf::default(), Svf::default());
    let mut metal = || {
        let mut sum = 0.0;
        for (p, f) in phases.iter_mut().zip(FREQS) {
            sum += square(*p, f / sr) / 6.0;
            *p = (*p + f / sr).fract();
        }
        let y = hp1.run(sum + 0.15 * rng.noise(), 7_000.0, 1.0, sr).hp;
        let y = hp2.run(y, 7_000.0, 0.707, sr).hp;
        lp.run(y, 16_000.0, 0.5, sr).lp
    };
    // Like the free-running 808 oscillators: settle the filters for 50 ms before the VCA opens.
    for _ in 0..2_205 {
        metal();
    }
    let x = render(sr, secs, |t| metal() * decay(t, tau));
    let mut channels = vec![x];
    master(&mut channels, sr, 0.0003, fade_out, None, -1.5);
    sample(name, 44_100, 16, channels)
}

/// Clap: four noise bursts (0, 10, 21, 32 ms) then a decaying tail, band-passed at 1.2 kHz
/// with a little 3 kHz-high-passed air.
fn clap() -> Sample {
    const BURSTS: [f64; 4] = [0.0, 0.010, 0.021, 0.032];
    let sr = 48_000.0;
    let mut rng = Rng(0x636c_6170);
    let (mut bp, mut air) = (Svf::default(), Svf::default());
    let x = render(sr, 0.30, |t| {
        let last = BURSTS
            .iter()
            .copied()
            .filter(|&b| b <= t)
            .fold(0.0, f64::max);
        let attack = ((t - last) / 0.0003).min(1.0);
        // Each burst decays fast; the last one (32 ms) becomes the slower tail.
        let env = if last < 0.032 {
            decay(t - last, 0.004)
        } else {
            0.85 * decay(t - last, 0.070)
        };
        let n = rng.noise();
        let y = 2.0 * bp.run(n, 1_200.0, 1.6, sr).bp + 0.25 * air.run(n, 3_000.0, 0.707, sr).hp;
        y * env * attack
    });
    let mut channels = vec![x];
    master(&mut channels, sr, 0.0003, 0.08, None, -1.5);
    sample("clap", 48_000, 16, channels)
}

/// Bass loop geometry: 8 periods of C-2 fit 5871 frames at 48 kHz (65.4062 Hz, -0.004 cents).
const BASS_CYCLES: usize = 8;
const BASS_PERIODS: usize = 5_871;
const BASS_LOOP_START: usize = 42_000;
const BASS_LOOP_END: usize = BASS_LOOP_START + 3 * BASS_PERIODS;

/// Bass at C-2: saw + square into a resonant 24 dB/oct low-pass whose cutoff falls from
/// 3.2 kHz to 320 Hz; every envelope is static from 0.7 s on, and the oscillator phase is
/// computed exactly from the frame index, so the loop region repeats sample-exactly.
fn bass() -> Sample {
    let sr = 48_000.0;
    let (mut lp1, mut lp2) = (Svf::default(), Svf::default());
    let dt = BASS_CYCLES as f64 / BASS_PERIODS as f64;
    let x: Vec<f64> = (0..72_000)
        .map(|i| {
            let t = i as f64 / sr;
            let p = (i * BASS_CYCLES % BASS_PERIODS) as f64 / BASS_PERIODS as f64;
            // Falling saw: its odd partials add to the square's, giving a strong fundamental.
            let osc = 0.45 * square(p, dt) - 0.6 * saw(p, dt);
            let cutoff = 320.0 * 10f64.powf(settle(t, 0.7, 0.12));
            let y = lp1.run(osc, cutoff, 3.0, sr).lp;
            let y = lp2.run(y, cutoff, 0.707, sr).lp;
            let amp = (t / 0.002).min(1.0) * (0.75 + 0.25 * settle(t, 0.6, 0.15));
            (1.5 * y).tanh() * amp
        })
        .collect();
    // Fade-out starts right at the loop end, so the loop itself is untouched.
    let tail = (x.len() - BASS_LOOP_END) as f64 / sr;
    let mut channels = vec![x];
    master(&mut channels, sr, 0.002, tail, Some(BASS_LOOP_START), -1.5);
    let loop_points = (BASS_LOOP_START as u32, BASS_LOOP_END as u32);
    let smpl = Some((36, Some(loop_points)));
    Sample {
        smpl,
        ..sample("bass", 48_000, 24, channels)
    }
}

/// Electric-piano keys at C-4: two 2-operator FM pairs (1:1 body with a decaying index, 1:14
/// "tine" with a fast-decaying index), stereo from a ±4-cent detuned voice at -6 dB per side.
fn keys() -> Sample {
    let sr = 48_000.0;
    let voice = |cents: f64| {
        let freq = 261.626 * 2f64.powf(cents / 1200.0);
        let mut p = 0.0;
        render(sr, 2.5, move |t| {
            let index = 0.3 + 1.5 * decay(t, 0.35);
            let body = (TAU * p + index * (TAU * p).sin()).sin();
            let tine_index = 1.0 * decay(t, 0.04);
            let tine = (TAU * p + tine_index * (TAU * (14.0 * p).fract()).sin()).sin();
            p = (p + freq / sr).fract();
            let amp = (t / 0.0015).min(1.0) * (0.65 * decay(t, 0.45) + 0.35 * decay(t, 2.0));
            amp * (body + 0.35 * tine * decay(t, 0.18))
        })
    };
    let (centre, down, up) = (voice(0.0), voice(-4.0), voice(4.0));
    let left = centre.iter().zip(&down).map(|(c, d)| c + 0.5 * d).collect();
    let right = centre.iter().zip(&up).map(|(c, u)| c + 0.5 * u).collect();
    let mut channels = vec![left, right];
    master(&mut channels, sr, 0.001, 0.3, None, -2.0);
    Sample {
        smpl: Some((60, None)),
        ..sample("keys", 48_000, 24, channels)
    }
}

// ---------------------------------------------------------------- output

/// Writes `s` as integer PCM (TPDF-dithered at 16 bits) and appends its `smpl` chunk, if any.
/// The dither generator is seeded from the file name (FNV-1a), so each file is independent.
fn write(dir: &Path, s: &Sample) -> Result<()> {
    let fnv = |h: u64, b: u8| (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    let mut rng = Rng(s.name.bytes().fold(0xcbf2_9ce4_8422_2325, fnv));
    let path = dir.join(format!("{}.wav", s.name));
    let spec = hound::WavSpec {
        channels: s.channels.len() as u16,
        sample_rate: s.rate,
        bits_per_sample: s.bits,
        sample_format: hound::SampleFormat::Int,
    };
    let full = ((1i64 << (s.bits - 1)) - 1) as f64;
    let mut w = hound::WavWriter::create(&path, spec)?;
    let frames = s.channels[0].len();
    for i in 0..frames {
        for ch in &s.channels {
            let dither = if s.bits == 16 && ch[i] != 0.0 {
                rng.unit() + rng.unit() - 1.0
            } else {
                0.0
            };
            w.write_sample((ch[i] * full + dither).round().clamp(-full - 1.0, full) as i32)?;
        }
    }
    w.finalize()?;
    if let Some((unity, loop_points)) = s.smpl {
        append_smpl(&path, s.rate, unity, loop_points)?;
    }
    println!(
        "{:<26} {} ch, {} Hz, {}-bit, {} frames ({:.3} s), peak {:.2} dBFS",
        path.display(),
        s.channels.len(),
        s.rate,
        s.bits,
        frames,
        frames as f64 / s.rate as f64,
        20.0 * peak(&s.channels).log10()
    );
    Ok(())
}

/// Appends a RIFF `smpl` chunk (unity note, optional forward loop with an inclusive end frame)
/// after hound's data chunk and patches the RIFF size.
fn append_smpl(path: &Path, rate: u32, unity: u32, loop_points: Option<(u32, u32)>) -> Result<()> {
    let loops: Vec<u32> = match loop_points {
        // cue id, type 0 = forward, start, end (inclusive), fraction, play count 0 = infinite
        Some((start, end)) => vec![0, 0, start, end - 1, 0, 0],
        None => vec![],
    };
    let period_ns = (1e9 / rate as f64).round() as u32;
    let header = [0, 0, period_ns, unity, 0, 0, 0, loops.len() as u32 / 6, 0];
    let body: Vec<u8> = header
        .iter()
        .chain(&loops)
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    f.seek(SeekFrom::End(0))?;
    f.write_all(b"smpl")?;
    f.write_all(&(body.len() as u32).to_le_bytes())?;
    f.write_all(&body)?;
    let riff_size = f.stream_position()? as u32 - 8;
    f.seek(SeekFrom::Start(4))?;
    f.write_all(&riff_size.to_le_bytes())?;
    Ok(())
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "samples".to_string());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let kit = [
        kick(),
        snare(),
        hihat("hihat-closed", 0.06, 0.014, 0.02, 0x6863_6c6f),
        hihat("hihat-open", 0.40, 0.110, 0.12, 0x686f_7065),
        clap(),
        bass(),
        keys(),
    ];
    for s in &kit {
        write(dir, s)?;
    }
    Ok(())
}
