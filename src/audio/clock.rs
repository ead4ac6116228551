//! The clock backend: no device, a thread that runs the callback once per period at the real rate
//! (nih-plug's dummy backend, DESIGN.md §5). Deadlines are absolute, computed from one start
//! instant in exact integer arithmetic, so the pace cannot drift; a late thread counts one xrun
//! and skips the periods that are already over instead of bursting to catch up. Used when no
//! device can be opened ("no audio device: silent") and when asked for by name (`--device clock`).

use super::callback::{AudioCallback, AudioSource};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// What the clock thread does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaceStep {
    /// Sleep until this much time has passed since the start.
    Wait(Duration),
    /// Render the next period now; `skipped` periods were over before the thread got to them
    /// (one xrun when non-zero).
    Render {
        /// Periods skipped, never rendered.
        skipped: u64,
    },
}

/// Deadline arithmetic of the clock backend: period `k` is due at `k × frames / rate` seconds after
/// the start, exactly.
#[derive(Clone, Debug)]
pub struct Pacer {
    period_frames: u64,
    rate: u64,
    next: u64,
}

impl Pacer {
    /// A pacer for periods of `period_frames` frames at `rate` Hz (both at least 1), starting with
    /// period 0 due at once.
    pub fn new(period_frames: u32, rate: u32) -> Pacer {
        Pacer {
            period_frames: u64::from(period_frames.max(1)),
            rate: u64::from(rate.max(1)),
            next: 0,
        }
    }

    /// Index of the next period to render.
    pub fn next_period(&self) -> u64 {
        self.next
    }

    /// When period `k` is due, measured from the start.
    pub fn due(&self, k: u64) -> Duration {
        let ns = u128::from(k) * u128::from(self.period_frames) * NANOS_PER_SECOND
            / u128::from(self.rate);
        duration_from_nanos(ns)
    }

    /// Decides, `elapsed` after the start, whether to wait for the next period or render it. When
    /// the whole next period is already in the past, the periods that are over are skipped: the
    /// one to render is the period that is playing now.
    pub fn step(&mut self, elapsed: Duration) -> PaceStep {
        let due = self.due(self.next);
        if elapsed < due {
            return PaceStep::Wait(due);
        }
        // The period playing at `elapsed`: floor(elapsed × rate / frames).
        let now_period = elapsed.as_nanos() * u128::from(self.rate)
            / (u128::from(self.period_frames) * NANOS_PER_SECOND);
        let now_period = u64::try_from(now_period).unwrap_or(u64::MAX);
        let skipped = now_period.saturating_sub(self.next);
        self.next = self.next.saturating_add(skipped).saturating_add(1);
        PaceStep::Render { skipped }
    }
}

fn duration_from_nanos(ns: u128) -> Duration {
    let secs = u64::try_from(ns / NANOS_PER_SECOND).unwrap_or(u64::MAX);
    Duration::new(secs, (ns % NANOS_PER_SECOND) as u32)
}

/// One turn of the clock loop, `elapsed` after the start: renders the next period into the stereo
/// `buffer` (counting one xrun if periods had to be skipped), or says until when to wait.
fn turn<S: AudioSource>(
    pacer: &mut Pacer,
    elapsed: Duration,
    callback: &mut AudioCallback<S>,
    buffer: &mut [f32],
) -> Option<Duration> {
    match pacer.step(elapsed) {
        PaceStep::Wait(due) => Some(due),
        PaceStep::Render { skipped } => {
            if skipped > 0 {
                callback.stats().add_xruns(1);
            }
            callback.fill(buffer, 2);
            None
        }
    }
}

/// A running clock backend; dropping it stops and joins the thread.
pub struct ClockThread {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    period_frames: u32,
}

impl ClockThread {
    /// Starts the thread: `callback` renders `period_frames` frames per period into a stereo
    /// buffer that nobody hears.
    pub(crate) fn spawn<S: AudioSource>(
        mut callback: AudioCallback<S>,
        period_frames: u32,
    ) -> std::io::Result<ClockThread> {
        let period_frames = period_frames.max(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let rate = callback.rate();
        let mut buffer = vec![0.0f32; 2 * period_frames as usize];
        let handle = std::thread::Builder::new()
            .name("ttrack-clock".into())
            .spawn(move || {
                let mut pacer = Pacer::new(period_frames, rate);
                #[allow(
                    clippy::disallowed_methods,
                    reason = "the clock backend is paced by the monotonic clock"
                )]
                let start = Instant::now();
                while !stop_flag.load(Ordering::Relaxed) {
                    if let Some(due) = turn(&mut pacer, start.elapsed(), &mut callback, &mut buffer)
                    {
                        // Woken early by `unpark` (stop) or spuriously: the loop checks again.
                        std::thread::park_timeout(due.saturating_sub(start.elapsed()));
                    }
                }
            })?;
        Ok(ClockThread {
            stop,
            handle: Some(handle),
            period_frames,
        })
    }

    /// Frames rendered per period.
    pub fn period_frames(&self) -> u32 {
        self.period_frames
    }
}

impl Drop for ClockThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: f64) -> Duration {
        Duration::from_micros((x * 1000.0).round() as u64)
    }

    #[test]
    fn deadlines_are_exact_multiples_of_the_period() {
        // 512 frames at 48 kHz = 10.666… ms: no rounding error accumulates.
        let p = Pacer::new(512, 48_000);
        assert_eq!(p.due(0), Duration::ZERO);
        assert_eq!(p.due(3), Duration::from_nanos(32_000_000));
        assert_eq!(p.due(93_750), Duration::from_secs(1000));
    }

    #[test]
    fn on_time_periods_wait_then_render_without_xruns() {
        let mut p = Pacer::new(480, 48_000); // 10 ms
        assert_eq!(p.step(Duration::ZERO), PaceStep::Render { skipped: 0 });
        assert_eq!(p.step(ms(0.5)), PaceStep::Wait(ms(10.0)));
        assert_eq!(p.step(ms(10.0)), PaceStep::Render { skipped: 0 });
        // A little late, but inside the period: no skip.
        assert_eq!(p.step(ms(29.9)), PaceStep::Render { skipped: 0 });
        assert_eq!(p.next_period(), 3);
        assert_eq!(p.step(ms(29.95)), PaceStep::Wait(ms(30.0)));
    }

    #[test]
    fn a_late_thread_skips_ahead_instead_of_bursting() {
        let mut p = Pacer::new(480, 48_000);
        assert_eq!(p.step(Duration::ZERO), PaceStep::Render { skipped: 0 });
        // Woken 45 ms late: periods 1, 2 and 3 are over, period 4 (40..50 ms) is playing.
        assert_eq!(p.step(ms(45.0)), PaceStep::Render { skipped: 3 });
        assert_eq!(p.next_period(), 5);
        // No burst: the next render waits for its own deadline.
        assert_eq!(p.step(ms(45.1)), PaceStep::Wait(ms(50.0)));
    }

    #[test]
    fn the_loop_counts_one_xrun_per_late_wakeup_and_renders_one_period() {
        use crate::audio::{AudioStats, StopRule};
        use crate::engine::{Engine, EngineSong};
        let song = crate::model::Song::new_default();
        let engine = Engine::new(Box::new(EngineSong::from_model(&song, 48_000)));
        let stats = Arc::new(AudioStats::new());
        let mut cb = AudioCallback::new(engine, stats.clone(), 480, StopRule::default());
        let mut buffer = vec![0.0f32; 960];
        let mut p = Pacer::new(480, 48_000);
        assert_eq!(turn(&mut p, Duration::ZERO, &mut cb, &mut buffer), None);
        assert_eq!(turn(&mut p, ms(1.0), &mut cb, &mut buffer), Some(ms(10.0)));
        assert_eq!(turn(&mut p, ms(10.0), &mut cb, &mut buffer), None);
        assert_eq!(stats.xruns(), 0);
        // 35 ms late: one xrun, one period rendered (not four), then a wait again.
        assert_eq!(turn(&mut p, ms(55.0), &mut cb, &mut buffer), None);
        assert_eq!(turn(&mut p, ms(55.5), &mut cb, &mut buffer), Some(ms(60.0)));
        let s = stats.snapshot();
        assert_eq!((s.xruns, s.callbacks, s.frames), (1, 3, 3 * 480));
    }
}
